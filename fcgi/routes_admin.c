/* routes_admin.c - the Operations Center and admin JSON: GET /, /status,
 * /worker/:pid@host, /heartbeat, /log, /actions, and the blacklist. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/action.h"
#include "model/blacklist.h"
#include "model/job.h"
#include "core/log.h"
#include "core/redact.h"
#include "model/node_record.h"
#include "render.h"
#include "routes.h"
#include "model/work_unit.h"

#define LOG_TAIL_LINES 100
#define LOG_TAIL_BYTES (256 * 1024)

static void internal(struct cc_resp *resp, const char *what, const struct cc_err *err)
{
	cc_resp_fail(resp, err, "%s failed", what);
}

/* The Operations Center is a page people open: when it cannot be
 * rendered they get a page that says why (and tries again), not JSON. */
static void index_error(struct cc_req *req, struct cc_resp *resp, int status,
			const char *title, const char *detail)
{
	size_t len = 0;
	char *html = cc_render_error_page(status, title, detail, req->script_name,
					  status == 503 ? 5 : 0, &len);

	if (!html) {
		cc_resp_error(resp, 500, "out of memory");
		return;
	}
	cc_resp_text(resp, status, "text/html;charset=utf-8", html, len);
	free(html);
}

void cc_route_index(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	long long jobs = 0, units = 0;
	char path[CC_PATH_LEN + 64], jc[32], uc[32];
	char *html;
	size_t len;

	if (cc_job_count_incomplete(app->db, &jobs, &units, &err) < 0) {
		char detail[CC_ERR_LEN + 64];

		cc_error("the Operations Center: counting jobs failed: %s", err.msg);
		if (err.kind == CC_ERR_UNAVAILABLE && err.cause_type == CC_CAUSE_MYSQL) {
			snprintf(detail, sizeof(detail), "The database is unavailable: %s",
				 *err.cause_msg ? err.cause_msg : err.msg);
			index_error(req, resp, 503, "The database is unavailable", detail);
		} else {
			index_error(req, resp, 500, "The Operations Center cannot be shown",
				    "Counting the jobs in the queue failed.");
		}
		return;
	}
	snprintf(jc, sizeof(jc), "%lld", jobs);
	snprintf(uc, sizeof(uc), "%lld", units);
	struct cc_render_var vars[] = {
		{ "job_count", jc }, { "work_unit_count", uc },
		{ "prefix", req->script_name ? req->script_name : "" },
		{ "version", app->version },
	};
	snprintf(path, sizeof(path), "%s/operations_center.html", app->templates_dir);
	html = cc_render_file(path, vars, sizeof(vars) / sizeof(vars[0]), &len);
	if (!html) {
		char detail[sizeof(path) + 256];
		int e = errno;

		cc_error("cannot render %s: %s", path, strerror(e));
		snprintf(detail, sizeof(detail), "Its template, %s, cannot be read "
			 "(%s): check the install (templates/ of the source tree, or "
			 "of the config folder).", path, strerror(e));
		index_error(req, resp, 500, "The Operations Center cannot be shown",
			    detail);
		return;
	}
	cc_resp_text(resp, 200, "text/html;charset=utf-8", html, len);
	free(html);
}

void cc_route_status(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	long long jobs = 0, units = 0;
	json_t *nodes;

	(void)req;
	nodes = cc_node_status_json(app->db, &err);
	if (!nodes || cc_job_count_incomplete(app->db, &jobs, &units, &err) < 0) {
		json_decref(nodes);
		internal(resp, "status", &err);
		return;
	}
	cc_resp_json(resp, 200, json_pack("{s:o, s:I, s:I}", "nodes", nodes,
					  "job_count", (json_int_t)jobs,
					  "work_unit_count", (json_int_t)units));
}

void cc_route_worker(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	char *at = strchr(req->param, '@');
	char *text = NULL;
	long long pid;
	int port, found;

	if (!at) {
		cc_resp_error(resp, 400, "worker must be PID@HOST:PORT");
		return;
	}
	*at = '\0';
	pid = cc_parse_id(req->param);
	if (pid < 0 || !cc_node_host_valid(at + 1, &port)) {
		cc_resp_error(resp, 400, "worker must be PID@HOST:PORT");
		return;
	}
	found = cc_work_unit_json_by_worker(app->db, pid, at + 1, &text, &err);
	if (found < 0)
		internal(resp, "worker lookup", &err);
	else if (!found)
		cc_resp_error(resp, 404, "no unit is running as worker %lld@%s", pid, at + 1);
	else
		cc_resp_json_text(resp, 200, text);
}

void cc_route_heartbeat(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	(void)app;
	(void)req;
	cc_resp_text(resp, 200, "text/html;charset=utf-8", "buh-bump", 8);
}

/* host_label - "NAME (ADDR:PORT)": this machine's name and where nginx
 * took the request, which tells central hosts sharing a machine apart.
 * Only characters safe in a header line are kept. */
static void host_label(const struct cc_req *req, char *out, size_t len)
{
	char name[256] = "";
	size_t i;

	if (gethostname(name, sizeof(name) - 1) < 0 || !*name)
		snprintf(name, sizeof(name), "localhost");
	if (req->server_addr && *req->server_addr && req->server_port &&
	    *req->server_port)
		snprintf(out, len, "%.200s (%.64s:%.8s)", name, req->server_addr,
			 req->server_port);
	else
		snprintf(out, len, "%.200s", name);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
}

void cc_route_log(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	char path[CC_PATH_LEN + 32];
	char *buf = NULL, *start, *shown = NULL;
	off_t size;
	ssize_t n;
	size_t len;
	int fd, lines = 0;
	char host[300];

	/* Which central host's log this is (several may answer behind one
	 * name): the console shows it beside the log. */
	host_label(req, host, sizeof(host));
	snprintf(path, sizeof(path), "%s/server.log", app->cfg->log_path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cc_resp_text(resp, 200, "text/plain;charset=utf-8", "", 0);
		snprintf(resp->header, sizeof(resp->header), "X-CloudCrowd-Host: %s", host);
		return;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size > LOG_TAIL_BYTES)
		lseek(fd, size - LOG_TAIL_BYTES, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	buf = malloc(LOG_TAIL_BYTES + 1);
	n = buf ? read(fd, buf, LOG_TAIL_BYTES) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		cc_resp_error(resp, 500, "cannot read the server log");
		return;
	}
	buf[n] = '\0';
	start = buf + n;
	if (start > buf && start[-1] == '\n')
		start--;
	while (start > buf) {
		if (start[-1] == '\n' && ++lines == LOG_TAIL_LINES)
			break;
		start--;
	}
	/* A tail that begins mid-line (the file is longer than what was read)
	 * starts at the next whole line: half a URL would escape redaction. */
	if (start == buf && size > LOG_TAIL_BYTES) {
		char *nl = memchr(buf, '\n', (size_t)n);
		start = nl ? nl + 1 : buf + n;
	}
	/* Lines written before redaction existed, or by something other than
	 * cc_log (a program's stderr), are redacted here. */
	len = cc_redact(start, (size_t)(buf + n - start), NULL, 0);
	shown = malloc(len + 1);
	if (!shown) {
		free(buf);
		cc_resp_error(resp, 500, "out of memory");
		return;
	}
	cc_redact(start, (size_t)(buf + n - start), shown, len + 1);
	cc_resp_text(resp, 200, "text/plain;charset=utf-8", shown, len);
	snprintf(resp->header, sizeof(resp->header), "X-CloudCrowd-Host: %s", host);
	free(shown);
	free(buf);
}

void cc_route_actions(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	char *list = cc_action_list(app->cfg, 0, &err);
	json_t *arr = json_array();
	char *p, *save = NULL;

	(void)req;
	if (!list || !arr) {
		free(list);
		json_decref(arr);
		internal(resp, "listing actions", &err);
		return;
	}
	for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		json_t *o = json_pack("{s:s, s:b, s:b}", "name", p,
			"split", cc_action_has_stage(app->cfg, p, CC_STAGE_SPLIT),
			"merge", cc_action_has_stage(app->cfg, p, CC_STAGE_MERGE));
		json_array_append_new(arr, o);
	}
	free(list);
	cc_resp_json(resp, 200, arr);
}

void cc_route_blacklist_list(struct cc_app *app, struct cc_req *req,
			     struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	json_t *arr = cc_blacklist_list(app->db, &err);

	(void)req;
	if (!arr)
		internal(resp, "listing the blacklist", &err);
	else
		cc_resp_json(resp, 200, arr);
}

void cc_route_blacklist_add(struct cc_app *app, struct cc_req *req,
			    struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	char *owned = NULL, *owned_for = NULL;
	const char *action = cc_req_param(req, "action", &owned);
	const char *for_text = cc_req_param(req, "for", &owned_for);
	long long for_s = 0;
	json_t *rec = NULL;

	if (!action) {
		cc_resp_error(resp, 400, "missing parameter 'action'");
		goto out;
	}
	/* for: the entry lapses by itself that many seconds from now */
	if (for_text && cc_blacklist_for_parse(for_text, &for_s, &err) < 0) {
		cc_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	rec = cc_blacklist_add(app->db, action, for_s, &err);
	if (!rec) {
		internal(resp, "blacklisting", &err);
		goto out;
	}
	cc_resp_json(resp, 200, rec);
	/* the dispatcher of this host passes again when the entry lapses (a
	 * wake-up it misses, e.g. one over its 1-day limit, leaves the units
	 * to its next timer pass) */
	if (for_s)
		resp->wake_later = (double)for_s;
out:
	free(owned);
	free(owned_for);
}

void cc_route_blacklist_remove(struct cc_app *app, struct cc_req *req,
			       struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	json_t *rec = NULL;
	int k;

	if (!cc_action_name_valid(req->param)) {
		cc_resp_error(resp, 400, "action names are snake_case: [a-z0-9_]+");
		return;
	}
	k = cc_blacklist_remove(app->db, req->param, &rec, &err);
	if (k < 0) {
		internal(resp, "removing from the blacklist", &err);
	} else if (!k) {
		cc_resp_error(resp, 404, "action '%.80s' is not blacklisted", req->param);
	} else {
		cc_resp_json(resp, 200, rec);
	}
}
