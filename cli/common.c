/* common.c - what every `crowd` command needs: the config folder, the
 * database with its schema check, requests to central, and messages. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "core/fs.h"
#include "core/log.h"

static void vmessage(const char *fmt, va_list ap)
{
	fputs("crowd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	return code;
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fputs("Try 'crowd --help'.\n", stderr);
	return CC_EXIT_USAGE;
}

int cli_load_config(struct cli *c)
{
	struct cc_err err = { 0 };
	char dir[CC_PATH_LEN];

	if (c->cfg_loaded)
		return CC_EXIT_OK;
	c->config_from = cc_config_find_dir(c->config_arg, dir);
	if (!c->config_from)
		return cli_fail(CC_EXIT_CONFIG, "the config folder's path is longer "
				"than %d characters", CC_PATH_LEN - 1);
	if (cc_config_load(&c->cfg, dir, &err) < 0) {
		char file[CC_PATH_LEN + 16];

		cli_fail(CC_EXIT_CONFIG, "%s", err.msg);
		/* "make one" only helps when there is none: a typo needs the
		 * file:line above, not a new folder */
		snprintf(file, sizeof(file), "%s/crowd.conf", dir);
		if (access(file, F_OK) != 0)
			fprintf(stderr, "crowd: the config folder %s came from %s; make "
				"one with: crowd install DIR\n", dir, c->config_from);
		else
			fprintf(stderr, "crowd: (the config folder %s came from %s)\n",
				dir, c->config_from);
		return CC_EXIT_CONFIG;
	}
	cc_log_set_level(c->cfg.log_level);
	c->cfg_loaded = 1;
	return CC_EXIT_OK;
}

struct cc_db *cli_db_open(struct cli *c, int check_schema, int *rc)
{
	struct cc_err err = { 0 };
	struct cc_db *db = cc_db_connect(&c->cfg, &err);

	if (!db) {
		cli_fail(CC_EXIT_DB, "%s", err.msg);
		if (strstr(err.msg, "Unknown database"))
			fprintf(stderr, "crowd: create it first, e.g. mariadb -e "
				"\"CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE "
				"utf8mb4_bin\", then run: crowd -c %s load_schema\n",
				c->cfg.db_name, c->cfg.dir);
		else
			fprintf(stderr, "crowd: check the [database] section of %s\n",
				c->cfg.file);
		*rc = CC_EXIT_DB;
		return NULL;
	}
	if (check_schema && cc_db_check_schema(db, &err) < 0) {
		cli_fail(CC_EXIT_DB, "%s", err.msg);
		fprintf(stderr, "crowd: this crowd expects schema version %s. Run "
			"exactly:\n  crowd -c %s load_schema\n(it drops and recreates "
			"every table; it refuses while jobs are unfinished unless "
			"given --force)\n", CC_SCHEMA_VERSION, c->cfg.dir);
		cc_db_free(db);
		*rc = CC_EXIT_DB;
		return NULL;
	}
	*rc = CC_EXIT_OK;
	return db;
}

void cli_central_url(const struct cli *c, char *out, size_t n)
{
	size_t len;

	snprintf(out, n, "%s", c->server_url ? c->server_url : c->cfg.central_server);
	len = strlen(out);
	while (len && out[len - 1] == '/')
		out[--len] = '\0';
}

struct cc_http *cli_client_new(struct cli *c, int *rc)
{
	struct cc_http *http;

	if ((*rc = cli_load_config(c)) != CC_EXIT_OK)
		return NULL;
	if (cc_http_global_init() < 0 || !(http = cc_http_new(&c->cfg))) {
		*rc = cli_fail(CC_EXIT_FAILED, "cannot initialise libcurl");
		return NULL;
	}
	return http;
}

int cli_auth_refused(const struct cc_config *cfg, int node, const char *what)
{
	const char *login = node ? cc_config_node_login(cfg) : cfg->login;

	cli_fail(CC_EXIT_CENTRAL, "%s: central refused our credentials (401)", what);
	if (!cfg->http_authentication || !*login)
		fprintf(stderr, "crowd: central wants HTTP basic auth, and %s sends "
			"none: set http_authentication = yes, login and password in "
			"%s (as central's)\n", node ? "the node" : "crowd", cfg->file);
	else
		fprintf(stderr, "crowd: check %s in %s: they must be central's (its "
			"crowd.conf; the user file nginx reads is made from them at "
			"`crowd server start`)\n", node && cc_config_node_auth(cfg) ?
			"node_login and node_password" : "login and password", cfg->file);
	return CC_EXIT_CENTRAL;
}

int cli_central(struct cli *c, struct cc_http *http, const char *method,
		const char *path, const char *form, long timeout_s,
		struct cc_http_resp *resp)
{
	struct cc_err err = { 0 };
	char base[CC_STR_LEN], url[CC_STR_LEN * 2 + 64], what[sizeof(url) + 16];

	cli_central_url(c, base, sizeof(base));
	snprintf(url, sizeof(url), "%s%s", base, path);
	cc_debug("%s %s", method, url);
	if (cc_http_request(http, method, url, form, timeout_s, resp, &err) < 0) {
		cc_http_resp_cleanup(resp);
		return cli_fail(CC_EXIT_CENTRAL, "cannot reach the central server: %s "
				"(is it running? central_server in %s, or -s URL)",
				err.msg, c->cfg.file);
	}
	if (resp->status == 401) {
		cc_http_resp_cleanup(resp);
		snprintf(what, sizeof(what), "%s %s", method, url);
		return cli_auth_refused(&c->cfg, 0, what);
	}
	return CC_EXIT_OK;
}

/* The text of an HTML page's <title>, into out; "" when it has none. */
static void html_title(const char *body, char *out, size_t n)
{
	const char *t = strcasestr(body, "<title>"), *e;

	out[0] = '\0';
	if (t && (e = strcasestr(t += 7, "</title>")))
		snprintf(out, n, "%.*s", (int)(e - t), t);
}

const char *cli_resp_error(const struct cc_http_resp *resp, char *out, size_t n)
{
	json_t *j = resp->body && *resp->body ? json_loads(resp->body, 0, NULL) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
	const char *b = resp->body ? resp->body : "";

	while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
		b++;
	if (msg) {
		snprintf(out, n, "%s (HTTP %ld)", msg, resp->status);
	} else if (*b == '<') {
		/* an error page of nginx (or a proxy), not central's JSON: its
		 * title says enough, the markup says nothing */
		char title[160];

		html_title(b, title, sizeof(title));
		snprintf(out, n, "HTTP %ld%s%s (an HTML page, not central's JSON: "
			 "is crowd-server running behind nginx?)", resp->status,
			 *title ? ": " : "", title);
	} else if (*b) {
		snprintf(out, n, "HTTP %ld: %.200s", resp->status, b);
	} else {
		snprintf(out, n, "HTTP %ld", resp->status);
	}
	json_decref(j);
	/* one line: line breaks of plain bodies become blanks */
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (size_t len = strlen(out); len && out[len - 1] == ' ';)
		out[--len] = '\0';
	return out;
}

int cli_refused(const struct cc_http_resp *resp, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	fputs("crowd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", cli_resp_error(resp, msg, sizeof(msg)));
	return CC_EXIT_CENTRAL;
}

int cli_mkdir(const char *path, int code)
{
	struct cc_err err = { 0 };

	if (cc_fs_mkdirs(path, 0755, &err) < 0)
		return cli_fail(code, "%s", err.msg);
	return CC_EXIT_OK;
}
