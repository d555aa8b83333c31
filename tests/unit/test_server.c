/* test_server.c - the central server's routes through cc_server_handle
 * (fcgi/routes.h), with no nginx and no FastCGI: a struct cc_req holding a
 * method, path, query and body, and the struct cc_resp it gets back,
 * against the fixture's MariaDB. Covers POST /jobs (form and JSON),
 * GET and DELETE /jobs/:id, PUT /work/:id, 400/404/405, and the route
 * table's wake flag. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/form.h"
#include "core/http.h"
#include "dbfixture.h"
#include "model/status.h"
#include "routes.h"

static struct cc_app app;

static int setup(void **state)
{
	if (dbfx_setup(state) < 0)
		return -1;
	memset(&app, 0, sizeof(app));
	app.cfg = &dbfx()->cfg;
	app.db = dbfx()->db;
	snprintf(app.templates_dir, sizeof(app.templates_dir), "%s/templates",
		 CC_SOURCE_DIR);
	snprintf(app.version, sizeof(app.version), "test");
	return 0;
}

static int teardown(void **state)
{
	memset(&app, 0, sizeof(app));
	return dbfx_teardown(state);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

struct answer {
	int status;
	int wake;
	int callbacks;
	char *body;
	json_t *json;            /* the body parsed, when it is JSON */
};

static void answer_free(struct answer *a)
{
	free(a->body);
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

/* call - one request, as main.c would hand it over. */
static struct answer call(const char *method, const char *path,
			  const char *query, const char *ctype, const char *body)
{
	struct cc_req req = { 0 };
	struct cc_resp resp = { 0 };
	struct answer a = { 0 };

	req.method = method;
	req.path = path;
	req.query = query ? query : "";
	req.content_type = ctype ? ctype : "";
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.remote_addr = "127.0.0.1";
	req.script_name = "";
	cc_server_handle(&app, &req, &resp);
	cc_req_cleanup(&req);
	a.status = resp.status;
	a.wake = resp.wake_dispatch;
	a.callbacks = resp.deliver_callbacks;
	if (resp.body) {
		a.body = strndup(resp.body, resp.body_len);
		if (resp.content_type && !strncmp(resp.content_type, "application/json", 16))
			a.json = json_loadb(resp.body, resp.body_len, JSON_DECODE_ANY, NULL);
	}
	cc_resp_cleanup(&resp);
	return a;
}

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

/* post_form_job - POST /jobs with job=<spec> as the Ruby client sends it. */
static struct answer post_form_job(const char *spec)
{
	char *esc = cc_url_escape(spec);
	char *body = malloc(strlen(esc) + 8);
	struct answer a;

	assert_non_null(esc);
	assert_non_null(body);
	snprintf(body, strlen(esc) + 8, "job=%s", esc);
	a = call("POST", "/jobs", NULL, FORM, body);
	free(esc);
	free(body);
	return a;
}

static long long json_id(const struct answer *a)
{
	assert_non_null(a->json);
	return json_integer_value(json_object_get(a->json, "id"));
}

static void assert_error(const struct answer *a, int status)
{
	assert_int_equal(a->status, status);
	assert_non_null(a->json);
	assert_true(json_is_string(json_object_get(a->json, "error")));
	assert_int_equal(a->wake, 0);
}

static void test_server_post_jobs_form_creates_job_and_wakes(void **state)
{
	struct answer a = post_form_job("{\"action\":\"plain\",\"inputs\":[\"a\",\"b\"],"
					"\"options\":{\"k\":1},\"email\":\"me@example.test\"}");
	long long id = json_id(&a);
	const char *color;

	(void)state;
	assert_int_equal(a.status, 200);
	assert_int_equal(a.wake, 1);
	assert_true(id > 0);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "processing");
	assert_int_equal(json_integer_value(json_object_get(a.json, "work_units")), 2);
	assert_int_equal(json_integer_value(json_object_get(a.json, "percent_complete")), 0);
	assert_string_equal(json_string_value(json_object_get(a.json, "email")),
			    "me@example.test");
	color = json_string_value(json_object_get(a.json, "color"));
	assert_non_null(color);
	assert_int_equal(strlen(color), 6);
	assert_null(json_object_get(a.json, "outputs"));
	assert_int_equal(dbfx_int("SELECT status FROM jobs WHERE id = ?", id), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE job_id = ?", id), 2);
	answer_free(&a);
}

static void test_server_post_jobs_json_body_creates_job(void **state)
{
	struct answer a = call("POST", "/jobs", NULL, JSON,
			       "{\"job\":{\"action\":\"splitter\",\"inputs\":[1]}}");
	struct answer b = call("POST", "/jobs", NULL, "application/json; charset=utf-8",
			       "{\"action\":\"plain\",\"inputs\":[\"x\",\"y\",\"z\"]}");

	(void)state;
	assert_int_equal(a.status, 200);
	assert_int_equal(a.wake, 1);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "splitting");
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE job_id = ?",
				  json_id(&a)), 1);
	assert_int_equal(b.status, 200);
	assert_int_equal(json_integer_value(json_object_get(b.json, "work_units")), 3);
	assert_true(json_id(&b) > json_id(&a));
	answer_free(&a);
	answer_free(&b);
}

static void test_server_get_job_shows_it_without_waking(void **state)
{
	struct answer a = post_form_job("{\"action\":\"plain\",\"inputs\":[\"a\"]}");
	char path[64];
	struct answer g;

	(void)state;
	snprintf(path, sizeof(path), "/jobs/%lld", json_id(&a));
	g = call("GET", path, NULL, NULL, NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.wake, 0);
	assert_true(json_id(&g) == json_id(&a));
	assert_string_equal(json_string_value(json_object_get(g.json, "color")),
			    json_string_value(json_object_get(a.json, "color")));
	assert_string_equal(json_string_value(json_object_get(g.json, "status")), "processing");
	answer_free(&a);
	answer_free(&g);
	g = call("GET", "/jobs/987654321", NULL, NULL, NULL);
	assert_error(&g, 404);
	answer_free(&g);
}

static void test_server_delete_job_removes_it(void **state)
{
	struct answer a = post_form_job("{\"action\":\"plain\",\"inputs\":[\"a\",\"b\"]}");
	long long id = json_id(&a);
	char path[64];
	struct answer d;

	(void)state;
	snprintf(path, sizeof(path), "/jobs/%lld", id);
	d = call("DELETE", path, NULL, NULL, NULL);
	assert_int_equal(d.status, 204);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM jobs WHERE id = ?", id), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE job_id = ?", id), 0);
	answer_free(&d);
	d = call("DELETE", path, NULL, NULL, NULL);
	assert_error(&d, 404);
	answer_free(&d);
	d = call("GET", path, NULL, NULL, NULL);
	assert_error(&d, 404);
	answer_free(&d);
	answer_free(&a);
}

static void test_server_unknown_route_is_404(void **state)
{
	static const char *const paths[] = { "/nope", "/jobs/1/extra", "/jobsx", "/work" };
	struct answer a;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		a = call("GET", paths[i], NULL, NULL, NULL);
		assert_error(&a, 404);
		answer_free(&a);
	}
}

static void test_server_wrong_method_is_405(void **state)
{
	struct answer a;

	(void)state;
	a = call("PATCH", "/jobs", NULL, NULL, NULL);
	assert_error(&a, 405);
	answer_free(&a);
	a = call("GET", "/work/1", NULL, NULL, NULL);
	assert_error(&a, 405);
	answer_free(&a);
	a = call("POST", "/jobs/1", NULL, NULL, NULL);
	assert_error(&a, 405);
	answer_free(&a);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM jobs"), 0);
}

static void test_server_malformed_requests_are_400(void **state)
{
	static const char *const bad_json[] = { "{", "[1,2]", "{\"job\":", "nul" };
	static const char *const bad_ids[] = { "/jobs/abc", "/jobs/0", "/jobs/-1",
		"/jobs/1.5", "/jobs/1234567890123456789012", "/jobs/%zz" };
	struct answer a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		a = call("POST", "/jobs", NULL, JSON, bad_json[i]);
		assert_error(&a, 400);
		answer_free(&a);
	}
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		a = call("GET", bad_ids[i], NULL, NULL, NULL);
		assert_error(&a, 400);
		answer_free(&a);
	}
	/* a job that is not JSON, or not a valid job */
	a = call("POST", "/jobs", NULL, FORM, "job=not+json");
	assert_error(&a, 400);
	answer_free(&a);
	a = call("POST", "/jobs", NULL, FORM, "other=1");
	assert_error(&a, 400);
	answer_free(&a);
	a = post_form_job("{\"action\":\"not_installed\",\"inputs\":[1]}");
	assert_error(&a, 400);
	assert_non_null(strstr(json_string_value(json_object_get(a.json, "error")),
			       "not_installed"));
	answer_free(&a);
	a = post_form_job("{\"action\":\"plain\",\"inputs\":[]}");
	assert_error(&a, 400);
	answer_free(&a);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM jobs"), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units"), 0);
}

static void test_server_put_work_records_result_and_wakes(void **state)
{
	struct answer a = post_form_job("{\"action\":\"plain\",\"inputs\":[\"a\"],"
					"\"callback_url\":\"http://127.0.0.1:9/cb\"}");
	long long job = json_id(&a);
	long long unit = dbfx_int("SELECT id FROM work_units WHERE job_id = ?", job);
	char path[64], jpath[64];
	struct answer p, g;

	(void)state;
	snprintf(path, sizeof(path), "/work/%lld", unit);
	snprintf(jpath, sizeof(jpath), "/jobs/%lld", job);
	/* only the worker that holds the unit may report: one is recorded */
	dbfx_exec("UPDATE work_units SET worker_pid = 12 WHERE id = ?", unit);
	p = call("PUT", path, NULL, FORM,
		 "status=succeeded&output=%7B%22output%22%3A%22done%22%7D&pid=12&time=0.25");
	assert_int_equal(p.status, 204);
	assert_int_equal(p.wake, 1);
	assert_int_equal(p.callbacks, 1);
	answer_free(&p);
	g = call("GET", jpath, NULL, NULL, NULL);
	assert_int_equal(g.status, 200);
	assert_string_equal(json_string_value(json_object_get(g.json, "status")), "succeeded");
	assert_int_equal(json_integer_value(json_object_get(g.json, "percent_complete")), 100);
	{
		char *outs = json_dumps(json_object_get(g.json, "outputs"), JSON_COMPACT);
		assert_non_null(outs);
		assert_string_equal(outs, "[\"done\"]");
		free(outs);
	}
	answer_free(&g);
	answer_free(&a);
}

static void test_server_put_work_json_body_and_errors(void **state)
{
	struct answer a = post_form_job("{\"action\":\"plain\",\"inputs\":[\"a\",\"b\"]}");
	long long job = json_id(&a);
	long long unit = dbfx_int("SELECT MIN(id) FROM work_units WHERE job_id = ?", job);
	char path[64];
	struct answer p;

	(void)state;
	snprintf(path, sizeof(path), "/work/%lld", unit);
	/* JSON body, output as a JSON object member, from the unit's worker */
	dbfx_exec("UPDATE work_units SET worker_pid = 12 WHERE id = ?", unit);
	p = call("PUT", path, NULL, JSON,
		 "{\"status\":\"failed\",\"output\":{\"output\":\"oops\"},\"pid\":\"12\"}");
	assert_int_equal(p.status, 204);
	assert_int_equal(p.wake, 1);
	assert_int_equal(p.callbacks, 0);
	answer_free(&p);
	assert_int_equal(dbfx_int("SELECT attempts FROM work_units WHERE id = ?", unit), 1);
	/* unknown unit */
	p = call("PUT", "/work/987654321", NULL, FORM,
		 "status=succeeded&output=%7B%22output%22%3A1%7D");
	assert_error(&p, 404);
	answer_free(&p);
	/* the same report again: recorded once, answered alike */
	p = call("PUT", path, NULL, JSON,
		 "{\"status\":\"failed\",\"output\":{\"output\":\"oops\"},\"pid\":\"12\"}");
	assert_int_equal(p.status, 204);
	answer_free(&p);
	/* not from the worker that holds it (none now: it waits for its
	 * retry): 409; a token that is not one: 400 */
	p = call("PUT", path, NULL, FORM, "status=succeeded&output=%7B%22output%22%3A1%7D&pid=13");
	assert_error(&p, 409);
	assert_int_equal(p.callbacks, 0);
	answer_free(&p);
	p = call("PUT", path, NULL, FORM, "status=succeeded&output=%7B%22output%22%3A1%7D"
		 "&token=%27%20OR%201%3D1%20--");
	assert_error(&p, 400);
	answer_free(&p);
	/* bad status, missing or bad output, bad pid, bad time */
	p = call("PUT", path, NULL, FORM, "status=done&output=%7B%22output%22%3A1%7D");
	assert_error(&p, 400);
	answer_free(&p);
	p = call("PUT", path, NULL, FORM, "status=succeeded");
	assert_error(&p, 400);
	answer_free(&p);
	p = call("PUT", path, NULL, FORM, "status=succeeded&output=nope");
	assert_error(&p, 400);
	answer_free(&p);
	p = call("PUT", path, NULL, FORM, "status=succeeded&output=%7B%22output%22%3A1%7D&pid=x");
	assert_error(&p, 400);
	answer_free(&p);
	p = call("PUT", path, NULL, FORM, "status=succeeded&output=%7B%22output%22%3A1%7D&time=-1");
	assert_error(&p, 400);
	answer_free(&p);
	p = call("PUT", "/work/abc", NULL, FORM, "status=succeeded&output=%7B%22output%22%3A1%7D");
	assert_error(&p, 400);
	answer_free(&p);
	/* none of them changed the unit */
	assert_int_equal(dbfx_int("SELECT attempts FROM work_units WHERE id = ?", unit), 1);
	assert_int_equal(dbfx_int("SELECT status FROM work_units WHERE id = ?", unit),
			 CC_STATUS_PROCESSING);
	answer_free(&a);
}

static void test_server_heartbeat_answers_without_database_change(void **state)
{
	struct answer a = call("GET", "/heartbeat", NULL, NULL, NULL);

	(void)state;
	assert_int_equal(a.status, 200);
	assert_int_equal(a.wake, 0);
	assert_non_null(a.body);
	assert_string_equal(a.body, "buh-bump");
	answer_free(&a);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_server_post_jobs_form_creates_job_and_wakes),
		T(test_server_post_jobs_json_body_creates_job),
		T(test_server_get_job_shows_it_without_waking),
		T(test_server_delete_job_removes_it),
		T(test_server_unknown_route_is_404),
		T(test_server_wrong_method_is_405),
		T(test_server_malformed_requests_are_400),
		T(test_server_put_work_records_result_and_wakes),
		T(test_server_put_work_json_body_and_errors),
		T(test_server_heartbeat_answers_without_database_change),
	};

	if (cc_http_global_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
