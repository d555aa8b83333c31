/* db.h - MySQL/MariaDB access: one connection per process, prepared
 * statements only. Every statement is a static const char[] owned by a model
 * file; db.c prepares it once per connection and caches it by address.
 * Parameters are an array of struct cc_dbv; results come back buffered as
 * text cells. Outside a transaction a lost connection ("server has gone
 * away") is re-opened and the statement retried once. */
#ifndef CC_DB_H
#define CC_DB_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

/* Keep in step with the INSERT into schema_migrations in sql/schema.sql. */
#define CC_SCHEMA_VERSION "20261125000002"

struct cc_db;

enum cc_dbt { CC_DB_NULL, CC_DB_INT, CC_DB_DBL, CC_DB_STR };

struct cc_dbv {
	enum cc_dbt t;
	long long i;
	double d;
	const char *s;
	size_t len;           /* (size_t)-1: strlen(s) */
};

#define CC_DBNULL    ((struct cc_dbv){ .t = CC_DB_NULL })
#define CC_DBI(x)    ((struct cc_dbv){ .t = CC_DB_INT, .i = (long long)(x) })
#define CC_DBD(x)    ((struct cc_dbv){ .t = CC_DB_DBL, .d = (double)(x) })
#define CC_DBS(x)    ((struct cc_dbv){ .t = (x) ? CC_DB_STR : CC_DB_NULL, \
				       .s = (x), .len = (size_t)-1 })
#define CC_DBSN(x, n) ((struct cc_dbv){ .t = CC_DB_STR, .s = (x), .len = (n) })

/* Buffered result: rows x cols cells, each NUL-terminated text or NULL. */
struct cc_db_rows {
	size_t nrows, ncols;
	char **cells;         /* nrows * ncols */
	size_t *lens;
};

/* cc_db_connect - connect with cfg's [database] settings (utf8mb4, UTC
 * session time zone). NULL with err set on failure. Free with cc_db_free. */
struct cc_db *cc_db_connect(const struct cc_config *cfg, struct cc_err *err);

/* cc_db_free - close statements and the connection; NULL is fine. */
void cc_db_free(struct cc_db *db);

/* cc_db_exec - run a statement that returns no rows. affected / insert_id
 * may be NULL. Returns 0 or -1 (err set; code 1062 for a duplicate key). */
int cc_db_exec(struct cc_db *db, const char *sql, const struct cc_dbv *params,
	       size_t nparams, unsigned long long *affected,
	       unsigned long long *insert_id, struct cc_err *err);

/* cc_db_query - run a statement and buffer its rows into *out (caller frees
 * with cc_db_rows_free). Returns 0 or -1. */
int cc_db_query(struct cc_db *db, const char *sql, const struct cc_dbv *params,
		size_t nparams, struct cc_db_rows *out, struct cc_err *err);

void cc_db_rows_free(struct cc_db_rows *rows);

/* Cell accessors: NULL / 0 for SQL NULL. */
const char *cc_db_cell(const struct cc_db_rows *rows, size_t r, size_t c);
size_t cc_db_cell_len(const struct cc_db_rows *rows, size_t r, size_t c);
long long cc_db_cell_int(const struct cc_db_rows *rows, size_t r, size_t c);
double cc_db_cell_dbl(const struct cc_db_rows *rows, size_t r, size_t c);
int cc_db_cell_null(const struct cc_db_rows *rows, size_t r, size_t c);

/* cc_db_query_int - first column of the first row as an integer; *found is
 * set to 0 when there is no row or it is NULL. */
int cc_db_query_int(struct cc_db *db, const char *sql,
		    const struct cc_dbv *params, size_t nparams,
		    long long *value, int *found, struct cc_err *err);

/* Transactions: begin, then commit; rollback is safe to call when nothing
 * is open (it is what `out:` paths call). */
int cc_db_begin(struct cc_db *db, struct cc_err *err);
int cc_db_commit(struct cc_db *db, struct cc_err *err);
void cc_db_rollback(struct cc_db *db);
int cc_db_in_transaction(const struct cc_db *db);

/* cc_db_retryable - err is a deadlock or lock wait timeout: the
 * transaction was rolled back and may simply be run again. (Statements
 * outside a transaction are re-run by db.c itself.) */
int cc_db_retryable(const struct cc_err *err);

/* cc_db_check_schema - 0 when schema_migrations holds CC_SCHEMA_VERSION;
 * else -1 with what to run in err. */
int cc_db_check_schema(struct cc_db *db, struct cc_err *err);

/* cc_db_load_schema - run every statement of the SQL file at path (fixed
 * text we ship, never request data). */
int cc_db_load_schema(struct cc_db *db, const char *path, struct cc_err *err);

/* cc_db_count_queries - statements executed so far (for tests/benchmarks). */
unsigned long cc_db_count_queries(const struct cc_db *db);

#endif
