/* test_blacklist.c - the black_listed_actions model (model/blacklist.h)
 * against the fixture's MariaDB: add, a duplicate add (conflict), list,
 * remove, remove of an unlisted action, invalid names, and that units of
 * a listed action are never reserved for dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dbfixture.h"
#include "model/blacklist.h"
#include "model/status.h"
#include "model/work_unit.h"

static json_t *add_ok(const char *action)
{
	struct cc_err err = { 0 };
	json_t *rec = cc_blacklist_add(dbfx()->db, action, &err);

	if (!rec)
		fail_msg("cc_blacklist_add(%s): %s", action, err.msg);
	return rec;
}

static void test_blacklist_add_returns_the_record(void **state)
{
	json_t *rec = add_ok("plain");
	const char *at;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(rec, "action")), "plain");
	assert_true(json_integer_value(json_object_get(rec, "id")) ==
		    dbfx_int("SELECT id FROM black_listed_actions WHERE action = 'plain'"));
	/* ISO-8601 UTC with milliseconds: 2026-12-02T03:04:05.678Z */
	at = json_string_value(json_object_get(rec, "created_at"));
	assert_non_null(at);
	assert_int_equal(strlen(at), 24);
	assert_true(at[4] == '-' && at[10] == 'T' && at[19] == '.' && at[23] == 'Z');
	assert_int_equal(json_object_size(rec), 3);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 1);
	json_decref(rec);
}

static void test_blacklist_duplicate_add_is_a_conflict(void **state)
{
	struct cc_err err = { 0 };
	json_t *rec = add_ok("plain");

	(void)state;
	json_decref(rec);
	assert_null(cc_blacklist_add(dbfx()->db, "plain", &err));
	assert_int_equal(err.kind, CC_ERR_CONFLICT);
	assert_non_null(strstr(err.msg, "plain"));
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 1);
}

static void test_blacklist_list_is_oldest_first(void **state)
{
	struct cc_err err = { 0 };
	json_t *arr;

	(void)state;
	arr = cc_blacklist_list(dbfx()->db, &err);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	json_decref(add_ok("zeta"));
	json_decref(add_ok("alpha"));
	json_decref(add_ok("mid_1"));
	arr = cc_blacklist_list(dbfx()->db, &err);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "action")), "zeta");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "action")), "alpha");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 2), "action")), "mid_1");
	assert_true(json_integer_value(json_object_get(json_array_get(arr, 0), "id")) <
		    json_integer_value(json_object_get(json_array_get(arr, 1), "id")));
	json_decref(arr);
}

static void test_blacklist_remove_returns_the_removed_record(void **state)
{
	struct cc_err err = { 0 };
	json_t *added = add_ok("plain"), *rec = NULL;

	(void)state;
	json_decref(add_ok("other"));
	assert_int_equal(cc_blacklist_remove(dbfx()->db, "plain", &rec, &err), 1);
	assert_non_null(rec);
	assert_true(json_equal(rec, added));
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"
				  " WHERE action = 'plain'"), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 1);
	json_decref(rec);
	json_decref(added);
}

static void test_blacklist_remove_unknown_is_not_found(void **state)
{
	struct cc_err err = { 0 };
	json_t *rec = (json_t *)&err;   /* must be reset to NULL */

	(void)state;
	json_decref(add_ok("other"));
	assert_int_equal(cc_blacklist_remove(dbfx()->db, "plain", &rec, &err), 0);
	assert_null(rec);
	/* an invalid name is never listed */
	rec = (json_t *)&err;
	assert_int_equal(cc_blacklist_remove(dbfx()->db, "Bad Name", &rec, &err), 0);
	assert_null(rec);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 1);
}

static void test_blacklist_refuses_invalid_names(void **state)
{
	static const char *const bad[] = { "", "Plain", "with space", "dash-ed",
		"semi;colon", "x'y", "../etc",
		"a2345678901234567890123456789012345678901234567890123456789012345" };
	struct cc_err err;

	(void)state;
	assert_int_equal(strlen(bad[7]), 65);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_null(cc_blacklist_add(dbfx()->db, bad[i], &err));
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	}
	/* 64 characters is the limit, and allowed */
	json_decref(add_ok(bad[7] + 1));
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 1);
}

/* reserve - how many units a dispatcher offering actions would reserve
 * now, and the first unit's action into first (if any). Released again. */
static int reserve(const char *actions, char *first, size_t len)
{
	struct cc_err err = { 0 };
	struct cc_reserved_unit *units = NULL;
	int reservation = 0;
	int n = cc_work_unit_reserve(dbfx()->db, actions, 25, &reservation, &units, &err);

	if (n < 0)
		fail_msg("cc_work_unit_reserve: %s", err.msg);
	if (first)
		snprintf(first, len, "%s", n > 0 ? units[0].action : "");
	for (int i = 0; i < n; i++)
		assert_string_not_equal(units[i].action, "");
	cc_work_unit_reserved_free(units, n);
	if (n > 0 && cc_work_unit_cancel_reservations(dbfx()->db, reservation, &err) < 0)
		fail_msg("cancel: %s", err.msg);
	return n;
}

static void test_blacklist_units_of_listed_action_are_not_reserved(void **state)
{
	long long other = dbfx_job_new(CC_STATUS_PROCESSING, "other", NULL);
	long long plain = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	struct cc_err err = { 0 };
	json_t *rec = NULL;
	char first[64];

	(void)state;
	dbfx_unit_new(other, CC_STATUS_PROCESSING, 0, "o0");
	dbfx_unit_new(other, CC_STATUS_PROCESSING, 1, "o1");
	dbfx_unit_new(plain, CC_STATUS_PROCESSING, 0, "p0");
	assert_int_equal(reserve("plain,other", NULL, 0), 3);
	json_decref(add_ok("other"));
	assert_int_equal(reserve("plain,other", first, sizeof(first)), 1);
	assert_string_equal(first, "plain");
	assert_int_equal(reserve("other", NULL, 0), 0);
	/* back from the blacklist, back to work */
	assert_int_equal(cc_blacklist_remove(dbfx()->db, "other", &rec, &err), 1);
	json_decref(rec);
	assert_int_equal(reserve("other", first, sizeof(first)), 2);
	assert_string_equal(first, "other");
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		DBFX_TEST(test_blacklist_add_returns_the_record),
		DBFX_TEST(test_blacklist_duplicate_add_is_a_conflict),
		DBFX_TEST(test_blacklist_list_is_oldest_first),
		DBFX_TEST(test_blacklist_remove_returns_the_removed_record),
		DBFX_TEST(test_blacklist_remove_unknown_is_not_found),
		DBFX_TEST(test_blacklist_refuses_invalid_names),
		DBFX_TEST(test_blacklist_units_of_listed_action_are_not_reserved),
	};

	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
