/* db.h - MySQL/MariaDB access: one connection per process, prepared
 * statements only. Every statement is a static const char[] owned by a model
 * file; db.c prepares it once per connection and caches it by address.
 * Parameters are an array of struct cc_dbv; results are bound by column
 * name into the typed fields of a model's row struct (struct cc_dbrow).
 * Outside a transaction a lost connection ("server has gone
 * away") is re-opened and the statement retried once. */
#ifndef CC_DB_H
#define CC_DB_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

/* Keep in step with the INSERT into schema_migrations in sql/schema.sql. */
#define CC_SCHEMA_VERSION "20261209000007"

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

/* cc_db_connect - connect with cfg's [database] settings (utf8mb4, UTC
 * session time zone). NULL with err set on failure. Free with cc_db_free. */
struct cc_db *cc_db_connect(const struct cc_config *cfg, struct cc_err *err);

/* cc_db_new - the same, but connecting only when first used: for daemons
 * that must start, and keep serving errors, while MySQL is away. After a
 * failed connect, the next ones fail at once (the same error, kind
 * CC_ERR_UNAVAILABLE when the server is unreachable) until a backoff of
 * 1 s, doubling to 8 s, has passed. NULL on out of memory. */
struct cc_db *cc_db_new(const struct cc_config *cfg);

/* cc_db_free - close statements and the connection; NULL is fine. */
void cc_db_free(struct cc_db *db);

/* cc_db_exec - run a statement that returns no rows. affected / insert_id
 * may be NULL. Returns 0 or -1 (err set: a MySQL error is its cause, e.g.
 * 1062 for a duplicate key; the kind is unavailable when the server is
 * away). */
int cc_db_exec(struct cc_db *db, const char *sql, const struct cc_dbv *params,
	       size_t nparams, unsigned long long *affected,
	       unsigned long long *insert_id, struct cc_err *err);

/* Typed rows bound by name. A model declares the columns of a row struct
 * once, as a table of name, type and field offset (as config.c declares
 * its keys); cc_db_select binds each column of a result to the table
 * entry of the same name (the column's name or its alias, `AS age`) and
 * fetches it straight into the typed field: no text round trip, one copy
 * of each string. A statement may select any subset of the table's
 * columns, in any order; a result column the table does not know is an
 * error (a typo, or a column added to the SQL but not to the table).
 * Columns not selected, and SQL NULL numbers, are left 0; SQL NULL strings
 * are NULL (use COALESCE in the SQL where NULL needs another value). */
enum cc_dbcol_type {
	CC_COL_I64,     /* long long; aux: offset of an int set to 1 when the
			 * value is SQL NULL, or CC_COL_NO_LEN */
	CC_COL_INT,     /* int; aux as for CC_COL_I64 */
	CC_COL_DBL,     /* double; aux as for CC_COL_I64 */
	CC_COL_STR,     /* char *: malloc'd copy, NUL-terminated; NULL for
			 * SQL NULL. aux: offset of a size_t receiving the
			 * length, or CC_COL_NO_LEN */
	CC_COL_CHARS,   /* char[aux]: NUL-terminated, cut to fit */
};

#define CC_COL_NO_LEN ((size_t)-1)

struct cc_dbcol {
	const char *name;
	enum cc_dbcol_type type;
	size_t offset;        /* of the field in the row struct */
	size_t aux;           /* see the types */
};

/* A row struct: its columns and size. */
struct cc_dbrow {
	const struct cc_dbcol *cols;
	size_t ncols;
	size_t size;          /* sizeof the row struct */
};

#define CC_COL(T, field, type) \
	{ #field, type, offsetof(T, field), CC_COL_NO_LEN }
#define CC_COL_STRLEN(T, field, lenfield) \
	{ #field, CC_COL_STR, offsetof(T, field), offsetof(T, lenfield) }
#define CC_COL_NULLFLAG(T, field, type, nullfield) \
	{ #field, type, offsetof(T, field), offsetof(T, nullfield) }
#define CC_COL_CHARBUF(T, field) \
	{ #field, CC_COL_CHARS, offsetof(T, field), sizeof(((T *)0)->field) }
#define CC_DBROW(T, cols) \
	{ cols, sizeof(cols) / sizeof(cols[0]), sizeof(T) }

/* cc_db_select - run sql and fetch every row into *rows, a malloc'd array
 * of *nrows row structs described by row (NULL when there is none). Free
 * with cc_db_rows_free. Returns 0 or -1 (nothing allocated). */
int cc_db_select(struct cc_db *db, const char *sql, const struct cc_dbv *params,
		 size_t nparams, const struct cc_dbrow *row, void *rows,
		 size_t *nrows, struct cc_err *err);

/* cc_db_select_one - the first row into *out (a caller's row struct,
 * zeroed first; free its strings with cc_db_row_cleanup). Later rows are
 * read and dropped. Returns 1 found, 0 no row, -1 error. */
int cc_db_select_one(struct cc_db *db, const char *sql,
		     const struct cc_dbv *params, size_t nparams,
		     const struct cc_dbrow *row, void *out, struct cc_err *err);

/* cc_db_each - call fn(r, ctx) for each row, in one reused row struct
 * whose strings are freed after each call (fn may steal one: set the field
 * to NULL). Rows stream from the server, so fn must not use db. A non-zero
 * return from fn stops the walk: cc_db_each then returns it. Returns 0, fn's
 * value, or -1 on a database error. */
int cc_db_each(struct cc_db *db, const char *sql, const struct cc_dbv *params,
	       size_t nparams, const struct cc_dbrow *row,
	       int (*fn)(void *r, void *ctx), void *ctx, struct cc_err *err);

/* cc_db_row_cleanup - free one row's strings and zero it. */
void cc_db_row_cleanup(const struct cc_dbrow *row, void *r);

/* cc_db_rows_free - free n rows from cc_db_select; NULL is fine. */
void cc_db_rows_free(const struct cc_dbrow *row, void *rows, size_t n);

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
