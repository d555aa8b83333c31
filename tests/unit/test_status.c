/* test_status.c - the status codes shared by jobs and units: the names
 * shown in the job JSON (1 processing ... 5 merging, "unknown" for
 * anything else) and which codes count as complete (succeeded, failed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "model/status.h"

static void test_status_codes_match_the_original_table(void **state)
{
	(void)state;
	assert_int_equal(CC_STATUS_PROCESSING, 1);
	assert_int_equal(CC_STATUS_SUCCEEDED, 2);
	assert_int_equal(CC_STATUS_FAILED, 3);
	assert_int_equal(CC_STATUS_SPLITTING, 4);
	assert_int_equal(CC_STATUS_MERGING, 5);
}

static void test_status_name_of_each_code(void **state)
{
	(void)state;
	assert_string_equal(cc_status_name(1), "processing");
	assert_string_equal(cc_status_name(2), "succeeded");
	assert_string_equal(cc_status_name(3), "failed");
	assert_string_equal(cc_status_name(4), "splitting");
	assert_string_equal(cc_status_name(5), "merging");
}

static void test_status_name_out_of_range_is_unknown(void **state)
{
	static const int bad[] = { 0, -1, 6, 7, 100, INT_MAX, INT_MIN };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *name = cc_status_name(bad[i]);

		assert_non_null(name);
		assert_string_equal(name, "unknown");
	}
}

static void test_status_complete_only_for_succeeded_and_failed(void **state)
{
	(void)state;
	assert_false(cc_status_complete(CC_STATUS_PROCESSING));
	assert_true(cc_status_complete(CC_STATUS_SUCCEEDED));
	assert_true(cc_status_complete(CC_STATUS_FAILED));
	assert_false(cc_status_complete(CC_STATUS_SPLITTING));
	assert_false(cc_status_complete(CC_STATUS_MERGING));
}

static void test_status_complete_false_out_of_range(void **state)
{
	static const int bad[] = { 0, -1, -2, -3, 6, 100, INT_MAX, INT_MIN };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(cc_status_complete(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_codes_match_the_original_table),
		cmocka_unit_test(test_status_name_of_each_code),
		cmocka_unit_test(test_status_name_out_of_range_is_unknown),
		cmocka_unit_test(test_status_complete_only_for_succeeded_and_failed),
		cmocka_unit_test(test_status_complete_false_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
