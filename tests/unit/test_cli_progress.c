/* test_cli_progress.c - the pure helpers of `crowd submit/status`: job id
 * and number parsing (what the command line refuses), the job view read
 * from job JSON, and the two ways progress is shown (the terminal bar and
 * the plain line). cli/progress.c is compiled in: the cli objects are not
 * part of libcrowd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "../../cli/progress.c"

static void test_cli_job_id_accepts_positive_decimal(void **state)
{
	long long id = 0;

	(void)state;
	assert_int_equal(cli_parse_job_id("1", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(cli_parse_job_id("9223372036854775807", &id), 0);
	assert_true(id == 9223372036854775807LL);
}

static void test_cli_job_id_refuses_non_numeric_and_edge_values(void **state)
{
	static const char *const bad[] = { "", "abc", "0", "-1", "+1", " 7", "7 ",
		"1e3", "0x10", "12abc", "9223372036854775808", "3.0" };
	long long id = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_parse_job_id(bad[i], &id), -1);
		assert_int_equal(id, 42);            /* untouched */
	}
	assert_int_equal(cli_parse_job_id(NULL, &id), -1);
}

static void test_cli_parse_long_checks_range_and_garbage(void **state)
{
	long v = 0;

	(void)state;
	assert_int_equal(cli_parse_long("7", 0, 36500, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cli_parse_long("0", 0, 10, &v), 0);
	assert_int_equal(cli_parse_long("-3", -5, 10, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(cli_parse_long("11", 0, 10, &v), -1);
	assert_int_equal(cli_parse_long("-1", 0, 10, &v), -1);
	assert_int_equal(cli_parse_long("seven", 0, 10, &v), -1);
	assert_int_equal(cli_parse_long("5x", 0, 10, &v), -1);
	assert_int_equal(cli_parse_long("", 0, 10, &v), -1);
	assert_int_equal(cli_parse_long("99999999999999999999", 0, 10, &v), -1);
}

static void test_cli_parse_seconds_takes_fractions_only_finite(void **state)
{
	double s = 0;

	(void)state;
	assert_int_equal(cli_parse_seconds("2", 100, &s), 0);
	assert_true(s == 2.0);
	assert_int_equal(cli_parse_seconds("0.5", 100, &s), 0);
	assert_true(s == 0.5);
	assert_int_equal(cli_parse_seconds("-1", 100, &s), -1);
	assert_int_equal(cli_parse_seconds("nan", 100, &s), -1);
	assert_int_equal(cli_parse_seconds("inf", 100, &s), -1);
	assert_int_equal(cli_parse_seconds("101", 100, &s), -1);
	assert_int_equal(cli_parse_seconds("1s", 100, &s), -1);
}

static void test_cli_job_view_reads_a_job_json(void **state)
{
	json_t *j = json_loads("{\"id\":42,\"color\":\"abcdef\",\"status\":\"processing\","
			       "\"percent_complete\":50,\"work_units\":3,"
			       "\"time_taken\":3.25}", 0, NULL);
	struct cli_job_view v;

	(void)state;
	assert_non_null(j);
	assert_int_equal(cli_job_view_from_json(j, &v), 0);
	assert_int_equal(v.id, 42);
	assert_string_equal(v.status, "processing");
	assert_int_equal(v.percent, 50);
	assert_int_equal(v.units, 3);
	assert_int_equal(v.done, 2);              /* 50% of 3, rounded */
	assert_true(v.seconds == 3.25);
	assert_false(v.complete);
	json_decref(j);

	j = json_loads("{\"id\":7,\"status\":\"failed\",\"percent_complete\":100,"
		       "\"work_units\":0,\"time_taken\":1,\"outputs\":[\"x\"]}", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), 0);
	assert_true(v.complete);
	assert_false(v.succeeded);
	json_decref(j);
}

static void test_cli_job_view_works_out_units_done(void **state)
{
	struct cli_job_view v;
	json_t *j;

	(void)state;
	/* 12 of 40 is 30%: exact back from the percentage */
	j = json_loads("{\"id\":1,\"status\":\"processing\",\"percent_complete\":30,"
		       "\"work_units\":40}", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), 0);
	assert_int_equal(v.done, 12);
	assert_int_equal(v.units, 40);
	json_decref(j);
	/* every count up to 100 units comes back exactly */
	for (long long total = 1; total <= 100; total++)
		for (long long done = 0; done <= total; done++) {
			char text[160];
			int pc = (int)llround((double)done / (double)total * 100.0);

			snprintf(text, sizeof(text), "{\"id\":1,\"status\":\"processing\","
				 "\"percent_complete\":%d,\"work_units\":%lld}", pc, total);
			j = json_loads(text, 0, NULL);
			assert_int_equal(cli_job_view_from_json(j, &v), 0);
			assert_int_equal(v.done, done);
			json_decref(j);
		}
	/* central's own count wins; a merge at 99% has none done */
	j = json_loads("{\"id\":1,\"status\":\"processing\",\"percent_complete\":30,"
		       "\"work_units\":1000,\"units_done\":301}", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), 0);
	assert_int_equal(v.done, 301);
	json_decref(j);
	j = json_loads("{\"id\":1,\"status\":\"merging\",\"percent_complete\":99,"
		       "\"work_units\":1}", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), 0);
	assert_int_equal(v.done, 0);
	json_decref(j);
}

static void test_cli_job_view_refuses_what_is_not_a_job(void **state)
{
	struct cli_job_view v;
	json_t *j;

	(void)state;
	j = json_loads("{\"error\":\"job 9 not found\"}", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), -1);
	json_decref(j);
	j = json_loads("[1,2]", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), -1);
	json_decref(j);
	j = json_loads("{\"id\":\"1\",\"status\":\"processing\"}", 0, NULL);
	assert_int_equal(cli_job_view_from_json(j, &v), -1);
	json_decref(j);
}

static void test_cli_job_view_clamps_percent(void **state)
{
	json_t *j = json_loads("{\"id\":1,\"status\":\"processing\","
			       "\"percent_complete\":250}", 0, NULL);
	struct cli_job_view v;

	(void)state;
	assert_int_equal(cli_job_view_from_json(j, &v), 0);
	assert_int_equal(v.percent, 100);
	json_decref(j);
}

static void test_cli_elapsed_formats_minutes_and_hours(void **state)
{
	char b[32];

	(void)state;
	cli_fmt_elapsed(0, b, sizeof(b));
	assert_string_equal(b, "0:00");
	cli_fmt_elapsed(7.9, b, sizeof(b));
	assert_string_equal(b, "0:07");
	cli_fmt_elapsed(723, b, sizeof(b));
	assert_string_equal(b, "12:03");
	cli_fmt_elapsed(3723, b, sizeof(b));
	assert_string_equal(b, "1:02:03");
	cli_fmt_elapsed(-5, b, sizeof(b));
	assert_string_equal(b, "0:00");
}

static void test_cli_progress_bar_shows_percent_units_elapsed(void **state)
{
	struct cli_job_view v = { .id = 42, .status = "processing", .percent = 50,
				  .units = 2, .done = 1, .seconds = 3.4 };
	char b[256];

	(void)state;
	cli_progress_bar(&v, 10, b, sizeof(b));
	assert_string_equal(b, "job 42 [#####-----]  50%  processing  1/2 units  0:03");
	v.percent = 100;
	v.units = v.done = 1;
	snprintf(v.status, sizeof(v.status), "succeeded");
	cli_progress_bar(&v, 4, b, sizeof(b));        /* widened to 5 */
	assert_string_equal(b, "job 42 [#####] 100%  succeeded  1/1 unit  0:03");
	v.units = v.done = 0;                         /* complete: no units */
	cli_progress_bar(&v, 5, b, sizeof(b));
	assert_string_equal(b, "job 42 [#####] 100%  succeeded  0:03");
	v.percent = 0;
	cli_progress_bar(&v, 5, b, sizeof(b));
	assert_non_null(strstr(b, "[-----]   0%"));
}

static void test_cli_progress_line_is_one_plain_line(void **state)
{
	struct cli_job_view v = { .id = 9, .status = "merging", .percent = 99,
				  .units = 1, .seconds = 12.345 };
	char b[256];

	(void)state;
	cli_progress_line(&v, b, sizeof(b));
	assert_string_equal(b, "job 9: merging, 99% done, 0/1 unit, 12.3 s");
	v.units = 40;
	v.done = 12;
	snprintf(v.status, sizeof(v.status), "processing");
	cli_progress_line(&v, b, sizeof(b));
	assert_string_equal(b, "job 9: processing, 99% done, 12/40 units, 12.3 s");
	v.units = v.done = 0;
	cli_progress_line(&v, b, sizeof(b));
	assert_string_equal(b, "job 9: processing, 99% done, 12.3 s");
	assert_null(strchr(b, '\n'));
	assert_null(strchr(b, '\r'));
}

static void test_cli_progress_changed_ignores_time_only(void **state)
{
	struct cli_job_view a = { .id = 1, .status = "processing", .percent = 10,
				  .units = 5, .seconds = 1 };
	struct cli_job_view b = a;

	(void)state;
	b.seconds = 9;
	assert_false(cli_progress_changed(&a, &b));
	b.percent = 20;
	assert_true(cli_progress_changed(&a, &b));
	b = a;
	b.units = 4;
	assert_true(cli_progress_changed(&a, &b));
	b = a;
	b.done = 3;
	assert_true(cli_progress_changed(&a, &b));
	b = a;
	snprintf(b.status, sizeof(b.status), "merging");
	assert_true(cli_progress_changed(&a, &b));
}

static void test_cli_timestamp_is_iso8601_utc_with_ms(void **state)
{
	char b[40];

	(void)state;
	cli_timestamp(0.25, b, sizeof(b));
	assert_string_equal(b, "1970-01-01T00:00:00.250Z");
	cli_timestamp(1767323045.678, b, sizeof(b));
	assert_string_equal(b, "2026-01-02T03:04:05.678Z");
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
	const struct CMUnitTest tests[] = {
		T(test_cli_job_id_accepts_positive_decimal),
		T(test_cli_job_id_refuses_non_numeric_and_edge_values),
		T(test_cli_parse_long_checks_range_and_garbage),
		T(test_cli_parse_seconds_takes_fractions_only_finite),
		T(test_cli_job_view_reads_a_job_json),
		T(test_cli_job_view_refuses_what_is_not_a_job),
		T(test_cli_job_view_clamps_percent),
		T(test_cli_elapsed_formats_minutes_and_hours),
		T(test_cli_job_view_works_out_units_done),
		T(test_cli_progress_bar_shows_percent_units_elapsed),
		T(test_cli_progress_line_is_one_plain_line),
		T(test_cli_progress_changed_ignores_time_only),
		T(test_cli_timestamp_is_iso8601_utc_with_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
