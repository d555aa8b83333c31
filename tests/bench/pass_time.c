/* pass_time.c - the W4 dispatch-pass figure of `make bench`: the cost of
 * one dispatch pass (lib/central/dispatch.c cc_dispatch_pass, the code every pool
 * process and ccdistribute run) with however many units are queued.
 *
 * It registers a node record HOST:PORT (a tests/bench/fake_node that
 * accepts every unit at once and runs nothing) with max_workers 25 and the
 * noop action, then repeats: (untimed) release the units the previous
 * pass assigned to it and check the node in again, so it is available with
 * 25 free slots; (timed) one cc_dispatch_pass, which lists the nodes,
 * reserves 25 units with one UPDATE, loads them, POSTs them to the fake
 * node over kept-alive connections and records the 25 assignments. The
 * slow sweeps (cc_dispatch_maintain: silent nodes, expired leases, stale
 * reservations) are timed on their own. Log lines go to LOGFILE (at the
 * config's log level), as they go to server.log in a pool process.
 *
 * usage: pass_time CONFDIR HOST:PORT PASSES LOGFILE
 * prints: pass_p50_ms=.. pass_min_ms=.. pass_max_ms=.. sent_per_pass=..
 *         queries_per_pass=.. index_reads_per_pass=.. (Handler_read_next:
 *         index entries the pass's statements walked) maintain_p50_ms=..
 *         passes=N
 * The node record is removed (its units released) at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/config.h"
#include "core/db.h"
#include "central/dispatch.h"
#include "core/http.h"
#include "core/log.h"
#include "model/node_record.h"
#include "model/work_unit.h"

static const char SQL_NODE_ID[] = "SELECT id FROM node_records WHERE host = ?";
/* index entries read by this session's statements (range scans): how much
 * of the table a pass walks through */
static const char SQL_READ_NEXT[] =
	"SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
	" WHERE VARIABLE_NAME = 'HANDLER_READ_NEXT'";

static long long read_next(struct cc_db *db)
{
	struct cc_err err = { 0 };
	long long v = 0;
	int found = 0;

	if (cc_db_query_int(db, SQL_READ_NEXT, NULL, 0, &v, &found, &err) < 0 || !found)
		return 0;
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int die(const char *what, const struct cc_err *err)
{
	fprintf(stderr, "pass_time: %s: %s\n", what, err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	static struct cc_config cfg;
	struct cc_err err = { 0 };
	struct cc_db *db;
	struct cc_dispatcher *d;
	struct cc_dispatch_stats st;
	unsigned long long released;
	long long node_id = 0;
	int found = 0, passes, sent_total = 0;
	unsigned long queries = 0;
	long long index_reads = 0;
	double *pt, *mt;

	if (argc != 5) {
		fprintf(stderr, "usage: pass_time CONFDIR HOST:PORT PASSES LOGFILE\n");
		return 2;
	}
	passes = atoi(argv[3]);
	if (passes < 1)
		return 2;
	pt = calloc((size_t)passes, sizeof(*pt));
	mt = calloc((size_t)passes, sizeof(*mt));
	cc_log_init("pass_time");
	if (cc_config_load(&cfg, argv[1], &err) < 0)
		return die("config", &err);
	cc_log_set_level(cfg.log_level);
	cc_log_open(argv[4]);
	if (cc_http_global_init() < 0)
		return 1;
	db = cc_db_connect(&cfg, &err);
	if (!db || cc_db_check_schema(db, &err) < 0)
		return die("database", &err);
	d = cc_dispatcher_new(&cfg);
	if (!d)
		return 1;

	struct cc_node_checkin in = {
		.host = argv[2], .ip_address = "127.0.0.1", .busy = 0, .tag = "bench",
		.max_workers = 25, .enabled_actions = "noop", .instance = "bench-fake-node",
	};
	struct cc_dbv p[] = { CC_DBS(argv[2]) };
	if (cc_node_check_in(db, &in, &released, &err) < 0)
		return die("check in", &err);
	if (cc_db_query_int(db, SQL_NODE_ID, p, 1, &node_id, &found, &err) < 0 || !found)
		return die("node id", &err);

	/* One pass untimed first: prepared statements, connections to the node. */
	for (int i = -1; i < passes; i++) {
		double t0;
		unsigned long q0;

		if (cc_work_unit_release_node(db, node_id, &released, &err) < 0 ||
		    cc_node_check_in(db, &in, &released, &err) < 0)
			return die("reset", &err);
		long long r0 = read_next(db);
		q0 = cc_db_count_queries(db);
		t0 = now();
		if (cc_dispatch_pass(d, db, &st, &err) < 0)
			return die("dispatch pass", &err);
		if (i < 0)
			continue;
		pt[i] = now() - t0;
		queries += cc_db_count_queries(db) - q0;
		index_reads += read_next(db) - r0;
		sent_total += st.sent;
		t0 = now();
		if (cc_dispatch_maintain(db, &cfg, &err) < 0)
			return die("maintain", &err);
		mt[i] = now() - t0;
	}
	cc_node_check_out(db, argv[2], &err);
	qsort(pt, (size_t)passes, sizeof(*pt), cmpd);
	qsort(mt, (size_t)passes, sizeof(*mt), cmpd);
	printf("pass_p50_ms=%.3f pass_min_ms=%.3f pass_max_ms=%.3f sent_per_pass=%.1f "
	       "queries_per_pass=%.1f index_reads_per_pass=%.0f maintain_p50_ms=%.3f passes=%d\n",
	       pt[passes / 2] * 1000, pt[0] * 1000, pt[passes - 1] * 1000,
	       (double)sent_total / passes, (double)queries / passes,
	       (double)index_reads / passes, mt[passes / 2] * 1000, passes);
	cc_dispatcher_free(d);
	cc_db_free(db);
	free(pt);
	free(mt);
	return 0;
}
