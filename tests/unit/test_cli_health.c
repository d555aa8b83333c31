/* test_cli_health.c - what `crowd server status` says about central's
 * readiness (cli/health.c): GET /health's contract answers (ok, degraded,
 * the database unavailable with 503), a central without /health (404),
 * no answer, and answers that are not the contract's JSON. cli/health.c
 * is compiled in: the cli objects are not part of libcrowd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "../../cli/health.c"

static void test_cli_health_ok_gives_a_line_per_part_and_exit_0(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(cli_health_report(200, "{\"status\":\"ok\",\"database\":{\"ok\":true},"
					   "\"dispatcher\":{\"ok\":true,\"pid\":42},"
					   "\"nodes\":{\"count\":2,\"busy\":3,\"max\":8}}",
					   NULL, out, sizeof(out)), CC_EXIT_OK);
	assert_string_equal(out, "database: ok\n"
				 "dispatcher: running (pid 42)\n"
				 "nodes: 2 checked in, 3/8 workers busy\n"
				 "readiness: ok\n");
}

static void test_cli_health_degraded_says_why_and_exits_0(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(cli_health_report(200, "{\"status\":\"degraded\",\"database\":{\"ok\":true},"
					   "\"dispatcher\":{\"ok\":false,\"error\":\"no "
					   "ccdistribute --loop\"},\"nodes\":{\"count\":0,"
					   "\"busy\":0,\"max\":0}}", NULL, out, sizeof(out)),
			 CC_EXIT_OK);
	assert_string_equal(out, "database: ok\n"
				 "dispatcher: not running: no ccdistribute --loop\n"
				 "nodes: none checked in\n"
				 "readiness: degraded (no dispatcher, no nodes)\n");
	assert_int_equal(cli_health_report(200, "{\"status\":\"degraded\",\"database\":{\"ok\":true},"
					   "\"dispatcher\":{\"ok\":true},\"nodes\":{\"count\":1,"
					   "\"busy\":1,\"max\":0}}", NULL, out, sizeof(out)),
			 CC_EXIT_OK);
	assert_non_null(strstr(out, "dispatcher: running\n"));
	assert_non_null(strstr(out, "nodes: 1 checked in, 1 workers busy (no limit)\n"));
	assert_non_null(strstr(out, "readiness: degraded\n"));
}

static void test_cli_health_database_unavailable_exits_4_with_the_cause(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(cli_health_report(503, "{\"status\":\"unavailable\",\"database\":"
					   "{\"ok\":false,\"error\":\"Can't connect to local "
					   "server through socket\"},\"dispatcher\":{\"ok\":true,"
					   "\"pid\":7},\"nodes\":{\"count\":0,\"busy\":0,\"max\":0}}",
					   NULL, out, sizeof(out)), CC_EXIT_DB);
	assert_non_null(strstr(out, "database: unavailable: Can't connect to local "
				    "server through socket\n"));
	assert_non_null(strstr(out, "readiness: unavailable (the database)\n"));
	/* a 503 is the database down even if the body forgot to say so */
	assert_int_equal(cli_health_report(503, "{\"status\":\"ok\",\"database\":{\"ok\":true}}",
					   NULL, out, sizeof(out)), CC_EXIT_DB);
	assert_non_null(strstr(out, "database: unavailable: (no reason given)\n"));
}

static void test_cli_health_without_health_route_is_unknown_not_a_failure(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(cli_health_report(404, "{\"error\":\"not found\"}", NULL, out,
					   sizeof(out)), CC_EXIT_OK);
	assert_string_equal(out, "readiness: unknown (central has no /health)\n");
}

static void test_cli_health_no_answer_or_other_json_fails(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(cli_health_report(0, NULL, "Connection refused", out, sizeof(out)),
			 CC_EXIT_FAILED);
	assert_string_equal(out, "readiness: unknown (no answer: Connection refused)\n");
	assert_int_equal(cli_health_report(502, "<html><title>502 Bad Gateway</title></html>",
					   NULL, out, sizeof(out)), CC_EXIT_FAILED);
	assert_string_equal(out, "readiness: unknown (GET /health: HTTP 502, not "
				 "central's health JSON)\n");
	assert_int_equal(cli_health_report(200, "[1]", NULL, out, sizeof(out)),
			 CC_EXIT_FAILED);
	assert_int_equal(cli_health_report(200, "{\"status\":\"ok\"}", NULL, out, sizeof(out)),
			 CC_EXIT_FAILED);
}

static void test_cli_health_output_is_cut_not_overrun(void **state)
{
	char out[16];

	(void)state;
	memset(out, 'x', sizeof(out));
	cli_health_report(200, "{\"status\":\"ok\",\"database\":{\"ok\":true},"
			  "\"dispatcher\":{\"ok\":true,\"pid\":42},"
			  "\"nodes\":{\"count\":2,\"busy\":3,\"max\":8}}", NULL, out,
			  sizeof(out));
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_memory_equal(out, "database: ok\ndi", sizeof(out) - 1);
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cli_health_ok_gives_a_line_per_part_and_exit_0),
		T(test_cli_health_degraded_says_why_and_exits_0),
		T(test_cli_health_database_unavailable_exits_4_with_the_cause),
		T(test_cli_health_without_health_route_is_unknown_not_a_failure),
		T(test_cli_health_no_answer_or_other_json_fails),
		T(test_cli_health_output_is_cut_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
