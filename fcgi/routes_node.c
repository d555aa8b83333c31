/* routes_node.c - the internal API nodes and workers call:
 * PUT /node/:host (check-in), DELETE /node/:host (check-out),
 * PUT /work/:id (a unit's result). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "model/node_record.h"
#include "model/work_unit.h"
#include "routes.h"
#include "central/lifecycle.h"

/* The node hosts the result log line names, by node id, cached per pool
 * process: a node's id never changes hands (node_records is keyed by
 * host), so each is read once, not once per result. */
#define HOST_CACHE 32

struct host_name {
	char host[300];
};

static const struct cc_dbcol HOST_NAME_COLS[] = {
	CC_COL_CHARBUF(struct host_name, host),
};
static const struct cc_dbrow HOST_NAME = CC_DBROW(struct host_name, HOST_NAME_COLS);

static const char *node_host(struct cc_app *app, long long id)
{
	static struct {
		long long id;
		char host[300];
	} cache[HOST_CACHE];
	static unsigned next;
	struct host_name row = { "" };
	struct cc_dbv p[] = { CC_DBI(id) };
	struct cc_err err = { 0 };
	unsigned slot;

	if (id <= 0)
		return "-";
	for (int i = 0; i < HOST_CACHE; i++)
		if (cache[i].id == id)
			return cache[i].host;
	/* only for the log line: a failure here changes nothing */
	if (cc_db_select_one(app->db, "SELECT host FROM node_records WHERE id = ?",
			     p, 1, &HOST_NAME, &row, &err) <= 0)
		return "(a node gone since)";
	slot = next++ % HOST_CACHE;
	cache[slot].id = id;
	snprintf(cache[slot].host, sizeof(cache[slot].host), "%s", row.host);
	return cache[slot].host;
}

static int parse_bool(const char *s, int *out)
{
	if (!s || !strcmp(s, "false") || !strcmp(s, "0") || !*s) {
		*out = 0;
		return 0;
	}
	if (!strcmp(s, "true") || !strcmp(s, "1")) {
		*out = 1;
		return 0;
	}
	return -1;
}

void cc_route_node_check_in(struct cc_app *app, struct cc_req *req,
			    struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	struct cc_node_checkin in = { 0 };
	char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL;
	char *o6 = NULL;
	const char *busy = cc_req_param(req, "busy", &o1);
	const char *mw = cc_req_param(req, "max_workers", &o2);
	const char *ci = cc_req_param(req, "check_in_interval", &o6);
	unsigned long long released = 0;
	char *end;

	in.host = req->param;
	in.ip_address = req->remote_addr ? req->remote_addr : "";
	in.tag = cc_req_param(req, "tag", &o3);
	in.enabled_actions = cc_req_param(req, "enabled_actions", &o4);
	in.instance = cc_req_param(req, "instance", &o5);
	if (in.tag && !*in.tag)
		in.tag = NULL;
	if (in.instance && !*in.instance)
		in.instance = NULL;
	if (!in.enabled_actions)
		in.enabled_actions = "";
	if (parse_bool(busy, &in.busy) < 0) {
		cc_resp_error(resp, 400, "busy must be true or false");
		goto out;
	}
	in.max_workers = -1;
	if (mw && *mw) {
		long v = strtol(mw, &end, 10);
		if (*end || v < 0 || v > 100000) {
			cc_resp_error(resp, 400, "max_workers must be a whole number from 0 "
				      "to 100000");
			goto out;
		}
		in.max_workers = (int)v;
	}
	/* How often the node checks in (it is dropped after
	 * node_expiry_intervals of them without a sign of life): what it
	 * announces; else, for our node before it announced it (it sends
	 * `instance`, and shares this config), check_in_interval; else (the
	 * original's node, hard-coded) 300 s. */
	if (ci && *ci) {
		long v = strtol(ci, &end, 10);
		if (*end || v < 1 || v > CC_NODE_MAX_INTERVAL) {
			cc_resp_error(resp, 400, "check_in_interval must be a whole "
				      "number of seconds from 1 to %d",
				      CC_NODE_MAX_INTERVAL);
			goto out;
		}
		in.check_in_interval = (int)v;
	} else {
		in.check_in_interval = in.instance ? app->cfg->check_in_interval :
				       CC_NODE_DEFAULT_INTERVAL;
	}
	if (cc_node_check_in(app->db, &in, &released, &err) < 0) {
		cc_resp_fail(resp, &err, "check-in failed");
		goto out;
	}
	cc_resp_empty(resp, 204);
out:
	free(o1);
	free(o2);
	free(o3);
	free(o4);
	free(o5);
	free(o6);
}

void cc_route_node_check_out(struct cc_app *app, struct cc_req *req,
			     struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	int port;

	if (!cc_node_host_valid(req->param, &port)) {
		cc_resp_error(resp, 400, "node must be HOST:PORT");
		return;
	}
	if (cc_node_check_out(app->db, req->param, &err) < 0) {
		cc_resp_fail(resp, &err, "check-out failed");
		return;
	}
	cc_resp_empty(resp, 204);
}

/* An assignment token as central makes them: CC_TOKEN_LEN lowercase hex
 * digits. */
static int token_valid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == CC_TOKEN_LEN && !s[n];
}

/* log_result - every recorded result, one line at info, so a central
 * host's log tells what it recorded:
 *   result: unit 12, job 5, action word_count, node 10.0.0.7:9063,
 *   succeeded (attempt 1), 0.068 s
 * outcome is succeeded, retrying (in N s) or failed (for good). */
static void log_result(struct cc_app *app, const struct cc_unit_report *rep,
		       const struct cc_finish *f, int timed)
{
	char outcome[64], took[48] = "";

	if (f->result == CC_RESULT_SUCCEEDED)
		snprintf(outcome, sizeof(outcome), "succeeded");
	else if (f->result == CC_RESULT_RETRYING)
		snprintf(outcome, sizeof(outcome), "retrying in %.0f s", f->retry_in);
	else
		snprintf(outcome, sizeof(outcome), "failed");
	if (timed)
		snprintf(took, sizeof(took), ", %.3f s", rep->time);
	cc_info("result: unit %lld, job %lld, action %s, node %s, %s (attempt %d)%s",
		rep->unit_id, f->job_id, f->action, node_host(app, f->node_id),
		outcome, f->attempt, took);
}

void cc_route_work_finish(struct cc_app *app, struct cc_req *req,
			  struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	struct cc_unit_report rep;
	struct cc_finish f;
	char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL;
	const char *status = cc_req_param(req, "status", &o1);
	const char *output = cc_req_param(req, "output", &o2);
	const char *pid_s = cc_req_param(req, "pid", &o3);
	const char *time_s = cc_req_param(req, "time", &o4);
	const char *token = cc_req_param(req, "token", &o5);
	long long id = cc_parse_id(req->param), pid = 0;
	double t = 0;
	char *end;

	if (id < 0) {
		cc_resp_error(resp, 400, "work unit id must be a positive integer");
		goto out;
	}
	if (!status || (strcmp(status, "succeeded") && strcmp(status, "failed"))) {
		cc_resp_error(resp, 400, "status must be succeeded or failed");
		goto out;
	}
	if (!output) {
		cc_resp_error(resp, 400, "missing parameter 'output' (JSON text "
			      "{\"output\": VALUE})");
		goto out;
	}
	if (pid_s && *pid_s) {
		pid = cc_parse_id(pid_s);
		if (pid < 0) {
			cc_resp_error(resp, 400, "pid must be a positive integer");
			goto out;
		}
	}
	if (time_s && *time_s) {
		t = strtod(time_s, &end);
		if (*end || !isfinite(t) || t < 0) {
			cc_resp_error(resp, 400, "time must be a number of seconds");
			goto out;
		}
	}
	if (token && *token && !token_valid(token)) {
		cc_resp_error(resp, 400, "token must be the %d hex digits sent with "
			      "the unit", CC_TOKEN_LEN);
		goto out;
	}
	rep = (struct cc_unit_report){ .unit_id = id, .pid = pid, .output = output,
		.token = token, .succeeded = !strcmp(status, "succeeded"), .time = t };
	if (cc_lifecycle_finish(app->db, app->cfg, &rep, &f, &err) < 0) {
		cc_resp_fail(resp, &err, "could not record the result");
		goto out;
	}
	if (f.outcome == CC_FINISH_NOT_FOUND) {
		cc_resp_error(resp, 404, "no work unit %lld", id);
		goto out;
	}
	if (f.outcome == CC_FINISH_REFUSED) {
		cc_resp_error(resp, 409, "%s", f.why);
		goto out;
	}
	if (f.outcome == CC_FINISH_DONE)
		log_result(app, &rep, &f, time_s && *time_s);
	/* Recorded now, or a duplicate of a report recorded before: the same
	 * answer, so a retried report is idempotent. */
	cc_resp_empty(resp, 204);
	resp->deliver_callbacks = f.callback_due;
	resp->wake_later = f.retry_in;
out:
	free(o1);
	free(o2);
	free(o3);
	free(o4);
	free(o5);
}
