/* request.h - what a route handler sees and returns. Handlers never touch
 * FastCGI: main.c fills a struct cc_req from the FastCGI parameters and
 * stdin, and writes the struct cc_resp back, so tests can call
 * cc_server_handle() with nothing but a method, path, query and body. */
#ifndef CC_REQUEST_H
#define CC_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include "core/config.h"
#include "core/db.h"
#include "core/form.h"

/* Per-process state shared by every request. A pool process makes no
 * outbound call: it wakes its host's dispatcher (central/wake.h), which
 * talks to nodes and callback receivers. */
struct cc_app {
	struct cc_config *cfg;
	struct cc_db *db;
	char templates_dir[CC_PATH_LEN];
	char version[32];
};

struct cc_req {
	const char *method;
	const char *path;          /* without query, still percent-encoded */
	const char *query;         /* may be "" */
	const char *content_type;  /* may be "" */
	const char *body;
	size_t body_len;
	const char *remote_addr;
	const char *script_name;   /* prefix nginx mounted us under, or "" */
	const char *server_addr;   /* where nginx took the request (SERVER_ADDR,
				    * SERVER_PORT): which central host this is
				    * when several share a machine; may be NULL */
	const char *server_port;
	/* filled by cc_req_parse_body */
	struct cc_form form;       /* form body, or query string for GET */
	json_t *json;              /* JSON body object, or NULL */
	/* path parameters, set by the router (percent-decoded) */
	char param[512];
};

struct cc_resp {
	int status;
	const char *content_type;  /* static string */
	char *body;                /* malloc'd, may be NULL */
	size_t body_len;
	char header[384];          /* one more header line "Name: value", or "" */
	int wake_dispatch;         /* wake the dispatcher after answering (set by
				    * the router from the route's flags) */
	int deliver_callbacks;     /* wake it for due callbacks after answering */
	double wake_later;         /* > 0: and ask it for a pass this many
				    * seconds from now (a retry comes due) */
};

/* cc_req_parse_body - form (x-www-form-urlencoded, or the query string when
 * there is no body) or JSON (application/json) into req. -1 with a 400
 * error already set in resp when the body is malformed. */
int cc_req_parse_body(struct cc_req *req, struct cc_resp *resp);

/* cc_req_param - a request parameter as text: a form field, or a JSON
 * body member (strings as is, other values as compact JSON text, which
 * *owned then holds and the caller frees). NULL when absent. */
const char *cc_req_param(const struct cc_req *req, const char *key, char **owned);
int cc_req_has_param(const struct cc_req *req, const char *key);

void cc_req_cleanup(struct cc_req *req);

/* Responses. Each replaces any earlier body. */
void cc_resp_json(struct cc_resp *resp, int status, json_t *value); /* steals */
void cc_resp_json_text(struct cc_resp *resp, int status, char *text); /* steals */
void cc_resp_error(struct cc_resp *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* cc_resp_fail - answer a failed operation by the kind of err, chosen in
 * one place (cc_err_http_status): an error that blames the request (bad
 * request, not found, conflict, too large) is answered with its own
 * message; any other is logged as "<what>: <detail>" and answered with
 * "<what> (see the server log)", 500 or 502; MySQL away is answered as
 * cc_resp_db_unavailable does. */
void cc_resp_fail(struct cc_resp *resp, const struct cc_err *err,
		  const char *what, ...) __attribute__((format(printf, 3, 4)));
/* cc_resp_db_unavailable - when err says MySQL is away (unreachable, or
 * the connection broke), answer 503 {"error": "the database is
 * unavailable: <MariaDB's message>"} and return 1; else 0, resp untouched. */
int cc_resp_db_unavailable(struct cc_resp *resp, const struct cc_err *err);
void cc_resp_text(struct cc_resp *resp, int status, const char *ctype,
		  const char *text, size_t len);
void cc_resp_empty(struct cc_resp *resp, int status);
void cc_resp_cleanup(struct cc_resp *resp);

/* cc_parse_id - a positive decimal id (at most 18 digits); -1 otherwise. */
long long cc_parse_id(const char *s);

/* cc_status_text - reason phrase for a status code. */
const char *cc_status_text(int status);

#endif
