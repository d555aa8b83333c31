/* work_unit.c - the work_units table. The rules that keep a unit from being
 * lost or run twice, as far as they are SQL, live here:
 *  - reserve is one UPDATE with a random reservation number (lock-free
 *    between any number of dispatchers);
 *  - assign only touches a unit still reserved by us and incomplete, and
 *    clears the reservation, so a result that arrived first is never
 *    overwritten (no ghost assignments);
 *  - the writes of a result are made by central/lifecycle.c inside one
 *    transaction holding the job row, then the unit row;
 *  - an assignment carries a lease; a reservation carries a deadline
 *    (reserved_until), past which any dispatcher releases it;
 *  - central owns each node's capacity: node_records.slots_used counts the
 *    units whose node_record_id is that node, and every statement that
 *    gives a unit a node or takes it away changes slots_used in the same
 *    statement (a multiple-table UPDATE: both rows locked, one commit), so
 *    the counter equals the count in every committed state. A slot is
 *    claimed by giving the unit its node before it is sent (SQL_CLAIM,
 *    refused when the node is full), and given back with the unit's
 *    result, lease expiry, failed send, expired reservation or release;
 *  - the reserving UPDATE gives each unit a fresh assignment token, read
 *    back with the units and sent in the payload: only its holder can
 *    report (lifecycle.c checks it); a recorded attempt moves it to
 *    last_token, so the same report coming again is recognised. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "core/log.h"
#include "model/action.h"
#include "model/status.h"
#include "model/work_unit.h"

#define BATCH 64
#define INSERT_HEAD "INSERT INTO work_units (status, job_id, input, action," \
	" position, input_is_json, created_at, updated_at) VALUES "
#define INSERT_ROW "(?, ?, ?, ?, ?, ?, NOW(6), NOW(6))"

/* Fixed text, built once: INSERT_HEAD followed by BATCH rows. */
static char sql_insert_batch[sizeof(INSERT_HEAD) + BATCH * (sizeof(INSERT_ROW) + 1)];
static const char SQL_INSERT_ONE[] = INSERT_HEAD INSERT_ROW;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

static const struct cc_dbcol UNIT_COLS[] = {
	CC_COL(struct cc_work_unit, id, CC_COL_I64),
	CC_COL(struct cc_work_unit, job_id, CC_COL_I64),
	CC_COL(struct cc_work_unit, status, CC_COL_INT),
	CC_COL(struct cc_work_unit, attempts, CC_COL_INT),
	CC_COL(struct cc_work_unit, worker_pid, CC_COL_I64),
	CC_COL(struct cc_work_unit, node_record_id, CC_COL_I64),
	CC_COL(struct cc_work_unit, last_node_id, CC_COL_I64),
	CC_COL(struct cc_work_unit, position, CC_COL_I64),
	CC_COL(struct cc_work_unit, input_is_json, CC_COL_INT),
	CC_COL(struct cc_work_unit, action, CC_COL_STR),
	CC_COL_STRLEN(struct cc_work_unit, input, input_len),
	CC_COL(struct cc_work_unit, output, CC_COL_STR),
	CC_COL_CHARBUF(struct cc_work_unit, token),
	CC_COL_CHARBUF(struct cc_work_unit, last_token),
	CC_COL(struct cc_work_unit, last_pid, CC_COL_I64),
	CC_COL(struct cc_work_unit, reservation, CC_COL_I64),
	CC_COL(struct cc_work_unit, options, CC_COL_STR),
	CC_COL(struct cc_work_unit, host, CC_COL_STR),
	CC_COL(struct cc_work_unit, running_for, CC_COL_DBL),
};
const struct cc_dbrow cc_work_unit_row = CC_DBROW(struct cc_work_unit, UNIT_COLS);

/* Seconds since the unit last changed (its assignment, for a running one). */
#define RUNNING_FOR "TIMESTAMPDIFF(MICROSECOND, w.updated_at, NOW(6)) / 1000000.0" \
	" AS running_for"

static const char SQL_UNIT_JOB[] =
	"SELECT job_id FROM work_units WHERE id = ?";
static const char SQL_UNIT_LOCK[] =
	"SELECT id, job_id, status, attempts, worker_pid, node_record_id, position,"
	" action, token, last_token, last_pid FROM work_units WHERE id = ? FOR UPDATE";
/* A recorded attempt gives its node's slot back, in the statement that
 * takes the unit off the node: the node (bound: the node_record_id read
 * under the unit's lock; 0 joins nothing) is LEFT JOINed so a unit whose
 * node is gone still finishes. A worker's report also refreshes its node
 * (it is alive); a lease expiry does not. */
#define NODE_JOIN " LEFT JOIN node_records n ON n.id = ?"
#define NODE_FREED ", n.slots_used = GREATEST(n.slots_used - 1, 0)," \
	" n.updated_at = IF(?, NOW(6), n.updated_at)"
/* The unit, its job's done counter and its node's slots in one statement
 * (the rows are locked already, or are locked by it in the order job,
 * unit, node): no round trip more on any unit. The reporter's token and
 * pid, and the last node, come from the caller, never from another column
 * of the row: a multiple-table UPDATE assigns in no set order. */
static const char SQL_SUCCEED[] =
	"UPDATE work_units w JOIN jobs j ON j.id = ?" NODE_JOIN
	" SET w.status = " CC_SQL_SUCCEEDED ","
	" w.output = ?, w.time = ?,"
	" w.attempts = w.attempts + 1, w.node_record_id = NULL,"
	" w.worker_pid = NULL, w.reservation = NULL, w.reserved_until = NULL,"
	" w.lease_until = NULL,"
	" w.token = NULL, w.last_token = ?, w.last_pid = ?,"
	" w.updated_at = NOW(6), j.units_done = j.units_done + 1" NODE_FREED
	" WHERE w.id = ?";
static const char SQL_RETRY[] =
	"UPDATE work_units w" NODE_JOIN
	" SET w.attempts = ?, w.output = ?, w.time = ?,"
	" w.last_node_id = ?, w.node_record_id = NULL,"
	" w.worker_pid = NULL, w.reservation = NULL, w.reserved_until = NULL,"
	" w.lease_until = NULL,"
	" w.token = NULL, w.last_token = ?, w.last_pid = ?,"
	" w.available_at = NOW(6) + INTERVAL ? SECOND, w.updated_at = NOW(6)"
	NODE_FREED
	" WHERE w.id = ?";
static const char SQL_FAIL[] =
	"UPDATE work_units w JOIN jobs j ON j.id = ?" NODE_JOIN
	" SET w.status = " CC_SQL_FAILED ","
	" w.output = ?, w.time = ?, w.attempts = ?,"
	" w.node_record_id = NULL, w.worker_pid = NULL, w.reservation = NULL,"
	" w.reserved_until = NULL,"
	" w.lease_until = NULL, w.token = NULL, w.last_token = ?, w.last_pid = ?,"
	" w.updated_at = NOW(6),"
	" j.units_done = j.units_done + 1" NODE_FREED " WHERE w.id = ?";
static const char SQL_DELETE_UNIT[] =
	"DELETE FROM work_units WHERE id = ?";
/* Index lookups on (job_id, status): never a scan of the job's units. */
static const char SQL_JOB_STATE[] =
	"SELECT EXISTS(SELECT 1 FROM work_units WHERE job_id = ?"
	" AND status = " CC_SQL_FAILED ") AS failed,"
	" EXISTS(SELECT 1 FROM work_units WHERE job_id = ?"
	" AND status = " CC_SQL_SPLITTING ") AS splitting";
static const char SQL_COMPLETE_OUTPUTS[] =
	"SELECT output FROM work_units WHERE job_id = ?"
	" AND status IN " CC_SQL_COMPLETE " ORDER BY position, id";
static const char SQL_DELETE_COMPLETE[] =
	"DELETE FROM work_units WHERE job_id = ? AND status IN " CC_SQL_COMPLETE;
/* FORCE INDEX: left alone, MariaDB may intersect the reservation and node
 * indexes, which walks every finished unit of a big job on each pass.
 * The token is derived from a secret of this reservation and the unit's
 * id: a fresh unguessable token per unit at no extra statement. */
static const char SQL_RESERVE[] =
	"UPDATE work_units FORCE INDEX (index_work_units_available)"
	" SET reservation = ?, token = LEFT(SHA2(CONCAT(?, ':', id), 256), 32),"
	" reserved_until = NOW(6) + INTERVAL ? SECOND, updated_at = NOW(6)"
	" WHERE status IN " CC_SQL_INCOMPLETE " AND reservation IS NULL"
	" AND node_record_id IS NULL"
	" AND (available_at IS NULL OR available_at <= NOW(6))"
	" AND FIND_IN_SET(action, ?) > 0"
	" AND action NOT IN (SELECT action FROM black_listed_actions"
	" WHERE expires_at IS NULL OR expires_at > NOW(6))"
	" LIMIT ?";
static const char SQL_RESERVED[] =
	"SELECT w.id, w.job_id, w.input, w.attempts, w.action, w.status,"
	" j.options, w.input_is_json, w.last_node_id, w.token"
	" FROM work_units w JOIN jobs j ON j.id = w.job_id"
	" WHERE w.reservation = ? ORDER BY w.id";
/* The claim: the reserved unit gets its node, and the node one slot,
 * only while the node has one free (slots_used < max_workers; NULL or 0:
 * no limit), is not busy and not benched. Both rows change, so 2 rows
 * affected means claimed. Two dispatchers claiming the node's last slot
 * serialize on its row lock, and the second sees it full. A node coming
 * back from the bench gets one unit, its probe: the claim moves
 * bench_until past the probe's send (its second bound value), so no other
 * claim, by this dispatcher or another, passes until the probe is
 * answered (the send clears the bench) or the probe window ends. */
static const char SQL_CLAIM[] =
	"UPDATE work_units w JOIN node_records n ON n.id = ?"
	" SET w.node_record_id = n.id, w.updated_at = NOW(6),"
	" n.slots_used = n.slots_used + 1,"
	" n.bench_until = IF(n.bench_s > 0, NOW(6) + INTERVAL ? SECOND,"
	" n.bench_until)"
	" WHERE w.id = ? AND w.reservation = ? AND w.node_record_id IS NULL"
	" AND w.status IN " CC_SQL_INCOMPLETE
	" AND (n.max_workers IS NULL OR n.max_workers <= 0"
	" OR n.slots_used < n.max_workers)"
	" AND n.busy = 0 AND (n.bench_until IS NULL OR n.bench_until <= NOW(6))";
/* The node took the unit: its pid and lease are recorded and the
 * reservation ends, only if the unit is still ours on that node (a result
 * that already arrived, a release or an expired reservation came first:
 * nothing is overwritten, no ghost assignments). The node is alive: it is
 * refreshed, and its bench ends. */
static const char SQL_SENT[] =
	"UPDATE work_units w JOIN node_records n ON n.id = ?"
	" SET w.worker_pid = ?, w.reservation = NULL, w.reserved_until = NULL,"
	" w.lease_until = NOW(6) + INTERVAL ? SECOND, w.updated_at = NOW(6),"
	" n.updated_at = NOW(6), n.bench_until = NULL, n.bench_s = 0"
	" WHERE w.id = ? AND w.reservation = ? AND w.node_record_id = n.id";
/* A claimed unit that did not go out (or whose reservation expired):
 * back to available, its slot back to the node. */
static const char SQL_UNCLAIM[] =
	"UPDATE work_units w JOIN node_records n ON n.id = ?"
	" SET w.node_record_id = NULL, w.lease_until = NULL,"
	" w.reservation = NULL, w.reserved_until = NULL, w.updated_at = NOW(6),"
	" n.slots_used = GREATEST(n.slots_used - 1, 0)"
	" WHERE w.id = ? AND w.reservation = ? AND w.node_record_id = ?"
	" AND w.worker_pid IS NULL";
/* Units of the reservation that hold no node (claimed ones are given
 * back one by one, with their slots). */
static const char SQL_CANCEL[] =
	"UPDATE work_units SET reservation = NULL, reserved_until = NULL"
	" WHERE reservation = ? AND node_record_id IS NULL";
/* Reservations past their deadline (index_work_units_on_reserved_until:
 * a pass that finds none reads no row). */
static const char SQL_RESERVATIONS_PAST[] =
	"SELECT id, reservation, node_record_id FROM work_units"
	" WHERE reserved_until < NOW(6) LIMIT 100";
static const char SQL_RELEASE_RESERVATION[] =
	"UPDATE work_units SET reservation = NULL, reserved_until = NULL"
	" WHERE id = ? AND reservation = ? AND node_record_id IS NULL";
/* Then the node gets back as many slots (SQL_NODE_RELEASED), in the
 * caller's transaction. */
static const char SQL_NODE_RELEASED[] =
	"UPDATE node_records SET slots_used = GREATEST(slots_used - ?, 0)"
	" WHERE id = ?";
static const char SQL_RELEASE_NODE[] =
	"UPDATE work_units SET node_record_id = NULL, worker_pid = NULL,"
	" lease_until = NULL, updated_at = NOW(6)"
	" WHERE node_record_id = ? AND status IN " CC_SQL_INCOMPLETE;
static const char SQL_EXPIRED[] =
	"SELECT w.id, w.worker_pid, w.token, COALESCE(n.host, '?') AS host, "
	RUNNING_FOR
	" FROM work_units w LEFT JOIN node_records n ON n.id = w.node_record_id"
	" WHERE w.lease_until < NOW(6) AND w.status IN " CC_SQL_INCOMPLETE
	" LIMIT 100";
static const char SQL_BY_WORKER[] =
	"SELECT w.id, w.job_id, w.action, w.status, w.attempts, w.input, "
	RUNNING_FOR ", n.host, w.worker_pid"
	" FROM work_units w JOIN node_records n ON n.id = w.node_record_id"
	" WHERE w.worker_pid = ? AND n.host = ? LIMIT 1";
static const char SQL_ADD_UNITS[] =
	"UPDATE jobs SET units_total = units_total + ? WHERE id = ?";
/* A split unit removed: its job counts one unit less, its node gets its
 * slot back (and is refreshed: its worker reported). */
static const char SQL_UNIT_REMOVED[] =
	"UPDATE jobs j" NODE_JOIN " SET j.units_total = j.units_total - 1"
	NODE_FREED " WHERE j.id = ?";

static void build_batch(void)
{
	size_t o = 0;

	memcpy(sql_insert_batch, INSERT_HEAD, sizeof(INSERT_HEAD) - 1);
	o = sizeof(INSERT_HEAD) - 1;
	for (int i = 0; i < BATCH; i++) {
		if (i)
			sql_insert_batch[o++] = ',';
		memcpy(sql_insert_batch + o, INSERT_ROW, sizeof(INSERT_ROW) - 1);
		o += sizeof(INSERT_ROW) - 1;
	}
	sql_insert_batch[o] = '\0';
}

int cc_unit_input_from_json(json_t *value, long long position,
			    struct cc_unit_input *in, char **owned)
{
	*owned = NULL;
	in->position = position;
	if (json_is_string(value)) {
		in->text = json_string_value(value);
		in->len = json_string_length(value);
		in->is_json = 0;
		return 0;
	}
	*owned = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!*owned)
		return -1;
	in->text = *owned;
	in->len = strlen(*owned);
	in->is_json = 1;
	return 0;
}

int cc_work_unit_create_many(struct cc_db *db, long long job_id,
			     const char *action, int status,
			     const struct cc_unit_input *in, size_t n,
			     struct cc_err *err)
{
	struct cc_dbv *p = NULL;
	size_t i = 0;
	int rc = -1;

	pthread_once(&batch_once, build_batch);
	p = calloc(BATCH * 6, sizeof(*p));
	if (!p)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	while (i < n) {
		size_t k = n - i >= BATCH ? BATCH : 1;
		for (size_t j = 0; j < k; j++) {
			const struct cc_unit_input *u = &in[i + j];
			struct cc_dbv *q = &p[j * 6];
			q[0] = CC_DBI(status);
			q[1] = CC_DBI(job_id);
			q[2] = CC_DBSN(u->text, u->len);
			q[3] = CC_DBS(action);
			q[4] = CC_DBI(u->position);
			q[5] = CC_DBI(u->is_json);
		}
		if (cc_db_exec(db, k == BATCH ? sql_insert_batch : SQL_INSERT_ONE,
			       p, k * 6, NULL, NULL, err) < 0)
			goto out;
		i += k;
	}
	{
		struct cc_dbv q[] = { CC_DBI((long long)n), CC_DBI(job_id) };
		if (cc_db_exec(db, SQL_ADD_UNITS, q, 2, NULL, NULL, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int cc_work_unit_job_of(struct cc_db *db, long long id, long long *job_id,
			struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	int found;

	if (cc_db_query_int(db, SQL_UNIT_JOB, p, 1, job_id, &found, err) < 0)
		return -1;
	return found;
}

int cc_work_unit_lock(struct cc_db *db, long long id, struct cc_work_unit *u,
		      struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };

	return cc_db_select_one(db, SQL_UNIT_LOCK, p, 1, &cc_work_unit_row, u, err);
}

/* The last_token and last_pid values of a recorded attempt. */
static struct cc_dbv by_token(const struct cc_attempt_by *by)
{
	return by && by->token && *by->token ? CC_DBS(by->token) : CC_DBNULL;
}

static struct cc_dbv by_pid(const struct cc_attempt_by *by)
{
	return by && by->pid > 0 ? CC_DBI(by->pid) : CC_DBNULL;
}

static int by_alive(const struct cc_attempt_by *by)
{
	return by && by->node_alive;
}

int cc_work_unit_succeed(struct cc_db *db, const struct cc_work_unit *u,
			 const char *output, double time,
			 const struct cc_attempt_by *by, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(u->job_id), CC_DBI(u->node_record_id),
			      CC_DBS(output), CC_DBD(time), by_token(by),
			      by_pid(by), CC_DBI(by_alive(by)), CC_DBI(u->id) };

	return cc_db_exec(db, SQL_SUCCEED, p, 8, NULL, NULL, err);
}

int cc_work_unit_retry(struct cc_db *db, const struct cc_work_unit *u, int tries,
		       const char *output, double time, long long backoff_s,
		       const struct cc_attempt_by *by, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(u->node_record_id), CC_DBI(tries),
			      CC_DBS(output), CC_DBD(time),
			      u->node_record_id > 0 ? CC_DBI(u->node_record_id) : CC_DBNULL,
			      by_token(by), by_pid(by), CC_DBI(backoff_s),
			      CC_DBI(by_alive(by)), CC_DBI(u->id) };

	return cc_db_exec(db, SQL_RETRY, p, 10, NULL, NULL, err);
}

int cc_work_unit_fail(struct cc_db *db, const struct cc_work_unit *u, int tries,
		      const char *output, double time,
		      const struct cc_attempt_by *by, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(u->job_id), CC_DBI(u->node_record_id),
			      CC_DBS(output), CC_DBD(time), CC_DBI(tries),
			      by_token(by), by_pid(by), CC_DBI(by_alive(by)),
			      CC_DBI(u->id) };

	return cc_db_exec(db, SQL_FAIL, p, 9, NULL, NULL, err);
}

int cc_work_unit_replace(struct cc_db *db, const struct cc_work_unit *u,
			 const struct cc_unit_input *in, size_t n,
			 struct cc_err *err)
{
	struct cc_dbv unit[] = { CC_DBI(u->id) };
	struct cc_dbv job[] = { CC_DBI(u->node_record_id), CC_DBI(1),
				CC_DBI(u->job_id) };

	if (n && cc_work_unit_create_many(db, u->job_id, u->action,
					  CC_STATUS_PROCESSING, in, n, err) < 0)
		return -1;
	if (cc_db_exec(db, SQL_DELETE_UNIT, unit, 1, NULL, NULL, err) < 0 ||
	    cc_db_exec(db, SQL_UNIT_REMOVED, job, 3, NULL, NULL, err) < 0)
		return -1;
	return 0;
}

struct job_state {
	int failed, splitting;
};
static const struct cc_dbcol JOB_STATE_COLS[] = {
	CC_COL(struct job_state, failed, CC_COL_INT),
	CC_COL(struct job_state, splitting, CC_COL_INT),
};
static const struct cc_dbrow JOB_STATE = CC_DBROW(struct job_state, JOB_STATE_COLS);

int cc_work_unit_job_state(struct cc_db *db, long long job_id, int *failed,
			   int *splitting, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(job_id), CC_DBI(job_id) };
	struct job_state st;

	if (cc_db_select_one(db, SQL_JOB_STATE, p, 2, &JOB_STATE, &st, err) < 0)
		return -1;
	*failed = st.failed;
	*splitting = st.splitting;
	return 0;
}

struct output_walk {
	int (*fn)(const char *output, void *ctx);
	void *ctx;
};

static int each_output(void *r, void *ctx)
{
	struct output_walk *w = ctx;

	return w->fn(((struct cc_work_unit *)r)->output, w->ctx);
}

int cc_work_unit_each_output(struct cc_db *db, long long job_id,
			     int (*fn)(const char *output, void *ctx), void *ctx,
			     struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(job_id) };
	struct output_walk w = { fn, ctx };

	return cc_db_each(db, SQL_COMPLETE_OUTPUTS, p, 1, &cc_work_unit_row,
			  each_output, &w, err);
}

int cc_work_unit_delete_complete(struct cc_db *db, long long job_id,
				 struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(job_id) };

	return cc_db_exec(db, SQL_DELETE_COMPLETE, p, 1, NULL, NULL, err);
}

/* The unit JSON sent to a node: keys in the original's order;
 * input_is_json and token are our additions, ignored by Ruby nodes. New
 * string or NULL on out of memory. */
static json_t *options_json(const char *text)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	return o ? o : json_object();
}

static char *unit_payload(const struct cc_work_unit *w)
{
	json_t *o = json_object();
	char *text = NULL;

	if (o && !json_object_set_new(o, "id", json_integer(w->id)) &&
	    !json_object_set_new(o, "job_id", json_integer(w->job_id)) &&
	    !json_object_set_new(o, "input", json_stringn(w->input ? w->input : "",
							    w->input_len)) &&
	    !json_object_set_new(o, "attempts", json_integer(w->attempts)) &&
	    !json_object_set_new(o, "action", json_string(w->action)) &&
	    !json_object_set_new(o, "options", options_json(w->options)) &&
	    !json_object_set_new(o, "status", json_integer(w->status)) &&
	    (!w->input_is_json ||
	     !json_object_set_new(o, "input_is_json", json_true())) &&
	    (!w->token[0] ||
	     !json_object_set_new(o, "token", json_string(w->token))))
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

int cc_work_unit_reserve(struct cc_db *db, const char *actions, int limit,
			 int *reservation, struct cc_reserved_unit **units,
			 struct cc_err *err)
{
	return cc_work_unit_reserve_for(db, actions, limit, CC_RESERVATION_DEADLINE,
					reservation, units, err);
}

int cc_work_unit_reserve_for(struct cc_db *db, const char *actions, int limit,
			     int deadline_s, int *reservation,
			     struct cc_reserved_unit **units, struct cc_err *err)
{
	struct cc_work_unit *rows = NULL;
	unsigned long long affected = 0;
	uint8_t rnd[20];                 /* 16 bytes of secret, 4 of number */
	char secret[2 * 16 + 1];
	uint32_t num;
	struct cc_reserved_unit *u;
	size_t nrows = 0;
	int n;

	*units = NULL;
	*reservation = 0;
	/* The tokens' secret must be unguessable: no fallback to rand(). */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cc_err_set(err, CC_ERR_INTERNAL, "getrandom: cannot draw a "
				  "secret for the assignment tokens");
	for (size_t i = 0; i < 16; i++)
		snprintf(secret + 2 * i, 3, "%02x", rnd[i]);
	memcpy(&num, rnd + 16, sizeof(num));
	*reservation = (int)(num % 2147483646u) + 1;
	{
		struct cc_dbv p[] = { CC_DBI(*reservation), CC_DBSN(secret, 32),
				      CC_DBI(deadline_s), CC_DBS(actions),
				      CC_DBI(limit) };
		if (cc_db_exec(db, SQL_RESERVE, p, 5, &affected, NULL, err) < 0)
			return -1;
	}
	if (!affected)
		return 0;
	{
		struct cc_dbv p[] = { CC_DBI(*reservation) };
		if (cc_db_select(db, SQL_RESERVED, p, 1, &cc_work_unit_row, &rows,
				 &nrows, err) < 0)
			return -1;
	}
	u = calloc(nrows ? nrows : 1, sizeof(*u));
	if (!u) {
		cc_db_rows_free(&cc_work_unit_row, rows, nrows);
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	}
	for (n = 0; (size_t)n < nrows; n++) {
		struct cc_work_unit *w = &rows[n];

		u[n].id = w->id;
		u[n].job_id = w->job_id;
		u[n].attempts = w->attempts;
		u[n].status = w->status;
		u[n].input_is_json = w->input_is_json;
		u[n].last_node_id = w->last_node_id;
		memcpy(u[n].token, w->token, sizeof(u[n].token));
		u[n].payload = unit_payload(w);
		u[n].action = w->action;
		w->action = NULL;
		if (!u[n].payload || !u[n].action) {
			cc_work_unit_reserved_free(u, n + 1);
			cc_db_rows_free(&cc_work_unit_row, rows, nrows);
			return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		}
	}
	cc_db_rows_free(&cc_work_unit_row, rows, nrows);
	*units = u;
	return n;
}

void cc_work_unit_reserved_free(struct cc_reserved_unit *units, int n)
{
	if (!units)
		return;
	for (int i = 0; i < n; i++) {
		free(units[i].action);
		free(units[i].payload);
	}
	free(units);
}

int cc_work_unit_claim(struct cc_db *db, long long id, int reservation,
		       long long node_id, int probe_s, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(node_id), CC_DBI(probe_s), CC_DBI(id),
			      CC_DBI(reservation) };
	unsigned long long n = 0;

	if (cc_db_exec(db, SQL_CLAIM, p, 4, &n, NULL, err) < 0)
		return -1;
	return n == 2 ? 1 : 0;
}

int cc_work_unit_sent(struct cc_db *db, long long id, int reservation,
		      long long node_id, long long pid, int lease_s,
		      struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(node_id), CC_DBI(pid), CC_DBI(lease_s),
			      CC_DBI(id), CC_DBI(reservation) };
	unsigned long long n = 0;

	if (cc_db_exec(db, SQL_SENT, p, 5, &n, NULL, err) < 0)
		return -1;
	return n ? 1 : 0;
}

int cc_work_unit_unclaim(struct cc_db *db, long long id, int reservation,
			 long long node_id, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(node_id), CC_DBI(id), CC_DBI(reservation),
			      CC_DBI(node_id) };
	unsigned long long n = 0;

	if (cc_db_exec(db, SQL_UNCLAIM, p, 4, &n, NULL, err) < 0)
		return -1;
	return n ? 1 : 0;
}

int cc_work_unit_cancel_reservations(struct cc_db *db, int reservation,
				     struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(reservation) };
	return cc_db_exec(db, SQL_CANCEL, p, 1, NULL, NULL, err);
}

int cc_work_unit_release_node(struct cc_db *db, long long node_id,
			      unsigned long long *released, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(node_id) };

	if (cc_db_exec(db, SQL_RELEASE_NODE, p, 1, released, NULL, err) < 0)
		return -1;
	if (*released) {
		struct cc_dbv q[] = { CC_DBI(*released), CC_DBI(node_id) };
		if (cc_db_exec(db, SQL_NODE_RELEASED, q, 2, NULL, NULL, err) < 0)
			return -1;
	}
	return 0;
}

int cc_work_unit_release_expired_reservations(struct cc_db *db, int *released,
					       struct cc_err *err)
{
	struct cc_work_unit *r;
	size_t n;
	int rc = 0;

	*released = 0;
	if (cc_db_select(db, SQL_RESERVATIONS_PAST, NULL, 0, &cc_work_unit_row,
			 &r, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned long long k = 0;

		/* each only if it still holds that reservation (and node):
		 * whatever changed it since the SELECT wins */
		if (r[i].node_record_id > 0) {
			int c = cc_work_unit_unclaim(db, r[i].id, (int)r[i].reservation,
						     r[i].node_record_id, err);
			if (c < 0)
				rc = -1;
			k = (unsigned long long)(c > 0);
		} else {
			struct cc_dbv p[] = { CC_DBI(r[i].id), CC_DBI(r[i].reservation) };
			if (cc_db_exec(db, SQL_RELEASE_RESERVATION, p, 2, &k, NULL,
				       err) < 0)
				rc = -1;
		}
		if (k) {
			(*released)++;
			cc_warn("unit %lld: reservation %lld passed its deadline "
				"(its dispatcher died or stalled): released", r[i].id,
				r[i].reservation);
		}
	}
	cc_db_rows_free(&cc_work_unit_row, r, n);
	return rc;
}

int cc_work_unit_list_expired(struct cc_db *db, struct cc_work_unit **units,
			      size_t *n, struct cc_err *err)
{
	return cc_db_select(db, SQL_EXPIRED, NULL, 0, &cc_work_unit_row, units, n,
			    err);
}

int cc_work_unit_json_by_worker(struct cc_db *db, long long pid,
				const char *host, char **out, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(pid), CC_DBS(host) };
	struct cc_work_unit w;
	json_t *o;
	int found;

	*out = NULL;
	found = cc_db_select_one(db, SQL_BY_WORKER, p, 2, &cc_work_unit_row, &w, err);
	if (found <= 0)
		return found;
	o = json_pack("{s:I, s:I, s:s, s:s, s:i, s:s, s:I, s:s, s:s#, s:f}",
		      "id", (json_int_t)w.id,
		      "job_id", (json_int_t)w.job_id,
		      "action", w.action,
		      "stage", cc_action_stage_name(cc_action_stage_for_status(w.status)),
		      "attempts", w.attempts,
		      "status", cc_status_name(w.status),
		      "pid", (json_int_t)w.worker_pid,
		      "host", w.host,
		      "input", w.input ? w.input : "", w.input_len,
		      "running_for", w.running_for);
	*out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	cc_db_row_cleanup(&cc_work_unit_row, &w);
	if (!*out)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return 1;
}
