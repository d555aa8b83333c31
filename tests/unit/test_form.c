/* test_form.c - urlencoded bodies as the Ruby RestClient sends them (bodies
 * copied byte for byte from the shared/protocol/NN_*.txt captures), strict
 * %XX decoding, bare keys, and building bodies that parse back to what
 * went in. Bodies are copied into exactly-sized heap buffers so ASan catches
 * any read past len (cc_form_parse must not need a NUL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/form.h"

/* parse exactly strlen(body) bytes from a buffer with no NUL after them */
static int parse(struct cc_form *form, const char *body)
{
	size_t len = strlen(body);
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, body, len);
	rc = cc_form_parse(form, copy, len);
	free(copy);
	return rc;
}

static void assert_field(const struct cc_form *form, size_t i, const char *key,
			 const char *value)
{
	assert_true(i < form->n);
	assert_string_equal(form->fields[i].key, key);
	if (!value) {
		assert_null(form->fields[i].value);
		return;
	}
	assert_non_null(form->fields[i].value);
	assert_int_equal(form->fields[i].value_len, strlen(value));
	assert_memory_equal(form->fields[i].value, value, strlen(value) + 1);
}

/* ---- bodies from the captured protocol --------------------------------- */

static void test_form_parses_node_checkin_with_bare_tag(void **state)
{
	/* 04_node_PUT_node_checkin_startup.txt */
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "busy=false&tag&max_workers=4&enabled_actions="
			       "always_fail%2Cnoop%2Cslow_noop%2Cword_count"), 0);
	assert_int_equal(form.n, 4);
	assert_field(&form, 0, "busy", "false");
	assert_field(&form, 1, "tag", NULL);
	assert_field(&form, 2, "max_workers", "4");
	assert_field(&form, 3, "enabled_actions", "always_fail,noop,slow_noop,word_count");
	assert_true(cc_form_has(&form, "tag"));
	assert_null(cc_form_get(&form, "tag"));
	assert_string_equal(cc_form_get(&form, "busy"), "false");
	assert_string_equal(cc_form_get(&form, "enabled_actions"),
			    "always_fail,noop,slow_noop,word_count");
	assert_false(cc_form_has(&form, "instance"));
	assert_null(cc_form_get(&form, "instance"));
	cc_form_cleanup(&form);
	assert_int_equal(form.n, 0);
	assert_null(form.fields);
}

static void test_form_parses_worker_result_with_json_output(void **state)
{
	/* 09_worker_PUT_work_succeeded.txt */
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "pid=2375&id=1&time=0.068592939&status=succeeded"
			       "&output=%7B%22output%22%3A%22alpha%22%7D"), 0);
	assert_int_equal(form.n, 5);
	assert_string_equal(cc_form_get(&form, "pid"), "2375");
	assert_string_equal(cc_form_get(&form, "id"), "1");
	assert_string_equal(cc_form_get(&form, "time"), "0.068592939");
	assert_string_equal(cc_form_get(&form, "status"), "succeeded");
	assert_string_equal(cc_form_get(&form, "output"), "{\"output\":\"alpha\"}");
	cc_form_cleanup(&form);
}

static void test_form_decodes_plus_as_space(void **state)
{
	/* 14_worker_PUT_work_failed_attempt1.txt */
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "pid=3523&id=4&time=0.023186166&status=failed"
			       "&output=%7B%22output%22%3A%22deliberate+failure+for+"
			       "protocol+capture%22%7D"), 0);
	assert_string_equal(cc_form_get(&form, "output"),
			    "{\"output\":\"deliberate failure for protocol capture\"}");
	cc_form_cleanup(&form);
	/* in keys too, and %2B is a real plus */
	assert_int_equal(parse(&form, "a+b=c+d&e=1%2B1"), 0);
	assert_string_equal(cc_form_get(&form, "a b"), "c d");
	assert_string_equal(cc_form_get(&form, "e"), "1+1");
	cc_form_cleanup(&form);
}

static void test_form_parses_job_and_work_unit_bodies(void **state)
{
	struct cc_form form;

	(void)state;
	/* 06_client_POST_jobs.txt */
	assert_int_equal(parse(&form, "job=%7B%22action%22%3A%22noop%22%2C%22inputs%22"
			       "%3A%5B%22alpha%22%2C%22beta%22%5D%2C%22options%22%3A"
			       "%7B%22note%22%3A%22capture%22%7D%7D"), 0);
	assert_int_equal(form.n, 1);
	assert_string_equal(cc_form_get(&form, "job"),
			    "{\"action\":\"noop\",\"inputs\":[\"alpha\",\"beta\"],"
			    "\"options\":{\"note\":\"capture\"}}");
	cc_form_cleanup(&form);
	/* 18_client_POST_jobs_word_count.txt */
	assert_int_equal(parse(&form, "job=%7B%22action%22%3A%22word_count%22%2C%22"
			       "inputs%22%3A%5B%22file%3A%2F%2F%2Ftmp%2Fanchors%2Fruby"
			       "%2Fdata%2Fbook01.txt%22%2C%22file%3A%2F%2F%2Ftmp%2F"
			       "anchors%2Fruby%2Fdata%2Fbook02.txt%22%5D%7D"), 0);
	assert_string_equal(cc_form_get(&form, "job"),
			    "{\"action\":\"word_count\",\"inputs\":["
			    "\"file:///tmp/anchors/ruby/data/book01.txt\","
			    "\"file:///tmp/anchors/ruby/data/book02.txt\"]}");
	cc_form_cleanup(&form);
	/* 08_server_POST_work_to_node_processing.txt */
	assert_int_equal(parse(&form, "work_unit=%7B%22id%22%3A1%2C%22job_id%22%3A1%2C"
			       "%22input%22%3A%22alpha%22%2C%22attempts%22%3A0%2C%22"
			       "action%22%3A%22noop%22%2C%22options%22%3A%7B%22note%22"
			       "%3A%22capture%22%7D%2C%22status%22%3A1%7D"), 0);
	assert_string_equal(cc_form_get(&form, "work_unit"),
			    "{\"id\":1,\"job_id\":1,\"input\":\"alpha\",\"attempts\":0,"
			    "\"action\":\"noop\",\"options\":{\"note\":\"capture\"},"
			    "\"status\":1}");
	cc_form_cleanup(&form);
	/* 26_client_POST_blacklist_ok.txt */
	assert_int_equal(parse(&form, "action=noop"), 0);
	assert_string_equal(cc_form_get(&form, "action"), "noop");
	cc_form_cleanup(&form);
}

/* ---- decoding details ----------------------------------------------------- */

static void test_form_decodes_percent_escapes_in_either_case(void **state)
{
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "k%3d=%41%62%7e%7E%c3%A9%FF"), 0);
	assert_int_equal(form.n, 1);
	assert_string_equal(form.fields[0].key, "k=");
	assert_int_equal(form.fields[0].value_len, 7);
	assert_memory_equal(form.fields[0].value, "Ab~~\xc3\xa9\xff", 8);
	cc_form_cleanup(&form);
}

static void test_form_value_len_counts_decoded_nul(void **state)
{
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "a=x%00y&b=%00"), 0);
	assert_int_equal(form.n, 2);
	assert_int_equal(form.fields[0].value_len, 3);
	assert_memory_equal(form.fields[0].value, "x\0y", 4);
	assert_int_equal(form.fields[1].value_len, 1);
	assert_memory_equal(form.fields[1].value, "\0", 2);
	cc_form_cleanup(&form);
}

static void test_form_rejects_bad_escapes_and_keeps_nothing(void **state)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "a=%4g", "a=%g4", "a=x%", "%zz=1", "%=1",
		"k%4=1", "ok=1&a=%4", "ok=1&a=%zz&later=2", "ok=1&%", "a=%%41",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cc_form form;

		if (parse(&form, bad[i]) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		/* nothing is left to free (ASan's leak check confirms) */
		assert_int_equal(form.n, 0);
		assert_null(form.fields);
		cc_form_cleanup(&form);   /* safe on the emptied form */
	}
}

static void test_form_escape_at_end_of_len_is_not_completed_past_len(void **state)
{
	/* "a=%41" but only 4 bytes given: the escape is cut short */
	char body[5] = { 'a', '=', '%', '4', '1' };
	struct cc_form form;

	(void)state;
	assert_int_equal(cc_form_parse(&form, body, 4), -1);
	assert_int_equal(cc_form_parse(&form, body, 5), 0);
	assert_string_equal(cc_form_get(&form, "a"), "A");
	cc_form_cleanup(&form);
}

static void test_form_skips_empty_pairs(void **state)
{
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "&&a=1&&&b=2&"), 0);
	assert_int_equal(form.n, 2);
	assert_field(&form, 0, "a", "1");
	assert_field(&form, 1, "b", "2");
	cc_form_cleanup(&form);
	assert_int_equal(parse(&form, "&"), 0);
	assert_int_equal(form.n, 0);
	cc_form_cleanup(&form);
	assert_int_equal(cc_form_parse(&form, "ignored", 0), 0);
	assert_int_equal(form.n, 0);
	cc_form_cleanup(&form);
}

static void test_form_empty_value_is_not_a_bare_key(void **state)
{
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "a=&b&=v&c=="), 0);
	assert_int_equal(form.n, 4);
	assert_field(&form, 0, "a", "");
	assert_field(&form, 1, "b", NULL);
	assert_field(&form, 2, "", "v");
	assert_field(&form, 3, "c", "=");   /* only the first '=' splits */
	assert_string_equal(cc_form_get(&form, "a"), "");
	assert_true(cc_form_has(&form, "b"));
	cc_form_cleanup(&form);
}

static void test_form_get_returns_first_of_repeated_keys(void **state)
{
	struct cc_form form;

	(void)state;
	assert_int_equal(parse(&form, "k=1&k=2&t&t=3"), 0);
	assert_int_equal(form.n, 4);
	assert_string_equal(cc_form_get(&form, "k"), "1");
	assert_null(cc_form_get(&form, "t"));   /* first t is bare */
	cc_form_cleanup(&form);
}

static void test_form_parses_many_fields(void **state)
{
	struct cc_strbuf b = { 0 };
	struct cc_form form;
	char key[32], val[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "v %d", i);
		cc_form_add(&b, key, val);
	}
	assert_false(b.oom);
	assert_int_equal(cc_form_parse(&form, b.data, b.len), 0);
	assert_int_equal(form.n, 1000);
	assert_string_equal(cc_form_get(&form, "k0"), "v 0");
	assert_string_equal(cc_form_get(&form, "k999"), "v 999");
	assert_string_equal(cc_form_get(&form, "k500"), "v 500");
	cc_form_cleanup(&form);
	cc_strbuf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

/* ---- building -------------------------------------------------------------- */

static void test_form_add_builds_node_checkin_exactly(void **state)
{
	struct cc_strbuf b = { 0 };

	(void)state;
	cc_form_add(&b, "busy", "false");
	cc_form_add(&b, "tag", NULL);
	cc_form_add(&b, "max_workers", "4");
	cc_form_add(&b, "enabled_actions", "always_fail,noop,slow_noop,word_count");
	assert_false(b.oom);
	assert_string_equal(b.data, "busy=false&tag&max_workers=4&enabled_actions="
			    "always_fail%2Cnoop%2Cslow_noop%2Cword_count");
	assert_int_equal(b.len, strlen(b.data));
	cc_strbuf_free(&b);
}

static void test_form_add_builds_worker_result_exactly(void **state)
{
	struct cc_strbuf b = { 0 };

	(void)state;
	cc_form_add(&b, "pid", "3523");
	cc_form_add(&b, "id", "4");
	cc_form_add(&b, "time", "0.023186166");
	cc_form_add(&b, "status", "failed");
	cc_form_add(&b, "output", "{\"output\":\"deliberate failure for protocol capture\"}");
	assert_string_equal(b.data, "pid=3523&id=4&time=0.023186166&status=failed"
			    "&output=%7B%22output%22%3A%22deliberate+failure+for+"
			    "protocol+capture%22%7D");
	cc_strbuf_free(&b);
}

static void test_form_add_with_empty_value_writes_equals(void **state)
{
	struct cc_strbuf b = { 0 };

	(void)state;
	cc_form_add(&b, "a", "");
	cc_form_add(&b, "b", NULL);
	assert_string_equal(b.data, "a=&b");
	cc_strbuf_free(&b);
}

/* deterministic xorshift so a failure is reproducible */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state >> 32);
}

static void random_string(char *s, size_t max)
{
	size_t n = rnd() % max;

	for (size_t i = 0; i < n; i++)
		s[i] = (char)(1 + rnd() % 255);   /* any byte but NUL */
	s[n] = '\0';
}

static void test_form_round_trips_arbitrary_bytes(void **state)
{
	enum { FIELDS = 12, ROUNDS = 300, MAXLEN = 64 };
	static char keys[FIELDS][MAXLEN + 1], vals[FIELDS][MAXLEN + 1];

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		struct cc_strbuf b = { 0 };
		struct cc_form form;
		int bare[FIELDS];

		for (int i = 0; i < FIELDS; i++) {
			random_string(keys[i], MAXLEN);
			if (!keys[i][0])
				keys[i][0] = 'k', keys[i][1] = '\0';
			random_string(vals[i], MAXLEN);
			bare[i] = rnd() % 5 == 0;
			cc_form_add(&b, keys[i], bare[i] ? NULL : vals[i]);
		}
		assert_false(b.oom);
		/* the body itself is plain ASCII: no raw '&', '=', space, '%' misuse */
		for (size_t i = 0; i < b.len; i++)
			assert_true(b.data[i] > ' ' && b.data[i] < 127);
		assert_int_equal(cc_form_parse(&form, b.data, b.len), 0);
		assert_int_equal(form.n, FIELDS);
		for (int i = 0; i < FIELDS; i++)
			assert_field(&form, (size_t)i, keys[i], bare[i] ? NULL : vals[i]);
		cc_form_cleanup(&form);
		cc_strbuf_free(&b);
	}
}

static void test_url_escape_matches_ruby_www_form_component(void **state)
{
	char *e;

	(void)state;
	e = cc_url_escape("AZaz09-_.*");
	assert_string_equal(e, "AZaz09-_.*");
	free(e);
	e = cc_url_escape("a b&c=d/e?f%g+h~i\"{}:,");
	assert_string_equal(e, "a+b%26c%3Dd%2Fe%3Ff%25g%2Bh%7Ei%22%7B%7D%3A%2C");
	free(e);
	e = cc_url_escape("\xc3\xa9\x01\x7f\xff");
	assert_string_equal(e, "%C3%A9%01%7F%FF");
	free(e);
	e = cc_url_escape("");
	assert_non_null(e);
	assert_string_equal(e, "");
	free(e);
}

static void test_url_unescape_works_in_place_and_terminates(void **state)
{
	char s[] = "a+b%20c%2Bd";
	char bad[] = "x%2";

	(void)state;
	assert_int_equal(cc_url_unescape(s, strlen(s)), 7);
	assert_string_equal(s, "a b c+d");
	assert_int_equal(cc_url_unescape(bad, strlen(bad)), -1);
}

static void test_url_escape_then_unescape_is_identity(void **state)
{
	char in[300];

	(void)state;
	for (int round = 0; round < 500; round++) {
		char *e;
		long n;

		random_string(in, sizeof(in) - 1);
		e = cc_url_escape(in);
		assert_non_null(e);
		n = cc_url_unescape(e, strlen(e));
		assert_int_equal(n, (long)strlen(in));
		assert_string_equal(e, in);
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_parses_node_checkin_with_bare_tag),
		cmocka_unit_test(test_form_parses_worker_result_with_json_output),
		cmocka_unit_test(test_form_decodes_plus_as_space),
		cmocka_unit_test(test_form_parses_job_and_work_unit_bodies),
		cmocka_unit_test(test_form_decodes_percent_escapes_in_either_case),
		cmocka_unit_test(test_form_value_len_counts_decoded_nul),
		cmocka_unit_test(test_form_rejects_bad_escapes_and_keeps_nothing),
		cmocka_unit_test(test_form_escape_at_end_of_len_is_not_completed_past_len),
		cmocka_unit_test(test_form_skips_empty_pairs),
		cmocka_unit_test(test_form_empty_value_is_not_a_bare_key),
		cmocka_unit_test(test_form_get_returns_first_of_repeated_keys),
		cmocka_unit_test(test_form_parses_many_fields),
		cmocka_unit_test(test_form_add_builds_node_checkin_exactly),
		cmocka_unit_test(test_form_add_builds_worker_result_exactly),
		cmocka_unit_test(test_form_add_with_empty_value_writes_equals),
		cmocka_unit_test(test_form_round_trips_arbitrary_bytes),
		cmocka_unit_test(test_url_escape_matches_ruby_www_form_component),
		cmocka_unit_test(test_url_unescape_works_in_place_and_terminates),
		cmocka_unit_test(test_url_escape_then_unescape_is_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
