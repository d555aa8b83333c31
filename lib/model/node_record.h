/* node_record.h - the node_records table: central's record of each node
 * agent, keyed by "HOST:PORT". A check-in upserts the row; a node whose
 * process changed (its `instance` differs) loses the units its previous
 * process held; check-out and silent nodes release theirs. Central owns
 * each node's capacity (slots_used, see node_record.c) and liveness: a
 * node is expected every check_in_interval seconds (its own, announced
 * at check-in; 300 when it announces none) and dropped after
 * node_expiry_intervals of them with no sign of life (a check-in, an
 * accepted POST /work or result); a node that does not answer POST /work
 * is benched (no work) for CC_BENCH_MIN_S doubling to CC_BENCH_MAX_S, then
 * probed with one unit. */
#ifndef CC_NODE_RECORD_H
#define CC_NODE_RECORD_H

#include <jansson.h>
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

#define CC_NODE_DEFAULT_INTERVAL 300   /* s: the original node's check-ins */
#define CC_NODE_MAX_INTERVAL 86400
#define CC_BENCH_MIN_S 5
#define CC_BENCH_MAX_S 300

struct cc_node_checkin {
	const char *host;            /* "name:port" from the path */
	const char *ip_address;      /* REMOTE_ADDR */
	int busy;
	const char *tag;             /* NULL for none */
	int max_workers;             /* < 0 for none (unlimited) */
	const char *enabled_actions; /* comma-separated names */
	const char *instance;        /* NULL for nodes that do not send it */
	int check_in_interval;       /* s between its check-ins; <= 0:
				      * CC_NODE_DEFAULT_INTERVAL */
};

/* cc_node_host_valid - "name:port" with a hostname/IPv4 (or [IPv6]) name
 * and a port 1-65535; *port receives the port. */
int cc_node_host_valid(const char *host, int *port);

/* cc_node_actions_valid - comma-separated [a-z0-9_]+ names (may be empty). */
int cc_node_actions_valid(const char *actions);

/* cc_node_check_in - validate and upsert; ends a bench. err->code 400 on
 * invalid data. *released counts units released because the node
 * restarted (their slots are given back). */
int cc_node_check_in(struct cc_db *db, const struct cc_node_checkin *in,
		     unsigned long long *released, struct cc_err *err);

/* cc_node_check_out - remove the node and release its units. 1 removed,
 * 0 unknown, -1 error. */
int cc_node_check_out(struct cc_db *db, const char *host, struct cc_err *err);

/* cc_node_remove - by id (checked out, or silent too long): release its
 * units, delete it. */
int cc_node_remove(struct cc_db *db, long long id, struct cc_err *err);

/* cc_node_mark_busy - a node answered 503: no work until it checks in. */
int cc_node_mark_busy(struct cc_db *db, long long id, struct cc_err *err);

/* cc_node_bench - a node's POST /work timed out or could not connect: no
 * work for it for twice its last bench (CC_BENCH_MIN_S to CC_BENCH_MAX_S),
 * then one unit to probe it (cc_node_list_available, cc_work_unit_claim).
 * Its units keep their leases. A successful send (cc_work_unit_sent) or a
 * check-in ends the bench. */
int cc_node_bench(struct cc_db *db, long long id, struct cc_err *err);

/* cc_node_reconcile_slots - correct any node whose slots_used differs from
 * the units it holds (units removed by a path that does not keep the
 * counter: a job deleted while its units ran); *fixed counts them. */
int cc_node_reconcile_slots(struct cc_db *db, int *fixed, struct cc_err *err);

/* An available node, as dispatch sees it. */
struct cc_node {
	long long id;
	char *host;                  /* name:port */
	char *actions;               /* ",a,b,c," for quick matching */
	int capacity;                /* units it can still take; INT_MAX if no
				      * limit; 1 for a probe after a bench */
	int bench_s;                 /* > 0: back from a bench of that length */
};

/* cc_node_list_available - nodes not busy, not benched, not silent too
 * long, with free slots (max_workers - slots_used). Returns the count (array in *nodes, free with
 * cc_node_list_free) or -1. *all_actions gets the comma-separated union of
 * their actions (caller frees). */
int cc_node_list_available(struct cc_db *db, const struct cc_config *cfg,
			   struct cc_node **nodes, char **all_actions,
			   struct cc_err *err);
void cc_node_list_free(struct cc_node *nodes, int n);

/* cc_node_can_run - does the node offer action? */
int cc_node_can_run(const struct cc_node *node, const char *action);

/* cc_node_expire - remove nodes silent for node_expiry_intervals of their
 * check-in intervals; *removed counts them. */
int cc_node_expire(struct cc_db *db, const struct cc_config *cfg, int *removed,
		   struct cc_err *err);

/* cc_node_status_json - the `nodes` array of GET /status: {host, tag,
 * workers:[pid...], status} ordered by host desc. New reference or NULL. */
json_t *cc_node_status_json(struct cc_db *db, struct cc_err *err);

/* Nodes at a glance (GET /health). */
struct cc_node_counts {
	long long count;      /* nodes checked in */
	long long busy;       /* workers running (slots in use) on them */
	long long max;        /* the sum of their max_workers (NULL: 0) */
};

/* cc_node_counts - one query into *out. 0, or -1 with err set. */
int cc_node_counts(struct cc_db *db, struct cc_node_counts *out,
		   struct cc_err *err);

#endif
