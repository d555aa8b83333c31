/* test_jsontext.c - lib/core/jsontext.c: its grammar check must agree
 * with jansson on every text, since it decides whether a failed json_loads
 * was the text's fault (not JSON) or a lack of memory; and the verdict on
 * failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "core/jsontext.h"

/* jansson's verdict on text must be the grammar check's: parsed means
 * valid; refused for its syntax means invalid (refusals for other reasons,
 * such as an integer too big, say nothing). */
static void agree(const char *text, size_t len, int any)
{
	json_error_t e;
	json_t *v = json_loadb(text, len, any ? JSON_DECODE_ANY : 0, &e);
	int valid = cc_jsontext_valid(text, len, any);

	if (v) {
		json_decref(v);
		if (!valid)
			fail_msg("jansson parses '%.*s' (any=%d), the check refuses it",
				 (int)len, text, any);
		return;
	}
	switch (json_error_code(&e)) {
	case json_error_invalid_syntax:
	case json_error_premature_end_of_input:
	case json_error_end_of_input_expected:
		if (valid)
			fail_msg("jansson refuses '%.*s' (any=%d: %s), the check "
				 "takes it for JSON", (int)len, text, any, e.text);
		break;
	default:
		break;
	}
}

static void test_jsontext_valid_agrees_with_jansson(void **state)
{
	static const char alphabet[] = "\"[]{}:,01-.eE+\\ua ";
	static const char *const cases[] = {
		"true", "false", "null", "tru", "truex", "nul", "[true,false,null]",
		"{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", "{\"a\" \"b\"}", "{\"a\":}",
		"[1,]", "[,1]", "{,}", "{\"a\":1,}", " \t\r\n[ 1 , 2 ]\n", "01", "-0",
		"-01", "1.", ".5", "1e", "1e+", "1E-7", "-0.0e0", "2.5e+10", "1a",
		"\"\\u00e9\"", "\"\\u00E9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
		"\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\"", "\"\\u12\"",
		"\"\\uzzzz\"", "\"\\x\"", "\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"",
		"\"tab\there\"", "\"h\xC3\xA9llo\"", "\"unterminated", "[\"a\"", "{\"a\":1",
		"just some words", "12366 12371", "[1] [2]", "\"\\u0000\"",
		"99999999999999999999999", "1e999", "{\"a\":1,\"a\":2}", "", " ",
	};
	char buf[8];
	size_t k = sizeof(alphabet) - 1;
	unsigned long long x = 88172645463325252ULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		agree(cases[i], strlen(cases[i]), 1);
		agree(cases[i], strlen(cases[i]), 0);
	}
	/* every text of up to 4 characters from the alphabet */
	for (size_t len = 1; len <= 4; len++) {
		size_t total = 1;

		for (size_t i = 0; i < len; i++)
			total *= k;
		for (size_t n = 0; n < total; n++) {
			size_t m = n;

			for (size_t i = 0; i < len; i++, m /= k)
				buf[i] = alphabet[m % k];
			agree(buf, len, 1);
			agree(buf, len, 0);
		}
	}
	/* and a fixed sample of longer ones */
	for (int n = 0; n < 200000; n++) {
		size_t len = 5 + n % 4;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = alphabet[x % k];
		}
		agree(buf, len, 1);
	}
}

static void test_jsontext_load_failure_verdicts(void **state)
{
	json_error_t e;
	json_t *v;

	(void)state;
	/* the text's fault */
	v = json_loads("just some words", JSON_DECODE_ANY, &e);
	assert_null(v);
	assert_int_equal(cc_jsontext_load_failed_for_memory("just some words", 15, 1, &e), 0);
	v = json_loads("99999999999999999999999", JSON_DECODE_ANY, &e);
	assert_null(v);
	assert_int_equal(cc_jsontext_load_failed_for_memory("99999999999999999999999",
							   23, 1, &e), 0);
	/* valid JSON, but not an object or array without JSON_DECODE_ANY */
	v = json_loads("3", 0, &e);
	assert_null(v);
	assert_int_equal(cc_jsontext_load_failed_for_memory("3", 1, 0, &e), 0);
	/* no error recorded: only a failed allocation does that */
	memset(&e, 0, sizeof(e));
	assert_int_equal(cc_jsontext_load_failed_for_memory("[1]", 3, 1, &e), 1);
	/* a syntax error reported for valid text: memory */
	snprintf(e.text, sizeof(e.text), "invalid token");
	e.text[JSON_ERROR_TEXT_LENGTH - 1] = json_error_invalid_syntax;
	assert_int_equal(cc_jsontext_load_failed_for_memory("{\"a\":\"b\"}", 9, 1, &e), 1);
	assert_int_equal(cc_jsontext_load_failed_for_memory("{\"a\":\"b\"", 8, 1, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsontext_valid_agrees_with_jansson),
		cmocka_unit_test(test_jsontext_load_failure_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
