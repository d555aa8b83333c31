/* test_db.c - lib/core/db.c against the fixture's MariaDB: parameters of
 * every type, affected rows and insert ids, typed rows bound by column
 * name, transactions, the duplicate-key cause, the statement cache under
 * many statements, and a killed connection re-opened transparently
 * outside a transaction (and reported inside one). Each test makes its
 * own scratch table t_db. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pathf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "dbfixture.h"

/* The scratch table, fresh for each test. */
static void scratch(void)
{
	dbfx_exec("DROP TABLE IF EXISTS t_db");
	dbfx_exec("CREATE TABLE t_db (id BIGINT NOT NULL AUTO_INCREMENT,"
		  " name VARCHAR(64) NULL, n BIGINT NULL, x DOUBLE NULL, s LONGTEXT NULL,"
		  " PRIMARY KEY (id), UNIQUE KEY (name)) ENGINE=InnoDB"
		  " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
}

static const char SQL_INSERT[] =
	"INSERT INTO t_db (name, n, x, s) VALUES (?, ?, ?, ?)";

static long long insert(const char *name, long long n, double x, const char *s)
{
	struct cc_dbv p[] = { CC_DBS(name), CC_DBI(n), CC_DBD(x), CC_DBS(s) };
	unsigned long long id = 0;
	struct cc_err err = { 0 };

	if (cc_db_exec(dbfx()->db, SQL_INSERT, p, 4, NULL, &id, &err) < 0)
		fail_msg("insert: %s", err.msg);
	return (long long)id;
}

/* A row struct, declared once as the models declare theirs. */
struct trow {
	long long id;
	long long n;
	int small;
	double x;
	char *s;
	size_t s_len;
	char name[4];          /* cut to fit */
};

static const struct cc_dbcol TROW_COLS[] = {
	CC_COL(struct trow, id, CC_COL_I64),
	CC_COL(struct trow, n, CC_COL_I64),
	CC_COL(struct trow, small, CC_COL_INT),
	CC_COL(struct trow, x, CC_COL_DBL),
	CC_COL_STRLEN(struct trow, s, s_len),
	CC_COL_CHARBUF(struct trow, name),
};
static const struct cc_dbrow TROW = CC_DBROW(struct trow, TROW_COLS);

static void test_db_exec_binds_int_double_string_and_null(void **state)
{
	static const char sql_n[] = "INSERT INTO t_db (name, n, x, s) VALUES (?, ?, ?, ?)";
	struct cc_dbv p[] = { CC_DBSN("abcdef", 3), CC_DBI(-9007199254740993LL),
			      CC_DBD(0.0548), CC_DBNULL };
	unsigned long long id1 = 0, id2 = 0, affected = 0;
	struct cc_err err = { 0 };
	char *s;

	(void)state;
	scratch();
	assert_int_equal(cc_db_exec(dbfx()->db, sql_n, p, 4, &affected, &id1, &err), 0);
	assert_int_equal(affected, 1);
	assert_true(id1 > 0);
	s = dbfx_str("SELECT name FROM t_db WHERE id = ?", (long long)id1);
	assert_string_equal(s, "abc");            /* only len bytes */
	free(s);
	assert_true(dbfx_int("SELECT n FROM t_db WHERE id = ?", (long long)id1) ==
		    -9007199254740993LL);
	assert_int_equal(dbfx_int("SELECT ROUND(x * 1000000) FROM t_db WHERE id = ?",
				  (long long)id1), 54800);
	s = dbfx_str("SELECT x FROM t_db WHERE id = ?", (long long)id1);
	assert_string_equal(s, "0.0548");
	free(s);
	assert_true(dbfx_int("SELECT s FROM t_db WHERE id = ?", (long long)id1) == DBFX_NULL);
	/* a NULL string pointer binds SQL NULL; UTF-8 goes through untouched */
	id2 = (unsigned long long)insert(NULL, 1, 2.5, "h\xc3\xa9llo \xe2\x82\xac");
	assert_true(id2 == id1 + 1);
	assert_true(dbfx_int("SELECT name FROM t_db WHERE id = ?", (long long)id2) == DBFX_NULL);
	s = dbfx_str("SELECT s FROM t_db WHERE id = ?", (long long)id2);
	assert_string_equal(s, "h\xc3\xa9llo \xe2\x82\xac");
	free(s);
	assert_int_equal(dbfx_int("SELECT CHAR_LENGTH(s) FROM t_db WHERE id = ?",
				  (long long)id2), 7);
}

static void test_db_exec_reports_affected_rows(void **state)
{
	static const char sql[] = "UPDATE t_db SET n = n + 1 WHERE n >= ?";
	struct cc_dbv p[] = { CC_DBI(10) };
	unsigned long long affected = 99;
	struct cc_err err = { 0 };

	(void)state;
	scratch();
	insert("a", 5, 0, NULL);
	insert("b", 10, 0, NULL);
	insert("c", 20, 0, NULL);
	assert_int_equal(cc_db_exec(dbfx()->db, sql, p, 1, &affected, NULL, &err), 0);
	assert_int_equal(affected, 2);
	p[0] = CC_DBI(1000);
	assert_int_equal(cc_db_exec(dbfx()->db, sql, p, 1, &affected, NULL, &err), 0);
	assert_int_equal(affected, 0);
	assert_int_equal(dbfx_int("SELECT SUM(n) FROM t_db"), 37);
}

static void test_db_exec_with_wrong_parameter_count_fails(void **state)
{
	struct cc_dbv p[] = { CC_DBI(1) };
	struct cc_err err = { 0 };

	(void)state;
	scratch();
	assert_int_equal(cc_db_exec(dbfx()->db, SQL_INSERT, p, 1, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, CC_ERR_INTERNAL);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 0);
}

static void test_db_select_binds_columns_by_name(void **state)
{
	/* any order, a subset, an alias */
	static const char sql[] =
		"SELECT s, name, n * 2 AS small, id FROM t_db ORDER BY id";
	struct trow *rows = NULL;
	size_t n = 0;
	struct cc_err err = { 0 };
	long long a, b;
	char big[5000];

	(void)state;
	scratch();
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a = insert("abcdefg", 21, 1.5, big);
	b = insert("xy", 3, 0, NULL);
	assert_int_equal(cc_db_select(dbfx()->db, sql, NULL, 0, &TROW, &rows, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(rows[0].id == a && rows[1].id == b);
	assert_int_equal(rows[0].small, 42);
	assert_int_equal(rows[1].small, 6);
	/* not selected: left 0 */
	assert_true(rows[0].n == 0);
	assert_true(rows[0].x == 0);
	assert_non_null(rows[0].s);
	assert_int_equal(rows[0].s_len, sizeof(big) - 1);
	assert_string_equal(rows[0].s, big);
	assert_string_equal(rows[0].name, "abc");   /* char[4]: cut to fit */
	assert_string_equal(rows[1].name, "xy");
	assert_null(rows[1].s);                      /* SQL NULL */
	assert_int_equal(rows[1].s_len, 0);
	cc_db_rows_free(&TROW, rows, n);
}

static void test_db_select_null_number_is_zero(void **state)
{
	static const char sql[] = "SELECT id, n, x FROM t_db WHERE id = ?";
	struct trow r;
	struct cc_err err = { 0 };
	long long id;

	(void)state;
	scratch();
	dbfx_exec("INSERT INTO t_db (name) VALUES ('nulls')");
	id = dbfx_int("SELECT id FROM t_db WHERE name = 'nulls'");
	{
		struct cc_dbv p[] = { CC_DBI(id) };
		memset(&r, 0x5a, sizeof(r));
		assert_int_equal(cc_db_select_one(dbfx()->db, sql, p, 1, &TROW, &r, &err), 1);
	}
	assert_true(r.id == id);
	assert_true(r.n == 0);
	assert_true(r.x == 0);
	assert_null(r.s);
	cc_db_row_cleanup(&TROW, &r);
}

static void test_db_select_unknown_column_is_an_error(void **state)
{
	static const char sql[] = "SELECT id, name AS bogus FROM t_db";
	struct trow *rows = (struct trow *)&state;
	size_t n = 7;
	struct cc_err err = { 0 };

	(void)state;
	scratch();
	insert("a", 1, 1, "s");
	assert_int_equal(cc_db_select(dbfx()->db, sql, NULL, 0, &TROW, &rows, &n, &err), -1);
	assert_null(rows);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, "bogus"));
}

static void test_db_select_one_finds_first_row_or_none(void **state)
{
	static const char sql[] = "SELECT id, n FROM t_db WHERE n >= ? ORDER BY n";
	struct trow r;
	struct cc_err err = { 0 };
	struct cc_dbv p[] = { CC_DBI(2) };

	(void)state;
	scratch();
	insert("a", 1, 0, NULL);
	insert("b", 3, 0, NULL);
	insert("c", 2, 0, NULL);
	assert_int_equal(cc_db_select_one(dbfx()->db, sql, p, 1, &TROW, &r, &err), 1);
	assert_true(r.n == 2);
	cc_db_row_cleanup(&TROW, &r);
	p[0] = CC_DBI(100);
	assert_int_equal(cc_db_select_one(dbfx()->db, sql, p, 1, &TROW, &r, &err), 0);
	/* and the statement still works after a result left unread */
	p[0] = CC_DBI(3);
	assert_int_equal(cc_db_select_one(dbfx()->db, sql, p, 1, &TROW, &r, &err), 1);
	assert_true(r.n == 3);
	cc_db_row_cleanup(&TROW, &r);
}

struct walk_ctx {
	long long sum;
	int calls;
	int stop_at;
	char *stolen;
};

static int each_row(void *row, void *ctx)
{
	struct trow *r = row;
	struct walk_ctx *c = ctx;

	c->sum += r->n;
	c->calls++;
	if (c->calls == 1) {
		c->stolen = r->s;    /* fn may steal a string */
		r->s = NULL;
	}
	return c->calls == c->stop_at ? 42 : 0;
}

static void test_db_each_walks_rows_and_stops_on_request(void **state)
{
	static const char sql[] = "SELECT n, s FROM t_db ORDER BY n";
	struct walk_ctx c = { 0 };
	struct cc_err err = { 0 };

	(void)state;
	scratch();
	for (int i = 1; i <= 5; i++) {
		char name[8], s[8];
		PATHF(name, "r%d", i);
		PATHF(s, "s%d", i);
		insert(name, i, 0, s);
	}
	assert_int_equal(cc_db_each(dbfx()->db, sql, NULL, 0, &TROW, each_row, &c, &err), 0);
	assert_int_equal(c.calls, 5);
	assert_true(c.sum == 15);
	assert_string_equal(c.stolen, "s1");
	free(c.stolen);
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	assert_int_equal(cc_db_each(dbfx()->db, sql, NULL, 0, &TROW, each_row, &c, &err), 42);
	assert_int_equal(c.calls, 2);
	free(c.stolen);
	/* the connection is usable after a walk that stopped early */
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 5);
	memset(&c, 0, sizeof(c));
	assert_int_equal(cc_db_each(dbfx()->db, sql, NULL, 0, &TROW, each_row, &c, &err), 0);
	assert_int_equal(c.calls, 5);
	free(c.stolen);
}

static void test_db_query_int_reports_found(void **state)
{
	static const char sql[] = "SELECT n FROM t_db WHERE name = ?";
	struct cc_err err = { 0 };
	long long v = -1;
	int found = -1;

	(void)state;
	scratch();
	insert("a", 12345678901LL, 0, NULL);
	dbfx_exec("INSERT INTO t_db (name) VALUES ('null')");
	{
		struct cc_dbv p[] = { CC_DBS("a") };
		assert_int_equal(cc_db_query_int(dbfx()->db, sql, p, 1, &v, &found, &err), 0);
		assert_int_equal(found, 1);
		assert_true(v == 12345678901LL);
	}
	{
		struct cc_dbv p[] = { CC_DBS("null") };
		assert_int_equal(cc_db_query_int(dbfx()->db, sql, p, 1, &v, &found, &err), 0);
		assert_int_equal(found, 0);
	}
	{
		struct cc_dbv p[] = { CC_DBS("missing") };
		assert_int_equal(cc_db_query_int(dbfx()->db, sql, p, 1, &v, &found, &err), 0);
		assert_int_equal(found, 0);
		assert_true(v == 0);
	}
}

static void test_db_transaction_commits_or_rolls_back(void **state)
{
	struct cc_err err = { 0 };
	struct cc_db *db = dbfx()->db;

	(void)state;
	scratch();
	assert_int_equal(cc_db_in_transaction(db), 0);
	assert_int_equal(cc_db_begin(db, &err), 0);
	assert_int_equal(cc_db_in_transaction(db), 1);
	insert("gone", 1, 0, NULL);
	/* the other session does not see it yet */
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 0);
	cc_db_rollback(db);
	assert_int_equal(cc_db_in_transaction(db), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 0);
	/* rollback with nothing open is harmless */
	cc_db_rollback(db);

	assert_int_equal(cc_db_begin(db, &err), 0);
	insert("kept", 2, 0, NULL);
	assert_int_equal(cc_db_commit(db, &err), 0);
	assert_int_equal(cc_db_in_transaction(db), 0);
	cc_db_rollback(db);                      /* as out: paths do */
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db WHERE name = 'kept'"), 1);
}

static void test_db_duplicate_key_carries_mysql_1062(void **state)
{
	struct cc_dbv p[] = { CC_DBS("dup"), CC_DBI(2), CC_DBD(0), CC_DBNULL };
	struct cc_err err = { 0 };

	(void)state;
	scratch();
	insert("dup", 1, 0, NULL);
	assert_int_equal(cc_db_exec(dbfx()->db, SQL_INSERT, p, 4, NULL, NULL, &err), -1);
	assert_int_equal(err.cause_type, CC_CAUSE_MYSQL);
	assert_int_equal(err.cause, 1062);
	assert_true(cc_err_is_cause(&err, CC_CAUSE_MYSQL, 1062));
	assert_int_equal(err.kind, CC_ERR_INTERNAL);
	assert_false(cc_db_retryable(&err));
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 1);
	/* the connection goes on */
	insert("other", 3, 0, NULL);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 2);
}

/* More distinct statements than the cache holds (96), each a fixed text at
 * a fixed address, as the models' statements are. */
#define NSTMT 130
static char many_sql[NSTMT][64];

static void test_db_statement_cache_survives_many_queries(void **state)
{
	static const char sql_sum[] = "SELECT SUM(n) AS n FROM t_db WHERE n <= ?";
	static const char sql_big[] = "SELECT s FROM t_db WHERE name = ?";
	struct cc_err err = { 0 };
	unsigned long q0 = cc_db_count_queries(dbfx()->db);
	long long v;
	int found;
	char *big = malloc(100001);

	(void)state;
	scratch();
	assert_non_null(big);
	memset(big, 'b', 100000);
	big[100000] = '\0';
	for (int i = 1; i <= 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		insert(name, i, 0, NULL);
	}
	insert("big", 0, 0, big);
	for (int i = 0; i < NSTMT; i++)
		snprintf(many_sql[i], sizeof(many_sql[i]), "SELECT ? + %d", i);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < NSTMT; i++) {
			struct cc_dbv p[] = { CC_DBI(round * 1000) };
			assert_int_equal(cc_db_query_int(dbfx()->db, many_sql[i], p, 1, &v,
							 &found, &err), 0);
			assert_true(v == round * 1000 + i);
		}
	for (int i = 1; i <= 2000; i++) {
		struct cc_dbv p[] = { CC_DBI(i % 51) };
		long long k = i % 51;
		assert_int_equal(cc_db_query_int(dbfx()->db, sql_sum, p, 1, &v, &found, &err), 0);
		assert_true(v == k * (k + 1) / 2);
		if (i % 500 == 0) {
			/* a result over 32 KB in between */
			struct cc_dbv pb[] = { CC_DBS("big") };
			struct trow r;
			assert_int_equal(cc_db_select_one(dbfx()->db, sql_big, pb, 1, &TROW,
							  &r, &err), 1);
			assert_int_equal(r.s_len, 100000);
			assert_string_equal(r.s, big);
			cc_db_row_cleanup(&TROW, &r);
		}
	}
	assert_true(cc_db_count_queries(dbfx()->db) - q0 >= 3 * NSTMT + 2000);
	/* still one connection: the server saw no reconnects */
	free(big);
}

static long long connection_id(struct cc_db *db)
{
	static const char sql[] = "SELECT CONNECTION_ID()";
	struct cc_err err = { 0 };
	long long id = 0;
	int found = 0;

	if (cc_db_query_int(db, sql, NULL, 0, &id, &found, &err) < 0)
		fail_msg("CONNECTION_ID(): %s", err.msg);
	assert_int_equal(found, 1);
	return id;
}

/* kill - end connection id from a second session. */
static void kill_connection(long long id)
{
	static const char sql[] = "KILL CONNECTION ?";
	struct cc_db *other = dbfx_connect();
	struct cc_dbv p[] = { CC_DBI(id) };
	struct cc_err err = { 0 };

	if (cc_db_exec(other, sql, p, 1, NULL, NULL, &err) < 0)
		fail_msg("KILL: %s", err.msg);
	cc_db_free(other);
}

static void test_db_killed_connection_is_reopened_outside_transaction(void **state)
{
	static const char sql[] = "SELECT COUNT(*) FROM t_db WHERE n >= ?";
	struct cc_dbv p[] = { CC_DBI(0) };
	struct cc_err err = { 0 };
	long long before, after, v;
	int found;

	(void)state;
	scratch();
	insert("a", 1, 0, NULL);
	before = connection_id(dbfx()->db);
	/* a cached statement, prepared on the old connection */
	assert_int_equal(cc_db_query_int(dbfx()->db, sql, p, 1, &v, &found, &err), 0);
	kill_connection(before);
	assert_int_equal(cc_db_query_int(dbfx()->db, sql, p, 1, &v, &found, &err), 0);
	assert_true(v == 1);
	after = connection_id(dbfx()->db);
	assert_true(after != before);
	/* and writes too */
	kill_connection(after);
	insert("b", 2, 0, NULL);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 2);
}

static void test_db_killed_connection_inside_transaction_is_reported(void **state)
{
	struct cc_dbv p[] = { CC_DBS("in_tx"), CC_DBI(1), CC_DBD(0), CC_DBNULL };
	struct cc_err err = { 0 };
	struct cc_db *db = dbfx()->db;

	(void)state;
	scratch();
	assert_int_equal(cc_db_begin(db, &err), 0);
	insert("first", 1, 0, NULL);
	kill_connection(connection_id(db));
	/* not re-run on a new connection: the transaction's work is lost */
	assert_int_equal(cc_db_exec(db, SQL_INSERT, p, 4, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, CC_ERR_UNAVAILABLE);
	assert_int_equal(err.cause_type, CC_CAUSE_MYSQL);
	cc_db_rollback(db);
	assert_int_equal(cc_db_in_transaction(db), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db"), 0);
	/* the next statement, outside a transaction, reconnects */
	insert("after", 2, 0, NULL);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM t_db WHERE name = 'after'"), 1);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		DBFX_TEST(test_db_exec_binds_int_double_string_and_null),
		DBFX_TEST(test_db_exec_reports_affected_rows),
		DBFX_TEST(test_db_exec_with_wrong_parameter_count_fails),
		DBFX_TEST(test_db_select_binds_columns_by_name),
		DBFX_TEST(test_db_select_null_number_is_zero),
		DBFX_TEST(test_db_select_unknown_column_is_an_error),
		DBFX_TEST(test_db_select_one_finds_first_row_or_none),
		DBFX_TEST(test_db_each_walks_rows_and_stops_on_request),
		DBFX_TEST(test_db_query_int_reports_found),
		DBFX_TEST(test_db_transaction_commits_or_rolls_back),
		DBFX_TEST(test_db_duplicate_key_carries_mysql_1062),
		DBFX_TEST(test_db_statement_cache_survives_many_queries),
		DBFX_TEST(test_db_killed_connection_is_reopened_outside_transaction),
		DBFX_TEST(test_db_killed_connection_inside_transaction_is_reported),
	};

	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
