/* config.c - the table of every crowd.conf key, and the INI reading.
 * libinih does the INI syntax; we look each key up in the table, reject
 * unknown keys and bad values with "file:line: key: reason". inih is built
 * without line numbers in the handler, so a reader wrapper counts lines. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/cidr.h"
#include "core/config.h"

enum ktype { K_STR, K_INT, K_DBL, K_BOOL, K_PATH };

struct key {
	const char *section;     /* "" for the top level */
	const char *name;
	enum ktype type;
	size_t off;
	size_t size;             /* for strings */
	const char *def;         /* default, as text; paths relative to dir */
	double min, max;
	int sensitive;
	const char *help;
};

#define S(sec, n, field, d, h) \
	{ sec, n, K_STR, offsetof(struct cc_config, field), \
	  sizeof(((struct cc_config *)0)->field), d, 0, 0, 0, h }
#define P(sec, n, field, d, h) \
	{ sec, n, K_PATH, offsetof(struct cc_config, field), \
	  sizeof(((struct cc_config *)0)->field), d, 0, 0, 0, h }
#define X(sec, n, field, d, h) \
	{ sec, n, K_STR, offsetof(struct cc_config, field), \
	  sizeof(((struct cc_config *)0)->field), d, 0, 0, 1, h }
#define I(sec, n, field, d, lo, hi, h) \
	{ sec, n, K_INT, offsetof(struct cc_config, field), 0, d, lo, hi, 0, h }
#define D(sec, n, field, d, lo, hi, h) \
	{ sec, n, K_DBL, offsetof(struct cc_config, field), 0, d, lo, hi, 0, h }
#define B(sec, n, field, d, h) \
	{ sec, n, K_BOOL, offsetof(struct cc_config, field), 0, d, 0, 1, 0, h }

static const struct key keys[] = {
	S("", "central_server", central_server, "http://localhost:9173",
	  "URL of the central server, as nodes and workers reach it"),
	I("", "max_workers", max_workers, "4", 0, 1024,
	  "units a node runs at once (0 = no limit)"),
	D("", "max_load", max_load, "-1", -1, 1e6,
	  "node refuses work while the 1-minute load is above this (-1 = off)"),
	I("", "min_free_memory", min_free_memory, "0", 0, 1 << 30,
	  "node refuses work while free memory is below this many MB (0 = off)"),
	S("", "storage", storage, "filesystem", "asset store: filesystem or s3"),
	P("", "local_storage_path", local_storage_path, "storage",
	  "where the filesystem store saves files"),
	P("", "temp_storage_path", temp_storage_path, "tmp",
	  "scratch folders of running units"),
	I("", "work_unit_retries", work_unit_retries, "3", 1, 1000,
	  "attempts a unit gets before it (and its job) fails"),
	B("", "http_authentication", http_authentication, "no",
	  "HTTP basic auth between every party (yes/no)"),
	S("", "login", login, "", "basic auth user"),
	X("", "password", password, "", "basic auth password"),
	S("", "node_login", node_login, "",
	  "basic auth user of nodes and workers (check-in, results) and of central "
	  "calling nodes, apart from clients' login (empty = login)"),
	X("", "node_password", node_password, "",
	  "basic auth password of node_login"),
	P("", "actions_path", actions_path, "actions", "folder of actions"),
	S("", "disabled_actions", disabled_actions, "",
	  "comma-separated actions this node does not offer"),
	S("", "s3_bucket", s3_bucket, "", "S3 bucket (storage = s3)"),
	X("", "aws_access_key", aws_access_key, "", "S3 access key"),
	X("", "aws_secret_key", aws_secret_key, "", "S3 secret key"),
	B("", "s3_authentication", s3_authentication, "no",
	  "private objects with presigned URLs valid 24 h"),
	S("", "s3_endpoint", s3_endpoint, "https://s3.amazonaws.com",
	  "S3 endpoint URL, path-style (outside us-east-1: https://s3.REGION.amazonaws.com)"),
	S("", "s3_region", s3_region, "us-east-1", "S3 region"),
	P("", "log_path", log_path, "log", "folder of log files"),
	P("", "pid_path", pid_path, "run", "folder of pid files"),
	S("", "log_level", log_level, "info", "debug, info, warn or error"),
	I("", "node_timeout", node_timeout, "10", 1, 3600,
	  "seconds the dispatcher waits for a node to answer POST /work (it answers once the unit has started)"),
	I("", "server_timeout", server_timeout, "30", 1, 3600,
	  "seconds nodes and workers wait for central"),
	I("", "connect_timeout", connect_timeout, "5", 1, 600,
	  "seconds to open any connection"),
	I("", "action_timeout", action_timeout, "3600", 0, 30 * 86400,
	  "seconds one stage may run (0 = no limit)"),
	I("", "lease_grace", lease_grace, "120", 1, 86400,
	  "seconds past action_timeout before central retries a silent unit"),
	I("", "check_in_interval", check_in_interval, "300", 1, 86400,
	  "seconds between node check-ins"),
	I("", "node_expiry_intervals", node_expiry_intervals, "3", 1, 1000,
	  "missed check-ins after which a node is treated as gone"),
	I("", "dispatch_interval", dispatch_interval, "20", 1, 86400,
	  "seconds between passes of ccdistribute --loop"),
	I("", "retry_backoff", retry_backoff, "2", 0, 86400,
	  "seconds before a failed unit is retried, doubling per attempt"),
	I("", "callback_retries", callback_retries, "5", 0, 100,
	  "attempts to deliver a job's callback"),
	I("", "max_download_mb", max_download_mb, "2048", 1, 1 << 20,
	  "largest input a worker downloads, MB"),
	I("", "max_output_kb", max_output_kb, "16384", 1, 1 << 20,
	  "largest action output kept, KB"),
	S("", "node_host", node_host, "",
	  "name or address central reaches this node at (default: hostname)"),
	I("", "node_port", node_port, "9063", 1, 65535, "node agent port"),
	S("", "node_tag", node_tag, "", "tag shown for this node"),
	S("", "node_allow", node_allow, "",
	  "IP addresses or CIDR blocks (comma-separated) allowed to connect to "
	  "the node, e.g. the central hosts' (empty = anyone)"),
	I("", "node_connections_per_ip", node_connections_per_ip, "64", 0, 100000,
	  "connections one client address may hold open on the node (0 = no limit)"),
	I("", "server_workers", server_workers, "4", 1, 256,
	  "FastCGI processes of the central pool"),
	P("", "server_socket", server_socket, "run/crowd-server.sock",
	  "unix socket of the FastCGI pool"),
	S("", "server_socket_group", server_socket_group, "",
	  "group of the pool's socket (mode 0660): nginx's, e.g. www-data, when "
	  "nginx runs as another user (\"\" = the pool's own group)"),
	I("", "server_port", server_port, "9173", 1, 65535,
	  "port nginx listens on for central"),
	I("", "max_body_kb", max_body_kb, "16384", 1, 1 << 20,
	  "largest request body central accepts, KB"),
	S("database", "host", db_host, "localhost", "MySQL host"),
	I("database", "port", db_port, "3306", 0, 65535, "MySQL port"),
	P("database", "socket", db_socket, "",
	  "MySQL unix socket (used instead of host:port when set)"),
	S("database", "username", db_user, "root", "MySQL user"),
	X("database", "password", db_password, "", "MySQL password"),
	S("database", "database", db_name, "cloud_crowd", "MySQL database"),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void resolve_path(const char *dir, const char *v, char *out, size_t n)
{
	char tmp[CC_PATH_LEN * 2];

	/* v may live inside the struct out points into: build in tmp first */
	if (!*v || v[0] == '/' || !dir || !*dir)
		snprintf(tmp, sizeof(tmp), "%s", v);
	else
		snprintf(tmp, sizeof(tmp), "%s/%s", dir, v);
	snprintf(out, n, "%s", tmp);
}

static int set_value(struct cc_config *cfg, const struct key *k,
		     const char *v, const char *where, struct cc_err *err)
{
	char *p = (char *)cfg + k->off;
	char *end;
	long l;
	double d;

	switch (k->type) {
	case K_STR:
		if (strlen(v) >= k->size)
			return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s: longer than %zu characters",
					  where, k->name, k->size - 1);
		memcpy(p, v, strlen(v) + 1);
		return 0;
	case K_PATH:
		if (strlen(v) + strlen(cfg->dir) + 2 >= k->size)
			return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s: path too long", where, k->name);
		resolve_path(cfg->dir, v, p, k->size);
		return 0;
	case K_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno || end == v || *end || l < k->min || l > k->max)
			return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s: '%s' is not a whole number "
					  "from %.0f to %.0f", where, k->name, v,
					  k->min, k->max);
		*(int *)(void *)p = (int)l;
		return 0;
	case K_DBL:
		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || isnan(d) || d < k->min || d > k->max)
			return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s: '%s' is not a number "
					  "from %g to %g", where, k->name, v, k->min, k->max);
		*(double *)(void *)p = d;
		return 0;
	case K_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		    !strcmp(v, "1") || !strcasecmp(v, "on"))
			*(int *)(void *)p = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
			 !strcmp(v, "0") || !strcasecmp(v, "off"))
			*(int *)(void *)p = 0;
		else
			return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s: '%s' is not yes or no",
					  where, k->name, v);
		return 0;
	}
	return -1;
}

const char *cc_config_find_dir(const char *arg, char *out)
{
	/* The order is the one documented in config.h: the most specific
	 * first. CROWD_CONFIG is what crowd-node sets for the actions it runs
	 * (their tools must use the node's folder even when the node was
	 * started with -c and CLOUD_CROWD_CONFIG names another one). */
	static const char *const envs[] = { "CROWD_CONFIG", "CLOUD_CROWD_CONFIG" };
	static const char *const froms[] = { "$CROWD_CONFIG", "$CLOUD_CROWD_CONFIG" };
	const char *d = "config", *from = "the default ./config";
	char abs[PATH_MAX];
	int n;

	if (arg && *arg) {
		d = arg;
		from = "-c";
	} else {
		for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
			const char *e = getenv(envs[i]);
			if (e && *e) {
				d = e;
				from = froms[i];
				break;
			}
		}
	}
	if (realpath(d, abs))
		d = abs;
	n = snprintf(out, CC_PATH_LEN, "%s", d);
	if (n < 0 || n >= CC_PATH_LEN) {
		out[0] = '\0';
		return NULL;
	}
	return from;
}

int cc_config_defaults(struct cc_config *cfg, const char *dir)
{
	int n;

	memset(cfg, 0, sizeof(*cfg));
	if (!dir)
		dir = "";
	/* dir/crowd.conf must fit whole: a cut path names another folder */
	n = snprintf(cfg->file, sizeof(cfg->file), "%s/crowd.conf", dir);
	if (n < 0 || (size_t)n >= sizeof(cfg->file)) {
		cfg->file[0] = '\0';
		dir = "";
	}
	snprintf(cfg->dir, sizeof(cfg->dir), "%s", dir);
	for (size_t i = 0; i < NKEYS; i++)
		set_value(cfg, &keys[i], keys[i].def, "default", NULL);
	return cfg->file[0] ? 0 : -1;
}

/* Levenshtein distance of a and b, ignoring case (key names are short). */
static size_t distance(const char *a, const char *b)
{
	size_t lb = strlen(b), row[CC_STR_LEN + 1];

	if (strlen(a) > CC_STR_LEN || lb > CC_STR_LEN)
		return CC_STR_LEN;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; a[i - 1]; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], v = diag + (tolower((unsigned char)a[i - 1]) !=
							tolower((unsigned char)b[j - 1]));

			v = up + 1 < v ? up + 1 : v;
			row[j] = row[j - 1] + 1 < v ? row[j - 1] + 1 : v;
			diag = up;
		}
	}
	return row[lb];
}

const char *cc_config_suggest(const char *section, const char *name,
			      const char **in_section)
{
	const struct key *best = NULL;
	size_t best_d = 0, len = name ? strlen(name) : 0;
	/* A third of the name, 1 to 3 edits: "max_wrokers" is 2 from
	 * max_workers; "bogus" is near nothing. */
	size_t cap = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;

	section = section ? section : "";
	for (size_t i = 0; len && i < NKEYS; i++) {
		/* the right name in the wrong section counts as one edit */
		size_t d = distance(name, keys[i].name) +
			   (strcmp(keys[i].section, section) != 0);

		if (d <= cap && (!best || d < best_d)) {
			best = &keys[i];
			best_d = d;
		}
	}
	if (in_section)
		*in_section = best ? best->section : NULL;
	return best ? best->name : NULL;
}

struct parse_state {
	struct cc_config *cfg;
	struct cc_err *err;
	const char *name;
	int line;
	int failed;
	const char *text;        /* FILE * or the string being read */
	int key_line[NKEYS];     /* where each key was set, for validate() */
};

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_state *st = user;
	char where[CC_PATH_LEN + 32], hint[CC_STR_LEN + 64] = "";
	const char *sec = NULL, *near;

	if (st->failed)
		return 0;
	snprintf(where, sizeof(where), "%s:%d", st->name, st->line);
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) || strcmp(keys[i].name, name))
			continue;
		if (set_value(st->cfg, &keys[i], value, where, st->err) < 0) {
			st->failed = 1;
			return 0;
		}
		st->key_line[i] = st->line;
		return 1;
	}
	near = cc_config_suggest(section, name, &sec);
	if (near)
		snprintf(hint, sizeof(hint), "; did you mean %s%s%s%s?", near,
			 !strcmp(sec, section) ? "" : *sec ? ", in [" : ", at the "
			 "top (before any [section])", strcmp(sec, section) ? sec : "",
			 *sec && strcmp(sec, section) ? "]" : "");
	cc_err_set(st->err, CC_ERR_INTERNAL, "%s: %s%s%s: unknown key%s", where,
		   *section ? section : "", *section ? "." : "", name, hint);
	st->failed = 1;
	return 0;
}

/* Both readers hand inih one line at a time. They count lines, strip
 * leading blanks (so an indented key is a key, not inih's continuation of
 * the previous value) and refuse a line longer than inih's buffer (Debian
 * builds it with 200 bytes and no realloc: the rest would be read as a
 * line of its own). */
static char *take_line(struct parse_state *st, char *buf, int n, char *r,
		       int at_end)
{
	size_t len, skip = 0;

	if (!r)
		return NULL;
	st->line++;
	len = strlen(buf);
	if (len == (size_t)n - 1 && buf[len - 1] != '\n' && !at_end) {
		cc_err_set(st->err, CC_ERR_INTERNAL, "%s:%d: line longer than %d characters",
			   st->name, st->line, n - 2);
		st->failed = 1;
		return NULL;
	}
	while (buf[skip] == ' ' || buf[skip] == '\t')
		skip++;
	memmove(buf, buf + skip, len - skip + 1);
	return buf;
}

static char *file_reader(char *buf, int n, void *stream)
{
	struct parse_state *st = stream;
	FILE *f = (FILE *)(void *)st->text;
	char *r = st->failed ? NULL : fgets(buf, n, f);
	int c;

	if (!r)
		return NULL;
	c = getc(f);
	if (c != EOF)
		ungetc(c, f);
	return take_line(st, buf, n, r, c == EOF);
}

static char *string_reader(char *buf, int n, void *stream)
{
	struct parse_state *st = stream;
	const char *nl;
	size_t len;

	if (st->failed || !*st->text)
		return NULL;
	nl = strchr(st->text, '\n');
	len = nl ? (size_t)(nl - st->text) + 1 : strlen(st->text);
	if (len > (size_t)n - 1)
		len = (size_t)n - 1;
	memcpy(buf, st->text, len);
	buf[len] = '\0';
	st->text += len;
	return take_line(st, buf, n, buf, !*st->text);
}

/* "file:line" of where key was set, or just "file" for a default. */
static const char *where_key(const struct parse_state *st, const char *key,
			     char *out, size_t n)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, key) && st->key_line[i]) {
			snprintf(out, n, "%s:%d", st->name, st->key_line[i]);
			return out;
		}
	snprintf(out, n, "%s", st->name);
	return out;
}

static int validate(struct cc_config *cfg, const struct parse_state *st,
		    struct cc_err *err)
{
	char w[CC_PATH_LEN + 32];
	struct cc_cidr_list allow;
	struct cc_err e = { 0 };

	if (strcmp(cfg->storage, "filesystem") && strcmp(cfg->storage, "s3"))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: storage: '%s' is not filesystem or s3",
				  where_key(st, "storage", w, sizeof(w)), cfg->storage);
	if (!strcmp(cfg->storage, "s3") && !*cfg->s3_bucket)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: s3_bucket: required when storage = s3",
				  where_key(st, "storage", w, sizeof(w)));
	if (cfg->http_authentication && (!*cfg->login || !*cfg->password))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: http_authentication: login and password "
				  "are required when it is on",
				  where_key(st, "http_authentication", w, sizeof(w)));
	/* Half a node credential would silently fall back to login: refuse. */
	if (!*cfg->node_login != !*cfg->node_password)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s: %s is required with it",
				  where_key(st, *cfg->node_login ? "node_login" :
					    "node_password", w, sizeof(w)),
				  *cfg->node_login ? "node_login" : "node_password",
				  *cfg->node_login ? "node_password" : "node_login");
	if (strncmp(cfg->central_server, "http://", 7) &&
	    strncmp(cfg->central_server, "https://", 8))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: central_server: '%s' is not an http(s) URL",
				  where_key(st, "central_server", w, sizeof(w)),
				  cfg->central_server);
	if (cc_cidr_list_parse(cfg->node_allow, &allow, &e) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: node_allow: %s",
				  where_key(st, "node_allow", w, sizeof(w)), e.msg);
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
	    strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error"))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: log_level: '%s' is not debug, info, "
				  "warn or error", where_key(st, "log_level", w, sizeof(w)),
				  cfg->log_level);
	return 0;
}

/* The folder dir is too long for cfg->file. */
static int too_long(const char *dir, struct cc_err *err)
{
	return cc_err_set(err, CC_ERR_INTERNAL, "config folder %.64s...: path too long "
			  "(at most %d characters)", dir ? dir : "",
			  CC_PATH_LEN - (int)sizeof("/crowd.conf"));
}

static int load(struct cc_config *cfg, const char *dir, FILE *f,
		const char *text, const char *name, struct cc_err *err)
{
	struct parse_state st = { .cfg = cfg, .err = err, .name = name };
	int rc;

	if (cc_config_defaults(cfg, dir) < 0)
		return too_long(dir, err);
	if (f) {
		st.text = (const char *)(void *)f;
		rc = ini_parse_stream(file_reader, &st, on_key, &st);
	} else {
		st.text = text;
		rc = ini_parse_stream(string_reader, &st, on_key, &st);
	}
	if (st.failed)
		return -1;
	if (rc > 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s:%d: syntax error (expected key = value "
				  "or [section])", name, rc);
	if (rc < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: cannot read", name);
	return validate(cfg, &st, err);
}

int cc_config_load(struct cc_config *cfg, const char *dir, struct cc_err *err)
{
	char path[CC_PATH_LEN + 16];
	FILE *f;
	int rc;

	if (cc_config_defaults(cfg, dir) < 0)
		return too_long(dir, err);
	snprintf(path, sizeof(path), "%s", cfg->file);
	f = fopen(path, "r");
	if (!f) {
		int e = errno;
		cc_config_defaults(cfg, dir);
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: cannot open: %s (is -c or "
				  "CLOUD_CROWD_CONFIG the config folder?)", path,
				  strerror(e));
	}
	rc = load(cfg, dir, f, NULL, path, err);
	fclose(f);
	return rc;
}

int cc_config_load_string(struct cc_config *cfg, const char *dir,
			  const char *text, const char *name, struct cc_err *err)
{
	return load(cfg, dir, NULL, text, name, err);
}

void cc_config_print_help(FILE *out)
{
	const char *sec = "";

	fprintf(out, "crowd.conf keys (INI):\n");
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(sec, keys[i].section)) {
			sec = keys[i].section;
			fprintf(out, "[%s]\n", sec);
		}
		fprintf(out, "  %-22s %s (default: %s)\n", keys[i].name,
			keys[i].help, *keys[i].def ? keys[i].def : "empty");
	}
}

void cc_config_dump(const struct cc_config *cfg, FILE *out)
{
	const char *sec = "";

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *p = (const char *)cfg + k->off;

		if (strcmp(sec, k->section)) {
			sec = k->section;
			fprintf(out, "[%s]\n", sec);
		}
		if (k->sensitive)
			fprintf(out, "%s = %s\n", k->name, *p ? "********" : "");
		else if (k->type == K_STR || k->type == K_PATH)
			fprintf(out, "%s = %s\n", k->name, p);
		else if (k->type == K_DBL)
			fprintf(out, "%s = %g\n", k->name, *(const double *)(const void *)p);
		else if (k->type == K_BOOL)
			fprintf(out, "%s = %s\n", k->name,
				*(const int *)(const void *)p ? "yes" : "no");
		else
			fprintf(out, "%s = %d\n", k->name, *(const int *)(const void *)p);
	}
}

int cc_config_node_auth(const struct cc_config *cfg)
{
	return *cfg->node_login && *cfg->node_password;
}

const char *cc_config_node_login(const struct cc_config *cfg)
{
	return cc_config_node_auth(cfg) ? cfg->node_login : cfg->login;
}

const char *cc_config_node_password(const struct cc_config *cfg)
{
	return cc_config_node_auth(cfg) ? cfg->node_password : cfg->password;
}

int cc_config_action_disabled(const struct cc_config *cfg, const char *name)
{
	const char *p = cfg->disabled_actions;
	size_t n = strlen(name);

	while (*p) {
		const char *e;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && isspace((unsigned char)t[-1]))
			t--;
		if ((size_t)(t - p) == n && !strncmp(p, name, n))
			return 1;
		p = e;
	}
	return 0;
}
