/* test_dispatch.c - a dispatch pass (central/dispatch.h) against fake
 * nodes: small HTTP servers (libmicrohttpd, as nodeagent/httpd.c) in this
 * process, on free loopback ports, that record each POST /work body and
 * answer as a node does: 200 {"pid": N}, 503 "Node Full" or
 * "Node Overloaded". Nodes are registered with cc_node_check_in; the
 * database is the fixture's MariaDB. Covered: capacity (slots claimed
 * before a send, given back by results, lease expiry, refusals; four
 * racing dispatchers against a node that never refuses), benching and
 * probing, reservation deadlines, slot reconciliation, node expiry by the
 * node's own interval. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "central/dispatch.h"
#include "central/lifecycle.h"
#include "core/form.h"
#include "core/http.h"
#include "dbfixture.h"
#include "model/node_record.h"
#include "model/status.h"
#include "model/work_unit.h"

#define MAX_POSTS 64

struct fake_node {
	struct MHD_Daemon *d;
	int port;
	char host[64];               /* "127.0.0.1:PORT" */
	pthread_mutex_t lock;
	int answer;                  /* 200 or 503 */
	const char *text503;         /* "Node Full" / "Node Overloaded" */
	long long next_pid;
	int nposts;
	char *units[MAX_POSTS];      /* the work_unit JSON of each POST */
	long long unit_ids[MAX_POSTS];
	long long pids[MAX_POSTS];   /* 0 when refused */
};

struct upload {
	char *body;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Record one POST /work and answer it. */
static enum MHD_Result answer(struct fake_node *n, struct MHD_Connection *c,
			      struct upload *up)
{
	struct cc_form form = { 0 };
	const char *unit;
	json_t *o;
	char ok[64];
	int i;

	if (cc_form_parse(&form, up->body ? up->body : "", up->len) < 0 ||
	    !(unit = cc_form_get(&form, "work_unit"))) {
		cc_form_cleanup(&form);
		return reply(c, 400, "{\"error\":\"no work_unit\"}");
	}
	pthread_mutex_lock(&n->lock);
	i = n->nposts < MAX_POSTS ? n->nposts++ : MAX_POSTS - 1;
	free(n->units[i]);
	n->units[i] = strdup(unit);
	o = json_loads(unit, 0, NULL);
	n->unit_ids[i] = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	n->pids[i] = n->answer == 200 ? n->next_pid++ : 0;
	snprintf(ok, sizeof(ok), "{\"pid\":%lld}", n->pids[i]);
	pthread_mutex_unlock(&n->lock);
	cc_form_cleanup(&form);
	if (n->answer == 200)
		return reply(c, 200, ok);
	return reply(c, 503, n->text503);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct upload *up = *con_cls;

	(void)version;
	if (!up) {
		up = calloc(1, sizeof(*up));
		*con_cls = up;
		return up ? MHD_YES : MHD_NO;
	}
	if (*size) {
		char *nb = realloc(up->body, up->len + *size + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + up->len, data, *size);
		up->body = nb;
		up->len += *size;
		up->body[up->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") || strcmp(url, "/work"))
		return reply(c, 404, "{\"error\":\"no route\"}");
	return answer(cls, c, up);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (up) {
		free(up->body);
		free(up);
		*con_cls = NULL;
	}
}

/* node_start - a fake node on a free 127.0.0.1 port answering `status`. */
static struct fake_node *node_start(int status, const char *text503)
{
	struct fake_node *n = calloc(1, sizeof(*n));
	struct sockaddr_in sa = { 0 };
	const union MHD_DaemonInfo *info;

	assert_non_null(n);
	pthread_mutex_init(&n->lock, NULL);
	n->answer = status;
	n->text503 = text503;
	n->next_pid = 1000;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;                 /* the kernel picks a free port */
	n->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
				on_request, n,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, n,
				MHD_OPTION_END);
	assert_non_null(n->d);
	info = MHD_get_daemon_info(n->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	n->port = info->port;
	assert_true(n->port > 0);
	snprintf(n->host, sizeof(n->host), "127.0.0.1:%d", n->port);
	return n;
}

static void node_stop(struct fake_node *n)
{
	if (!n)
		return;
	MHD_stop_daemon(n->d);
	for (int i = 0; i < MAX_POSTS; i++)
		free(n->units[i]);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/* A loopback port nothing listens on: bound, then closed. */
static int dead_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* check_in - register host with max_workers (< 0: no limit) and actions;
 * returns the node record id. */
static long long check_in(const char *host, int max_workers, const char *actions)
{
	struct cc_node_checkin in = {
		.host = host, .ip_address = "127.0.0.1", .busy = 0, .tag = NULL,
		.max_workers = max_workers, .enabled_actions = actions,
		.instance = "test-instance",
	};
	struct cc_err err = { 0 };
	unsigned long long released = 0;
	static const char sql[] = "SELECT id FROM node_records WHERE port = ?";
	const char *colon = strrchr(host, ':');

	if (cc_node_check_in(dbfx()->db, &in, &released, &err) < 0)
		fail_msg("check-in of %s: %s", host, err.msg);
	return dbfx_int(sql, atoll(colon + 1));
}

/* pass - one dispatch pass with a dispatcher of its own. */
static void pass(struct cc_dispatch_stats *st)
{
	struct cc_dispatcher *d = cc_dispatcher_new(&dbfx()->cfg);
	struct cc_err err = { 0 };
	int rc;

	assert_non_null(d);
	rc = cc_dispatch_pass(d, dbfx()->db, st, &err);
	cc_dispatcher_free(d);
	if (rc < 0)
		fail_msg("cc_dispatch_pass: %s", err.msg);
}

/* n units of a new job of action. */
static long long job_with_units(const char *action, int n, long long *ids)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, action, NULL);
	char input[16];

	for (int i = 0; i < n; i++) {
		snprintf(input, sizeof(input), "in%d", i);
		ids[i] = dbfx_unit_new(job, CC_STATUS_PROCESSING, i, input);
	}
	return job;
}

#define ASSIGNED_TO(node) dbfx_int("SELECT COUNT(*) FROM work_units" \
	" WHERE node_record_id = ?", node)
#define AVAILABLE() dbfx_int("SELECT COUNT(*) FROM work_units WHERE" \
	" node_record_id IS NULL AND worker_pid IS NULL AND reservation IS NULL")

static void test_dispatch_gives_node_at_most_max_workers_units(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[5], node;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, 2, "plain,other");
	job_with_units("plain", 5, ids);
	pass(&st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(n->nposts, 2);
	assert_int_equal(ASSIGNED_TO(node), 2);
	assert_int_equal(AVAILABLE(), 3);
	/* a second pass finds the node full and sends nothing */
	pass(&st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(n->nposts, 2);
	assert_int_equal(ASSIGNED_TO(node), 2);
	node_stop(n);
}

static void test_dispatch_records_node_and_pid_of_each_unit(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[3], node, job;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, -1, "plain");
	job = job_with_units("plain", 3, ids);
	pass(&st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(n->nposts, 3);
	for (int i = 0; i < n->nposts; i++) {
		long long id = n->unit_ids[i];
		json_t *u = json_loads(n->units[i], 0, NULL);

		/* the unit JSON a node receives */
		assert_non_null(u);
		assert_true(json_integer_value(json_object_get(u, "job_id")) == job);
		assert_string_equal(json_string_value(json_object_get(u, "action")), "plain");
		assert_int_equal(json_integer_value(json_object_get(u, "status")),
				 CC_STATUS_PROCESSING);
		assert_int_equal(json_integer_value(json_object_get(u, "attempts")), 0);
		assert_true(json_is_object(json_object_get(u, "options")));
		assert_true(json_is_string(json_object_get(u, "input")));
		json_decref(u);
		/* and what central recorded for it */
		assert_int_equal(dbfx_int("SELECT node_record_id FROM work_units"
					  " WHERE id = ?", id), node);
		assert_int_equal(dbfx_int("SELECT worker_pid FROM work_units"
					  " WHERE id = ?", id), n->pids[i]);
		assert_true(dbfx_int("SELECT reservation FROM work_units WHERE id = ?",
				     id) == DBFX_NULL);
		assert_true(dbfx_int("SELECT lease_until > NOW(6) FROM work_units"
				     " WHERE id = ?", id) == 1);
	}
	/* every unit went once */
	assert_true(n->unit_ids[0] != n->unit_ids[1] && n->unit_ids[1] != n->unit_ids[2] &&
		    n->unit_ids[0] != n->unit_ids[2]);
	node_stop(n);
}

/* the token in a POST /work body (NULL when there is none) */
static char *payload_token(const char *unit)
{
	json_t *u = json_loads(unit, 0, NULL);
	const char *t = json_string_value(json_object_get(u, "token"));
	char *copy = t ? strdup(t) : NULL;

	json_decref(u);
	return copy;
}

static void test_dispatch_sends_each_unit_its_assignment_token(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[3];
	struct cc_dispatch_stats st;
	struct cc_unit_report rep = { .succeeded = 0, .pid = 0,
				      .output = "{\"output\":\"boom\"}" };
	struct cc_finish f;
	struct cc_err err = { 0 };
	char *tok[3], *again;

	(void)state;
	check_in(n->host, -1, "plain");
	job_with_units("plain", 3, ids);
	dbfx()->cfg.work_unit_retries = 3;
	dbfx()->cfg.retry_backoff = 0;
	pass(&st);
	assert_int_equal(n->nposts, 3);
	for (int i = 0; i < 3; i++) {
		char *db = dbfx_str("SELECT token FROM work_units WHERE id = ?",
				    n->unit_ids[i]);

		tok[i] = payload_token(n->units[i]);
		assert_non_null(tok[i]);
		assert_int_equal(strlen(tok[i]), CC_TOKEN_LEN);
		assert_int_equal(strspn(tok[i], "0123456789abcdef"), CC_TOKEN_LEN);
		/* what central will check is what the node was sent */
		assert_non_null(db);
		assert_string_equal(tok[i], db);
		free(db);
	}
	/* one token per unit */
	assert_true(strcmp(tok[0], tok[1]) && strcmp(tok[1], tok[2]) &&
		    strcmp(tok[0], tok[2]));
	/* the worker returns it with its result; the retry gets a new one */
	rep.unit_id = n->unit_ids[0];
	rep.token = tok[0];
	if (cc_lifecycle_finish(dbfx()->db, &dbfx()->cfg, &rep, &f, &err) < 0)
		fail_msg("finish: %s", err.msg);
	assert_int_equal(f.outcome, CC_FINISH_DONE);
	pass(&st);
	assert_int_equal(n->nposts, 4);
	assert_true(n->unit_ids[3] == n->unit_ids[0]);
	again = payload_token(n->units[3]);
	assert_non_null(again);
	assert_true(strcmp(again, tok[0]) != 0);
	free(again);
	for (int i = 0; i < 3; i++)
		free(tok[i]);
	node_stop(n);
}

static void test_dispatch_spreads_units_over_nodes(void **state)
{
	struct fake_node *a = node_start(200, NULL), *b = node_start(200, NULL);
	long long ids[2], na, nb;
	struct cc_dispatch_stats st;

	(void)state;
	na = check_in(a->host, 1, "plain");
	nb = check_in(b->host, 1, "plain");
	job_with_units("plain", 2, ids);
	pass(&st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(a->nposts, 1);
	assert_int_equal(b->nposts, 1);
	assert_int_equal(ASSIGNED_TO(na), 1);
	assert_int_equal(ASSIGNED_TO(nb), 1);
	node_stop(a);
	node_stop(b);
}

static void test_dispatch_sends_only_actions_the_node_offers(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[2], other[2], node;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, -1, "plain");
	job_with_units("other", 2, other);
	job_with_units("plain", 2, ids);
	pass(&st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(ASSIGNED_TO(node), 2);
	for (int i = 0; i < 2; i++)
		assert_true(dbfx_int("SELECT node_record_id FROM work_units WHERE id = ?",
				     other[i]) == DBFX_NULL);
	node_stop(n);
}

static void test_dispatch_overloaded_node_leaves_units_available(void **state)
{
	struct fake_node *n = node_start(503, "Node Overloaded");
	long long ids[3], node;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, -1, "plain");
	job_with_units("plain", 3, ids);
	pass(&st);
	assert_int_equal(st.sent, 0);
	assert_true(st.refused >= 1);
	assert_true(n->nposts >= 1);
	assert_int_equal(ASSIGNED_TO(node), 0);
	assert_int_equal(AVAILABLE(), 3);
	/* no work for it until it checks in again */
	assert_int_equal(dbfx_int("SELECT busy FROM node_records WHERE id = ?", node), 1);
	pass(&st);
	assert_int_equal(st.refused, 0);
	node_stop(n);
}

static void test_dispatch_full_node_is_not_marked_busy(void **state)
{
	struct fake_node *n = node_start(503, "Node Full");
	long long ids[2], node;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, -1, "plain");
	job_with_units("plain", 2, ids);
	pass(&st);
	assert_int_equal(st.sent, 0);
	assert_true(st.refused >= 1);
	assert_int_equal(AVAILABLE(), 2);
	assert_int_equal(dbfx_int("SELECT busy FROM node_records WHERE id = ?", node), 0);
	/* it answers again next time */
	n->answer = 200;
	pass(&st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(ASSIGNED_TO(node), 2);
	node_stop(n);
}

#define SLOTS(node) dbfx_int("SELECT slots_used FROM node_records WHERE id = ?", node)

static void test_dispatch_benches_unreachable_node_and_keeps_its_units(void **state)
{
	char host[64];
	long long ids[3], node;
	struct cc_dispatch_stats st;

	(void)state;
	snprintf(host, sizeof(host), "127.0.0.1:%d", dead_port());
	node = check_in(host, -1, "plain");
	job_with_units("plain", 3, ids);
	/* one unit was running there already (it holds a slot) */
	dbfx_exec("UPDATE work_units SET node_record_id = ?, worker_pid = 77,"
		  " lease_until = NOW(6) + INTERVAL 1 HOUR WHERE id = ?", node, ids[0]);
	dbfx_exec("UPDATE node_records SET slots_used = 1 WHERE id = ?", node);
	pass(&st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.unreachable, 1);
	/* benched, not removed: 5 s first */
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM node_records WHERE id = ?", node), 1);
	assert_int_equal(dbfx_int("SELECT bench_s FROM node_records WHERE id = ?", node), 5);
	assert_int_equal(dbfx_int("SELECT bench_until > NOW(6) + INTERVAL 4 SECOND"
				  " FROM node_records WHERE id = ?", node), 1);
	/* the running unit keeps its node and lease; the one sent is free
	 * again, and the slot it claimed is back */
	assert_int_equal(dbfx_int("SELECT node_record_id FROM work_units WHERE id = ?",
				  ids[0]), node);
	assert_int_equal(dbfx_int("SELECT attempts FROM work_units WHERE id = ?", ids[0]), 0);
	assert_int_equal(AVAILABLE(), 2);
	assert_int_equal(SLOTS(node), 1);
	/* benched: the next pass does not try it */
	pass(&st);
	assert_int_equal(st.unreachable, 0);
	assert_int_equal(AVAILABLE(), 2);
	/* the next bench is twice as long, up to 300 s */
	dbfx_exec("UPDATE node_records SET bench_until = NOW(6) - INTERVAL 1 SECOND"
		  " WHERE id = ?", node);
	pass(&st);
	assert_int_equal(st.unreachable, 1);
	assert_int_equal(dbfx_int("SELECT bench_s FROM node_records WHERE id = ?", node), 10);
	dbfx_exec("UPDATE node_records SET bench_s = 200, bench_until = NULL WHERE id = ?",
		  node);
	pass(&st);
	assert_int_equal(dbfx_int("SELECT bench_s FROM node_records WHERE id = ?", node), 300);
	assert_int_equal(AVAILABLE(), 2);
	assert_int_equal(SLOTS(node), 1);
}

static void test_dispatch_probes_a_node_back_from_the_bench_with_one_unit(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[5], node;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, 5, "plain");
	job_with_units("plain", 5, ids);
	dbfx_exec("UPDATE node_records SET bench_s = 10,"
		  " bench_until = NOW(6) + INTERVAL 1 HOUR WHERE id = ?", node);
	pass(&st);
	assert_int_equal(n->nposts, 0);
	/* the bench ends: one unit, the probe */
	dbfx_exec("UPDATE node_records SET bench_until = NOW(6) - INTERVAL 1 SECOND"
		  " WHERE id = ?", node);
	pass(&st);
	assert_int_equal(st.sent, 1);
	assert_int_equal(n->nposts, 1);
	/* it answered: the bench is over, and the rest go */
	assert_int_equal(dbfx_int("SELECT bench_s FROM node_records WHERE id = ?", node), 0);
	assert_true(dbfx_int("SELECT bench_until FROM node_records WHERE id = ?", node) ==
		    DBFX_NULL);
	pass(&st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(ASSIGNED_TO(node), 5);
	assert_int_equal(SLOTS(node), 5);
	node_stop(n);
}

static void test_dispatch_check_in_ends_the_bench(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[2], node;
	struct cc_dispatch_stats st;

	(void)state;
	node = check_in(n->host, -1, "plain");
	job_with_units("plain", 2, ids);
	dbfx_exec("UPDATE node_records SET bench_s = 40,"
		  " bench_until = NOW(6) + INTERVAL 1 HOUR WHERE id = ?", node);
	pass(&st);
	assert_int_equal(st.sent, 0);
	check_in(n->host, -1, "plain");
	assert_int_equal(dbfx_int("SELECT bench_s FROM node_records WHERE id = ?", node), 0);
	pass(&st);
	assert_int_equal(st.sent, 2);
	node_stop(n);
}

/* the assignment token central holds for a unit (caller frees) */
static char *unit_token(long long id)
{
	return dbfx_str("SELECT token FROM work_units WHERE id = ?", id);
}

static int finish(long long id, int ok)
{
	struct cc_finish f;
	struct cc_err err = { 0 };
	char *tok = unit_token(id);
	struct cc_unit_report rep = { .unit_id = id, .token = tok, .succeeded = ok,
				      .output = "{\"output\":\"x\"}" };

	if (cc_lifecycle_finish(dbfx()->db, &dbfx()->cfg, &rep, &f, &err) < 0)
		fail_msg("finish: %s", err.msg);
	free(tok);
	return f.outcome;
}

static void test_dispatch_slots_come_back_with_results_expiry_and_refusals(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[4], node;
	struct cc_dispatch_stats st;
	int expired = 0;
	struct cc_err err = { 0 };

	(void)state;
	dbfx()->cfg.work_unit_retries = 5;
	dbfx()->cfg.retry_backoff = 0;
	node = check_in(n->host, 2, "plain");
	job_with_units("plain", 4, ids);
	pass(&st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(SLOTS(node), 2);
	/* a result gives its slot back, and refreshes the node */
	dbfx_exec("UPDATE node_records SET updated_at = NOW(6) - INTERVAL 100 SECOND"
		  " WHERE id = ?", node);
	assert_int_equal(finish(n->unit_ids[0], 1), CC_FINISH_DONE);
	assert_int_equal(SLOTS(node), 1);
	assert_int_equal(dbfx_int("SELECT updated_at > NOW(6) - INTERVAL 5 SECOND"
				  " FROM node_records WHERE id = ?", node), 1);
	/* a failed attempt (retried) too */
	assert_int_equal(finish(n->unit_ids[1], 0), CC_FINISH_DONE);
	assert_int_equal(SLOTS(node), 0);
	pass(&st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(SLOTS(node), 2);
	/* a lease expiry too, without refreshing the node */
	dbfx_exec("UPDATE node_records SET updated_at = NOW(6) - INTERVAL 100 SECOND"
		  " WHERE id = ?", node);
	dbfx_exec("UPDATE work_units SET lease_until = NOW(6) - INTERVAL 1 SECOND"
		  " WHERE id = ?", n->unit_ids[2]);
	if (cc_lifecycle_expire_leases(dbfx()->db, &dbfx()->cfg, &expired, &err) < 0)
		fail_msg("expire: %s", err.msg);
	assert_int_equal(expired, 1);
	assert_int_equal(SLOTS(node), 1);
	assert_int_equal(dbfx_int("SELECT updated_at < NOW(6) - INTERVAL 90 SECOND"
				  " FROM node_records WHERE id = ?", node), 1);
	/* a refused send gives the slot it claimed back */
	n->answer = 503;
	n->text503 = "Node Full";
	pass(&st);
	assert_true(st.refused >= 1);
	assert_int_equal(SLOTS(node), 1);
	assert_int_equal(ASSIGNED_TO(node), 1);
	/* an accepted POST /work refreshes the node */
	n->answer = 200;
	pass(&st);
	assert_int_equal(st.sent, 1);
	assert_int_equal(SLOTS(node), 2);
	assert_int_equal(dbfx_int("SELECT updated_at > NOW(6) - INTERVAL 5 SECOND"
				  " FROM node_records WHERE id = ?", node), 1);
	node_stop(n);
}

/* ---- racing dispatchers against a node that never refuses ---------------- */

struct racer {
	pthread_t t;
	volatile int *stop;
	int passes;
	char err[sizeof(((struct cc_err *)0)->msg)];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct cc_db *db = dbfx_connect();
	struct cc_dispatcher *d = cc_dispatcher_new(&dbfx()->cfg);
	struct cc_err err = { 0 };

	while (!*r->stop && d) {
		if (cc_dispatch_pass(d, db, NULL, &err) < 0 && !cc_db_retryable(&err)) {
			snprintf(r->err, sizeof(r->err), "%s", err.msg);
			break;
		}
		r->passes++;
	}
	cc_dispatcher_free(d);
	cc_db_free(db);
	return NULL;
}

static void test_dispatch_racing_dispatchers_never_exceed_max_workers(void **state)
{
	/* answers 200 to everything, like the original's node */
	struct fake_node *n = node_start(200, NULL);
	struct racer r[4];
	volatile int stop = 0;
	long long ids[30], node;
	int done = 0, max_held = 0, max_slots = 0, rounds = 0;

	(void)state;
	dbfx()->cfg.work_unit_retries = 3;
	node = check_in(n->host, 2, "plain");
	job_with_units("plain", 30, ids);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 4; i++) {
		r[i].stop = &stop;
		assert_int_equal(pthread_create(&r[i].t, NULL, race, &r[i]), 0);
	}
	/* the node finishes what it holds, while four dispatchers race to
	 * give it more; it never holds more than 2 */
	while (done < 30 && rounds++ < 3000) {
		int posts, held, slots;

		pthread_mutex_lock(&n->lock);
		posts = n->nposts;
		pthread_mutex_unlock(&n->lock);
		held = posts - done;
		slots = (int)SLOTS(node);
		if (held > max_held)
			max_held = held;
		if (slots > max_slots)
			max_slots = slots;
		if (held > 0) {
			long long id;
			pthread_mutex_lock(&n->lock);
			id = n->unit_ids[done];
			pthread_mutex_unlock(&n->lock);
			/* its pid may not be recorded yet: the token is */
			if (finish(id, 1) == CC_FINISH_DONE)
				done++;
		} else {
			usleep(1000);
		}
	}
	stop = 1;
	for (int i = 0; i < 4; i++) {
		pthread_join(r[i].t, NULL);
		if (r[i].err[0])
			fail_msg("dispatcher %d: %s", i, r[i].err);
		assert_true(r[i].passes > 0);
	}
	assert_int_equal(done, 30);
	assert_int_equal(n->nposts, 30);
	assert_true(max_held <= 2);
	assert_true(max_slots <= 2);
	assert_int_equal(SLOTS(node), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE reservation"
				  " IS NOT NULL"), 0);
	node_stop(n);
}

static void test_dispatch_releases_reservations_past_their_deadline(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	struct cc_reserved_unit *units = NULL;
	struct cc_dispatch_stats st;
	struct cc_err err = { 0 };
	long long ids[3], node;
	int reservation, nu;

	(void)state;
	node = check_in(n->host, 3, "plain");
	job_with_units("plain", 3, ids);
	/* a dispatcher reserves three units, claims a slot for one, and
	 * dies */
	nu = cc_work_unit_reserve_for(dbfx()->db, "plain", 3, 2, &reservation,
				      &units, &err);
	assert_int_equal(nu, 3);
	assert_int_equal(cc_work_unit_claim(dbfx()->db, units[0].id, reservation,
					    node, 30, &err), 1);
	cc_work_unit_reserved_free(units, nu);
	assert_int_equal(SLOTS(node), 1);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE"
				  " reserved_until BETWEEN NOW(6) AND NOW(6) + INTERVAL 2 SECOND"), 3);
	/* before the deadline, another dispatcher leaves them alone */
	pass(&st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.released, 0);
	/* after it, any pass releases them (the claimed slot comes back)
	 * and sends them */
	sleep(2);
	pass(&st);
	assert_int_equal(st.released, 3);
	assert_int_equal(st.sent, 3);
	assert_int_equal(SLOTS(node), 3);
	assert_int_equal(ASSIGNED_TO(node), 3);
	assert_int_equal(n->nposts, 3);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE"
				  " reserved_until IS NOT NULL OR reservation IS NOT NULL"), 0);
	node_stop(n);
}

static void test_dispatch_restarted_node_gets_its_slots_back(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[3], node;
	struct cc_dispatch_stats st;
	struct cc_node_checkin in = {
		.host = n->host, .ip_address = "127.0.0.1", .max_workers = 3,
		.enabled_actions = "plain", .instance = "restarted",
	};
	struct cc_err err = { 0 };
	unsigned long long released = 0;

	(void)state;
	node = check_in(n->host, 3, "plain");
	job_with_units("plain", 3, ids);
	pass(&st);
	assert_int_equal(SLOTS(node), 3);
	/* a new process on the same port: the old one's units and slots go */
	assert_int_equal(cc_node_check_in(dbfx()->db, &in, &released, &err), 0);
	assert_int_equal((int)released, 3);
	assert_int_equal(SLOTS(node), 0);
	assert_int_equal(AVAILABLE(), 3);
	pass(&st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(SLOTS(node), 3);
	node_stop(n);
}

static void test_dispatch_maintain_reconciles_drifted_slots(void **state)
{
	struct fake_node *n = node_start(200, NULL);
	long long ids[3], node;
	struct cc_dispatch_stats st;
	struct cc_err err = { 0 };

	(void)state;
	node = check_in(n->host, 3, "plain");
	job_with_units("plain", 3, ids);
	pass(&st);
	assert_int_equal(SLOTS(node), 3);
	/* a path that does not keep the counter removes a running unit */
	dbfx_exec("DELETE FROM work_units WHERE id = ?", ids[1]);
	assert_int_equal(cc_dispatch_maintain(dbfx()->db, &dbfx()->cfg, &err), 1);
	assert_int_equal(SLOTS(node), 2);
	/* and the other way */
	dbfx_exec("UPDATE node_records SET slots_used = 0 WHERE id = ?", node);
	assert_int_equal(cc_dispatch_maintain(dbfx()->db, &dbfx()->cfg, &err), 1);
	assert_int_equal(SLOTS(node), 2);
	/* nothing to do: nothing changes */
	assert_int_equal(cc_dispatch_maintain(dbfx()->db, &dbfx()->cfg, &err), 0);
	node_stop(n);
}

static void test_dispatch_node_expiry_uses_the_nodes_own_interval(void **state)
{
	struct cc_node_checkin in = {
		.host = "127.0.0.1:1", .ip_address = "127.0.0.1", .max_workers = 2,
		.enabled_actions = "plain", .check_in_interval = 1,
	};
	struct cc_err err = { 0 };
	unsigned long long released;
	int removed = 0;

	(void)state;
	dbfx()->cfg.check_in_interval = 5;
	dbfx()->cfg.node_expiry_intervals = 3;
	/* announces 1 s: gone after 3 s of silence */
	assert_int_equal(cc_node_check_in(dbfx()->db, &in, &released, &err), 0);
	/* announces none (the original's node): 300 s */
	in.host = "127.0.0.1:2";
	in.check_in_interval = 0;
	assert_int_equal(cc_node_check_in(dbfx()->db, &in, &released, &err), 0);
	assert_int_equal(dbfx_int("SELECT check_in_interval FROM node_records WHERE"
				  " port = 2"), 300);
	dbfx_exec("UPDATE node_records SET updated_at = NOW(6) - INTERVAL 16 SECOND");
	assert_int_equal(cc_node_expire(dbfx()->db, &dbfx()->cfg, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM node_records WHERE port = 1"), 0);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM node_records WHERE port = 2"), 1);
	dbfx_exec("UPDATE node_records SET updated_at = NOW(6) - INTERVAL 901 SECOND");
	assert_int_equal(cc_node_expire(dbfx()->db, &dbfx()->cfg, &removed, &err), 0);
	assert_int_equal(removed, 1);
	/* a bad interval is refused */
	in.check_in_interval = 86401;
	assert_int_equal(cc_node_check_in(dbfx()->db, &in, &released, &err), -1);
	assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
}

static void test_dispatch_without_nodes_reserves_nothing(void **state)
{
	long long ids[2];
	struct cc_dispatch_stats st;

	(void)state;
	job_with_units("plain", 2, ids);
	pass(&st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(AVAILABLE(), 2);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		DBFX_TEST(test_dispatch_gives_node_at_most_max_workers_units),
		DBFX_TEST(test_dispatch_records_node_and_pid_of_each_unit),
		DBFX_TEST(test_dispatch_sends_each_unit_its_assignment_token),
		DBFX_TEST(test_dispatch_spreads_units_over_nodes),
		DBFX_TEST(test_dispatch_sends_only_actions_the_node_offers),
		DBFX_TEST(test_dispatch_overloaded_node_leaves_units_available),
		DBFX_TEST(test_dispatch_full_node_is_not_marked_busy),
		DBFX_TEST(test_dispatch_benches_unreachable_node_and_keeps_its_units),
		DBFX_TEST(test_dispatch_probes_a_node_back_from_the_bench_with_one_unit),
		DBFX_TEST(test_dispatch_check_in_ends_the_bench),
		DBFX_TEST(test_dispatch_slots_come_back_with_results_expiry_and_refusals),
		DBFX_TEST(test_dispatch_racing_dispatchers_never_exceed_max_workers),
		DBFX_TEST(test_dispatch_releases_reservations_past_their_deadline),
		DBFX_TEST(test_dispatch_restarted_node_gets_its_slots_back),
		DBFX_TEST(test_dispatch_maintain_reconciles_drifted_slots),
		DBFX_TEST(test_dispatch_node_expiry_uses_the_nodes_own_interval),
		DBFX_TEST(test_dispatch_without_nodes_reserves_nothing),
	};

	if (cc_http_global_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
