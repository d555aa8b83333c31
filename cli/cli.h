/* cli.h - the `crowd` command: what main.c parsed, shared by the command
 * files (install.c, server.c, node.c, dbcmds.c, client.c), and the helpers in
 * common.c they all use (config, database, central server, messages).
 * Every command returns an exit code of core/exitcode.h (enum cc_exit, the
 * table all our programs share); it prints the reason of a failure on
 * stderr as "crowd: REASON" and logs the work it does with timestamps
 * (lib/core/log.h, on stderr). */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdio.h>
#include "core/config.h"
#include "core/db.h"
#include "core/exitcode.h"
#include "core/http.h"
#include "core/version.h"

#define CLI_MAX_LISTEN 16
#define CLI_MAX_SETS 128

struct cli {
	const char *config_arg;          /* -c DIR, or NULL */
	const char *config_from;         /* cc_config_find_dir's answer: "-c", ... */
	struct cc_config cfg;            /* loaded by cli_load_config */
	int cfg_loaded;

	const char *server_url;          /* -s URL (client commands) */
	int daemon;                      /* -d */
	int port;                        /* -p, -1 unset */
	const char *tag;                 /* -t */
	const char *host;                /* -H */
	const char *listen[CLI_MAX_LISTEN]; /* -l, repeatable */
	int nlisten;
	int days;                        /* --days, -1 unset */
	int force;                       /* --force */
	int with_test_actions;           /* --with-test-actions */
	const char *options_json;        /* --options */
	const char *file;                /* --file */
	const char *callback;            /* --callback */
	const char *email;               /* --email */
	int wait;                        /* -w, --wait */
	double timeout;                  /* --timeout, seconds; 0 = none */
	long page, per_page;             /* --page, --per-page; 0 unset */
	int json;                        /* --json */
	const char *for_arg;             /* --for S (blacklist add), or NULL */
	const char *sets[CLI_MAX_SETS];  /* --set, repeatable */
	int nsets;
};

/* Commands: args are the words after the command name. */
int cli_cmd_install(struct cli *c, int argc, char **argv);
int cli_cmd_load_schema(struct cli *c, int argc, char **argv);
int cli_cmd_server(struct cli *c, int argc, char **argv);
int cli_cmd_node(struct cli *c, int argc, char **argv);
int cli_cmd_cleanup(struct cli *c, int argc, char **argv);
int cli_cmd_console(struct cli *c, int argc, char **argv);
int cli_cmd_submit(struct cli *c, int argc, char **argv);
int cli_cmd_status(struct cli *c, int argc, char **argv);
int cli_cmd_jobs(struct cli *c, int argc, char **argv);
int cli_cmd_nodes(struct cli *c, int argc, char **argv);
int cli_cmd_blacklist(struct cli *c, int argc, char **argv);
/* (submit and status in client.c; jobs, nodes and blacklist in lists.c) */

/* cli_fail - print "crowd: MESSAGE" on stderr; returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_usage - cli_fail(CC_EXIT_USAGE, ...) plus a pointer to --help. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_load_config - find the folder (cc_config_find_dir: -c, $CROWD_CONFIG,
 * $CLOUD_CROWD_CONFIG, ./config) and load crowd.conf into c->cfg; sets the
 * log level. Returns CC_EXIT_OK, or CC_EXIT_CONFIG after printing the
 * reason (naming the file and where the folder came from). */
int cli_load_config(struct cli *c);

/* cli_db_open - connect with c->cfg's [database]; with check_schema, also
 * require the schema version this build expects and, when it is missing
 * or different, say exactly what to run. Returns the connection (free with
 * cc_db_free) or NULL with *rc = CC_EXIT_DB after printing the reason. */
struct cc_db *cli_db_open(struct cli *c, int check_schema, int *rc);

/* cli_central_url - central's base URL (-s, else central_server), without
 * a trailing slash, into out (n bytes). */
void cli_central_url(const struct cli *c, char *out, size_t n);

#define CLI_REQ_TIMEOUT 30       /* s per request of a client command */

/* cli_client_new - load the config (cli_load_config) and make the HTTP
 * client of a client command (free with cc_http_free). NULL with *rc the
 * exit code, the reason printed. */
struct cc_http *cli_client_new(struct cli *c, int *rc);

/* cli_central - method path (e.g. "/jobs/4") on central with an optional
 * urlencoded form. Returns CC_EXIT_OK when an answer arrived (any status; in
 * resp, to clean up with cc_http_resp_cleanup), else CC_EXIT_CENTRAL after
 * printing why central could not be reached. A 401 answer is turned into
 * CC_EXIT_CENTRAL with cli_auth_refused's message. */
int cli_central(struct cli *c, struct cc_http *http, const char *method,
		const char *path, const char *form, long timeout_s,
		struct cc_http_resp *resp);

/* cli_auth_refused - print "WHAT: central refused our credentials (401)"
 * and what to check: the login and password (the node's credentials when
 * node is set) in cfg's file, or, when none are set, that central wants
 * them. Returns CC_EXIT_CENTRAL. */
int cli_auth_refused(const struct cc_config *cfg, int node, const char *what);

/* cli_resp_error - one line on an error answer: central's JSON "error"
 * text and the status ("unknown action 'x' ... (HTTP 422)"); for an HTML
 * page (nginx's) only its status and title, never the markup; else the
 * body (shortened) or the status. Into out (n bytes); returns out. */
const char *cli_resp_error(const struct cc_http_resp *resp, char *out, size_t n);

/* cli_refused - print "crowd: WHAT: " (fmt) and cli_resp_error of resp on
 * stderr; returns CC_EXIT_CENTRAL: any 4xx or 5xx answer of central to a
 * client command is central refusing (README "Exit codes"). */
int cli_refused(const struct cc_http_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cli_mkdir - mkdir -p, printing the failure; CC_EXIT_OK or code. */
int cli_mkdir(const char *path, int code);

#endif
