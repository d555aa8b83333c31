/* node_record.c - see node_record.h. Node data arrives unauthenticated
 * unless http_authentication is on, so every field is validated and only
 * ever bound as a value (PITFALL 3).
 *
 * Capacity. slots_used counts the node's units (work_units.node_record_id
 * = id). Every statement that gives a unit a node or takes it away changes
 * slots_used in the same statement or transaction, with the node's row
 * locked (work_unit.c: claim, sent, unclaim, succeed, retry, fail,
 * replace, release_node), so in every
 * committed state slots_used equals that count, including the units being
 * sent right now: a slot is claimed by giving the unit its node before the
 * POST, so there is no claim in flight outside the database. What can
 * still make them differ is a unit removed by a path that does not know
 * about nodes (a job deleted or cleaned up while its units ran, a hand
 * edit): cc_node_reconcile_slots heals that (see SQL_DRIFT). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "model/action.h"
#include "core/hostport.h"
#include "core/log.h"
#include "model/node_record.h"
#include "model/work_unit.h"

/* A node_records row as read, declared once: every SELECT below binds
 * into it by column name (max_workers < 0 stands for NULL). */
struct node_row {
	long long id;
	char *host;
	char *instance;
	char *enabled_actions;
	char *tag;
	int busy;
	int max_workers;
	long long used;       /* units assigned to it (slots_used, or a COUNT) */
	int bench_s;          /* > 0: benched, or back for its probe */
	int check_in_interval;
};

static const struct cc_dbcol NODE_COLS[] = {
	CC_COL(struct node_row, id, CC_COL_I64),
	CC_COL(struct node_row, host, CC_COL_STR),
	CC_COL(struct node_row, instance, CC_COL_STR),
	CC_COL(struct node_row, enabled_actions, CC_COL_STR),
	CC_COL(struct node_row, tag, CC_COL_STR),
	CC_COL(struct node_row, busy, CC_COL_INT),
	CC_COL(struct node_row, max_workers, CC_COL_INT),
	CC_COL(struct node_row, used, CC_COL_I64),
	CC_COL(struct node_row, bench_s, CC_COL_INT),
	CC_COL(struct node_row, check_in_interval, CC_COL_INT),
};
static const struct cc_dbrow NODE = CC_DBROW(struct node_row, NODE_COLS);

/* A worker, as GET /status lists them (worker_pid 0 for none). */
struct worker_row {
	long long node_record_id;
	long long worker_pid;
};

static const struct cc_dbcol WORKER_COLS[] = {
	CC_COL(struct worker_row, node_record_id, CC_COL_I64),
	CC_COL(struct worker_row, worker_pid, CC_COL_I64),
};
static const struct cc_dbrow WORKER = CC_DBROW(struct worker_row, WORKER_COLS);

static const char SQL_FIND_FOR_UPDATE[] =
	"SELECT id, instance FROM node_records WHERE host = ? FOR UPDATE";
static const char SQL_INSERT[] =
	"INSERT INTO node_records (host, ip_address, port, enabled_actions, busy,"
	" tag, max_workers, instance, check_in_interval, created_at, updated_at)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(6), NOW(6))";
/* A check-in ends a bench. (The units a restarted node's previous process
 * held are released, and their slots given back, under the row lock taken
 * by SQL_FIND_FOR_UPDATE, in the same transaction.) */
static const char SQL_UPDATE[] =
	"UPDATE node_records SET ip_address = ?, port = ?, enabled_actions = ?,"
	" busy = ?, tag = ?, max_workers = ?, instance = ?,"
	" check_in_interval = ?, bench_until = NULL, bench_s = 0,"
	" updated_at = NOW(6) WHERE id = ?";
static const char SQL_FIND[] =
	"SELECT id FROM node_records WHERE host = ?";
static const char SQL_DELETE[] =
	"DELETE FROM node_records WHERE id = ?";
static const char SQL_BUSY[] =
	"UPDATE node_records SET busy = 1 WHERE id = ?";
#define STR_(x) #x
#define STR(x) STR_(x)

/* Silent: no sign of life (check-in, accepted POST /work or result) for
 * node_expiry_intervals (the bound value) of the node's own interval. */
#define SILENT "updated_at < NOW(6) - INTERVAL (check_in_interval * ?) SECOND"
static const char SQL_AVAILABLE[] =
	"SELECT id, host, enabled_actions, COALESCE(max_workers, -1) AS max_workers,"
	" slots_used AS used, bench_s"
	" FROM node_records WHERE busy = 0"
	" AND (bench_until IS NULL OR bench_until <= NOW(6))"
	" AND NOT (" SILENT ") ORDER BY id";
static const char SQL_SILENT[] =
	"SELECT id, host, check_in_interval FROM node_records WHERE " SILENT;
/* Benched for twice the last bench, CC_BENCH_MIN_S to CC_BENCH_MAX_S
 * (both assignments read the old bench_s: the same in either order). */
#define NEXT_BENCH "LEAST(GREATEST(bench_s * 2, " STR(CC_BENCH_MIN_S) ")," \
	" " STR(CC_BENCH_MAX_S) ")"
static const char SQL_BENCH[] =
	"UPDATE node_records SET bench_until = NOW(6) + INTERVAL " NEXT_BENCH
	" SECOND, bench_s = " NEXT_BENCH " WHERE id = ?";
/* Reconciling slots_used (see the top of this file). SQL_DRIFT is a plain
 * read: one snapshot in which each counter and its units are in step
 * unless something that does not keep the counter removed units; it costs
 * one statement per sweep (an index lookup per node) and finds nothing
 * when all is well. A node it finds is fixed in a transaction that first
 * locks the node's row (SQL_LOCK_NODE): every statement that changes
 * which units the node holds changes its row too, so from then until our
 * commit none can, and those that committed before are all in the count,
 * which is a fresh READ COMMITTED read after the lock (SQL_NODE_UNITS; a
 * plain read, so it never waits on a unit row another transaction holds
 * while it waits for the node: no deadlock). Units being sent right now
 * are in the count: their node was given before the POST. A transaction
 * that changes the node after our commit applies its +1 / -1 to the
 * reconciled value. */
static const char SQL_DRIFT[] =
	"SELECT n.id, n.host, n.slots_used AS used FROM node_records n"
	" WHERE n.slots_used <> (SELECT COUNT(*) FROM work_units w"
	" WHERE w.node_record_id = n.id)";
static const char SQL_LOCK_NODE[] =
	"SELECT slots_used FROM node_records WHERE id = ? FOR UPDATE";
static const char SQL_NODE_UNITS[] =
	"SELECT COUNT(*) FROM work_units WHERE node_record_id = ?";
static const char SQL_SET_SLOTS[] =
	"UPDATE node_records SET slots_used = ? WHERE id = ?";
static const char SQL_COUNTS[] =
	"SELECT COUNT(*) AS count, COALESCE(SUM(slots_used), 0) AS busy,"
	" COALESCE(SUM(max_workers), 0) AS max FROM node_records";
static const char SQL_STATUS_NODES[] =
	"SELECT id, host, tag, busy, COALESCE(max_workers, -1) AS max_workers"
	" FROM node_records ORDER BY host DESC";
static const char SQL_STATUS_WORKERS[] =
	"SELECT node_record_id, COALESCE(worker_pid, 0) AS worker_pid FROM work_units"
	" WHERE node_record_id IS NOT NULL ORDER BY node_record_id, id";

int cc_node_host_valid(const char *host, int *port)
{
	/* node_records.host is VARCHAR(255): the whole "name:port" */
	return host && strnlen(host, 256) <= 255 &&
	       cc_hostport_parse(host, NULL, 0, port) == 0;
}

int cc_node_actions_valid(const char *actions)
{
	char name[CC_ACTION_NAME_MAX + 2];
	const char *p = actions;

	if (strlen(actions) > 16384)
		return 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > CC_ACTION_NAME_MAX)
			return 0;
		memcpy(name, p, n);
		name[n] = '\0';
		if (!cc_action_name_valid(name))
			return 0;
		p += n + (e ? 1 : 0);
		if (e && !*p)
			return 0;
	}
	return 1;
}

int cc_node_check_in(struct cc_db *db, const struct cc_node_checkin *in,
		     unsigned long long *released, struct cc_err *err)
{
	struct cc_dbv find[] = { CC_DBS(in->host) };
	struct node_row r = { 0 };
	int port, rc = -1, found;
	int interval = in->check_in_interval > 0 ? in->check_in_interval :
		       CC_NODE_DEFAULT_INTERVAL;

	*released = 0;
	if (!cc_node_host_valid(in->host, &port))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "node must be HOST:PORT with a host name "
				  "or address and a port 1-65535");
	if (!cc_node_actions_valid(in->enabled_actions))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "enabled_actions must be comma-separated "
				  "action names ([a-z0-9_]+)");
	if (in->tag && strlen(in->tag) > 255)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "tag is longer than 255 characters");
	if (in->instance && strlen(in->instance) > 64)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "instance is longer than 64 characters");
	if (in->check_in_interval > CC_NODE_MAX_INTERVAL)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "check_in_interval must be "
				  "1 to %d seconds", CC_NODE_MAX_INTERVAL);
	if (cc_db_begin(db, err) < 0)
		return -1;
	found = cc_db_select_one(db, SQL_FIND_FOR_UPDATE, find, 1, &NODE, &r, err);
	if (found < 0)
		goto out;
	{
		struct cc_dbv mw = in->max_workers < 0 ? CC_DBNULL : CC_DBI(in->max_workers);
		if (!found) {
			struct cc_dbv p[] = { CC_DBS(in->host), CC_DBS(in->ip_address),
				CC_DBI(port), CC_DBS(in->enabled_actions), CC_DBI(in->busy),
				CC_DBS(in->tag), mw, CC_DBS(in->instance), CC_DBI(interval) };
			if (cc_db_exec(db, SQL_INSERT, p, 9, NULL, NULL, err) < 0)
				goto out;
			cc_info("node %s checked in (new)", in->host);
		} else {
			long long id = r.id;
			const char *old = r.instance;

			/* A new process on the same host:port: whatever the old
			 * one ran is gone with it (PITFALL 5). */
			if (in->instance && old && strcmp(old, in->instance) &&
			    cc_work_unit_release_node(db, id, released, err) < 0)
				goto out;
			{
				struct cc_dbv p[] = { CC_DBS(in->ip_address), CC_DBI(port),
					CC_DBS(in->enabled_actions), CC_DBI(in->busy),
					CC_DBS(in->tag), mw, CC_DBS(in->instance),
					CC_DBI(interval), CC_DBI(id) };
				if (cc_db_exec(db, SQL_UPDATE, p, 9, NULL, NULL, err) < 0)
					goto out;
			}
			if (*released)
				cc_warn("node %s restarted: released %llu units of its "
					"previous process", in->host, *released);
		}
	}
	if (cc_db_commit(db, err) < 0)
		goto out;
	rc = 0;
out:
	cc_db_rollback(db);
	cc_db_row_cleanup(&NODE, &r);
	return rc;
}

int cc_node_remove(struct cc_db *db, long long id, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	unsigned long long released = 0, n = 0;

	if (cc_db_begin(db, err) < 0)
		return -1;
	if (cc_work_unit_release_node(db, id, &released, err) < 0 ||
	    cc_db_exec(db, SQL_DELETE, p, 1, &n, NULL, err) < 0 ||
	    cc_db_commit(db, err) < 0) {
		cc_db_rollback(db);
		return -1;
	}
	if (released)
		cc_info("node %lld removed: released %llu units", id, released);
	return n ? 1 : 0;
}

int cc_node_check_out(struct cc_db *db, const char *host, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBS(host) };
	long long id;
	int found;

	if (cc_db_query_int(db, SQL_FIND, p, 1, &id, &found, err) < 0)
		return -1;
	if (!found)
		return 0;
	cc_info("node %s checked out", host);
	return cc_node_remove(db, id, err);
}

int cc_node_mark_busy(struct cc_db *db, long long id, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	return cc_db_exec(db, SQL_BUSY, p, 1, NULL, NULL, err);
}

int cc_node_bench(struct cc_db *db, long long id, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	return cc_db_exec(db, SQL_BENCH, p, 1, NULL, NULL, err);
}

int cc_node_reconcile_slots(struct cc_db *db, int *fixed, struct cc_err *err)
{
	struct node_row *r;
	size_t n;
	int rc = 0;

	*fixed = 0;
	if (cc_db_select(db, SQL_DRIFT, NULL, 0, &NODE, &r, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct cc_dbv id[] = { CC_DBI(r[i].id) };
		long long was = 0, count = 0;
		int found;

		rc = -1;
		if (cc_db_begin(db, err) < 0)
			break;
		if (cc_db_query_int(db, SQL_LOCK_NODE, id, 1, &was, &found, err) < 0 ||
		    (found && cc_db_query_int(db, SQL_NODE_UNITS, id, 1, &count,
					      &found, err) < 0))
			goto next;
		if (found && count != was) {
			struct cc_dbv p[] = { CC_DBI(count), CC_DBI(r[i].id) };
			if (cc_db_exec(db, SQL_SET_SLOTS, p, 2, NULL, NULL, err) < 0)
				goto next;
		}
		if (cc_db_commit(db, err) < 0)
			goto next;
		if (found && count != was) {
			cc_warn("node %s: %lld slots counted in use, but it holds "
				"%lld units: corrected", r[i].host, was, count);
			(*fixed)++;
		}
		rc = 0;
next:
		cc_db_rollback(db);
	}
	cc_db_rows_free(&NODE, r, n);
	return rc;
}

void cc_node_list_free(struct cc_node *nodes, int n)
{
	if (!nodes)
		return;
	for (int i = 0; i < n; i++) {
		free(nodes[i].host);
		free(nodes[i].actions);
	}
	free(nodes);
}

int cc_node_list_available(struct cc_db *db, const struct cc_config *cfg,
			   struct cc_node **nodes, char **all_actions,
			   struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(cfg->node_expiry_intervals) };
	struct node_row *r;
	struct cc_node *out;
	size_t total = 1, nr;
	int n = 0;

	*nodes = NULL;
	*all_actions = NULL;
	if (cc_db_select(db, SQL_AVAILABLE, p, 1, &NODE, &r, &nr, err) < 0)
		return -1;
	out = calloc(nr ? nr : 1, sizeof(*out));
	if (!out)
		goto oom;
	for (size_t i = 0; i < nr; i++) {
		const char *acts = r[i].enabled_actions ? r[i].enabled_actions : "";
		int cap = r[i].max_workers <= 0 ? INT_MAX :
			(int)(r[i].max_workers - r[i].used);

		/* back from the bench: one unit, its probe */
		if (r[i].bench_s > 0 && cap > 1)
			cap = 1;
		if (cap <= 0 || !*acts)
			continue;
		out[n].id = r[i].id;
		out[n].bench_s = r[i].bench_s;
		out[n].host = r[i].host;
		r[i].host = NULL;
		out[n].actions = malloc(strlen(acts) + 3);
		out[n].capacity = cap;
		if (!out[n].host || !out[n].actions) {
			n++;
			goto oom;
		}
		out[n].actions[0] = ',';
		memcpy(out[n].actions + 1, acts, strlen(acts));
		out[n].actions[strlen(acts) + 1] = ',';
		out[n].actions[strlen(acts) + 2] = '\0';
		total += strlen(acts) + 1;
		n++;
	}
	*all_actions = malloc(total);
	if (!*all_actions)
		goto oom;
	{
		size_t o = 0;
		for (int i = 0; i < n; i++) {
			size_t l = strlen(out[i].actions) - 2;
			if (o)
				(*all_actions)[o++] = ',';
			memcpy(*all_actions + o, out[i].actions + 1, l);
			o += l;
		}
		(*all_actions)[o] = '\0';
	}
	cc_db_rows_free(&NODE, r, nr);
	*nodes = out;
	return n;
oom:
	cc_db_rows_free(&NODE, r, nr);
	cc_node_list_free(out, n);
	return cc_err_set(err, CC_ERR_INTERNAL, "out of memory listing nodes");
}

int cc_node_can_run(const struct cc_node *node, const char *action)
{
	char pat[CC_ACTION_NAME_MAX + 3];

	snprintf(pat, sizeof(pat), ",%s,", action);
	return strstr(node->actions, pat) != NULL;
}

int cc_node_expire(struct cc_db *db, const struct cc_config *cfg, int *removed,
		   struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(cfg->node_expiry_intervals) };
	struct node_row *r;
	size_t n;
	int rc = 0;

	*removed = 0;
	if (cc_db_select(db, SQL_SILENT, p, 1, &NODE, &r, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		cc_warn("node %s has given no sign of life for %ld s (%d check-in "
			"intervals of %d s): treating it as gone", r[i].host,
			(long)r[i].check_in_interval * cfg->node_expiry_intervals,
			cfg->node_expiry_intervals, r[i].check_in_interval);
		if (cc_node_remove(db, r[i].id, err) < 0)
			rc = -1;
		else
			(*removed)++;
	}
	cc_db_rows_free(&NODE, r, n);
	return rc;
}

json_t *cc_node_status_json(struct cc_db *db, struct cc_err *err)
{
	struct node_row *nodes;
	struct worker_row *workers;
	size_t nn, nw;
	json_t *arr = NULL;

	if (cc_db_select(db, SQL_STATUS_NODES, NULL, 0, &NODE, &nodes, &nn, err) < 0)
		return NULL;
	if (cc_db_select(db, SQL_STATUS_WORKERS, NULL, 0, &WORKER, &workers, &nw,
			 err) < 0) {
		cc_db_rows_free(&NODE, nodes, nn);
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < nn; i++) {
		const struct node_row *nd = &nodes[i];
		json_t *pids = json_array();
		json_t *o;
		long long used = 0;
		int busy;

		for (size_t k = 0; pids && k < nw; k++)
			if (workers[k].node_record_id == nd->id) {
				used++;
				json_array_append_new(pids, workers[k].worker_pid ?
					json_integer(workers[k].worker_pid) : json_null());
			}
		busy = nd->busy || (nd->max_workers > 0 && used >= nd->max_workers);
		o = json_object();
		if (!o || !pids ||
		    json_object_set_new(o, "host", json_string(nd->host)) ||
		    json_object_set_new(o, "tag", nd->tag ? json_string(nd->tag) :
					json_null()) ||
		    json_object_set_new(o, "workers", pids) ||
		    json_object_set_new(o, "status", json_string(busy ? "busy" : "available")) ||
		    /* an addition, after the original's keys */
		    json_object_set_new(o, "max_workers", nd->max_workers < 0 ?
					json_null() : json_integer(nd->max_workers)) ||
		    json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	cc_db_rows_free(&NODE, nodes, nn);
	cc_db_rows_free(&WORKER, workers, nw);
	if (!arr)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return arr;
}

/* The sums of GET /health, bound by name like every other row. */
static const struct cc_dbcol COUNTS_COLS[] = {
	CC_COL(struct cc_node_counts, count, CC_COL_I64),
	CC_COL(struct cc_node_counts, busy, CC_COL_I64),
	CC_COL(struct cc_node_counts, max, CC_COL_I64),
};
static const struct cc_dbrow COUNTS = CC_DBROW(struct cc_node_counts, COUNTS_COLS);

int cc_node_counts(struct cc_db *db, struct cc_node_counts *out,
		   struct cc_err *err)
{
	return cc_db_select_one(db, SQL_COUNTS, NULL, 0, &COUNTS, out, err) < 0 ?
	       -1 : 0;
}
