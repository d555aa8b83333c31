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
#include "core/db.h"
#include "core/log.h"

#define MAX_STMTS 96
#define MAX_PARAMS 1024
/* A cached statement keeps the memory its last stored result needed (the
 * connector's MEM_ROOT keeps its blocks across mysql_stmt_free_result), so
 * a statement that just read more than this is closed instead: a pool
 * process that once gathered a 10,000-unit job's outputs would otherwise
 * carry them for the rest of its life. Preparing it again is cheap and
 * rare. */
#define BIG_RESULT (32 * 1024)

struct stmt_slot {
	const char *sql;      /* identity: the static string's address */
	MYSQL_STMT *stmt;
};

struct cc_db {
	MYSQL *conn;
	const struct cc_config *cfg;
	struct stmt_slot slots[MAX_STMTS];
	size_t nslots;
	int in_tx;
	unsigned long queries;
	time_t last_used;     /* for the idle check before a transaction */
};

static int mysql_err(struct cc_err *err, unsigned int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int open_conn(struct cc_db *db, struct cc_err *err)
{
	const struct cc_config *cfg = db->cfg;
	unsigned int timeout = 10;
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
		mysql_err(err, mysql_errno(db->conn), "cannot connect to MySQL at %s, "
			  "database %s, user %s: %s", where, cfg->db_name,
			  cfg->db_user, mysql_error(db->conn));
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

/* mysql_err - err gets the message, MySQL error e as its cause, and the
 * kind: unavailable when the server is away (the request may succeed
 * later), internal for anything else. Returns -1. */
static int mysql_err(struct cc_err *err, unsigned int e, const char *fmt, ...)
{
	va_list ap;
	int away = gone(e) || e == CR_CONN_HOST_ERROR || e == CR_UNKNOWN_HOST ||
		   e == ER_SERVER_SHUTDOWN || e == CR_SERVER_LOST_EXTENDED;

	if (!err)
		return -1;
	err->kind = away ? CC_ERR_UNAVAILABLE : CC_ERR_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return cc_err_set_cause(err, CC_CAUSE_MYSQL, (int)e);
}

/* drop_stmt - close the cached statement for sql, if any. */
static void drop_stmt(struct cc_db *db, const char *sql)
{
	for (size_t i = 0; i < db->nslots; i++)
		if (db->slots[i].sql == sql) {
			mysql_stmt_close(db->slots[i].stmt);
			db->slots[i] = db->slots[--db->nslots];
			return;
		}
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
		mysql_err(err, mysql_stmt_errno(st), "prepare failed: %s [%s]",
			   mysql_stmt_error(st), sql);
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
		mysql_err(err, e, "%s [%.120s]", mysql_stmt_error(st), sql);
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

void cc_db_rows_free(struct cc_db_rows *rows)
{
	if (!rows)
		return;
	if (rows->cells)
		for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
			free(rows->cells[i]);
	free(rows->cells);
	free(rows->lens);
	memset(rows, 0, sizeof(*rows));
}

int cc_db_query(struct cc_db *db, const char *sql, const struct cc_dbv *params,
		size_t nparams, struct cc_db_rows *out, struct cc_err *err)
{
	MYSQL_STMT *st;
	MYSQL_RES *meta = NULL;
	MYSQL_BIND *rb = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL;
	char **bufs = NULL;
	my_bool update_max = 1;
	size_t ncols = 0, cap = 0, bytes = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	st = run(db, sql, params, nparams, err);
	if (!st)
		return -1;
	meta = mysql_stmt_result_metadata(st);
	if (!meta) {
		cc_err_set(err, CC_ERR_INTERNAL, "statement returns no rows [%.120s]", sql);
		goto out;
	}
	ncols = mysql_num_fields(meta);
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
	if (mysql_stmt_store_result(st)) {
		mysql_err(err, mysql_stmt_errno(st), "store_result: %s",
			   mysql_stmt_error(st));
		goto out;
	}
	MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	rb = calloc(ncols, sizeof(*rb));
	lens = calloc(ncols, sizeof(*lens));
	nulls = calloc(ncols, sizeof(*nulls));
	bufs = calloc(ncols, sizeof(*bufs));
	if (!rb || !lens || !nulls || !bufs)
		goto oom;
	for (size_t c = 0; c < ncols; c++) {
		size_t sz = fields[c].max_length + 1;
		if (sz < 64)
			sz = 64;
		bufs[c] = malloc(sz);
		if (!bufs[c])
			goto oom;
		rb[c].buffer_type = MYSQL_TYPE_STRING;
		rb[c].buffer = bufs[c];
		rb[c].buffer_length = sz;
		rb[c].length = &lens[c];
		rb[c].is_null = &nulls[c];
	}
	if (ncols && mysql_stmt_bind_result(st, rb)) {
		cc_err_set(err, CC_ERR_INTERNAL, "bind_result: %s", mysql_stmt_error(st));
		goto out;
	}
	out->ncols = ncols;
	for (;;) {
		int f = mysql_stmt_fetch(st);
		if (f == MYSQL_NO_DATA)
			break;
		if (f == 1) {
			cc_err_set(err, CC_ERR_INTERNAL, "fetch: %s", mysql_stmt_error(st));
			goto out;
		}
		if (out->nrows == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nc = realloc(out->cells, ncap * ncols * sizeof(char *));
			if (!nc)
				goto oom;
			out->cells = nc;
			size_t *nl = realloc(out->lens, ncap * ncols * sizeof(size_t));
			if (!nl)
				goto oom;
			out->lens = nl;
			cap = ncap;
		}
		for (size_t c = 0; c < ncols; c++) {
			size_t i = out->nrows * ncols + c;
			out->cells[i] = NULL;
			out->lens[i] = 0;
		}
		out->nrows++;
		for (size_t c = 0; c < ncols; c++) {
			size_t i = (out->nrows - 1) * ncols + c;
			if (nulls[c])
				continue;
			out->cells[i] = malloc(lens[c] + 1);
			if (!out->cells[i])
				goto oom;
			memcpy(out->cells[i], bufs[c], lens[c]);
			out->cells[i][lens[c]] = '\0';
			out->lens[i] = lens[c];
			bytes += lens[c];
		}
	}
	rc = 0;
	goto out;
oom:
	cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading rows");
out:
	if (rc < 0)
		cc_db_rows_free(out);
	mysql_stmt_free_result(st);
	if (meta)
		mysql_free_result(meta);
	if (bytes > BIG_RESULT)
		drop_stmt(db, sql);
	if (bufs)
		for (size_t c = 0; c < ncols; c++)
			free(bufs[c]);
	free(bufs);
	free(rb);
	free(lens);
	free(nulls);
	return rc;
}

const char *cc_db_cell(const struct cc_db_rows *rows, size_t r, size_t c)
{
	if (r >= rows->nrows || c >= rows->ncols)
		return NULL;
	return rows->cells[r * rows->ncols + c];
}

size_t cc_db_cell_len(const struct cc_db_rows *rows, size_t r, size_t c)
{
	if (r >= rows->nrows || c >= rows->ncols)
		return 0;
	return rows->lens[r * rows->ncols + c];
}

long long cc_db_cell_int(const struct cc_db_rows *rows, size_t r, size_t c)
{
	const char *s = cc_db_cell(rows, r, c);
	return s ? strtoll(s, NULL, 10) : 0;
}

double cc_db_cell_dbl(const struct cc_db_rows *rows, size_t r, size_t c)
{
	const char *s = cc_db_cell(rows, r, c);
	return s ? strtod(s, NULL) : 0;
}

int cc_db_cell_null(const struct cc_db_rows *rows, size_t r, size_t c)
{
	return cc_db_cell(rows, r, c) == NULL;
}

int cc_db_query_int(struct cc_db *db, const char *sql,
		    const struct cc_dbv *params, size_t nparams,
		    long long *value, int *found, struct cc_err *err)
{
	struct cc_db_rows rows;

	*found = 0;
	*value = 0;
	if (cc_db_query(db, sql, params, nparams, &rows, err) < 0)
		return -1;
	if (rows.nrows && !cc_db_cell_null(&rows, 0, 0)) {
		*value = cc_db_cell_int(&rows, 0, 0);
		*found = 1;
	}
	cc_db_rows_free(&rows);
	return 0;
}

static int fixed(struct cc_db *db, const char *sql, struct cc_err *err)
{
	if (!db->conn && open_conn(db, err) < 0)
		return -1;
	db->queries++;
	if (mysql_real_query(db->conn, sql, strlen(sql))) {
		unsigned int e = mysql_errno(db->conn);
		mysql_err(err, e, "%s: %s", sql, mysql_error(db->conn));
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
	if (fixed(db, "START TRANSACTION", err) < 0)
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
