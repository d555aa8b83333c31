/* test_work_unit.c - the database-free part of the work unit model:
 * turning one element of a job's inputs into a unit input. A string is
 * used as is (the same bytes, is_json 0, nothing allocated); anything else
 * becomes its compact JSON text (is_json 1, owned by the caller), so that
 * {"k":[1,2]} travels as "input":"{\"k\":[1,2]}". The position is kept.
 * Every test builds its own jansson values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model/work_unit.h"

/* convert value at position and check the JSON text, is_json 1 */
static void assert_json_input(json_t *value, long long position,
			      const char *want)
{
	struct cc_unit_input in;
	char *owned = (char *)"sentinel";

	memset(&in, 0xa5, sizeof(in));
	assert_non_null(value);
	assert_int_equal(cc_unit_input_from_json(value, position, &in, &owned), 0);
	assert_non_null(owned);
	assert_ptr_equal(in.text, owned);
	assert_int_equal(in.len, strlen(want));
	assert_memory_equal(in.text, want, in.len);
	assert_string_equal(in.text, want);
	assert_int_equal(in.is_json, 1);
	assert_true(in.position == position);
	free(owned);
	json_decref(value);
}

static void test_unit_input_string_is_used_as_is(void **state)
{
	json_t *v = json_string("alpha");
	struct cc_unit_input in;
	char *owned = (char *)"sentinel";

	(void)state;
	assert_non_null(v);
	memset(&in, 0xa5, sizeof(in));
	assert_int_equal(cc_unit_input_from_json(v, 3, &in, &owned), 0);
	assert_null(owned);
	assert_ptr_equal(in.text, json_string_value(v));
	assert_int_equal(in.len, 5);
	assert_memory_equal(in.text, "alpha", 5);
	assert_int_equal(in.is_json, 0);
	assert_true(in.position == 3);
	json_decref(v);
}

static void test_unit_input_string_that_looks_like_json_stays_text(void **state)
{
	static const char *const texts[] = { "42", "[1,2]", "{\"k\":1}", "true",
		"null", "\"quoted\"", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *v = json_string(texts[i]);
		struct cc_unit_input in;
		char *owned = (char *)"sentinel";

		assert_non_null(v);
		assert_int_equal(cc_unit_input_from_json(v, (long long)i, &in, &owned), 0);
		assert_null(owned);
		assert_int_equal(in.len, strlen(texts[i]));
		assert_string_equal(in.text, texts[i]);
		assert_int_equal(in.is_json, 0);
		assert_true(in.position == (long long)i);
		json_decref(v);
	}
}

static void test_unit_input_string_keeps_nul_and_utf8_bytes(void **state)
{
	/* a JSON string may hold U+0000: the length counts it */
	json_t *v = json_stringn("a\0b", 3);
	json_t *u = json_string("h\xc3\xa9llo \xe2\x82\xac");
	struct cc_unit_input in;
	char *owned = NULL;

	(void)state;
	assert_non_null(v);
	assert_non_null(u);
	assert_int_equal(cc_unit_input_from_json(v, 0, &in, &owned), 0);
	assert_null(owned);
	assert_int_equal(in.len, 3);
	assert_memory_equal(in.text, "a\0b", 3);
	assert_int_equal(in.is_json, 0);

	assert_int_equal(cc_unit_input_from_json(u, 1, &in, &owned), 0);
	assert_null(owned);
	assert_int_equal(in.len, strlen("h\xc3\xa9llo \xe2\x82\xac"));
	assert_string_equal(in.text, "h\xc3\xa9llo \xe2\x82\xac");
	assert_int_equal(in.is_json, 0);
	json_decref(v);
	json_decref(u);
}

static void test_unit_input_number_becomes_json_text(void **state)
{
	(void)state;
	assert_json_input(json_integer(42), 0, "42");
	assert_json_input(json_integer(-7), 1, "-7");
	assert_json_input(json_integer(0), 2, "0");
	assert_json_input(json_integer(LLONG_MAX), 3, "9223372036854775807");
	assert_json_input(json_real(1.5), 4, "1.5");
	assert_json_input(json_real(-0.25), 5, "-0.25");
}

static void test_unit_input_object_becomes_compact_json_text(void **state)
{
	json_t *o = json_pack("{s:[i,i]}", "k", 1, 2);
	json_t *nested = json_pack("{s:s,s:{s:[]},s:n}", "a", "x y", "b", "c", "d");

	(void)state;
	assert_json_input(o, 5, "{\"k\":[1,2]}");
	/* insertion order, no spaces */
	assert_json_input(nested, 6, "{\"a\":\"x y\",\"b\":{\"c\":[]},\"d\":null}");
	assert_json_input(json_object(), 7, "{}");
}

static void test_unit_input_array_becomes_compact_json_text(void **state)
{
	(void)state;
	assert_json_input(json_pack("[i,i]", 12366, 12371), 0, "[12366,12371]");
	assert_json_input(json_pack("[s,b,n,[]]", "a\"b", 0), 1,
			  "[\"a\\\"b\",false,null,[]]");
	assert_json_input(json_array(), 2, "[]");
}

static void test_unit_input_true_false_null_become_json_text(void **state)
{
	(void)state;
	assert_json_input(json_true(), 0, "true");
	assert_json_input(json_false(), 1, "false");
	assert_json_input(json_null(), 2, "null");
}

static void test_unit_input_position_is_kept(void **state)
{
	static const long long positions[] = { 0, 1, 999999, 1000000,
		3LL * 1000000 + 17, LLONG_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		json_t *s = json_string("x");
		struct cc_unit_input in;
		char *owned = NULL;

		assert_non_null(s);
		assert_int_equal(cc_unit_input_from_json(s, positions[i], &in, &owned), 0);
		assert_true(in.position == positions[i]);
		json_decref(s);
		assert_json_input(json_integer(1), positions[i], "1");
	}
}

static void test_unit_input_each_element_of_a_job_array(void **state)
{
	/* capture 40_'s inputs [{"k":[1,2]}, 42, "s"], and [3], true */
	json_t *inputs = json_loads("[{\"k\":[1,2]}, 42, \"s\", [3], true]", 0, NULL);
	static const struct { const char *text; int is_json; } want[] = {
		{ "{\"k\":[1,2]}", 1 }, { "42", 1 }, { "s", 0 }, { "[3]", 1 },
		{ "true", 1 },
	};
	struct cc_unit_input in[5];
	char *owned[5];

	(void)state;
	assert_non_null(inputs);
	assert_int_equal(json_array_size(inputs), 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(cc_unit_input_from_json(json_array_get(inputs, i),
							 (long long)i, &in[i],
							 &owned[i]), 0);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(in[i].len, strlen(want[i].text));
		assert_memory_equal(in[i].text, want[i].text, in[i].len);
		assert_int_equal(in[i].is_json, want[i].is_json);
		assert_true(in[i].position == (long long)i);
		assert_int_equal(owned[i] != NULL, want[i].is_json);
		free(owned[i]);
	}
	json_decref(inputs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unit_input_string_is_used_as_is),
		cmocka_unit_test(test_unit_input_string_that_looks_like_json_stays_text),
		cmocka_unit_test(test_unit_input_string_keeps_nul_and_utf8_bytes),
		cmocka_unit_test(test_unit_input_number_becomes_json_text),
		cmocka_unit_test(test_unit_input_object_becomes_compact_json_text),
		cmocka_unit_test(test_unit_input_array_becomes_compact_json_text),
		cmocka_unit_test(test_unit_input_true_false_null_become_json_text),
		cmocka_unit_test(test_unit_input_position_is_kept),
		cmocka_unit_test(test_unit_input_each_element_of_a_job_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
