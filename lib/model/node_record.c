/* node_record.c - see node_record.h. Node data arrives unauthenticated
 * unless http_authentication is on, so every field is validated and only
 * ever bound as a value (PITFALL 3). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "model/action.h"
#include "core/log.h"
#include "model/node_record.h"
#include "model/work_unit.h"

static const char SQL_FIND_FOR_UPDATE[] =
	"SELECT id, instance FROM node_records WHERE host = ? FOR UPDATE";
static const char SQL_INSERT[] =
	"INSERT INTO node_records (host, ip_address, port, enabled_actions, busy,"
	" tag, max_workers, instance, created_at, updated_at)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW(6), NOW(6))";
static const char SQL_UPDATE[] =
	"UPDATE node_records SET ip_address = ?, port = ?, enabled_actions = ?,"
	" busy = ?, tag = ?, max_workers = ?, instance = ?, updated_at = NOW(6)"
	" WHERE id = ?";
static const char SQL_FIND[] =
	"SELECT id FROM node_records WHERE host = ?";
static const char SQL_DELETE[] =
	"DELETE FROM node_records WHERE id = ?";
static const char SQL_BUSY[] =
	"UPDATE node_records SET busy = 1 WHERE id = ?";
static const char SQL_AVAILABLE[] =
	"SELECT n.id, n.host, n.enabled_actions, n.max_workers,"
	" (SELECT COUNT(*) FROM work_units w WHERE w.node_record_id = n.id)"
	" FROM node_records n WHERE n.busy = 0"
	" AND n.updated_at > NOW(6) - INTERVAL ? SECOND ORDER BY n.id";
static const char SQL_SILENT[] =
	"SELECT id, host FROM node_records"
	" WHERE updated_at < NOW(6) - INTERVAL ? SECOND";
static const char SQL_STATUS_NODES[] =
	"SELECT id, host, tag, busy, max_workers FROM node_records"
	" ORDER BY host DESC";
static const char SQL_STATUS_WORKERS[] =
	"SELECT node_record_id, worker_pid FROM work_units"
	" WHERE node_record_id IS NOT NULL ORDER BY node_record_id, id";

int cc_node_host_valid(const char *host, int *port)
{
	const char *colon = host ? strrchr(host, ':') : NULL;
	char *end;
	long p;
	size_t n;

	if (!colon || colon == host || strlen(host) > 255)
		return 0;
	/* digits only: strtol would also take blanks and a sign */
	if (!isdigit((unsigned char)colon[1]))
		return 0;
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535)
		return 0;
	n = (size_t)(colon - host);
	if (host[0] == '[') {              /* [IPv6]:port */
		if (n < 3 || host[n - 1] != ']')
			return 0;
		for (size_t i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)host[i]) && host[i] != ':' &&
			    host[i] != '.')
				return 0;
	} else {
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)host[i]) && host[i] != '.' &&
			    host[i] != '-' && host[i] != '_')
				return 0;
	}
	*port = (int)p;
	return 1;
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
	struct cc_db_rows r = { 0 };
	int port, rc = -1;

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
	if (cc_db_begin(db, err) < 0)
		return -1;
	if (cc_db_query(db, SQL_FIND_FOR_UPDATE, find, 1, &r, err) < 0)
		goto out;
	{
		struct cc_dbv mw = in->max_workers < 0 ? CC_DBNULL : CC_DBI(in->max_workers);
		if (!r.nrows) {
			struct cc_dbv p[] = { CC_DBS(in->host), CC_DBS(in->ip_address),
				CC_DBI(port), CC_DBS(in->enabled_actions), CC_DBI(in->busy),
				CC_DBS(in->tag), mw, CC_DBS(in->instance) };
			if (cc_db_exec(db, SQL_INSERT, p, 8, NULL, NULL, err) < 0)
				goto out;
			cc_info("node %s checked in (new)", in->host);
		} else {
			long long id = cc_db_cell_int(&r, 0, 0);
			const char *old = cc_db_cell(&r, 0, 1);
			struct cc_dbv p[] = { CC_DBS(in->ip_address), CC_DBI(port),
				CC_DBS(in->enabled_actions), CC_DBI(in->busy),
				CC_DBS(in->tag), mw, CC_DBS(in->instance), CC_DBI(id) };

			/* A new process on the same host:port: whatever the old
			 * one ran is gone with it (PITFALL 5). */
			if (in->instance && old && strcmp(old, in->instance) &&
			    cc_work_unit_release_node(db, id, released, err) < 0)
				goto out;
			if (cc_db_exec(db, SQL_UPDATE, p, 8, NULL, NULL, err) < 0)
				goto out;
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
	cc_db_rows_free(&r);
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

static long silence_limit(const struct cc_config *cfg)
{
	return (long)cfg->check_in_interval * cfg->node_expiry_intervals;
}

int cc_node_list_available(struct cc_db *db, const struct cc_config *cfg,
			   struct cc_node **nodes, char **all_actions,
			   struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(silence_limit(cfg)) };
	struct cc_db_rows r;
	struct cc_node *out;
	size_t total = 1;
	int n = 0;

	*nodes = NULL;
	*all_actions = NULL;
	if (cc_db_query(db, SQL_AVAILABLE, p, 1, &r, err) < 0)
		return -1;
	out = calloc(r.nrows ? r.nrows : 1, sizeof(*out));
	if (!out)
		goto oom;
	for (size_t i = 0; i < r.nrows; i++) {
		const char *acts = cc_db_cell(&r, i, 2) ? cc_db_cell(&r, i, 2) : "";
		long long used = cc_db_cell_int(&r, i, 4);
		int cap = cc_db_cell_null(&r, i, 3) || cc_db_cell_int(&r, i, 3) <= 0 ?
			INT_MAX : (int)(cc_db_cell_int(&r, i, 3) - used);

		if (cap <= 0 || !*acts)
			continue;
		out[n].id = cc_db_cell_int(&r, i, 0);
		out[n].host = strdup(cc_db_cell(&r, i, 1));
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
	cc_db_rows_free(&r);
	*nodes = out;
	return n;
oom:
	cc_db_rows_free(&r);
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
	struct cc_dbv p[] = { CC_DBI(silence_limit(cfg)) };
	struct cc_db_rows r;

	*removed = 0;
	if (cc_db_query(db, SQL_SILENT, p, 1, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.nrows; i++) {
		cc_warn("node %s has not checked in for %ld s: treating it as gone",
			cc_db_cell(&r, i, 1), silence_limit(cfg));
		if (cc_node_remove(db, cc_db_cell_int(&r, i, 0), err) < 0) {
			cc_db_rows_free(&r);
			return -1;
		}
		(*removed)++;
	}
	cc_db_rows_free(&r);
	return 0;
}

json_t *cc_node_status_json(struct cc_db *db, struct cc_err *err)
{
	struct cc_db_rows nodes, workers;
	json_t *arr = NULL;

	if (cc_db_query(db, SQL_STATUS_NODES, NULL, 0, &nodes, err) < 0)
		return NULL;
	if (cc_db_query(db, SQL_STATUS_WORKERS, NULL, 0, &workers, err) < 0) {
		cc_db_rows_free(&nodes);
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < nodes.nrows; i++) {
		long long id = cc_db_cell_int(&nodes, i, 0);
		json_t *pids = json_array();
		json_t *o;
		long long used = 0;

		for (size_t k = 0; pids && k < workers.nrows; k++)
			if (cc_db_cell_int(&workers, k, 0) == id) {
				used++;
				json_array_append_new(pids, cc_db_cell_null(&workers, k, 1) ?
					json_null() : json_integer(cc_db_cell_int(&workers, k, 1)));
			}
		int busy = cc_db_cell_int(&nodes, i, 3) ||
			(!cc_db_cell_null(&nodes, i, 4) && cc_db_cell_int(&nodes, i, 4) > 0 &&
			 used >= cc_db_cell_int(&nodes, i, 4));
		o = json_object();
		if (!o || !pids ||
		    json_object_set_new(o, "host", json_string(cc_db_cell(&nodes, i, 1))) ||
		    json_object_set_new(o, "tag", cc_db_cell(&nodes, i, 2) ?
					json_string(cc_db_cell(&nodes, i, 2)) : json_null()) ||
		    json_object_set_new(o, "workers", pids) ||
		    json_object_set_new(o, "status", json_string(busy ? "busy" : "available")) ||
		    /* an addition, after the original's keys */
		    json_object_set_new(o, "max_workers", cc_db_cell_null(&nodes, i, 4) ?
					json_null() : json_integer(cc_db_cell_int(&nodes, i, 4))) ||
		    json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	cc_db_rows_free(&nodes);
	cc_db_rows_free(&workers);
	if (!arr)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return arr;
}
