/* work_unit.c - the work_units table. The rules that keep a unit from being
 * lost or run twice live here:
 *  - reserve is one UPDATE with a random reservation number (lock-free
 *    between any number of dispatchers);
 *  - assign only touches a unit still reserved by us and incomplete, and
 *    clears the reservation, so a result that arrived first is never
 *    overwritten (no ghost assignments);
 *  - finish runs in one transaction with the job row locked;
 *  - an assignment carries a lease; expired leases count as failed attempts,
 *    and stale reservations (a dispatcher died mid-pass) are released. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "model/job.h"
#include "core/log.h"
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

static const char SQL_UNIT_JOB[] =
	"SELECT job_id FROM work_units WHERE id = ?";
static const char SQL_UNIT_LOCK[] =
	"SELECT status, attempts, worker_pid, node_record_id, position, action"
	" FROM work_units WHERE id = ? FOR UPDATE";
/* The unit and its job's done counter in one statement (both rows are
 * locked already): one round trip fewer on every unit. */
static const char SQL_SUCCEED[] =
	"UPDATE work_units w, jobs j SET w.status = 2, w.output = ?, w.time = ?,"
	" w.attempts = w.attempts + 1, w.node_record_id = NULL,"
	" w.worker_pid = NULL, w.reservation = NULL, w.lease_until = NULL,"
	" w.updated_at = NOW(6), j.units_done = j.units_done + 1"
	" WHERE w.id = ? AND j.id = ?";
static const char SQL_RETRY[] =
	"UPDATE work_units SET attempts = ?, output = ?, time = ?,"
	" last_node_id = node_record_id, node_record_id = NULL,"
	" worker_pid = NULL, reservation = NULL, lease_until = NULL,"
	" available_at = NOW(6) + INTERVAL ? SECOND, updated_at = NOW(6)"
	" WHERE id = ?";
static const char SQL_FAIL[] =
	"UPDATE work_units SET status = 3, output = ?, time = ?, attempts = ?,"
	" node_record_id = NULL, worker_pid = NULL, reservation = NULL,"
	" lease_until = NULL, updated_at = NOW(6) WHERE id = ?";
static const char SQL_DELETE_UNIT[] =
	"DELETE FROM work_units WHERE id = ?";
/* FORCE INDEX: left alone, MariaDB may intersect the reservation and node
 * indexes, which walks every finished unit of a big job on each pass. */
static const char SQL_RESERVE[] =
	"UPDATE work_units FORCE INDEX (index_work_units_available)"
	" SET reservation = ?, updated_at = NOW(6)"
	" WHERE status IN (1, 4, 5) AND reservation IS NULL"
	" AND node_record_id IS NULL"
	" AND (available_at IS NULL OR available_at <= NOW(6))"
	" AND FIND_IN_SET(action, ?) > 0"
	" AND action NOT IN (SELECT action FROM black_listed_actions)"
	" LIMIT ?";
static const char SQL_RESERVED[] =
	"SELECT w.id, w.job_id, w.input, w.attempts, w.action, w.status,"
	" j.options, w.input_is_json, w.last_node_id"
	" FROM work_units w JOIN jobs j ON j.id = w.job_id"
	" WHERE w.reservation = ? ORDER BY w.id";
static const char SQL_ASSIGN[] =
	"UPDATE work_units SET node_record_id = ?, worker_pid = ?,"
	" reservation = NULL, lease_until = NOW(6) + INTERVAL ? SECOND,"
	" updated_at = NOW(6)"
	" WHERE id = ? AND reservation = ? AND status IN (1, 4, 5)";
static const char SQL_CANCEL[] =
	"UPDATE work_units SET reservation = NULL WHERE reservation = ?";
static const char SQL_RELEASE_NODE[] =
	"UPDATE work_units SET node_record_id = NULL, worker_pid = NULL,"
	" lease_until = NULL, updated_at = NOW(6)"
	" WHERE node_record_id = ? AND status IN (1, 4, 5)";
static const char SQL_EXPIRED[] =
	"SELECT w.id, COALESCE(w.worker_pid, 0), COALESCE(n.host, '?'),"
	" TIMESTAMPDIFF(MICROSECOND, w.updated_at, NOW(6)) / 1000000.0"
	" FROM work_units w LEFT JOIN node_records n ON n.id = w.node_record_id"
	" WHERE w.lease_until < NOW(6) AND w.status IN (1, 4, 5) LIMIT 100";
static const char SQL_STALE_RESERVATIONS[] =
	"UPDATE work_units SET reservation = NULL"
	" WHERE reservation IS NOT NULL AND node_record_id IS NULL"
	" AND updated_at < NOW(6) - INTERVAL 5 MINUTE";
static const char SQL_BY_WORKER[] =
	"SELECT w.id, w.job_id, w.action, w.status, w.attempts, w.input,"
	" TIMESTAMPDIFF(MICROSECOND, w.updated_at, NOW(6)) / 1000000.0,"
	" n.host, w.worker_pid"
	" FROM work_units w JOIN node_records n ON n.id = w.node_record_id"
	" WHERE w.worker_pid = ? AND n.host = ? LIMIT 1";
static const char SQL_ADD_UNITS[] =
	"UPDATE jobs SET units_total = units_total + ? WHERE id = ?";
static const char SQL_UNIT_DONE[] =
	"UPDATE jobs SET units_done = units_done + 1 WHERE id = ?";
static const char SQL_UNIT_REMOVED[] =
	"UPDATE jobs SET units_total = units_total - 1 WHERE id = ?";

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

/* A split's output must be {"output": [...]}; its elements become the
 * job's processing units, placed after the split unit in input order. */
static int expand_split(struct cc_db *db, long long job_id, const char *action,
			long long position, json_t *arr, struct cc_err *err)
{
	size_t n = json_array_size(arr);
	struct cc_unit_input *in = calloc(n ? n : 1, sizeof(*in));
	char **owned = calloc(n ? n : 1, sizeof(*owned));
	int rc = -1;

	if (!in || !owned) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (cc_unit_input_from_json(json_array_get(arr, i),
					    position * 1000000 + (long long)i,
					    &in[i], &owned[i]) < 0) {
			cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
			goto out;
		}
	rc = n ? cc_work_unit_create_many(db, job_id, action,
					  CC_STATUS_PROCESSING, in, n, err) : 0;
out:
	if (owned)
		for (size_t i = 0; i < n; i++)
			free(owned[i]);
	free(owned);
	free(in);
	return rc;
}

static int record_failure(struct cc_db *db, const struct cc_config *cfg,
			  long long job_id, long long id, int attempts,
			  const char *output, double time, struct cc_err *err)
{
	int tries = attempts + 1;

	if (tries < cfg->work_unit_retries) {
		long long backoff = (long long)cfg->retry_backoff << (tries - 1 < 20 ? tries - 1 : 20);
		struct cc_dbv p[] = { CC_DBI(tries), CC_DBS(output), CC_DBD(time),
				      CC_DBI(backoff), CC_DBI(id) };
		cc_info("unit %lld: attempt %d failed, retrying in %lld s", id,
			tries, backoff);
		return cc_db_exec(db, SQL_RETRY, p, 5, NULL, NULL, err) < 0 ? -1 : 0;
	} else {
		struct cc_dbv p[] = { CC_DBS(output), CC_DBD(time), CC_DBI(tries),
				      CC_DBI(id) };
		struct cc_dbv j[] = { CC_DBI(job_id) };
		cc_info("unit %lld: failed after %d attempts", id, tries);
		return cc_db_exec(db, SQL_FAIL, p, 4, NULL, NULL, err) < 0 ||
		       cc_db_exec(db, SQL_UNIT_DONE, j, 1, NULL, NULL, err) < 0 ? -1 : 1;
	}
}

static int finish_once(struct cc_db *db, const struct cc_config *cfg,
		       long long id, long long pid, int succeeded,
		       const char *output, double time, struct cc_finish *f,
		       struct cc_err *err);

int cc_work_unit_finish(struct cc_db *db, const struct cc_config *cfg,
			long long id, long long pid, int succeeded,
			const char *output, double time, struct cc_finish *f,
			struct cc_err *err)
{
	int rc;

	for (int tries = 1;; tries++) {
		rc = finish_once(db, cfg, id, pid, succeeded, output, time, f, err);
		if (rc == 0 || tries == 5 || !cc_db_retryable(err))
			return rc;
		cc_debug("unit %lld: %s; running the transaction again", id, err->msg);
	}
}

static int finish_once(struct cc_db *db, const struct cc_config *cfg,
		       long long id, long long pid, int succeeded,
		       const char *output, double time, struct cc_finish *f,
		       struct cc_err *err)
{
	struct cc_dbv pid_p[] = { CC_DBI(id) };
	struct cc_dbv job_p[1];
	struct cc_db_rows r = { 0 };
	json_t *parsed = NULL, *value;
	long long job_id, worker_pid, position, total = 0, done = 0;
	int found, status, attempts, rc = -1, job_status, k;
	char *action = NULL, *job_action = NULL;

	memset(f, 0, sizeof(*f));
	parsed = json_loads(output, JSON_DECODE_ANY, NULL);
	if (!json_is_object(parsed) || !json_object_get(parsed, "output")) {
		json_decref(parsed);
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "output must be JSON text of the form "
				  "{\"output\": VALUE}");
	}
	value = json_object_get(parsed, "output");
	if (cc_db_begin(db, err) < 0)
		goto out;
	if (cc_db_query_int(db, SQL_UNIT_JOB, pid_p, 1, &job_id, &found, err) < 0)
		goto out;
	if (!found) {
		f->outcome = CC_FINISH_NOT_FOUND;
		rc = 0;
		goto out;
	}
	/* Lock order everywhere: job row, then unit rows. */
	found = cc_job_lock(db, job_id, &job_status, &job_action, &total, &done, err);
	if (found < 0)
		goto out;
	if (cc_db_query(db, SQL_UNIT_LOCK, pid_p, 1, &r, err) < 0)
		goto out;
	if (!found || !r.nrows) {
		f->outcome = CC_FINISH_NOT_FOUND;
		rc = 0;
		goto out;
	}
	f->job_id = job_id;
	job_p[0] = CC_DBI(job_id);
	status = (int)cc_db_cell_int(&r, 0, 0);
	attempts = (int)cc_db_cell_int(&r, 0, 1);
	worker_pid = cc_db_cell_null(&r, 0, 2) ? 0 : cc_db_cell_int(&r, 0, 2);
	position = cc_db_cell_int(&r, 0, 4);
	action = cc_db_cell(&r, 0, 5) ? strdup(cc_db_cell(&r, 0, 5)) : NULL;
	if (!action) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (cc_status_complete(status) ||
	    (pid > 0 && worker_pid > 0 && worker_pid != pid)) {
		cc_info("unit %lld: ignoring a late report from pid %lld (%s)", id,
			pid, cc_status_complete(status) ? "already complete" :
			"unit reassigned");
		f->outcome = CC_FINISH_IGNORED;
		rc = 0;
		goto out;
	}
	/* Keep total and done in step with what this changes, so the
	 * completion check needs no second look at the job row. */
	if (succeeded && status == CC_STATUS_SPLITTING && !json_is_array(value)) {
		k = record_failure(db, cfg, job_id, id, attempts,
				   "{\"output\":\"split must return a JSON array\"}",
				   time, err);
		if (k < 0)
			goto out;
		done += k;
	} else if (succeeded && status == CC_STATUS_SPLITTING) {
		if (expand_split(db, job_id, action, position, value, err) < 0 ||
		    cc_db_exec(db, SQL_DELETE_UNIT, pid_p, 1, NULL, NULL, err) < 0 ||
		    cc_db_exec(db, SQL_UNIT_REMOVED, job_p, 1, NULL, NULL, err) < 0)
			goto out;
		total += (long long)json_array_size(value) - 1;
	} else if (succeeded) {
		struct cc_dbv p[] = { CC_DBS(output), CC_DBD(time), CC_DBI(id),
				      CC_DBI(job_id) };
		if (cc_db_exec(db, SQL_SUCCEED, p, 4, NULL, NULL, err) < 0)
			goto out;
		done++;
	} else {
		k = record_failure(db, cfg, job_id, id, attempts, output, time, err);
		if (k < 0)
			goto out;
		done += k;
	}
	if (cc_job_check_completion(db, cfg, job_id, job_status, job_action, total,
				    done, &f->callback_due, err) < 0)
		goto out;
	if (cc_db_commit(db, err) < 0)
		goto out;
	f->outcome = CC_FINISH_DONE;
	rc = 0;
out:
	cc_db_rollback(db);
	cc_db_rows_free(&r);
	json_decref(parsed);
	free(action);
	free(job_action);
	return rc;
}

int cc_work_unit_reserve(struct cc_db *db, const char *actions, int limit,
			 int *reservation, struct cc_reserved_unit **units,
			 struct cc_err *err)
{
	struct cc_db_rows r;
	unsigned long long affected = 0;
	unsigned int rnd = 0;
	struct cc_reserved_unit *u;
	int n;

	*units = NULL;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (unsigned)rand();
	*reservation = (int)(rnd % 2147483646u) + 1;
	{
		struct cc_dbv p[] = { CC_DBI(*reservation), CC_DBS(actions),
				      CC_DBI(limit) };
		if (cc_db_exec(db, SQL_RESERVE, p, 3, &affected, NULL, err) < 0)
			return -1;
	}
	if (!affected)
		return 0;
	{
		struct cc_dbv p[] = { CC_DBI(*reservation) };
		if (cc_db_query(db, SQL_RESERVED, p, 1, &r, err) < 0)
			return -1;
	}
	u = calloc(r.nrows ? r.nrows : 1, sizeof(*u));
	if (!u) {
		cc_db_rows_free(&r);
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	}
	for (n = 0; (size_t)n < r.nrows; n++) {
		json_t *o = json_object();
		json_t *opts = json_loads(cc_db_cell(&r, n, 6) ? cc_db_cell(&r, n, 6) : "{}",
					  0, NULL);
		u[n].id = cc_db_cell_int(&r, n, 0);
		u[n].job_id = cc_db_cell_int(&r, n, 1);
		u[n].attempts = (int)cc_db_cell_int(&r, n, 3);
		u[n].status = (int)cc_db_cell_int(&r, n, 5);
		u[n].input_is_json = (int)cc_db_cell_int(&r, n, 7);
		u[n].last_node_id = cc_db_cell_int(&r, n, 8);
		u[n].action = strdup(cc_db_cell(&r, n, 4));
		/* Keys in the original's order; input_is_json is our addition,
		 * ignored by Ruby nodes. */
		if (o && !json_object_set_new(o, "id", json_integer(u[n].id)) &&
		    !json_object_set_new(o, "job_id", json_integer(u[n].job_id)) &&
		    !json_object_set_new(o, "input",
			json_stringn(cc_db_cell(&r, n, 2), cc_db_cell_len(&r, n, 2))) &&
		    !json_object_set_new(o, "attempts", json_integer(u[n].attempts)) &&
		    !json_object_set_new(o, "action", json_string(u[n].action)) &&
		    !json_object_set_new(o, "options", opts ? opts : json_object()) &&
		    !json_object_set_new(o, "status", json_integer(u[n].status)) &&
		    (!u[n].input_is_json ||
		     !json_object_set_new(o, "input_is_json", json_true())))
			u[n].payload = json_dumps(o, JSON_COMPACT);
		opts = NULL;
		json_decref(o);
		if (!u[n].payload || !u[n].action) {
			cc_work_unit_reserved_free(u, n + 1);
			cc_db_rows_free(&r);
			return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		}
	}
	cc_db_rows_free(&r);
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

int cc_work_unit_assign(struct cc_db *db, long long id, int reservation,
			long long node_id, long long pid, int lease_s,
			struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(node_id), CC_DBI(pid), CC_DBI(lease_s),
			      CC_DBI(id), CC_DBI(reservation) };
	unsigned long long n = 0;

	if (cc_db_exec(db, SQL_ASSIGN, p, 5, &n, NULL, err) < 0)
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
	return cc_db_exec(db, SQL_RELEASE_NODE, p, 1, released, NULL, err);
}

int cc_work_unit_expire_leases(struct cc_db *db, const struct cc_config *cfg,
			       int *expired, struct cc_err *err)
{
	struct cc_db_rows r;

	*expired = 0;
	if (cc_db_exec(db, SQL_STALE_RESERVATIONS, NULL, 0, NULL, NULL, err) < 0)
		return -1;
	if (cc_db_query(db, SQL_EXPIRED, NULL, 0, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.nrows; i++) {
		struct cc_finish f;
		char msg[512];
		json_t *o = json_pack("{s:s+}", "output", "no result within its lease: "
				      "the node ", cc_db_cell(&r, i, 2));
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

		json_decref(o);
		snprintf(msg, sizeof(msg), "%s", text ? text : "{\"output\":\"lease expired\"}");
		free(text);
		cc_warn("unit %lld: lease expired on %s, counting a failed attempt",
			cc_db_cell_int(&r, i, 0), cc_db_cell(&r, i, 2));
		if (cc_work_unit_finish(db, cfg, cc_db_cell_int(&r, i, 0),
					cc_db_cell_int(&r, i, 1), 0, msg,
					cc_db_cell_dbl(&r, i, 3), &f, err) < 0) {
			cc_db_rows_free(&r);
			return -1;
		}
		(*expired)++;
	}
	cc_db_rows_free(&r);
	return 0;
}

int cc_work_unit_json_by_worker(struct cc_db *db, long long pid,
				const char *host, char **out, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(pid), CC_DBS(host) };
	struct cc_db_rows r;
	json_t *o;
	int status;

	*out = NULL;
	if (cc_db_query(db, SQL_BY_WORKER, p, 2, &r, err) < 0)
		return -1;
	if (!r.nrows) {
		cc_db_rows_free(&r);
		return 0;
	}
	status = (int)cc_db_cell_int(&r, 0, 3);
	o = json_pack("{s:I, s:I, s:s, s:s, s:i, s:s, s:I, s:s, s:s#, s:f}",
		      "id", (json_int_t)cc_db_cell_int(&r, 0, 0),
		      "job_id", (json_int_t)cc_db_cell_int(&r, 0, 1),
		      "action", cc_db_cell(&r, 0, 2),
		      "stage", status == 4 ? "split" : status == 5 ? "merge" : "process",
		      "attempts", (int)cc_db_cell_int(&r, 0, 4),
		      "status", cc_status_name(status),
		      "pid", (json_int_t)cc_db_cell_int(&r, 0, 8),
		      "host", cc_db_cell(&r, 0, 7),
		      "input", cc_db_cell(&r, 0, 5), cc_db_cell_len(&r, 0, 5),
		      "running_for", cc_db_cell_dbl(&r, 0, 6));
	*out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	cc_db_rows_free(&r);
	if (!*out)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return 1;
}

