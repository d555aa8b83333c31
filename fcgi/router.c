/* router.c - one table maps method + path to a handler (fcgiwrap/cgit
 * style). A pattern ending in '/' takes the rest of the path, which must
 * be one non-empty segment, as the percent-decoded parameter. */
#include <string.h>
#include "core/form.h"
#include "core/log.h"
#include "routes.h"

struct route {
	const char *method;
	const char *pattern;
	cc_handler handler;
};

static const struct route routes[] = {
	{ "GET",    "/",            cc_route_index },
	{ "GET",    "/heartbeat",   cc_route_heartbeat },
	{ "GET",    "/status",      cc_route_status },
	{ "GET",    "/log",         cc_route_log },
	{ "GET",    "/actions",     cc_route_actions },
	{ "GET",    "/worker/",     cc_route_worker },
	{ "GET",    "/blacklist",   cc_route_blacklist_list },
	{ "POST",   "/blacklist",   cc_route_blacklist_add },
	{ "DELETE", "/blacklist/",  cc_route_blacklist_remove },
	{ "POST",   "/jobs",        cc_route_jobs_create },
	{ "GET",    "/jobs",        cc_route_jobs_list },
	{ "GET",    "/jobs/",       cc_route_jobs_show },
	{ "DELETE", "/jobs/",       cc_route_jobs_delete },
	{ "PUT",    "/node/",       cc_route_node_check_in },
	{ "DELETE", "/node/",       cc_route_node_check_out },
	{ "PUT",    "/work/",       cc_route_work_finish },
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
		return;
	}
	if (path_known)
		cc_resp_error(resp, 405, "%s is not allowed on %.200s", req->method, path);
	else
		cc_resp_error(resp, 404, "no such route: %s %.200s", req->method, path);
}
