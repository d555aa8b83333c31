/* routes_jobs.c - the public job API: POST /jobs, GET /jobs/:id,
 * DELETE /jobs/:id, and GET /jobs (a paged list, for the Operations
 * Center). */
#include <stdlib.h>
#include <string.h>
#include "model/job.h"
#include "core/log.h"
#include "routes.h"

static const char SQL_JOB_TOTAL[] =
	"SELECT COUNT(*) FROM jobs";

/* The job spec: form field `job` (JSON text, what the Ruby clients send),
 * or a JSON body holding either {"job": {...}} / {"job": "..."} or the job
 * object itself. New reference or NULL with resp set. */
static json_t *job_spec(struct cc_req *req, struct cc_resp *resp)
{
	json_error_t jerr;
	json_t *spec;
	const char *text;

	if (req->json) {
		json_t *j = json_object_get(req->json, "job");
		if (json_is_object(j))
			return json_incref(j);
		if (!j)
			return json_incref(req->json);
		if (!json_is_string(j)) {
			cc_resp_error(resp, 400, "job must be a JSON object or JSON text");
			return NULL;
		}
		text = json_string_value(j);
	} else {
		text = cc_form_get(&req->form, "job");
	}
	if (!text) {
		cc_resp_error(resp, 400, "missing parameter 'job' (JSON text with "
			      "action, inputs, options)");
		return NULL;
	}
	spec = json_loads(text, 0, &jerr);
	if (!spec)
		cc_resp_error(resp, 400, "job is not valid JSON: %s (line %d, column %d)",
			      jerr.text, jerr.line, jerr.column);
	return spec;
}

void cc_route_jobs_create(struct cc_app *app, struct cc_req *req,
			  struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	json_t *spec = job_spec(req, resp);
	long long id;
	char *text = NULL;

	if (!spec)
		return;
	if (cc_job_create(app->db, app->cfg, spec, &id, &err) < 0) {
		cc_resp_fail(resp, &err, "could not create the job");
		json_decref(spec);
		return;
	}
	cc_info("job %lld created: %s, %zu inputs", id,
		json_string_value(json_object_get(spec, "action")),
		json_array_size(json_object_get(spec, "inputs")));
	json_decref(spec);
	if (cc_job_json_text(app->db, id, &text, &err) <= 0) {
		cc_resp_fail(resp, &err, "job %lld created but could not be read back", id);
		return;
	}
	cc_resp_json_text(resp, 200, text);
}

void cc_route_jobs_show(struct cc_app *app, struct cc_req *req,
			struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	long long id = cc_parse_id(req->param);
	char *text = NULL;
	int found;

	if (id < 0) {
		cc_resp_error(resp, 400, "job id must be a positive integer");
		return;
	}
	found = cc_job_json_text(app->db, id, &text, &err);
	if (found < 0) {
		cc_resp_fail(resp, &err, "could not read job %lld", id);
	} else if (!found) {
		cc_resp_error(resp, 404, "no job %lld", id);
	} else {
		cc_resp_json_text(resp, 200, text);
	}
}

void cc_route_jobs_delete(struct cc_app *app, struct cc_req *req,
			  struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	long long id = cc_parse_id(req->param);
	int k;

	if (id < 0) {
		cc_resp_error(resp, 400, "job id must be a positive integer");
		return;
	}
	k = cc_job_delete(app->db, app->cfg, id, &err);
	if (k < 0) {
		cc_resp_fail(resp, &err, "could not delete job %lld", id);
	} else if (!k) {
		cc_resp_error(resp, 404, "no job %lld", id);
	} else {
		cc_info("job %lld deleted", id);
		cc_resp_empty(resp, 204);
	}
}

static long param_long(struct cc_req *req, const char *key, long def,
		       long lo, long hi, int *bad)
{
	const char *s = cc_form_get(&req->form, key);
	char *end;
	long v;

	if (!s)
		return def;
	v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi) {
		*bad = 1;
		return def;
	}
	return v;
}

void cc_route_jobs_list(struct cc_app *app, struct cc_req *req,
			struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	int bad = 0, found;
	long page = param_long(req, "page", 1, 1, 1000000, &bad);
	long per = param_long(req, "per_page", 20, 1, 100, &bad);
	long long total;
	json_t *out, *jobs;

	if (bad) {
		cc_resp_error(resp, 400, "page must be 1 or more and per_page 1 to 100");
		return;
	}
	if (cc_db_query_int(app->db, SQL_JOB_TOTAL, NULL, 0, &total, &found, &err) < 0 ||
	    !(jobs = cc_job_page_json(app->db, per, (page - 1) * per, &err))) {
		cc_resp_fail(resp, &err, "could not list jobs");
		return;
	}
	out = json_pack("{s:o?, s:I, s:i, s:i}", "jobs", jobs, "total",
			(json_int_t)total, "page", (int)page, "per_page", (int)per);
	if (!out) {
		cc_resp_error(resp, 500, "out of memory");
		return;
	}
	cc_resp_json(resp, 200, out);
}
