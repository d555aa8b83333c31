/* test_worker_unit.c - the pure parts of the worker (lib/proc/worker.c): the
 * unit JSON check, URL inputs and their safe file names, the environment
 * values, output -> result conversion, the stderr tail, the report form
 * and the retry backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/form.h"
#include "proc/worker.h"

static void parse_ok(struct cc_worker_unit *u, const char *json)
{
	struct cc_err err = { 0 };

	if (cc_worker_unit_parse(u, json, strlen(json), &err) < 0)
		fail_msg("parse failed: %s", err.msg);
}

static void parse_fails(const char *json, const char *needle)
{
	struct cc_worker_unit u;
	struct cc_err err = { 0 };

	assert_int_equal(cc_worker_unit_parse(&u, json, strlen(json), &err), -1);
	assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", json, err.msg, needle);
	assert_null(u.input);
	assert_null(u.options);
}

static void test_unit_parse_reads_the_original_wire_unit(void **state)
{
	struct cc_worker_unit u;
	const char *json = "{\"id\":7,\"job_id\":4,\"input\":\"[12366,12371]\","
			   "\"attempts\":2,\"action\":\"word_count\","
			   "\"options\":{\"k\":1},\"status\":5}";

	(void)state;
	parse_ok(&u, json);
	assert_int_equal(u.id, 7);
	assert_int_equal(u.job_id, 4);
	assert_int_equal(u.attempts, 2);
	assert_int_equal(u.status, 5);
	assert_string_equal(u.action, "word_count");
	assert_string_equal(u.input, "[12366,12371]");
	assert_int_equal(u.input_is_json, -1);
	assert_string_equal(u.token, "");       /* a Ruby central sends none */
	assert_int_equal(json_integer_value(json_object_get(u.options, "k")), 1);
	assert_string_equal(u.json, json);
	assert_int_equal(u.json_len, strlen(json));
	cc_worker_unit_cleanup(&u);
}

static void test_unit_parse_defaults_attempts_and_options(void **state)
{
	struct cc_worker_unit u;

	(void)state;
	parse_ok(&u, "{\"id\":1,\"job_id\":1,\"input\":\"42\",\"action\":\"noop\","
		 "\"status\":1,\"input_is_json\":true}");
	assert_int_equal(u.input_is_json, 1);
	cc_worker_unit_cleanup(&u);
	parse_ok(&u, "{\"id\":1,\"job_id\":1,\"input\":\"42\",\"action\":\"noop\","
		 "\"status\":1,\"input_is_json\":false}");
	assert_int_equal(u.input_is_json, 0);
	cc_worker_unit_cleanup(&u);
	parse_ok(&u, "{\"id\":1,\"job_id\":1,\"input\":\"\",\"action\":\"noop\","
		 "\"status\":1}");
	assert_int_equal(u.attempts, 0);
	assert_int_equal(u.input_is_json, -1);
	assert_true(json_is_object(u.options));
	assert_int_equal(json_object_size(u.options), 0);
	cc_worker_unit_cleanup(&u);
}

static void test_unit_parse_refuses_bad_units(void **state)
{
	(void)state;
	parse_fails("", "not valid JSON");
	parse_fails("{\"id\":1", "not valid JSON");
	parse_fails("[1,2]", "must be a JSON object");
	parse_fails("\"x\"", "not valid JSON");
	parse_fails("{\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1}",
		    "id must be a positive integer");
	parse_fails("{\"id\":0,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1}",
		    "id must be a positive integer");
	parse_fails("{\"id\":\"3\",\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1}",
		    "id must be a positive integer");
	parse_fails("{\"id\":1.5,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1}",
		    "id must be a positive integer");
	parse_fails("{\"id\":1,\"job_id\":-1,\"input\":\"x\",\"action\":\"noop\",\"status\":1}",
		    "job_id must be a positive integer");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"no-op\",\"status\":1}",
		    "action must be an action name");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"../x\",\"status\":1}",
		    "action must be an action name");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":5,\"status\":1}",
		    "action must be an action name");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":[1],\"action\":\"noop\",\"status\":1}",
		    "input must be a string");
	parse_fails("{\"id\":1,\"job_id\":1,\"action\":\"noop\",\"status\":1}",
		    "input must be a string");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"a\\u0000b\",\"action\":\"noop\","
		    "\"status\":1}", "NUL");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":2}",
		    "status must be 1");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":\"1\"}",
		    "status must be");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1,"
		    "\"attempts\":-1}", "attempts must be a non-negative integer");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1,"
		    "\"options\":[]}", "options must be an object");
	parse_fails("{\"id\":1,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\",\"status\":1,"
		    "\"input_is_json\":1}", "input_is_json must be true or false");
	parse_fails("{\"id\":1,\"id\":2,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\","
		    "\"status\":1}", "duplicate");
}

static void test_input_is_url_only_for_a_whole_url(void **state)
{
	(void)state;
	assert_true(cc_worker_input_is_url("http://example.org/a.pdf"));
	assert_true(cc_worker_input_is_url("HTTPS://example.org/a?b=c"));
	assert_true(cc_worker_input_is_url("file:///tmp/x.txt"));
	assert_true(cc_worker_input_is_url("ftp://example.org/x"));   /* refused later */
	assert_false(cc_worker_input_is_url("alpha"));
	assert_false(cc_worker_input_is_url(""));
	assert_false(cc_worker_input_is_url("http://"));
	assert_false(cc_worker_input_is_url("see http://x.org/"));
	assert_false(cc_worker_input_is_url("http://x.org/a b"));
	assert_false(cc_worker_input_is_url("http://x.org/\n"));
	assert_false(cc_worker_input_is_url("[\"http://x.org/\"]"));
	assert_false(cc_worker_input_is_url("1http://x.org/"));
}

static void name_is(const char *url, const char *want)
{
	char out[128];

	cc_worker_input_filename(url, out, sizeof(out));
	if (strcmp(out, want))
		fail_msg("%s -> '%s', want '%s'", url, out, want);
}

static void test_input_filename_is_safe(void **state)
{
	(void)state;
	name_is("http://example.org/docs/report.pdf", "report.pdf");
	name_is("http://example.org/docs/report.pdf?x=1&y=/etc/passwd#frag", "report.pdf");
	name_is("file:///tmp/some%20file%2B1.txt", "somefile1.txt");
	name_is("http://example.org/a/..", "input");
	name_is("http://example.org/a/.", "input");
	name_is("http://example.org/a/%2e%2e", "input");
	name_is("http://example.org/%2e%2e%2fetc%2fpasswd", "..etcpasswd");
	name_is("http://example.org/", "input");
	name_is("http://example.org", "input");
	name_is("http://example.org?q=/x.pdf", "input");
	name_is("http://example.org/dir/", "input");
	name_is("http://example.org/-rf", "rf");
	name_is("http://example.org/--", "input");
	name_is("http://example.org/%00%ff%2F", "input");
	name_is("http://example.org/caf%C3%A9.txt", "caf.txt");
	name_is("http://example.org/a%zzb", "azzb");
	name_is("http://example.org/.hidden", ".hidden");

	/* long names keep their extension, within 100 bytes */
	char url[400], out[128];
	char name[251];
	memset(name, 'a', 250);
	name[250] = '\0';
	snprintf(url, sizeof(url), "http://x.org/%s.pdf", name);
	cc_worker_input_filename(url, out, sizeof(out));
	assert_int_equal(strlen(out), 100);
	assert_string_equal(out + 96, ".pdf");
	/* a small buffer is honoured */
	char small[8];
	cc_worker_input_filename("http://x.org/abcdefghijkl", small, sizeof(small));
	assert_string_equal(small, "abcdefg");
}

static void json_is(char *s, const char *want)
{
	assert_non_null(s);
	if (strcmp(s, want))
		fail_msg("got '%s', want '%s'", s, want);
	free(s);
}

static void test_input_json_keeps_json_types(void **state)
{
	(void)state;
	json_is(cc_worker_input_json("alpha", -1), "\"alpha\"");
	json_is(cc_worker_input_json("42", -1), "42");
	json_is(cc_worker_input_json(" [1, 2] ", -1), "[1,2]");
	json_is(cc_worker_input_json("{\"k\":[1,2]}", -1), "{\"k\":[1,2]}");
	json_is(cc_worker_input_json("\"quoted\"", -1), "\"quoted\"");
	json_is(cc_worker_input_json("true", -1), "true");
	json_is(cc_worker_input_json("null", -1), "null");
	json_is(cc_worker_input_json("", -1), "\"\"");
	json_is(cc_worker_input_json("[1,", -1), "\"[1,\"");
	json_is(cc_worker_input_json("http://x.org/a", -1), "\"http://x.org/a\"");
	json_is(cc_worker_input_json("line\n\"q\"", -1), "\"line\\n\\\"q\\\"\"");
	/* central says what the text is: a plain string stays a string */
	json_is(cc_worker_input_json("42", 0), "\"42\"");
	json_is(cc_worker_input_json("[1, 2]", 0), "\"[1, 2]\"");
	json_is(cc_worker_input_json("[1, 2]", 1), "[1,2]");
	json_is(cc_worker_input_json("{\"k\":[1,2]}", 1), "{\"k\":[1,2]}");
	json_is(cc_worker_input_json("not json", 1), "\"not json\"");
}

static void test_options_json_adds_ids(void **state)
{
	struct cc_worker_unit u;

	(void)state;
	parse_ok(&u, "{\"id\":9,\"job_id\":3,\"input\":\"\",\"action\":\"noop\","
		 "\"status\":1,\"attempts\":2,\"options\":{\"size\":\"big\"}}");
	json_is(cc_worker_options_json(&u), "{\"size\":\"big\",\"job_id\":3,"
		"\"work_unit_id\":9,\"attempts\":2}");
	/* the unit's own options are not changed */
	assert_int_equal(json_object_size(u.options), 1);
	cc_worker_unit_cleanup(&u);
}

static void value_is(const char *out, const char *want)
{
	json_t *v = cc_worker_output_value(out, strlen(out));
	char *s;

	assert_non_null(v);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	json_is(s, want);
}

static void test_output_value_json_or_trimmed_text(void **state)
{
	(void)state;
	value_is("", "null");
	value_is(" \n\t ", "null");
	value_is("42\n", "42");
	value_is("[\"a\",\"b\"]\n", "[\"a\",\"b\"]");
	value_is("{\"x\": 1}", "{\"x\":1}");
	value_is("\"str\"\n", "\"str\"");
	value_is("hello world\n", "\"hello world\"");
	value_is("  two\nlines  \n", "\"two\\nlines\"");
	value_is("[1,2", "\"[1,2\"");
	value_is("1 2", "\"1 2\"");
	value_is("file:///tmp/x.txt\n", "\"file:///tmp/x.txt\"");
	/* bytes that are not UTF-8, and NUL, become U+FFFD */
	json_t *v = cc_worker_output_value("a\xff" "b\0c", 5);
	assert_non_null(v);
	assert_string_equal(json_string_value(v), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
	json_decref(v);
}

static void test_clean_text_keeps_valid_utf8(void **state)
{
	char *s;

	(void)state;
	s = cc_worker_clean_text("  caf\xC3\xA9 \xF0\x9F\x98\x80  ", 14);
	assert_string_equal(s, "caf\xC3\xA9 \xF0\x9F\x98\x80");
	free(s);
	/* overlong, surrogate, truncated sequences */
	s = cc_worker_clean_text("\xC0\xAF|\xED\xA0\x80|\xE2\x82", 10);
	assert_null(strchr(s, '\xC0'));
	assert_null(strstr(s, "\xED\xA0\x80"));
	assert_non_null(strstr(s, "\xEF\xBF\xBD"));
	free(s);
}

static void test_tail_keeps_the_last_bytes(void **state)
{
	struct cc_tail t = { 0 };
	char big[CC_TAIL_MAX * 2];
	char *s;

	(void)state;
	cc_tail_add(&t, "first\n", 6);
	cc_tail_add(&t, "second\n", 7);
	assert_int_equal(t.len, 13);
	assert_false(t.truncated);
	s = cc_worker_tail_text(&t);
	assert_string_equal(s, "first\nsecond");
	free(s);

	/* overflow in small pieces: the oldest go, a line boundary starts it */
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 2000; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %d\n", i);
		cc_tail_add(&t, line, (size_t)n);
	}
	assert_int_equal(t.len, CC_TAIL_MAX);
	assert_true(t.truncated);
	s = cc_worker_tail_text(&t);
	assert_true(!strncmp(s, "...line ", 8));
	assert_non_null(strstr(s, "line 1999"));
	assert_null(strstr(s, "line 1\n"));
	free(s);

	/* one huge write */
	memset(&t, 0, sizeof(t));
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = 'E';
	cc_tail_add(&t, big, sizeof(big));
	assert_int_equal(t.len, CC_TAIL_MAX);
	assert_true(t.truncated);
	assert_int_equal(t.buf[CC_TAIL_MAX - 1], 'E');
}

static void test_tail_text_starts_at_a_character_boundary(void **state)
{
	struct cc_tail t = { 0 };
	char *s;

	(void)state;
	/* 'é' is 2 bytes; 2049 of them overflow by one byte, cutting one */
	for (int i = 0; i < CC_TAIL_MAX / 2 + 1; i++)
		cc_tail_add(&t, "\xC3\xA9", 2);
	s = cc_worker_tail_text(&t);
	assert_true(!strncmp(s, "...\xC3\xA9", 5));
	assert_null(strstr(s, "\xEF\xBF\xBD"));
	free(s);
}

static struct cc_proc_result result(int code, int sig, const char *out,
				    const char *err)
{
	struct cc_proc_result r;

	memset(&r, 0, sizeof(r));
	r.exit_code = code;
	r.signal = sig;
	r.out = (char *)out;
	r.out_len = strlen(out);
	cc_tail_add(&r.err, err, strlen(err));
	return r;
}

static void decide(struct cc_proc_result r, enum cc_stage stage, int want_ok,
		   const char *want)
{
	json_t *v = NULL;
	char *s;

	assert_int_equal(cc_worker_result(&r, stage, 30, 65536, &v), want_ok);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	json_is(s, want);
}

static void test_result_decides_success_and_failure_text(void **state)
{
	struct cc_proc_result r;

	(void)state;
	decide(result(0, 0, "alpha\n", "a warning\n"), CC_STAGE_PROCESS, 1, "\"alpha\"");
	decide(result(0, 0, "", ""), CC_STAGE_PROCESS, 1, "null");
	decide(result(0, 0, "[1,2]", ""), CC_STAGE_SPLIT, 1, "[1,2]");
	decide(result(0, 0, "{\"a\":1}", ""), CC_STAGE_SPLIT, 0,
	       "\"split must print a JSON array\"");
	decide(result(0, 0, "a b", ""), CC_STAGE_SPLIT, 0,
	       "\"split must print a JSON array\"");
	decide(result(3, 0, "partial", "boom: no such page\n"), CC_STAGE_PROCESS, 0,
	       "\"boom: no such page\"");
	decide(result(3, 0, "partial", ""), CC_STAGE_PROCESS, 0, "\"exit code 3\"");
	decide(result(-1, SIGKILL, "", ""), CC_STAGE_PROCESS, 0,
	       "\"killed by signal 9 (SIGKILL)\"");
	decide(result(-1, SIGSEGV, "", "about to crash\n"), CC_STAGE_MERGE, 0,
	       "\"killed by signal 11 (SIGSEGV): about to crash\"");
	r = result(-1, SIGTERM, "", "");
	r.timed_out = 1;
	decide(r, CC_STAGE_PROCESS, 0, "\"timed out after 30 s\"");
	r = result(0, 0, "", "still working\n");
	r.timed_out = 1;        /* caught SIGTERM and exited 0: still a timeout */
	decide(r, CC_STAGE_PROCESS, 0, "\"timed out after 30 s: still working\"");
	r = result(0, 0, "xxxx", "");
	r.output_too_big = 1;
	decide(r, CC_STAGE_PROCESS, 0, "\"output larger than 64 KB (max_output_kb)\"");
}

static void test_report_form_matches_the_original_fields(void **state)
{
	struct cc_form form;
	json_t *v = json_pack("{s:[i,s]}", "k", 1, "a b&c");
	char *body;

	(void)state;
	body = cc_worker_report_form(2375, 1, 0.0685929, 1, v);
	json_decref(v);
	assert_non_null(body);
	assert_true(!strncmp(body, "pid=2375&id=1&time=0.068593&status=succeeded&output=", 52));
	assert_int_equal(cc_form_parse(&form, body, strlen(body)), 0);
	assert_string_equal(cc_form_get(&form, "output"),
			    "{\"output\":{\"k\":[1,\"a b&c\"]}}");
	cc_form_cleanup(&form);
	free(body);

	v = json_string("deliberate failure");
	body = cc_worker_report_form(9, 14, 2.5, 0, v);
	json_decref(v);
	assert_string_equal(body, "pid=9&id=14&time=2.500000&status=failed&output="
			    "%7B%22output%22%3A%22deliberate+failure%22%7D");
	free(body);

	body = cc_worker_report_form(9, 14, -1, 1, NULL);
	assert_non_null(strstr(body, "time=0.000000"));
	assert_non_null(strstr(body, "output=%7B%22output%22%3Anull%7D"));
	free(body);
}

static void test_unit_parse_reads_the_assignment_token(void **state)
{
	struct cc_worker_unit u;
	char long_token[CC_WORKER_TOKEN_MAX + 64];
	char json[sizeof(long_token) + 128];

	(void)state;
	parse_ok(&u, "{\"id\":3,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\","
		 "\"status\":1,\"token\":\"0123456789abcdef0123456789abcdef\"}");
	assert_string_equal(u.token, "0123456789abcdef0123456789abcdef");
	cc_worker_unit_cleanup(&u);
	parse_fails("{\"id\":3,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\","
		    "\"status\":1,\"token\":7}", "token must be a string");
	parse_fails("{\"id\":3,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\","
		    "\"status\":1,\"token\":\"\"}", "token must be");
	parse_fails("{\"id\":3,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\","
		    "\"status\":1,\"token\":\"a&b=c\"}", "token must be");
	parse_fails("{\"id\":3,\"job_id\":1,\"input\":\"x\",\"action\":\"noop\","
		    "\"status\":1,\"token\":\"' OR 1=1 --\"}", "token must be");
	memset(long_token, 'a', CC_WORKER_TOKEN_MAX + 1);
	long_token[CC_WORKER_TOKEN_MAX + 1] = '\0';
	snprintf(json, sizeof(json), "{\"id\":3,\"job_id\":1,\"input\":\"x\","
		 "\"action\":\"noop\",\"status\":1,\"token\":\"%s\"}", long_token);
	parse_fails(json, "token must be");
}

static void test_report_form_returns_the_token(void **state)
{
	struct cc_form form;
	json_t *v = json_integer(3);
	char *body;

	(void)state;
	body = cc_worker_report_form_token(2375, 1, 0.5, 1, v,
					   "0123456789abcdef0123456789abcdef");
	assert_non_null(body);
	/* the original's fields first, in its order; the token after them */
	assert_string_equal(body, "pid=2375&id=1&time=0.500000&status=succeeded&output="
			    "%7B%22output%22%3A3%7D&token=0123456789abcdef0123456789abcdef");
	assert_int_equal(cc_form_parse(&form, body, strlen(body)), 0);
	assert_string_equal(cc_form_get(&form, "token"), "0123456789abcdef0123456789abcdef");
	cc_form_cleanup(&form);
	free(body);
	/* no token (a Ruby central's unit): the original's form exactly */
	body = cc_worker_report_form_token(9, 14, 2.5, 0, v, "");
	assert_string_equal(body, "pid=9&id=14&time=2.500000&status=failed&output="
			    "%7B%22output%22%3A3%7D");
	free(body);
	json_decref(v);
}

static void test_backoff_grows_to_thirty_seconds(void **state)
{
	const int want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
	int total = 0, n;

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(cc_worker_backoff(i), want[i]);
	/* about 10 minutes of retries is ~25 attempts */
	for (n = 0; total < 600; n++)
		total += cc_worker_backoff(n);
	assert_true(n > 15 && n < 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unit_parse_reads_the_original_wire_unit),
		cmocka_unit_test(test_unit_parse_defaults_attempts_and_options),
		cmocka_unit_test(test_unit_parse_refuses_bad_units),
		cmocka_unit_test(test_input_is_url_only_for_a_whole_url),
		cmocka_unit_test(test_input_filename_is_safe),
		cmocka_unit_test(test_input_json_keeps_json_types),
		cmocka_unit_test(test_options_json_adds_ids),
		cmocka_unit_test(test_output_value_json_or_trimmed_text),
		cmocka_unit_test(test_clean_text_keeps_valid_utf8),
		cmocka_unit_test(test_tail_keeps_the_last_bytes),
		cmocka_unit_test(test_tail_text_starts_at_a_character_boundary),
		cmocka_unit_test(test_result_decides_success_and_failure_text),
		cmocka_unit_test(test_report_form_matches_the_original_fields),
		cmocka_unit_test(test_unit_parse_reads_the_assignment_token),
		cmocka_unit_test(test_report_form_returns_the_token),
		cmocka_unit_test(test_backoff_grows_to_thirty_seconds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
