/* config.h - crowd.conf, the one configuration file of a machine.
 * The file lives in a config folder (with actions/ beside it), found from
 * `-c DIR`, else $CROWD_CONFIG (actions), else $CLOUD_CROWD_CONFIG, else
 * ./config (cc_config_find_dir). Keys keep the names of
 * the original config.yml; a [database] section names the MySQL server.
 * One table (config.c) lists every key: type, default, limits, whether it is
 * sensitive; parsing, validation and --help walk it. */
#ifndef CC_CONFIG_H
#define CC_CONFIG_H

#include <stdio.h>
#include "core/err.h"

#define CC_PATH_LEN 1024
#define CC_STR_LEN 256

struct cc_config {
	char dir[CC_PATH_LEN];               /* the config folder itself */
	char file[CC_PATH_LEN];              /* dir/crowd.conf */

	char central_server[CC_STR_LEN];     /* URL nodes and workers use */
	int max_workers;                     /* per node; 0 = unlimited */
	double max_load;                     /* 1-min load; < 0 = not checked */
	int min_free_memory;                 /* MB; 0 = not checked */
	char storage[32];                    /* filesystem | s3 */
	char local_storage_path[CC_PATH_LEN];
	char temp_storage_path[CC_PATH_LEN];
	int work_unit_retries;               /* attempts before a unit fails */
	int http_authentication;             /* bool */
	char login[CC_STR_LEN];
	char password[CC_STR_LEN];           /* sensitive */
	char node_login[CC_STR_LEN];         /* "" = nodes use login */
	char node_password[CC_STR_LEN];      /* sensitive; set with node_login */
	char actions_path[CC_PATH_LEN];      /* default dir/actions */
	char disabled_actions[1024];         /* comma-separated */
	char s3_bucket[CC_STR_LEN];
	char aws_access_key[CC_STR_LEN];     /* sensitive */
	char aws_secret_key[CC_STR_LEN];     /* sensitive */
	int s3_authentication;               /* bool: presigned URLs */
	char s3_endpoint[CC_STR_LEN];        /* default https://s3.amazonaws.com */
	char s3_region[64];
	char log_path[CC_PATH_LEN];          /* folder for *.log */
	char pid_path[CC_PATH_LEN];          /* folder for *.pid */
	char log_level[16];

	/* timeouts and intervals, seconds */
	int node_timeout;                    /* dispatcher -> node, total */
	int server_timeout;                  /* node/worker -> central, total */
	int connect_timeout;
	int action_timeout;                  /* one stage run; 0 = none */
	int lease_grace;                     /* added to the lease deadline */
	int check_in_interval;               /* node -> central */
	int node_expiry_intervals;           /* missed check-ins => gone */
	int dispatch_interval;               /* ccdistribute --loop period */
	int retry_backoff;                   /* base seconds, doubles per try */
	int callback_retries;
	int max_download_mb;                 /* input download size limit */
	int max_output_kb;                   /* action stdout limit */

	/* node */
	char node_host[CC_STR_LEN];          /* name central reaches; default hostname */
	int node_port;
	char node_tag[CC_STR_LEN];
	char node_allow[1024];               /* addresses/CIDRs that may connect
					      * to the node; "" = anyone */
	int node_connections_per_ip;         /* open connections one client
					      * address may hold; 0 = no limit */

	/* central server pool */
	int server_workers;                  /* FastCGI processes */
	char server_socket[CC_PATH_LEN];     /* unix socket of the pool */
	char server_socket_group[CC_STR_LEN]; /* its group ("" = the pool's) */
	int server_port;                     /* nginx listen port */
	int max_body_kb;                     /* request body limit */

	/* [database] */
	char db_host[CC_STR_LEN];
	int db_port;
	char db_socket[CC_PATH_LEN];
	char db_user[CC_STR_LEN];
	char db_password[CC_STR_LEN];        /* sensitive */
	char db_name[CC_STR_LEN];
};

/* cc_config_find_dir - the config folder, the same way in every program:
 * arg (-c DIR; NULL or "" for none), else $CROWD_CONFIG (set by crowd-node
 * for the actions it runs, so crowd-save and crowd-download find the
 * node's folder), else $CLOUD_CROWD_CONFIG, else "config"; made absolute
 * when it exists. Writes it into out (CC_PATH_LEN bytes) and returns where
 * it came from, for messages: "-c", "$CROWD_CONFIG", "$CLOUD_CROWD_CONFIG"
 * or "the default ./config" (static strings). Returns NULL, with out "",
 * when the folder's path does not fit in out. */
const char *cc_config_find_dir(const char *arg, char *out);

/* cc_config_defaults - fill every key with its default (dir-relative paths
 * are resolved against dir). Returns 0, or -1 when dir/crowd.conf does not
 * fit in cfg->file: then cfg->dir and cfg->file are "" (never a cut path). */
int cc_config_defaults(struct cc_config *cfg, const char *dir);

/* cc_config_load - defaults, then dir/crowd.conf, then validation.
 * Returns 0, or -1 with "file:line: key: reason" in err. */
int cc_config_load(struct cc_config *cfg, const char *dir, struct cc_err *err);

/* cc_config_load_string - same, from text (for tests); name is for errors. */
int cc_config_load_string(struct cc_config *cfg, const char *dir,
			  const char *text, const char *name, struct cc_err *err);

/* cc_config_suggest - the known key nearest to name (edit distance, at
 * most a third of its length, 1 to 3; the same name in another section
 * counts one more), for "did you mean" after an unknown key. Returns its
 * name and sets *in_section (if not NULL) to its section ("" for the top
 * level, "database"), both strings of the key table; NULL (and *in_section
 * NULL) when no key is near. section: where name was found ("" or NULL:
 * the top level). */
const char *cc_config_suggest(const char *section, const char *name,
			      const char **in_section);

/* cc_config_print_help - every key, its default and meaning, to out. */
void cc_config_print_help(FILE *out);

/* cc_config_dump - every key = value, sensitive ones masked. */
void cc_config_dump(const struct cc_config *cfg, FILE *out);

/* cc_config_node_auth - 1 when node_login and node_password are set: nodes
 * and their workers, and central calling nodes, then have credentials of
 * their own, apart from the clients' login and password. */
int cc_config_node_auth(const struct cc_config *cfg);

/* cc_config_node_login / cc_config_node_password - the basic-auth
 * credentials of the node routes: what nodes and workers send to central
 * (check-in, check-out, results), what central sends to nodes (POST
 * /work) and what nodes accept. node_login and node_password when set,
 * else login and password (the original's single login). Strings inside
 * cfg (never NULL). */
const char *cc_config_node_login(const struct cc_config *cfg);
const char *cc_config_node_password(const struct cc_config *cfg);

/* cc_config_action_disabled - is name listed in disabled_actions? */
int cc_config_action_disabled(const struct cc_config *cfg, const char *name);

#endif
