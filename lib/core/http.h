/* http.h - the HTTP client calls of central, nodes and workers, through
 * libcurl (dispatch.c drives libcurl's multi interface itself for
 * concurrent POSTs, and store_s3.c for signed, streamed requests). A struct
 * cc_http keeps one easy handle so connections are reused (keep-alive)
 * between calls to the same host. Basic auth comes from the config when
 * http_authentication is on: the clients' login, or the node credentials
 * (cc_http_set_auth). Not thread-safe: one cc_http per thread. */
#ifndef CC_HTTP_H
#define CC_HTTP_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

struct cc_http;

struct cc_http_resp {
	long status;          /* HTTP status, 0 if no response */
	char *body;           /* NUL-terminated, caller frees via cleanup */
	size_t len;
};

/* cc_http_global_init - once per program, before threads start. */
int cc_http_global_init(void);

/* cc_http_new - a client with cfg's auth and connect timeout; total timeout
 * per request is given per call. NULL on out of memory. */
struct cc_http *cc_http_new(const struct cc_config *cfg);
void cc_http_free(struct cc_http *h);

/* Whose basic auth a client sends. */
enum cc_http_auth {
	CC_HTTP_AUTH_NONE = 0,   /* none: callbacks to third parties, whose
				  * URL may carry its own user:password@ */
	CC_HTTP_AUTH_CLIENT = 1, /* login and password */
	CC_HTTP_AUTH_NODE = 2,   /* cc_config_node_login/_password: nodes and
				  * workers talking to central's node routes */
};

/* cc_http_set_auth - send who's credentials from now on, whatever
 * http_authentication says (the default of cc_http_new: CLIENT when it is
 * on, else NONE). The node side sets NODE only when it is on; see
 * cc_http_node_auth. */
void cc_http_set_auth(struct cc_http *h, enum cc_http_auth who);

/* cc_http_node_auth - NODE when cfg's http_authentication is on, else
 * NONE: what a node or worker passes to cc_http_set_auth before calling
 * central's node routes. */
enum cc_http_auth cc_http_node_auth(const struct cc_config *cfg);

/* cc_http_request - method ("GET", "PUT", "POST", "DELETE") to url with an
 * optional form body (application/x-www-form-urlencoded). Returns 0 when a
 * response arrived (any status; see resp->status), -1 on a transport
 * failure (refused, timeout, DNS) with err set. resp is filled either way;
 * free it with cc_http_resp_cleanup. max_response caps the body kept. */
int cc_http_request(struct cc_http *h, const char *method, const char *url,
		    const char *form, long timeout_s, struct cc_http_resp *resp,
		    struct cc_err *err);

void cc_http_resp_cleanup(struct cc_http_resp *resp);

/* cc_http_download - fetch url (http, https or file only) into path, at most
 * max_bytes, within timeout_s. 0 on a 2xx (or file) fetch; -1 with err
 * ("HTTP 404 for URL", "larger than N bytes", "unsupported scheme"). */
int cc_http_download(struct cc_http *h, const char *url, const char *path,
		     long long max_bytes, long timeout_s, struct cc_err *err);

#endif
