/* test_job.c - the database-free parts of the job model: the colour (hex
 * MD5 of the decimal id, characters [-7...-1]), percent_complete (99 while
 * merging, 100 when complete or without units, else the original's
 * (done / all.to_f * 100).round) and the job JSON (keys id, color, status,
 * percent_complete, work_units, time_taken, outputs only when complete,
 * email only when set). Every test builds its own struct cc_job by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "model/job.h"
#include "model/status.h"

/* ---- helpers ------------------------------------------------------------ */

static struct cc_job job_of(long long id, int status, long long units,
			    long long done)
{
	struct cc_job j;

	memset(&j, 0, sizeof(j));
	j.id = id;
	j.status = status;
	j.unit_count = units;
	j.units_done = done;
	j.time = -1;
	return j;
}

/* the job JSON as the server writes it (caller frees) */
static char *job_text(const struct cc_job *j)
{
	json_t *o = cc_job_to_json(j);
	char *s;

	assert_non_null(o);
	s = json_dumps(o, CC_JSON_FLAGS);
	json_decref(o);
	assert_non_null(s);
	return s;
}

/* the keys of the job JSON, in order, joined with ',' into buf */
static void job_keys(const struct cc_job *j, char *buf, size_t len)
{
	json_t *o = cc_job_to_json(j);
	size_t used = 0;

	assert_non_null(o);
	assert_true(json_is_object(o));
	buf[0] = '\0';
	for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
				 json_object_iter_key(it));
		assert_true(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
	json_decref(o);
}

/* MD5 of the decimal id, hex, characters 25..30: computed here with the
 * streaming EVP interface and snprintf, not with the code under test. */
static void reference_color(long long id, char out[7])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[32], hex[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int n = snprintf(text, sizeof(text), "%lld", id);

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_md5(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, text, (size_t)n), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	EVP_MD_CTX_free(ctx);
	assert_int_equal(mdlen, 16);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", md[i]);
	/* Ruby's hexdigest[-7...-1] on 32 characters: from 32-7 = 25, 6 long */
	memcpy(out, hex + 25, 6);
	out[6] = '\0';
}

/* ---- colour ------------------------------------------------------------- */

static void test_job_color_matches_md5sum_values(void **state)
{
	/* `printf %s N | md5sum`, characters 26-31; ids 1, 4 and 6 are the
	 * values in the protocol captures. */
	static const struct { long long id; const char *color; } known[] = {
		{ 1, "f75849" },
		{ 2, "c14862" },
		{ 3, "2a7baf" },
		{ 4, "542122" },
		{ 5, "4a318d" },
		{ 6, "eb1b2d" },
		{ 10, "163e82" },
		{ 123456789, "b624d0" },
		{ LLONG_MAX, "b88e78" },      /* "9223372036854775807" */
		{ 0, "98764d" },
		{ -1, "1d82c8" },
		{ LLONG_MIN, "304d88" },      /* "-9223372036854775808" */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char out[7];

		memset(out, 'X', sizeof(out));
		cc_job_color(known[i].id, out);
		assert_string_equal(out, known[i].color);
	}
}

static void test_job_color_matches_independent_md5_for_many_ids(void **state)
{
	(void)state;
	for (long long id = 1; id <= 2000; id++) {
		char got[7], want[7];

		cc_job_color(id, got);
		reference_color(id, want);
		assert_string_equal(got, want);
	}
	for (long long id = 1; id > 0 && id < LLONG_MAX / 7; id *= 7) {
		char got[7], want[7];

		cc_job_color(id * 3 + 1, got);
		reference_color(id * 3 + 1, want);
		assert_string_equal(got, want);
	}
}

static void test_job_color_writes_six_lowercase_hex_and_nul_only(void **state)
{
	static const long long ids[] = { 1, 4, 99, 4294967296LL, LLONG_MAX, LLONG_MIN };

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char buf[16];

		memset(buf, '#', sizeof(buf));
		cc_job_color(ids[i], buf);
		for (int k = 0; k < 6; k++)
			assert_non_null(strchr("0123456789abcdef", buf[k]));
		assert_int_equal(buf[6], '\0');
		for (size_t k = 7; k < sizeof(buf); k++)
			assert_int_equal(buf[k], '#');
	}
}

/* ---- percent_complete --------------------------------------------------- */

static void test_job_percent_complete_is_99_while_merging(void **state)
{
	struct cc_job a = job_of(1, CC_STATUS_MERGING, 0, 0);
	struct cc_job b = job_of(1, CC_STATUS_MERGING, 10, 10);
	struct cc_job c = job_of(1, CC_STATUS_MERGING, 10, 0);
	struct cc_job d = job_of(1, CC_STATUS_MERGING, 1, 0);

	(void)state;
	assert_int_equal(cc_job_percent_complete(&a), 99);
	assert_int_equal(cc_job_percent_complete(&b), 99);
	assert_int_equal(cc_job_percent_complete(&c), 99);
	assert_int_equal(cc_job_percent_complete(&d), 99);
}

static void test_job_percent_complete_is_100_when_complete(void **state)
{
	static const int statuses[] = { CC_STATUS_SUCCEEDED, CC_STATUS_FAILED };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct cc_job none = job_of(2, statuses[i], 0, 0);
		struct cc_job some = job_of(2, statuses[i], 10, 3);
		struct cc_job zero = job_of(2, statuses[i], 10, 0);

		assert_int_equal(cc_job_percent_complete(&none), 100);
		assert_int_equal(cc_job_percent_complete(&some), 100);
		assert_int_equal(cc_job_percent_complete(&zero), 100);
	}
}

static void test_job_percent_complete_is_100_without_units(void **state)
{
	/* inputs: [] in the original: stays processing with 100 */
	struct cc_job p = job_of(3, CC_STATUS_PROCESSING, 0, 0);
	struct cc_job s = job_of(3, CC_STATUS_SPLITTING, 0, 0);
	struct cc_job neg = job_of(3, CC_STATUS_PROCESSING, -1, 0);

	(void)state;
	assert_int_equal(cc_job_percent_complete(&p), 100);
	assert_int_equal(cc_job_percent_complete(&s), 100);
	assert_int_equal(cc_job_percent_complete(&neg), 100);
}

static void test_job_percent_complete_rounds_half_up(void **state)
{
	static const struct { long long done, all; int want; } cases[] = {
		{ 0, 1, 0 },
		{ 1, 1, 100 },
		{ 0, 3, 0 },
		{ 1, 3, 33 },
		{ 2, 3, 67 },
		{ 3, 3, 100 },
		{ 1, 2, 50 },          /* exactly 50: no rounding at all */
		{ 1, 4, 25 },
		{ 3, 8, 38 },          /* 37.5 -> 38 */
		{ 1, 8, 13 },          /* 12.5 -> 13 */
		{ 1, 200, 1 },         /* 0.5 -> 1 */
		{ 199, 200, 100 },     /* 99.5 -> 100 */
		{ 1, 201, 0 },         /* 0.497... -> 0 */
		{ 200, 201, 100 },     /* 99.502... -> 100 */
		{ 1, 7, 14 },
		{ 6, 7, 86 },
		{ 999999, 1000000, 100 },
		{ 1, 3000000, 0 },
		{ 2999999, 3000000, 100 },
		{ 1500000, 3000000, 50 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cc_job p = job_of(9, CC_STATUS_PROCESSING, cases[i].all,
					 cases[i].done);
		struct cc_job s = job_of(9, CC_STATUS_SPLITTING, cases[i].all,
					 cases[i].done);

		if (cc_job_percent_complete(&p) != cases[i].want)
			fail_msg("%lld/%lld: got %d, want %d", cases[i].done,
				 cases[i].all, cc_job_percent_complete(&p),
				 cases[i].want);
		assert_int_equal(cc_job_percent_complete(&s), cases[i].want);
	}
}

/* The original (job.rb) computes (work_units.complete.count /
 * unit_count.to_f * 100).round: divide first, then multiply, then Ruby's
 * Float#round (C round(), half away from zero). In doubles that is not
 * always round(100.0 * done / all): 23/40 is 57.499999999999993 in the
 * original's order (57) but exactly 57.5 in the other (58). */
static void test_job_percent_complete_matches_original_float_order(void **state)
{
	static const struct { long long done, all; int want; } known[] = {
		{ 23, 40, 57 },
		{ 29, 200, 14 },
		{ 57, 200, 28 },
		{ 113, 200, 56 },
		{ 115, 200, 57 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct cc_job j = job_of(5, CC_STATUS_PROCESSING, known[i].all,
					 known[i].done);
		int got = cc_job_percent_complete(&j);

		if (got != known[i].want)
			fail_msg("%lld/%lld: got %d, the original gives %d",
				 known[i].done, known[i].all, got, known[i].want);
	}
	for (long long all = 1; all <= 400; all++)
		for (long long done = 0; done <= all; done++) {
			struct cc_job j = job_of(5, CC_STATUS_PROCESSING, all, done);
			volatile double q = (double)done / (double)all;
			volatile double pc = q * 100.0;
			int want = (int)round(pc);
			int got = cc_job_percent_complete(&j);

			if (got != want)
				fail_msg("%lld/%lld: got %d, the original gives %d",
					 done, all, got, want);
		}
}

/* ---- JSON --------------------------------------------------------------- */

static void test_job_json_succeeded_matches_protocol_example(void **state)
{
	/* the Job JSON example of the protocol notes, byte for byte: the
	 * answer captured in tests/fixtures/protocol/23_client_GET_jobs_
	 * merged_succeeded.txt, plus the email key of 11_client_GET_jobs_
	 * with_email.txt, in that order */
	struct cc_job j = job_of(4, CC_STATUS_SUCCEEDED, 0, 0);
	char outputs[] = "[24737]", email[] = "x@example.org";
	char *s;

	(void)state;
	j.time = 1.35684;
	j.age = 500.25;
	j.outputs = outputs;
	j.email = email;
	s = job_text(&j);
	assert_string_equal(s, "{\"id\":4,\"color\":\"542122\",\"status\":\"succeeded\","
			    "\"percent_complete\":100,\"work_units\":0,"
			    "\"time_taken\":1.35684,\"outputs\":[24737],"
			    "\"email\":\"x@example.org\"}");
	free(s);
}

static void test_job_json_processing_has_no_outputs_nor_email(void **state)
{
	struct cc_job j = job_of(7, CC_STATUS_PROCESSING, 3, 1);
	char keys[256];
	char *s;

	(void)state;
	j.age = 12.5;
	s = job_text(&j);
	assert_string_equal(s, "{\"id\":7,\"color\":\"bea254\",\"status\":\"processing\","
			    "\"percent_complete\":33,\"work_units\":3,"
			    "\"time_taken\":12.5}");
	free(s);
	job_keys(&j, keys, sizeof(keys));
	assert_string_equal(keys, "id,color,status,percent_complete,work_units,time_taken");
}

static void test_job_json_key_order_with_every_key(void **state)
{
	static const int complete[] = { CC_STATUS_SUCCEEDED, CC_STATUS_FAILED };
	char outputs[] = "[\"a\",\"b\"]", email[] = "me@example.org";

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct cc_job j = job_of(11, complete[i], 2, 2);
		char keys[256];

		j.time = 2.0;
		j.outputs = outputs;
		j.email = email;
		job_keys(&j, keys, sizeof(keys));
		assert_string_equal(keys, "id,color,status,percent_complete,"
				    "work_units,time_taken,outputs,email");
		j.email = NULL;
		job_keys(&j, keys, sizeof(keys));
		assert_string_equal(keys, "id,color,status,percent_complete,"
				    "work_units,time_taken,outputs");
	}
}

static void test_job_json_outputs_only_when_complete(void **state)
{
	static const int incomplete[] = { CC_STATUS_PROCESSING, CC_STATUS_SPLITTING,
		CC_STATUS_MERGING, 0, 6 };
	char outputs[] = "[1,2,3]", email[] = "e@example.org";

	(void)state;
	for (size_t i = 0; i < sizeof(incomplete) / sizeof(incomplete[0]); i++) {
		struct cc_job j = job_of(12, incomplete[i], 4, 2);
		json_t *o;

		/* even with outputs text present */
		j.outputs = outputs;
		j.email = email;
		o = cc_job_to_json(&j);
		assert_non_null(o);
		assert_null(json_object_get(o, "outputs"));
		assert_string_equal(json_string_value(json_object_get(o, "email")),
				    "e@example.org");
		assert_int_equal(json_object_size(o), 7);
		json_decref(o);
	}
}

static void test_job_json_outputs_are_parsed_json_not_text(void **state)
{
	struct cc_job j = job_of(13, CC_STATUS_SUCCEEDED, 0, 0);
	char outputs[] = "[{\"k\":[1,2]},\"a\",null,1.5,true,[]]";
	json_t *o, *outs, *want;

	(void)state;
	j.time = 0.25;
	j.outputs = outputs;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	outs = json_object_get(o, "outputs");
	assert_true(json_is_array(outs));
	want = json_loads(outputs, 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(outs, want));
	assert_int_equal(json_array_size(outs), 6);
	assert_true(json_is_object(json_array_get(outs, 0)));
	json_decref(want);
	json_decref(o);
}

static void test_job_json_failed_lists_error_messages(void **state)
{
	/* capture 17_ */
	struct cc_job j = job_of(6, CC_STATUS_FAILED, 0, 0);
	char outputs[] = "[\"deliberate failure for protocol capture\"]";
	char *s;

	(void)state;
	j.time = 3.5;
	j.age = 99.0;
	j.outputs = outputs;
	s = job_text(&j);
	assert_string_equal(s, "{\"id\":6,\"color\":\"eb1b2d\",\"status\":\"failed\","
			    "\"percent_complete\":100,\"work_units\":0,"
			    "\"time_taken\":3.5,"
			    "\"outputs\":[\"deliberate failure for protocol capture\"]}");
	free(s);
}

static void test_job_json_complete_without_outputs_text_has_empty_array(void **state)
{
	struct cc_job j = job_of(14, CC_STATUS_SUCCEEDED, 0, 0);
	json_t *o, *outs;

	(void)state;
	j.time = 1.0;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	outs = json_object_get(o, "outputs");
	assert_true(json_is_array(outs));
	assert_int_equal(json_array_size(outs), 0);
	json_decref(o);
}

static void test_job_json_email_only_when_set(void **state)
{
	struct cc_job j = job_of(15, CC_STATUS_PROCESSING, 1, 0);
	char email[] = "x@example.org", empty[] = "";
	json_t *o;

	(void)state;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_null(json_object_get(o, "email"));
	json_decref(o);

	j.email = email;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "email")),
			    "x@example.org");
	json_decref(o);

	/* set but empty: Ruby's `if email` keeps "" */
	j.email = empty;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_true(json_is_string(json_object_get(o, "email")));
	assert_string_equal(json_string_value(json_object_get(o, "email")), "");
	json_decref(o);
}

static void test_job_json_time_taken_is_time_when_complete_else_age(void **state)
{
	struct cc_job j = job_of(16, CC_STATUS_PROCESSING, 2, 1);
	json_t *o;

	(void)state;
	/* running: age, even if a time were stored */
	j.time = 5.0;
	j.age = 42.0;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_true(json_is_real(json_object_get(o, "time_taken")));
	assert_float_equal(json_real_value(json_object_get(o, "time_taken")), 42.0, 1e-9);
	json_decref(o);

	/* complete: the stored time, not the age */
	j.status = CC_STATUS_SUCCEEDED;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_float_equal(json_real_value(json_object_get(o, "time_taken")), 5.0, 1e-9);
	json_decref(o);

	j.status = CC_STATUS_FAILED;
	j.time = 0.0548;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_float_equal(json_real_value(json_object_get(o, "time_taken")), 0.0548, 1e-9);
	json_decref(o);

	/* complete with no stored time (NULL: < 0): the original's
	 * `return self.time if self.time` falls through to the age */
	j.time = -1;
	j.age = 7.25;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_float_equal(json_real_value(json_object_get(o, "time_taken")), 7.25, 1e-9);
	json_decref(o);

	/* merging is not complete: age */
	j.status = CC_STATUS_MERGING;
	j.time = 9.0;
	j.age = 8.0;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_float_equal(json_real_value(json_object_get(o, "time_taken")), 8.0, 1e-9);
	json_decref(o);

	/* a long fraction stays within a microsecond */
	j.status = CC_STATUS_PROCESSING;
	j.age = 1.23456789;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_true(fabs(json_real_value(json_object_get(o, "time_taken")) -
			 1.23456789) <= 1e-6);
	json_decref(o);
}

static void test_job_json_status_names_and_percent(void **state)
{
	static const struct { int status; const char *name; int pc; int has_outputs; } cases[] = {
		{ CC_STATUS_PROCESSING, "processing", 25, 0 },
		{ CC_STATUS_SUCCEEDED, "succeeded", 100, 1 },
		{ CC_STATUS_FAILED, "failed", 100, 1 },
		{ CC_STATUS_SPLITTING, "splitting", 25, 0 },
		{ CC_STATUS_MERGING, "merging", 99, 0 },
		{ 0, "unknown", 25, 0 },
		{ 77, "unknown", 25, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cc_job j = job_of(20, cases[i].status, 4, 1);
		json_t *o;

		j.time = 1.0;
		o = cc_job_to_json(&j);
		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "status")),
				    cases[i].name);
		assert_int_equal(json_integer_value(json_object_get(o, "percent_complete")),
				 cases[i].pc);
		assert_int_equal(json_integer_value(json_object_get(o, "work_units")), 4);
		assert_int_equal(json_object_get(o, "outputs") != NULL,
				 cases[i].has_outputs);
		json_decref(o);
	}
}

static void test_job_json_id_and_color_for_large_id(void **state)
{
	struct cc_job j = job_of(LLONG_MAX, CC_STATUS_PROCESSING, 1000000, 1);
	json_t *o;

	(void)state;
	o = cc_job_to_json(&j);
	assert_non_null(o);
	assert_true(json_is_integer(json_object_get(o, "id")));
	assert_true(json_integer_value(json_object_get(o, "id")) == LLONG_MAX);
	assert_string_equal(json_string_value(json_object_get(o, "color")), "b88e78");
	assert_int_equal(json_integer_value(json_object_get(o, "work_units")), 1000000);
	assert_int_equal(json_integer_value(json_object_get(o, "percent_complete")), 0);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_color_matches_md5sum_values),
		cmocka_unit_test(test_job_color_matches_independent_md5_for_many_ids),
		cmocka_unit_test(test_job_color_writes_six_lowercase_hex_and_nul_only),
		cmocka_unit_test(test_job_percent_complete_is_99_while_merging),
		cmocka_unit_test(test_job_percent_complete_is_100_when_complete),
		cmocka_unit_test(test_job_percent_complete_is_100_without_units),
		cmocka_unit_test(test_job_percent_complete_rounds_half_up),
		cmocka_unit_test(test_job_percent_complete_matches_original_float_order),
		cmocka_unit_test(test_job_json_succeeded_matches_protocol_example),
		cmocka_unit_test(test_job_json_processing_has_no_outputs_nor_email),
		cmocka_unit_test(test_job_json_key_order_with_every_key),
		cmocka_unit_test(test_job_json_outputs_only_when_complete),
		cmocka_unit_test(test_job_json_outputs_are_parsed_json_not_text),
		cmocka_unit_test(test_job_json_failed_lists_error_messages),
		cmocka_unit_test(test_job_json_complete_without_outputs_text_has_empty_array),
		cmocka_unit_test(test_job_json_email_only_when_set),
		cmocka_unit_test(test_job_json_time_taken_is_time_when_complete_else_age),
		cmocka_unit_test(test_job_json_status_names_and_percent),
		cmocka_unit_test(test_job_json_id_and_color_for_large_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
