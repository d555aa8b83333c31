/* test_health.c - GET /health (fcgi/routes_health.c) and what the routes
 * answer when the database is away, through cc_server_handle with no nginx,
 * against the fixture's MariaDB: degraded without a dispatcher or a node,
 * ok with both, a stale dispatcher pid file named, parameters refused; and,
 * with a connection whose server cannot be reached, 503 {"error": "the
 * database is unavailable: <MariaDB's message>"} from the API, "unavailable"
 * from /health and an HTML page (not JSON) from GET /. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "central/wake.h"
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
	snprintf(app.templates_dir, sizeof(app.templates_dir), "%s/templates",
		 CC_SOURCE_DIR);
	snprintf(app.version, sizeof(app.version), "test");
	mkdir(app.cfg->pid_path, 0755);
	return 0;
}

static int teardown(void **state)
{
	char path[CC_PATH_LEN + 32];

	snprintf(path, sizeof(path), "%s/ccdistribute.pid", app.cfg->pid_path);
	unlink(path);
	memset(&app, 0, sizeof(app));
	return dbfx_teardown(state);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

struct answer {
	int status;
	char ctype[64];
	char *body;
	json_t *json;
};

static void answer_free(struct answer *a)
{
	free(a->body);
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

static struct answer call(const char *method, const char *path, const char *query,
			  const char *body)
{
	struct cc_req req = { 0 };
	struct cc_resp resp = { 0 };
	struct answer a = { 0 };

	req.method = method;
	req.path = path;
	req.query = query ? query : "";
	req.content_type = body ? "application/x-www-form-urlencoded" : "";
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.remote_addr = "127.0.0.1";
	req.script_name = "";
	cc_server_handle(&app, &req, &resp);
	cc_req_cleanup(&req);
	a.status = resp.status;
	snprintf(a.ctype, sizeof(a.ctype), "%s", resp.content_type ? resp.content_type : "");
	if (resp.body) {
		a.body = strndup(resp.body, resp.body_len);
		if (!strncmp(a.ctype, "application/json", 16))
			a.json = json_loadb(resp.body, resp.body_len, JSON_DECODE_ANY, NULL);
	}
	cc_resp_cleanup(&resp);
	return a;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

static int bool_at(json_t *o, const char *a, const char *b)
{
	return json_is_true(json_object_get(json_object_get(o, a), b));
}

static long long int_at(json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static void write_pid(long pid)
{
	char path[CC_PATH_LEN + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ccdistribute.pid", app.cfg->pid_path);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%ld\n", pid);
	fclose(f);
}

static void test_health_degraded_without_dispatcher_or_nodes(void **state)
{
	struct answer a = call("GET", "/health", NULL, NULL);

	(void)state;
	assert_int_equal(a.status, 200);
	assert_non_null(a.json);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "degraded");
	assert_true(bool_at(a.json, "database", "ok"));
	assert_null(json_object_get(json_object_get(a.json, "database"), "error"));
	assert_false(bool_at(a.json, "dispatcher", "ok"));
	assert_null(json_object_get(json_object_get(a.json, "dispatcher"), "pid"));
	assert_non_null(strstr(str_at(a.json, "dispatcher", "error"), "no dispatcher runs"));
	assert_int_equal(int_at(a.json, "nodes", "count"), 0);
	assert_int_equal(int_at(a.json, "nodes", "busy"), 0);
	assert_int_equal(int_at(a.json, "nodes", "max"), 0);
	answer_free(&a);
}

static void test_health_ok_with_dispatcher_and_node(void **state)
{
	struct cc_err err = { 0 };
	struct answer a;
	int fd;

	(void)state;
	/* this process plays the dispatcher: its socket and its pid file */
	fd = cc_wake_listen(app.cfg, CC_WAKE_DISPATCH, &err);
	assert_true(fd >= 0);
	write_pid((long)getpid());
	a = call("PUT", "/node/127.0.0.1:9063", NULL,
		 "busy=false&max_workers=3&enabled_actions=plain");
	assert_int_equal(a.status, 204);
	answer_free(&a);
	a = call("PUT", "/node/127.0.0.1:9064", NULL,
		 "busy=false&max_workers=2&enabled_actions=plain");
	answer_free(&a);
	a = call("GET", "/health", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "ok");
	assert_true(bool_at(a.json, "dispatcher", "ok"));
	assert_int_equal(int_at(a.json, "dispatcher", "pid"), getpid());
	assert_int_equal(int_at(a.json, "nodes", "count"), 2);
	assert_int_equal(int_at(a.json, "nodes", "busy"), 0);
	assert_int_equal(int_at(a.json, "nodes", "max"), 5);
	answer_free(&a);
	cc_wake_close(app.cfg, CC_WAKE_DISPATCH, fd);
	/* the socket gone, the pid alive: not a dispatcher */
	a = call("GET", "/health", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "degraded");
	assert_non_null(strstr(str_at(a.json, "dispatcher", "error"), "nobody listens"));
	answer_free(&a);
}

static void test_health_names_a_stale_pid_file(void **state)
{
	struct answer a;
	char want[64];
	pid_t child = fork();

	(void)state;
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	waitpid(child, NULL, 0);
	write_pid((long)child);
	a = call("GET", "/health", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_false(bool_at(a.json, "dispatcher", "ok"));
	snprintf(want, sizeof(want), "names pid %ld, which has ended", (long)child);
	assert_non_null(strstr(str_at(a.json, "dispatcher", "error"), want));
	answer_free(&a);
	write_pid(0);            /* not a pid */
	a = call("GET", "/health", NULL, NULL);
	assert_non_null(strstr(str_at(a.json, "dispatcher", "error"), "holds no pid"));
	answer_free(&a);
}

static void test_health_refuses_parameters(void **state)
{
	struct answer a = call("GET", "/health", "x=1%27%20OR%201=1", NULL);

	(void)state;
	assert_int_equal(a.status, 400);
	assert_string_equal(json_string_value(json_object_get(a.json, "error")),
			    "GET /health takes no parameters");
	answer_free(&a);
	a = call("POST", "/health", NULL, "database=off");
	assert_int_equal(a.status, 405);
	answer_free(&a);
}

/* A connection to a server that is not there: what people get. */
static void test_database_away_is_503_with_mariadbs_message(void **state)
{
	static struct cc_config away;
	struct cc_db *db;
	struct answer a;
	const char *e;

	(void)state;
	away = dbfx()->cfg;
	snprintf(away.db_socket, sizeof(away.db_socket), "%s/no-such.sock", dbfx()->root);
	db = cc_db_new(&away);
	assert_non_null(db);
	app.db = db;

	a = call("POST", "/jobs", NULL, "job=%7B%22action%22%3A%22plain%22%2C%22inputs%22%3A%5B1%5D%7D");
	assert_int_equal(a.status, 503);
	e = json_string_value(json_object_get(a.json, "error"));
	assert_non_null(e);
	assert_true(!strncmp(e, "the database is unavailable: Can't connect", 42));
	assert_null(strstr(e, "see the server log"));
	answer_free(&a);

	a = call("GET", "/jobs/1", NULL, NULL);
	assert_int_equal(a.status, 503);
	assert_true(!strncmp(json_string_value(json_object_get(a.json, "error")),
			     "the database is unavailable: ", 29));
	answer_free(&a);

	a = call("GET", "/health", NULL, NULL);
	assert_int_equal(a.status, 503);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "unavailable");
	assert_false(bool_at(a.json, "database", "ok"));
	assert_true(!strncmp(str_at(a.json, "database", "error"),
			     "the database is unavailable: Can't connect", 42));
	assert_true(json_is_null(json_object_get(json_object_get(a.json, "nodes"), "count")));
	answer_free(&a);

	a = call("GET", "/", NULL, NULL);
	assert_int_equal(a.status, 503);
	assert_true(!strncmp(a.ctype, "text/html", 9));
	assert_non_null(strstr(a.body, "<h1 id=\"error_title\">The database is unavailable</h1>"));
	assert_non_null(strstr(a.body, "Can&#39;t connect"));
	assert_null(strstr(a.body, "{\"error\""));
	answer_free(&a);

	a = call("GET", "/heartbeat", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "buh-bump");
	answer_free(&a);

	app.db = dbfx()->db;
	cc_db_free(db);
}

static void test_index_without_template_is_an_html_page(void **state)
{
	struct answer a;

	(void)state;
	snprintf(app.templates_dir, sizeof(app.templates_dir), "%s/no-templates",
		 dbfx()->root);
	a = call("GET", "/", NULL, NULL);
	assert_int_equal(a.status, 500);
	assert_true(!strncmp(a.ctype, "text/html", 9));
	assert_non_null(strstr(a.body, "The Operations Center cannot be shown"));
	assert_non_null(strstr(a.body, "operations_center.html"));
	assert_null(strstr(a.body, "{\"error\""));
	answer_free(&a);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_health_degraded_without_dispatcher_or_nodes),
		T(test_health_ok_with_dispatcher_and_node),
		T(test_health_names_a_stale_pid_file),
		T(test_health_refuses_parameters),
		T(test_database_away_is_503_with_mariadbs_message),
		T(test_index_without_template_is_an_html_page),
	};

	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
