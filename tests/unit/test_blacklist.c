/* test_blacklist.c - the black_listed_actions model (model/blacklist.h)
 * against the fixture's MariaDB: add, a duplicate add (conflict), list,
 * remove, remove of an unlisted action, invalid names, that units of
 * a listed action are never reserved for dispatch, and expiry (`for`):
 * its parsing, "until" in records and the listing, and that an entry
 * past its expiry counts as unlisted before its row is deleted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "dbfixture.h"
#include "model/blacklist.h"
#include "model/status.h"
#include "model/work_unit.h"

static json_t *add_ok(const char *action)
{
	struct cc_err err = { 0 };
	json_t *rec = cc_blacklist_add(dbfx()->db, action, 0, &err);

	if (!rec)
		fail_msg("cc_blacklist_add(%s): %s", action, err.msg);
	return rec;
}

static json_t *add_for(const char *action, long long for_s)
{
	struct cc_err err = { 0 };
	json_t *rec = cc_blacklist_add(dbfx()->db, action, for_s, &err);

	if (!rec)
		fail_msg("cc_blacklist_add(%s, %lld): %s", action, for_s, err.msg);
	return rec;
}

/* iso_ms - at is ISO-8601 UTC with milliseconds: 2026-12-02T03:04:05.678Z */
static void assert_iso_ms(const char *at)
{
	assert_non_null(at);
	assert_int_equal(strlen(at), 24);
	assert_true(at[4] == '-' && at[10] == 'T' && at[19] == '.' && at[23] == 'Z');
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
	assert_null(cc_blacklist_add(dbfx()->db, "plain", 0, &err));
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
		assert_null(cc_blacklist_add(dbfx()->db, bad[i], 0, &err));
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

static void test_blacklist_for_parse_takes_whole_seconds_only(void **state)
{
	static const char *const bad[] = { "", "0", "-1", "+5", " 5", "5 ", "5s",
		"1.5", "1e3", "0x10", "2592001", "99999999999999999999999",
		"5' OR '1'='1", "5;DROP TABLE jobs", "null", "true" };
	struct cc_err err;
	long long s = -7;

	(void)state;
	assert_int_equal(cc_blacklist_for_parse("1", &s, &err), 0);
	assert_int_equal(s, 1);
	assert_int_equal(cc_blacklist_for_parse("2592000", &s, &err), 0);
	assert_int_equal(s, CC_BLACKLIST_FOR_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		s = -7;
		assert_int_equal(cc_blacklist_for_parse(bad[i], &s, &err), -1);
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
		assert_non_null(strstr(err.msg, "whole number of seconds"));
		assert_int_equal(s, -7);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(cc_blacklist_for_parse(NULL, &s, &err), -1);
}

static void test_blacklist_add_refuses_out_of_range_for(void **state)
{
	static const long long bad[] = { -1, CC_BLACKLIST_FOR_MAX + 1LL, LLONG_MAX };
	struct cc_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_null(cc_blacklist_add(dbfx()->db, "plain", bad[i], &err));
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	}
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 0);
}

static void test_blacklist_add_for_records_its_expiry(void **state)
{
	struct cc_err err = { 0 };
	json_t *rec = add_for("brief", 90), *arr, *rm = NULL;

	(void)state;
	/* the record: the Ruby keys, then until */
	assert_int_equal(json_object_size(rec), 4);
	assert_iso_ms(json_string_value(json_object_get(rec, "until")));
	assert_int_equal(dbfx_int("SELECT TIMESTAMPDIFF(SECOND, created_at, expires_at)"
				  " FROM black_listed_actions WHERE action = 'brief'"), 90);
	/* the listing: until for every entry, null when it never lapses */
	json_decref(add_ok("always"));
	arr = cc_blacklist_list(dbfx()->db, &err);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 2);
	assert_true(json_equal(json_object_get(json_array_get(arr, 0), "until"),
			       json_object_get(rec, "until")));
	assert_true(json_is_null(json_object_get(json_array_get(arr, 1), "until")));
	assert_int_equal(json_object_size(json_array_get(arr, 1)), 4);
	json_decref(arr);
	/* removed before it lapses: the record as it was added */
	assert_int_equal(cc_blacklist_remove(dbfx()->db, "brief", &rm, &err), 1);
	assert_true(json_equal(rm, rec));
	json_decref(rm);
	json_decref(rec);
}

/* lapse - move action's expiry into the past, as time would. */
static void lapse(const char *sql_action_is)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "UPDATE black_listed_actions SET expires_at ="
		 " NOW(6) - INTERVAL 1 SECOND WHERE %s", sql_action_is);
	assert_int_equal(dbfx_exec(sql), 1);
}

static void test_blacklist_lapsed_entry_is_ignored_before_deletion(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "other", NULL);
	struct cc_err err = { 0 };
	json_t *rec = NULL, *arr;
	char first[64];

	(void)state;
	dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "o0");
	dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "o1");
	/* in force: held back */
	json_decref(add_for("other", 3600));
	assert_int_equal(reserve("other", NULL, 0), 0);
	/* lapsed, its row still there: dispatched, not listed */
	lapse("action = 'other'");
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 1);
	assert_int_equal(reserve("other", first, sizeof(first)), 2);
	assert_string_equal(first, "other");
	arr = cc_blacklist_list(dbfx()->db, &err);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	/* nothing to remove; the lapsed row goes */
	rec = (json_t *)&err;
	assert_int_equal(cc_blacklist_remove(dbfx()->db, "other", &rec, &err), 0);
	assert_null(rec);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"), 0);
	/* lapsed again: listing it anew is no conflict */
	json_decref(add_for("other", 60));
	lapse("action = 'other'");
	json_decref(add_ok("other"));
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM black_listed_actions"
				  " WHERE action = 'other' AND expires_at IS NULL"), 1);
	assert_int_equal(reserve("other", NULL, 0), 0);
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
		DBFX_TEST(test_blacklist_for_parse_takes_whole_seconds_only),
		DBFX_TEST(test_blacklist_add_refuses_out_of_range_for),
		DBFX_TEST(test_blacklist_add_for_records_its_expiry),
		DBFX_TEST(test_blacklist_lapsed_entry_is_ignored_before_deletion),
	};

	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
