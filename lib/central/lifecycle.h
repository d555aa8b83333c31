/* lifecycle.h - the state machine of units and jobs: what a unit's result
 * does to the unit (succeeded; a split's output becomes processing units;
 * failed, retried with backoff until work_unit_retries) and then to its
 * job (splitting -> processing -> merging with one merge unit ->
 * succeeded/failed with its outputs in input order and a callback due).
 * Every step of one result runs in one transaction that locks the job row
 * first, then the unit row, so two results arriving at once never merge
 * twice or lose an output. The SQL is the models' (job.c, work_unit.c);
 * the rules are here. */
#ifndef CC_LIFECYCLE_H
#define CC_LIFECYCLE_H

#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

/* One attempt's result, as a worker (or a lease expiry) reports it. */
struct cc_unit_report {
	long long unit_id;
	long long pid;          /* the reporting worker's pid; <= 0: not given */
	int succeeded;
	const char *output;     /* JSON text {"output": VALUE} */
	double time;            /* seconds the attempt ran */
};

enum cc_finish_outcome {
	CC_FINISH_NOT_FOUND,      /* no such unit: 404 */
	CC_FINISH_IGNORED,        /* already complete, or a stale worker */
	CC_FINISH_DONE,           /* recorded */
};

struct cc_finish {
	enum cc_finish_outcome outcome;
	long long job_id;
	int callback_due;         /* a job completed and has a callback_url */
};

/* cc_lifecycle_finish - record one attempt's result and move its job on.
 * A deadlock is retried (up to 5 times). Returns 0 (see f->outcome) or -1
 * (err's kind bad request for an output that is not {"output": VALUE};
 * nothing changed). */
int cc_lifecycle_finish(struct cc_db *db, const struct cc_config *cfg,
			const struct cc_unit_report *rep, struct cc_finish *f,
			struct cc_err *err);

/* cc_lifecycle_expire_leases - release reservations whose dispatcher died,
 * then count each unit whose lease passed without a report as a failed
 * attempt ("no result within its lease"). *expired gets the count;
 * callbacks that became due are delivered by the caller's callback pass. */
int cc_lifecycle_expire_leases(struct cc_db *db, const struct cc_config *cfg,
			       int *expired, struct cc_err *err);

#endif
