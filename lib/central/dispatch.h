/* dispatch.h - one pass of reservation and dispatch (the original's
 * WorkUnit.distribute_to_nodes, made concurrent): release reservations
 * past their deadline; reserve (with a deadline of node_timeout + 10 s) up
 * to 25 available units that some available node can run, hand them
 * round-robin to nodes with free slots, claiming each unit's slot on its
 * node before sending it (the unit gets its node and the node a slot in
 * one statement, refused when the node is full: central owns capacity,
 * whether or not the node refuses work itself), POST them all at once
 * (libcurl multi, connections kept alive between passes), record each pid
 * (refreshing the node), give back the slots of units not taken, release
 * the rest; repeat while every unit went out and nodes remain. A node
 * that does not answer is benched with backoff and probed with one unit
 * afterwards; 503 "Node Full" is a safety net; 503 "Node Overloaded"
 * makes it busy until it checks in. Lock-free: any number of dispatchers
 * may run at once, a unit is never sent twice, and no node is ever given
 * more than max_workers units. */
#ifndef CC_DISPATCH_H
#define CC_DISPATCH_H

#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

struct cc_dispatcher;

struct cc_dispatch_stats {
	int sent;          /* units a node accepted */
	int refused;       /* 503 answers */
	int unreachable;   /* nodes benched (no answer, no connection) */
	int rounds;
	int released;      /* reservations past their deadline released */
};

/* cc_dispatcher_new - per process (holds the curl multi handle and its
 * connection cache). NULL on out of memory. */
struct cc_dispatcher *cc_dispatcher_new(const struct cc_config *cfg);
void cc_dispatcher_free(struct cc_dispatcher *d);

/* cc_dispatch_pass - see above. 0 or -1 (database trouble). */
int cc_dispatch_pass(struct cc_dispatcher *d, struct cc_db *db,
		     struct cc_dispatch_stats *stats, struct cc_err *err);

/* cc_dispatch_maintain - the slow sweeps: nodes silent too long are
 * removed, expired leases count as failed attempts, nodes' slot counters
 * that drifted from their units are corrected. Returns 1 when something
 * changed (run a pass), 0, -1. */
int cc_dispatch_maintain(struct cc_db *db, const struct cc_config *cfg,
			 struct cc_err *err);

#endif
