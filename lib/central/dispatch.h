/* dispatch.h - one pass of reservation and dispatch (the original's
 * WorkUnit.distribute_to_nodes, made concurrent): reserve up to 25
 * available units that some available node can run, hand them round-robin
 * to nodes with spare capacity, POST them all at once (libcurl multi,
 * connections kept alive between passes), record node and pid, release
 * the rest; repeat while every unit went out and nodes remain. Lock-free:
 * any number of dispatchers may run at once and a unit is never sent
 * twice. */
#ifndef CC_DISPATCH_H
#define CC_DISPATCH_H

#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

struct cc_dispatcher;

struct cc_dispatch_stats {
	int sent;          /* units a node accepted */
	int refused;       /* 503 answers */
	int unreachable;   /* nodes removed */
	int rounds;
};

/* cc_dispatcher_new - per process (holds the curl multi handle and its
 * connection cache). NULL on out of memory. */
struct cc_dispatcher *cc_dispatcher_new(const struct cc_config *cfg);
void cc_dispatcher_free(struct cc_dispatcher *d);

/* cc_dispatch_pass - see above. 0 or -1 (database trouble). */
int cc_dispatch_pass(struct cc_dispatcher *d, struct cc_db *db,
		     struct cc_dispatch_stats *stats, struct cc_err *err);

/* cc_dispatch_maintain - the slow sweeps: nodes silent too long are
 * removed, expired leases count as failed attempts, stale reservations
 * are released. Returns 1 when something changed (run a pass), 0, -1. */
int cc_dispatch_maintain(struct cc_db *db, const struct cc_config *cfg,
			 struct cc_err *err);

#endif
