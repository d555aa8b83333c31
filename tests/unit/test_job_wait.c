/* test_job_wait.c - the waiting GET (GET /jobs/:id?wait=S, fcgi/
 * routes_jobs.c) through cc_server_handle against the fixture's MariaDB,
 * outside a pool (every wait gets a place: pool.h), and the parser of its
 * seconds (cc_parse_seconds). The limit on waiting pool processes and the
 * stop signal are tested on a real stack (t0408-waiting-get.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/form.h"
#include "dbfixture.h"
#include "routes.h"

static struct cc_app app;

static int setup(void **state)
{
	if (dbfx_setup(state) < 0)
		return -1;
	memset(&app, 0, sizeof(app));
	app.cfg = &dbfx()->cfg;
	app.db = dbfx()->db;
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
	double took;             /* s */
	json_t *json;
};

static struct answer call(const char *method, const char *path,
			  const char *query, const char *body)
{
	struct cc_req req = { 0 };
	struct cc_resp resp = { 0 };
	struct answer a = { 0 };
	double t0 = cc_clock_now();

	req.method = method;
	req.path = path;
	req.query = query ? query : "";
	req.content_type = body ? "application/x-www-form-urlencoded" : "";
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.remote_addr = "127.0.0.1";
	req.script_name = "";
	cc_server_handle(&app, &req, &resp);
	a.took = cc_clock_now() - t0;
	cc_req_cleanup(&req);
	a.status = resp.status;
	if (resp.body)
		a.json = json_loadb(resp.body, resp.body_len, 0, NULL);
	cc_resp_cleanup(&resp);
	return a;
}

static long long new_job(void)
{
	char *esc = cc_url_escape("{\"action\":\"plain\",\"inputs\":[\"a\"]}");
	char body[256];
	struct answer a;
	long long id;

	assert_non_null(esc);
	snprintf(body, sizeof(body), "job=%s", esc);
	free(esc);
	a = call("POST", "/jobs", NULL, body);
	assert_int_equal(a.status, 200);
	id = json_integer_value(json_object_get(a.json, "id"));
	json_decref(a.json);
	assert_true(id > 0);
	return id;
}

static const char *status_of(const struct answer *a)
{
	return json_string_value(json_object_get(a->json, "status"));
}

static struct answer get_wait(long long id, const char *query)
{
	char path[64];

	snprintf(path, sizeof(path), "/jobs/%lld", id);
	return call("GET", path, query, NULL);
}

static void test_parse_seconds_takes_plain_numbers_up_to_max(void **state)
{
	static const struct { const char *s; int ok; double v; } cases[] = {
		{ "0", 1, 0 }, { "2", 1, 2 }, { "0.25", 1, 0.25 }, { "60", 1, 60 },
		{ "60.000000", 1, 60 }, { "007", 1, 7 },
		{ "", 0, 0 }, { "-1", 0, 0 }, { "60.5", 0, 0 }, { "61", 0, 0 },
		{ "1e3", 0, 0 }, { "inf", 0, 0 }, { "nan", 0, 0 }, { " 2", 0, 0 },
		{ "2 ", 0, 0 }, { "2s", 0, 0 }, { "1.", 0, 0 }, { ".5", 0, 0 },
		{ "0x10", 0, 0 }, { "+1", 0, 0 }, { "1.1234567", 0, 0 },
		{ "1 OR 1=1", 0, 0 }, { "99999999999999999999", 0, 0 },
	};
	double v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = -1;
		int rc = cc_parse_seconds(cases[i].s, CC_JOB_WAIT_MAX, &v);
		if ((rc == 0) != cases[i].ok)
			fail_msg("cc_parse_seconds(\"%s\") returned %d", cases[i].s, rc);
		if (cases[i].ok)
			assert_true(v == cases[i].v);
	}
	assert_int_equal(cc_parse_seconds(NULL, 60, &v), -1);
}

static void test_job_wait_bad_values_are_400(void **state)
{
	static const char *bad[] = { "wait=abc", "wait=-1", "wait=61", "wait=",
				     "wait=1e3", "wait=1%20OR%201%3D1" };
	long long id = new_job();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct answer a = get_wait(id, bad[i]);
		assert_int_equal(a.status, 400);
		assert_non_null(strstr(json_string_value(json_object_get(a.json, "error")),
				       "wait must be a number of seconds"));
		assert_true(a.took < 0.5);
		json_decref(a.json);
	}
}

static void test_job_wait_answers_current_state_after_s(void **state)
{
	long long id = new_job();
	struct answer a = get_wait(id, "wait=0.4");

	(void)state;
	assert_int_equal(a.status, 200);
	assert_string_equal(status_of(&a), "processing");
	assert_true(a.took >= 0.39 && a.took < 1.5);
	json_decref(a.json);
	/* wait=0 is a plain GET */
	a = get_wait(id, "wait=0");
	assert_int_equal(a.status, 200);
	assert_true(a.took < 0.3);
	json_decref(a.json);
}

static void *complete_later(void *arg)
{
	long long id = *(long long *)arg;
	struct timespec ts = { 0, 300 * 1000000L };

	nanosleep(&ts, NULL);
	dbfx_exec("UPDATE jobs SET status = 2, outputs = '[]', time = 0.3 WHERE id = ?", id);
	return NULL;
}

static void test_job_wait_answers_once_job_completes(void **state)
{
	long long id = new_job();
	pthread_t t;
	struct answer a;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, complete_later, &id), 0);
	a = get_wait(id, "wait=10");
	pthread_join(t, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(status_of(&a), "succeeded");
	/* completed at 0.3 s, looked at every 0.2 s */
	assert_true(a.took >= 0.25 && a.took < 1.5);
	json_decref(a.json);
	/* complete already: at once */
	a = get_wait(id, "wait=10");
	assert_int_equal(a.status, 200);
	assert_string_equal(status_of(&a), "succeeded");
	assert_true(a.took < 0.3);
	json_decref(a.json);
}

static void test_job_wait_unknown_job_is_404_at_once(void **state)
{
	struct answer a = get_wait(987654321, "wait=10");

	(void)state;
	assert_int_equal(a.status, 404);
	assert_true(a.took < 0.3);
	json_decref(a.json);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_parse_seconds_takes_plain_numbers_up_to_max),
		T(test_job_wait_bad_values_are_400),
		T(test_job_wait_answers_current_state_after_s),
		T(test_job_wait_answers_once_job_completes),
		T(test_job_wait_unknown_job_is_404_at_once),
	};

	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
