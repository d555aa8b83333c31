/* dbfixture.h - a private MariaDB for unit tests, started once per test
 * binary, as stack/start.sh starts one for a stack: its own data folder
 * (mariadb-install-db), its own unix socket, no TCP. sql/schema.sql is
 * loaded once; every test then starts from empty tables, with a fresh
 * struct cc_config and a fresh cc_db connection.
 *
 *   static const struct CMUnitTest tests[] = {
 *           DBFX_TEST(test_lifecycle_fails_job_after_retries), ...
 *   };
 *   return cmocka_run_group_tests(tests, dbfx_group_setup,
 *                                 dbfx_group_teardown);
 *
 * In a test, dbfx() is the fixture; dbfx_int("SELECT status FROM jobs
 * WHERE id = ?", id) and friends check the database through a separate
 * connection (autocommit) that uses libmariadb directly, so they do not
 * depend on db.c, which is itself under test. A helper that fails (SQL
 * error, no row) fails the test with its file and line.
 *
 * The server and the temp folder go away in dbfx_group_teardown, or at
 * exit (atexit) when a test aborts the group; the server is also killed
 * if the test process dies (PR_SET_PDEATHSIG), and a folder left by a
 * process that no longer exists is removed by the next start. */
#ifndef CC_TEST_DBFIXTURE_H
#define CC_TEST_DBFIXTURE_H

#include <limits.h>
#include "core/config.h"
#include "core/db.h"

struct dbfx {
	char root[256];          /* the temp folder of this test binary */
	struct cc_config cfg;    /* fresh per test; tests may change it */
	struct cc_db *db;        /* fresh per test, freed after it */
};

/* Actions installed in the fixture's actions folder (each stage a tiny
 * shell script; central only checks that they exist):
 *   plain        process
 *   merged       process, merge
 *   splitter     split, process
 *   split_merge  split, process, merge
 *   other        process */

/* cmocka group setup/teardown: start MariaDB and load the schema / stop
 * it and remove the folder. */
int dbfx_group_setup(void **state);
int dbfx_group_teardown(void **state);

/* cmocka per-test setup/teardown: empty tables, a fresh config and
 * connection; *state is the struct dbfx. */
int dbfx_setup(void **state);
int dbfx_teardown(void **state);

#define DBFX_TEST(fn) cmocka_unit_test_setup_teardown(fn, dbfx_setup, dbfx_teardown)

/* dbfx - the current fixture (valid inside a test). */
struct dbfx *dbfx(void);

/* dbfx_connect - another cc_db connection with the fixture's config, for
 * tests that need two sessions (caller frees with cc_db_free). Fails the
 * test when it cannot connect. */
struct cc_db *dbfx_connect(void);

/* dbfx_server_pid - the pid of the private mariadbd. */
int dbfx_server_pid(void);

/* Checks and direct changes. sql is fixed text with `?` placeholders; the
 * arguments are integers, one per `?` (put text values in the SQL itself).
 * They fail the test on an SQL error, and the int/str readers also when
 * there is no row. */
#define DBFX_NULL LLONG_MIN   /* dbfx_int of an SQL NULL */
#define DBFX_ARGS_(...) ((const long long[]){ 0, ##__VA_ARGS__ })
#define DBFX_NARGS_(...) (sizeof(DBFX_ARGS_(__VA_ARGS__)) / sizeof(long long) - 1)
#define DBFX_CALL_(fn, sql, ...) \
	fn((sql), DBFX_ARGS_(__VA_ARGS__) + 1, DBFX_NARGS_(__VA_ARGS__), \
	   __FILE__, __LINE__)

/* dbfx_int - first column of the first row, as an integer (DBFX_NULL for
 * NULL). */
#define dbfx_int(sql, ...) DBFX_CALL_(dbfx_int_, sql, ##__VA_ARGS__)
/* dbfx_str - first column of the first row as a new string (caller
 * frees), NULL for NULL. */
#define dbfx_str(sql, ...) DBFX_CALL_(dbfx_str_, sql, ##__VA_ARGS__)
/* dbfx_exec - run a statement; returns the affected rows. */
#define dbfx_exec(sql, ...) DBFX_CALL_(dbfx_exec_, sql, ##__VA_ARGS__)
/* dbfx_insert - run an INSERT; returns the new AUTO_INCREMENT id. */
#define dbfx_insert(sql, ...) DBFX_CALL_(dbfx_insert_, sql, ##__VA_ARGS__)

long long dbfx_int_(const char *sql, const long long *args, size_t n,
		    const char *file, int line);
char *dbfx_str_(const char *sql, const long long *args, size_t n,
		const char *file, int line);
long long dbfx_exec_(const char *sql, const long long *args, size_t n,
		     const char *file, int line);
long long dbfx_insert_(const char *sql, const long long *args, size_t n,
		       const char *file, int line);

/* dbfx_job_new - insert a jobs row (status, action, options {}, inputs [],
 * callback_url NULL or the given text) with no units; returns its id. */
long long dbfx_job_new(int status, const char *action, const char *callback_url);

/* dbfx_unit_new - insert a work unit of job (status, position, input text,
 * the job's action) and count it in jobs.units_total; returns its id. */
long long dbfx_unit_new(long long job_id, int status, long long position,
			const char *input);

#endif
