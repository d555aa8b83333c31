/* db.c - the only file that sends SQL text to the server directly (fixed
 * transaction verbs and the shipped schema); every query with values goes
 * through a cached prepared statement. */
#include <errno.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/clock.h"
#include "core/db.h"
#include "core/log.h"

#define MAX_STMTS 96
#define MAX_PARAMS 1024
#define MAX_COLS 64

struct stmt_slot {
	const char *sql;      /* identity: the static string's address */
	MYSQL_STMT *stmt;
	/* The binding of its result columns, worked out by name on first use
	 * with a row table and kept for as long as the statement is. */
	const struct cc_dbrow *row;
	short map[MAX_COLS];  /* result column -> index in row->cols */
};

struct cc_db {
	MYSQL *conn;
	const struct cc_config *cfg;
	struct stmt_slot slots[MAX_STMTS];
	size_t nslots;
	int in_tx;
	unsigned long queries;
	time_t last_used;     /* for the idle check before a transaction */
	/* After a failed connect, others fail at once until retry_at (1 s,
	 * doubling to 8 s while the server stays away), so an outage costs
	 * each request no connect timeout and the server no connect storm. */
	struct timespec retry_at;
	int failed_connects;
	struct cc_err last_connect_err;
};

static int mysql_err(struct cc_err *err, unsigned int e, const char *said,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int connect_conn(struct cc_db *db, struct cc_err *err);

static int open_conn(struct cc_db *db, struct cc_err *err)
{
	double now = cc_clock_now();
	double retry = (double)db->retry_at.tv_sec + db->retry_at.tv_nsec / 1e9;

	if (db->failed_connects && now < retry) {
		if (err)
			*err = db->last_connect_err;
		return -1;
	}
	if (connect_conn(db, err) == 0) {
		if (db->failed_connects)
			cc_info("MySQL is back after %d failed connects", db->failed_connects);
		db->failed_connects = 0;
		return 0;
	}
	if (db->failed_connects < 4)
		db->failed_connects++;
	retry = now + (double)(1 << (db->failed_connects - 1));
	db->retry_at.tv_sec = (time_t)retry;
	db->retry_at.tv_nsec = (long)((retry - (double)(time_t)retry) * 1e9);
	if (err)
		db->last_connect_err = *err;
	return -1;
}

static int connect_conn(struct cc_db *db, struct cc_err *err)
{
	const struct cc_config *cfg = db->cfg;
	unsigned int timeout = 5;
	my_bool reconnect = 0;

	db->conn = mysql_init(NULL);
	if (!db->conn)
		return cc_err_set(err, CC_ERR_INTERNAL, "mysql_init: out of memory");
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->conn, MYSQL_OPT_RECONNECT, &reconnect);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	/* READ COMMITTED: a finisher that waited for the job row lock must see
	 * what the finisher before it committed (REPEATABLE READ would keep
	 * the snapshot of its first read, and no one would complete the job). */
	mysql_options(db->conn, MYSQL_INIT_COMMAND,
		      "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	if (!mysql_real_connect(db->conn,
				*cfg->db_socket ? NULL : cfg->db_host,
				cfg->db_user, cfg->db_password, cfg->db_name,
				(unsigned)cfg->db_port,
				*cfg->db_socket ? cfg->db_socket : NULL, 0)) {
		char where[CC_PATH_LEN + 16];

		if (*cfg->db_socket)
			snprintf(where, sizeof(where), "socket %s", cfg->db_socket);
		else
			snprintf(where, sizeof(where), "%s:%d", cfg->db_host, cfg->db_port);
		mysql_err(err, mysql_errno(db->conn), mysql_error(db->conn),
			  "cannot connect to MySQL at %s, database %s, user %s: %s",
			  where, cfg->db_name, cfg->db_user, mysql_error(db->conn));
		mysql_close(db->conn);
		db->conn = NULL;
		return -1;
	}
	return 0;
}

static void close_conn(struct cc_db *db)
{
	for (size_t i = 0; i < db->nslots; i++)
		mysql_stmt_close(db->slots[i].stmt);
	db->nslots = 0;
	if (db->conn)
		mysql_close(db->conn);
	db->conn = NULL;
	db->in_tx = 0;
}

struct cc_db *cc_db_new(const struct cc_config *cfg)
{
	struct cc_db *db = calloc(1, sizeof(*db));

	if (db)
		db->cfg = cfg;
	return db;
}

struct cc_db *cc_db_connect(const struct cc_config *cfg, struct cc_err *err)
{
	struct cc_db *db = calloc(1, sizeof(*db));

	if (!db) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	db->cfg = cfg;
	if (open_conn(db, err) < 0) {
		free(db);
		return NULL;
	}
	return db;
}

void cc_db_free(struct cc_db *db)
{
	if (!db)
		return;
	close_conn(db);
	free(db);
}

/* Deadlock or lock wait timeout: InnoDB rolled the statement (and any open
 * transaction) back; outside a transaction the statement can simply run
 * again. */
static int lock_conflict(unsigned int e)
{
	return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

static int gone(unsigned int e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	       e == ER_CONNECTION_KILLED || e == CR_CONNECTION_ERROR;
}

/* The server cannot be reached, the connection broke, or its disk is
 * full: the request may succeed later (2002, 2003, 2005, 2006, 2012,
 * 2013, 2055, 1040, 1053, 1158-1161, 1927; 1021 and 1114 "The table ...
 * is full"). */
static int away(unsigned int e)
{
	return gone(e) || e == CR_CONN_HOST_ERROR || e == CR_UNKNOWN_HOST ||
	       e == CR_SERVER_HANDSHAKE_ERR || e == CR_SERVER_LOST_EXTENDED ||
	       e == ER_SERVER_SHUTDOWN || e == ER_CON_COUNT_ERROR ||
	       e == ER_NET_READ_ERROR || e == ER_NET_READ_INTERRUPTED ||
	       e == ER_NET_ERROR_ON_WRITE || e == ER_NET_WRITE_INTERRUPTED ||
	       e == ER_DISK_FULL || e == ER_RECORD_FILE_FULL;
}

/* mysql_err - err gets the message, MySQL error e as its cause (and the
 * server's own words, said, as cause_msg), and the kind: unavailable when
 * the server is away (the request may succeed later), internal for
 * anything else. Returns -1. */
static int mysql_err(struct cc_err *err, unsigned int e, const char *said,
		     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->kind = away(e) ? CC_ERR_UNAVAILABLE : CC_ERR_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	snprintf(err->cause_msg, sizeof(err->cause_msg), "%s", said ? said : "");
	return cc_err_set_cause(err, CC_CAUSE_MYSQL, (int)e);
}

static MYSQL_STMT *get_stmt(struct cc_db *db, const char *sql, struct cc_err *err)
{
	MYSQL_STMT *st;

	for (size_t i = 0; i < db->nslots; i++)
		if (db->slots[i].sql == sql)
			return db->slots[i].stmt;
	if (!db->conn && open_conn(db, err) < 0)
		return NULL;
	st = mysql_stmt_init(db->conn);
	if (!st) {
		cc_err_set(err, CC_ERR_INTERNAL, "mysql_stmt_init: %s", mysql_error(db->conn));
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		mysql_err(err, mysql_stmt_errno(st), mysql_stmt_error(st),
			  "prepare failed: %s [%s]", mysql_stmt_error(st), sql);
		mysql_stmt_close(st);
		return NULL;
	}
	if (db->nslots == MAX_STMTS) {
		/* should not happen: statements are a fixed set */
		mysql_stmt_close(db->slots[0].stmt);
		memmove(db->slots, db->slots + 1, sizeof(db->slots[0]) * (MAX_STMTS - 1));
		db->nslots--;
	}
	db->slots[db->nslots].sql = sql;
	db->slots[db->nslots].stmt = st;
	db->slots[db->nslots].row = NULL;
	db->nslots++;
	return st;
}

static int bind_params(MYSQL_STMT *st, MYSQL_BIND *b, unsigned long *lens,
		       const struct cc_dbv *p, size_t n, struct cc_err *err)
{
	if (n > MAX_PARAMS || n != mysql_stmt_param_count(st))
		return cc_err_set(err, CC_ERR_INTERNAL, "statement takes %lu parameters, got %zu",
				  mysql_stmt_param_count(st), n);
	memset(b, 0, sizeof(*b) * n);
	for (size_t i = 0; i < n; i++) {
		switch (p[i].t) {
		case CC_DB_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case CC_DB_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&p[i].i;
			break;
		case CC_DB_DBL:
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = (void *)&p[i].d;
			break;
		case CC_DB_STR:
			lens[i] = p[i].len == (size_t)-1 ? strlen(p[i].s) : p[i].len;
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)p[i].s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		}
	}
	if (n && mysql_stmt_bind_param(st, b))
		return cc_err_set(err, CC_ERR_INTERNAL, "bind: %s", mysql_stmt_error(st));
	return 0;
}

/* Prepare (cached), bind and execute; on a lost connection outside a
 * transaction reconnect and try once more. */
static MYSQL_STMT *run(struct cc_db *db, const char *sql,
		       const struct cc_dbv *p, size_t n, struct cc_err *err)
{
	MYSQL_BIND sb[16], *b = sb;
	unsigned long slens[16], *lens = slens;
	MYSQL_STMT *ret = NULL;

	if (n > 16) {
		b = calloc(n, sizeof(*b));
		lens = calloc(n, sizeof(*lens));
		if (!b || !lens) {
			cc_err_set(err, CC_ERR_INTERNAL, "out of memory binding %zu values", n);
			goto out;
		}
	}
	for (int attempt = 0, conflicts = 0; attempt < 2; attempt++) {
		MYSQL_STMT *st = get_stmt(db, sql, err);
		unsigned int e;

		if (!st) {
			if (!db->in_tx && attempt == 0 && err &&
			    err->cause_type == CC_CAUSE_MYSQL && gone((unsigned)err->cause)) {
				close_conn(db);
				continue;
			}
			goto out;
		}
		if (bind_params(st, b, lens, p, n, err) < 0)
			goto out;
		db->queries++;
		db->last_used = time(NULL);
		if (!mysql_stmt_execute(st)) {
			ret = st;
			goto out;
		}
		e = mysql_stmt_errno(st);
		mysql_err(err, e, mysql_stmt_error(st), "%s [%.120s]",
			  mysql_stmt_error(st), sql);
		if (lock_conflict(e) && !db->in_tx && ++conflicts <= 5) {
			cc_debug("lock conflict (%u), running the statement again", e);
			attempt--;
			continue;
		}
		if (gone(e) && !db->in_tx && attempt == 0) {
			cc_warn("MySQL connection lost (%u), reconnecting", e);
			close_conn(db);
			continue;
		}
		if (gone(e))
			close_conn(db);
		goto out;
	}
out:
	if (b != sb)
		free(b);
	if (lens != slens)
		free(lens);
	return ret;
}

int cc_db_exec(struct cc_db *db, const char *sql, const struct cc_dbv *params,
	       size_t nparams, unsigned long long *affected,
	       unsigned long long *insert_id, struct cc_err *err)
{
	MYSQL_STMT *st = run(db, sql, params, nparams, err);

	if (!st)
		return -1;
	if (affected)
		*affected = mysql_stmt_affected_rows(st);
	if (insert_id)
		*insert_id = mysql_stmt_insert_id(st);
	return 0;
}

static struct stmt_slot *slot_of(struct cc_db *db, const char *sql)
{
	for (size_t i = 0; i < db->nslots; i++)
		if (db->slots[i].sql == sql)
			return &db->slots[i];
	return NULL;
}

/* Work out which row-table column each result column goes to, by name.
 * A column with a NULL name in the table takes result column 0 whatever
 * its name (cc_db_query_int). */
static int map_columns(MYSQL_STMT *st, struct stmt_slot *slot,
		       const struct cc_dbrow *row, const char *sql,
		       struct cc_err *err)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	unsigned int nf = meta ? mysql_num_fields(meta) : 0;
	MYSQL_FIELD *fields = meta ? mysql_fetch_fields(meta) : NULL;
	int rc = -1;

	if (!meta) {
		cc_err_set(err, CC_ERR_INTERNAL, "statement returns no rows [%.120s]", sql);
		goto out;
	}
	if (nf > MAX_COLS) {
		cc_err_set(err, CC_ERR_INTERNAL, "%u columns, at most %d [%.120s]", nf,
			   MAX_COLS, sql);
		goto out;
	}
	for (unsigned int f = 0; f < nf; f++) {
		size_t c;

		for (c = 0; c < row->ncols; c++)
			if (row->cols[c].name ? !strcmp(row->cols[c].name, fields[f].name) :
			    f == 0)
				break;
		if (c == row->ncols) {
			cc_err_set(err, CC_ERR_INTERNAL, "result column '%s' is not in the "
				   "row table [%.120s]", fields[f].name, sql);
			goto out;
		}
		slot->map[f] = (short)c;
	}
	slot->row = row;
	rc = 0;
out:
	if (meta)
		mysql_free_result(meta);
	return rc;
}

/* Copy result column f of the current row into a string field: exactly
 * len + 1 bytes, filled by the connector (the one copy). */
static int fetch_string(MYSQL_STMT *st, unsigned int f, const struct cc_dbcol *col,
			char *r, unsigned long len)
{
	unsigned long got = 0;
	MYSQL_BIND b;
	char *s;

	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_STRING;
	b.length = &got;
	if (col->type == CC_COL_CHARS) {
		s = r + col->offset;
		if (len > col->aux - 1)
			len = (unsigned long)col->aux - 1;
		b.buffer = s;
		b.buffer_length = len;
		if (len && mysql_stmt_fetch_column(st, &b, f, 0))
			return -1;
		s[len] = '\0';
		return 0;
	}
	s = malloc(len + 1);
	if (!s)
		return -1;
	b.buffer = s;
	b.buffer_length = len + 1;
	if (len && mysql_stmt_fetch_column(st, &b, f, 0)) {
		free(s);
		return -1;
	}
	s[len] = '\0';
	*(char **)(r + col->offset) = s;
	if (col->aux != CC_COL_NO_LEN)
		*(size_t *)(r + col->aux) = len;
	return 0;
}

/* Run sql and stream its rows through fn, each bound into the row struct
 * r (row->size bytes, zeroed before each row). Strings fn leaves in r are
 * freed after it returns. Whatever happens, the result is read to its end,
 * so the connection is ready for the next statement. */
static int walk(struct cc_db *db, const char *sql, const struct cc_dbv *params,
		size_t nparams, const struct cc_dbrow *row,
		int (*fn)(void *r, void *ctx), void *ctx, struct cc_err *err)
{
	MYSQL_BIND rb[MAX_COLS];
	unsigned long lens[MAX_COLS];
	my_bool nulls[MAX_COLS], errs[MAX_COLS];
	MYSQL_STMT *st = run(db, sql, params, nparams, err);
	struct stmt_slot *slot;
	unsigned int nf;
	char *r = NULL;
	int rc = -1, f_rc;

	if (!st)
		return -1;
	slot = slot_of(db, sql);
	nf = mysql_stmt_field_count(st);
	if (slot->row != row && map_columns(st, slot, row, sql, err) < 0)
		goto out;
	r = calloc(1, row->size);
	if (!r) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading rows");
		goto out;
	}
	memset(rb, 0, sizeof(rb[0]) * nf);
	for (unsigned int f = 0; f < nf; f++) {
		const struct cc_dbcol *col = &row->cols[slot->map[f]];

		rb[f].is_null = &nulls[f];
		rb[f].error = &errs[f];
		rb[f].length = &lens[f];
		switch (col->type) {
		case CC_COL_I64:
			rb[f].buffer_type = MYSQL_TYPE_LONGLONG;
			rb[f].buffer = r + col->offset;
			break;
		case CC_COL_INT:
			rb[f].buffer_type = MYSQL_TYPE_LONG;
			rb[f].buffer = r + col->offset;
			break;
		case CC_COL_DBL:
			rb[f].buffer_type = MYSQL_TYPE_DOUBLE;
			rb[f].buffer = r + col->offset;
			break;
		case CC_COL_STR:
		case CC_COL_CHARS:
			/* No buffer: fetch reports the length, then fetch_string
			 * copies exactly that. */
			rb[f].buffer_type = MYSQL_TYPE_STRING;
			break;
		}
	}
	if (nf && mysql_stmt_bind_result(st, rb)) {
		cc_err_set(err, CC_ERR_INTERNAL, "bind_result: %s", mysql_stmt_error(st));
		goto out;
	}
	for (;;) {
		int k;

		memset(r, 0, row->size);
		k = mysql_stmt_fetch(st);
		if (k == MYSQL_NO_DATA)
			break;
		if (k == 1) {
			mysql_err(err, mysql_stmt_errno(st), mysql_stmt_error(st),
				  "fetch: %s [%.120s]", mysql_stmt_error(st), sql);
			goto out;
		}
		for (unsigned int f = 0; f < nf; f++) {
			const struct cc_dbcol *col = &row->cols[slot->map[f]];

			if (col->type != CC_COL_STR && col->type != CC_COL_CHARS) {
				if (col->aux != CC_COL_NO_LEN)
					*(int *)(r + col->aux) = nulls[f] != 0;
				continue;
			}
			if (nulls[f])
				continue;
			if (fetch_string(st, f, col, r, lens[f]) < 0) {
				cc_db_row_cleanup(row, r);
				cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading rows");
				goto out;
			}
		}
		f_rc = fn(r, ctx);
		cc_db_row_cleanup(row, r);
		if (f_rc) {
			rc = f_rc;
			goto out;
		}
	}
	rc = 0;
out:
	/* Rows stream from the server: read what is left before the next
	 * statement may run. */
	if (rc != 0) {
		int k;

		do
			k = mysql_stmt_fetch(st);
		while (k == 0 || k == MYSQL_DATA_TRUNCATED);
	}
	mysql_stmt_free_result(st);
	free(r);
	return rc;
}

int cc_db_each(struct cc_db *db, const char *sql, const struct cc_dbv *params,
	       size_t nparams, const struct cc_dbrow *row,
	       int (*fn)(void *r, void *ctx), void *ctx, struct cc_err *err)
{
	return walk(db, sql, params, nparams, row, fn, ctx, err);
}

void cc_db_row_cleanup(const struct cc_dbrow *row, void *r)
{
	for (size_t c = 0; c < row->ncols; c++)
		if (row->cols[c].type == CC_COL_STR) {
			char **s = (char **)((char *)r + row->cols[c].offset);
			free(*s);
			*s = NULL;
		}
	memset(r, 0, row->size);
}

void cc_db_rows_free(const struct cc_dbrow *row, void *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		cc_db_row_cleanup(row, (char *)rows + i * row->size);
	free(rows);
}

struct collect {
	const struct cc_dbrow *row;
	char *rows;
	size_t n, cap;
	int first_only;       /* select_one: keep row 0, drop the rest */
};

/* Take the row over: its strings now belong to the array. */
static int collect_row(void *r, void *ctx)
{
	struct collect *c = ctx;

	if (c->first_only && c->n)
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		char *nr = realloc(c->rows, ncap * c->row->size);

		if (!nr)
			return 2;
		c->rows = nr;
		c->cap = ncap;
	}
	memcpy(c->rows + c->n * c->row->size, r, c->row->size);
	memset(r, 0, c->row->size);
	c->n++;
	return 0;
}

int cc_db_select(struct cc_db *db, const char *sql, const struct cc_dbv *params,
		 size_t nparams, const struct cc_dbrow *row, void *rows,
		 size_t *nrows, struct cc_err *err)
{
	struct collect c = { row, NULL, 0, 0, 0 };
	int rc = walk(db, sql, params, nparams, row, collect_row, &c, err);

	*(void **)rows = NULL;
	*nrows = 0;
	if (rc) {
		cc_db_rows_free(row, c.rows, c.n);
		if (rc > 0)
			return cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading rows");
		return -1;
	}
	*(void **)rows = c.rows;
	*nrows = c.n;
	return 0;
}

int cc_db_select_one(struct cc_db *db, const char *sql,
		     const struct cc_dbv *params, size_t nparams,
		     const struct cc_dbrow *row, void *out, struct cc_err *err)
{
	struct collect c = { row, NULL, 0, 0, 1 };
	int rc = walk(db, sql, params, nparams, row, collect_row, &c, err);

	memset(out, 0, row->size);
	if (rc) {
		cc_db_rows_free(row, c.rows, c.n);
		if (rc > 0)
			return cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading rows");
		return -1;
	}
	if (!c.n)
		return 0;
	memcpy(out, c.rows, row->size);
	free(c.rows);
	return 1;
}

struct one_int {
	long long v;
	int is_null;
};
static const struct cc_dbcol ONE_INT_COLS[] = {
	{ NULL, CC_COL_I64, offsetof(struct one_int, v),
	  offsetof(struct one_int, is_null) },
};
static const struct cc_dbrow ONE_INT = CC_DBROW(struct one_int, ONE_INT_COLS);

int cc_db_query_int(struct cc_db *db, const char *sql,
		    const struct cc_dbv *params, size_t nparams,
		    long long *value, int *found, struct cc_err *err)
{
	struct one_int r;
	int k;

	*found = 0;
	*value = 0;
	k = cc_db_select_one(db, sql, params, nparams, &ONE_INT, &r, err);
	if (k < 0)
		return -1;
	/* A missing row and SQL NULL are both "not found". */
	*value = r.v;
	*found = k && !r.is_null;
	return 0;
}

static int fixed(struct cc_db *db, const char *sql, struct cc_err *err)
{
	if (!db->conn && open_conn(db, err) < 0)
		return -1;
	db->queries++;
	if (mysql_real_query(db->conn, sql, strlen(sql))) {
		unsigned int e = mysql_errno(db->conn);
		mysql_err(err, e, mysql_error(db->conn), "%s: %s", sql,
			  mysql_error(db->conn));
		if (gone(e))
			close_conn(db);
		return -1;
	}
	return 0;
}

int cc_db_begin(struct cc_db *db, struct cc_err *err)
{
	/* A connection idle for a while may have been closed by the server
	 * (wait_timeout): check it here, before any work, and re-open it.
	 * A busy one is not pinged: that would cost a round trip per
	 * transaction. */
	if (db->conn && time(NULL) - db->last_used > 30 && mysql_ping(db->conn) != 0)
		close_conn(db);
	/* A connection that broke since its last use (MySQL restarted) fails
	 * here first: nothing has run yet, so open a new one and try again
	 * once, as run() does for a statement outside a transaction. */
	if (fixed(db, "START TRANSACTION", err) < 0 &&
	    (!err || err->cause_type != CC_CAUSE_MYSQL ||
	     !gone((unsigned)err->cause) ||
	     fixed(db, "START TRANSACTION", err) < 0))
		return -1;
	db->in_tx = 1;
	return 0;
}

int cc_db_commit(struct cc_db *db, struct cc_err *err)
{
	int rc = fixed(db, "COMMIT", err);

	db->in_tx = 0;
	return rc;
}

void cc_db_rollback(struct cc_db *db)
{
	if (!db->in_tx)
		return;
	db->in_tx = 0;
	if (db->conn && mysql_real_query(db->conn, "ROLLBACK", 8))
		cc_warn("ROLLBACK failed: %s", mysql_error(db->conn));
}

int cc_db_retryable(const struct cc_err *err)
{
	return err && err->cause_type == CC_CAUSE_MYSQL &&
	       lock_conflict((unsigned)err->cause);
}

int cc_db_in_transaction(const struct cc_db *db)
{
	return db->in_tx;
}

static const char SQL_SCHEMA_VERSION[] =
	"SELECT COUNT(*) FROM schema_migrations WHERE version = ?";

int cc_db_check_schema(struct cc_db *db, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBS(CC_SCHEMA_VERSION) };
	long long n;
	int found;
	struct cc_err e2 = { 0 };

	if (cc_db_query_int(db, SQL_SCHEMA_VERSION, p, 1, &n, &found, &e2) < 0 || !n)
		return cc_err_set(err, CC_ERR_INTERNAL, "database '%s' does not have schema version "
				  "%s (%s); run: crowd -c %s load_schema",
				  db->cfg->db_name, CC_SCHEMA_VERSION,
				  found || e2.kind == CC_ERR_NONE ? "out of date" : e2.msg,
				  db->cfg->dir);
	return 0;
}

int cc_db_load_schema(struct cc_db *db, const char *path, struct cc_err *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, *p, *stmt;
	size_t len = 0;
	int rc = -1;

	if (!f)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", path, strerror(errno));
	if (getdelim(&text, &len, '\0', f) < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "%s: cannot read", path);
		goto out;
	}
	/* Statements end with ';' at the end of a line; drop -- comments. */
	for (p = text; *p;) {
		char *line_end = strchr(p, '\n');
		if (p[0] == '-' && p[1] == '-') {
			size_t n = line_end ? (size_t)(line_end - p) : strlen(p);
			memset(p, ' ', n);
		}
		p = line_end ? line_end + 1 : p + strlen(p);
	}
	for (stmt = text; (p = strstr(stmt, ";\n")) || (p = strchr(stmt, ';'));) {
		*p = '\0';
		while (*stmt == ' ' || *stmt == '\n')
			stmt++;
		if (*stmt && fixed(db, stmt, err) < 0)
			goto out;
		stmt = p + 1;
	}
	rc = 0;
out:
	free(text);
	fclose(f);
	return rc;
}

unsigned long cc_db_count_queries(const struct cc_db *db)
{
	return db->queries;
}
