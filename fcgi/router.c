/* router.c - one table maps method + path to a handler (fcgiwrap/cgit
 * style). A pattern ending in '/' takes the rest of the path, which must
 * be one non-empty segment, as the percent-decoded parameter. */
#include <string.h>
#include "core/form.h"
#include "core/log.h"
#include "routes.h"

/* Route policy, carried by the table rather than set in each handler. */
enum {
	WAKES = 1,      /* a 2xx answer can make work dispatchable (new units,
			 * freed slots, a node's arrival or an action back
			 * from the blacklist): wake the dispatcher after it */
};

struct route {
	const char *method;
	const char *pattern;
	cc_handler handler;
	unsigned flags;
};

static const struct route routes[] = {
	{ "GET",    "/",            cc_route_index,            0 },
	{ "GET",    "/heartbeat",   cc_route_heartbeat,        0 },
	{ "GET",    "/health",      cc_route_health,           0 },
	{ "GET",    "/status",      cc_route_status,           0 },
	{ "GET",    "/log",         cc_route_log,              0 },
	{ "GET",    "/actions",     cc_route_actions,          0 },
	{ "GET",    "/worker/",     cc_route_worker,           0 },
	{ "GET",    "/blacklist",   cc_route_blacklist_list,   0 },
	{ "POST",   "/blacklist",   cc_route_blacklist_add,    0 },
	{ "DELETE", "/blacklist/",  cc_route_blacklist_remove, WAKES },
	{ "POST",   "/jobs",        cc_route_jobs_create,      WAKES },
	{ "GET",    "/jobs",        cc_route_jobs_list,        0 },
	{ "GET",    "/jobs/",       cc_route_jobs_show,        0 },
	{ "DELETE", "/jobs/",       cc_route_jobs_delete,      0 },
	{ "PUT",    "/node/",       cc_route_node_check_in,    WAKES },
	{ "DELETE", "/node/",       cc_route_node_check_out,   WAKES },
	{ "PUT",    "/work/",       cc_route_work_finish,      WAKES },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* 1 if path matches pattern (param into req->param), 0 if not, -1 if it
 * matches but the parameter is malformed. */
static int match(const char *pattern, const char *path, struct cc_req *req)
{
	size_t n = strlen(pattern);
	size_t plen;
	long len;

	if (pattern[n - 1] != '/' || n == 1)
		return strcmp(pattern, path) == 0;
	if (strncmp(pattern, path, n))
		return 0;
	path += n;
	plen = strlen(path);
	if (!plen || memchr(path, '/', plen))
		return 0;
	if (plen >= sizeof(req->param))
		return -1;
	memcpy(req->param, path, plen + 1);
	len = cc_url_unescape(req->param, plen);
	if (len < 0 || strlen(req->param) != (size_t)len)
		return -1;
	return 1;
}

void cc_server_handle(struct cc_app *app, struct cc_req *req,
		      struct cc_resp *resp)
{
	int path_known = 0;
	const char *path = req->path;

	/* Mounted under a prefix (issue: Operations Center behind a path). */
	if (req->script_name && *req->script_name &&
	    !strncmp(path, req->script_name, strlen(req->script_name)))
		path += strlen(req->script_name);
	if (!*path)
		path = "/";
	resp->status = 500;
	for (size_t i = 0; i < NROUTES; i++) {
		int m = match(routes[i].pattern, path, req);
		if (m < 0) {
			cc_resp_error(resp, 400, "malformed path parameter in %.200s", path);
			return;
		}
		if (!m)
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, req->method))
			continue;
		if (cc_req_parse_body(req, resp) < 0)
			return;
		routes[i].handler(app, req, resp);
		resp->wake_dispatch = (routes[i].flags & WAKES) &&
				      resp->status >= 200 && resp->status < 300;
		return;
	}
	if (path_known)
		cc_resp_error(resp, 405, "%s is not allowed on %.200s", req->method, path);
	else
		cc_resp_error(resp, 404, "no such route: %s %.200s", req->method, path);
}
