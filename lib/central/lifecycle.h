/* lifecycle.h - the state machine of units and jobs: what a unit's result
 * does to the unit (succeeded; a split's output becomes processing units;
 * failed, retried with backoff until work_unit_retries) and then to its
 * job (splitting -> processing -> merging with one merge unit ->
 * succeeded/failed with its outputs in input order and a callback due).
 * Every step of one result runs in one transaction that locks the job row
 * first, then the unit row, so two results arriving at once never merge
 * twice or lose an output. The same statement that takes the unit off its
 * node gives the node its slot back (central owns capacity, see
 * dispatch.h), and a worker's accepted report refreshes its node. The SQL
 * is the models' (job.c, work_unit.c); the rules are here.
 *
 * Who may report. A result is recorded only from the worker that holds
 * the unit, once:
 *  - with a token (our node): it must be the unit's current assignment
 *    token (given by the reservation, so a worker that reports before the
 *    dispatcher recorded its pid is heard);
 *  - without one (the original's node): the pid must be the worker_pid
 *    central recorded; no pid, or none recorded yet, is refused;
 *  - a report for a unit nobody holds, one already finished, or from an
 *    assignment that is over (its lease expired, the unit ran elsewhere)
 *    changes nothing and is refused (409); a unit that does not exist
 *    (never, or no more: a complete job's units are removed) is 404, as
 *    the original answered, which both kinds of worker take for "drop
 *    the result";
 *  - recording an attempt ends its assignment (the token is cleared) and
 *    keeps its reporter's token and pid (last_token, last_pid): the same
 *    report received again (a worker's retry, nginx re-sending it to
 *    another central host) is a duplicate, answered as the first was and
 *    recorded once, failures included. A lease expiry is central's own
 *    report and keeps nothing, so the late worker's report is refused. */
#ifndef CC_LIFECYCLE_H
#define CC_LIFECYCLE_H

#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

/* One attempt's result, as a worker (or a lease expiry) reports it. */
struct cc_unit_report {
	long long unit_id;
	long long pid;          /* the reporting worker's pid; <= 0: not given */
	const char *token;      /* the assignment token it was sent; NULL or
				 * "": none (the original's node) */
	int lease_expired;      /* central's own report of an expired lease:
				 * token is the one the unit held then */
	int succeeded;
	const char *output;     /* JSON text {"output": VALUE} */
	double time;            /* seconds the attempt ran */
};

enum cc_finish_outcome {
	CC_FINISH_NOT_FOUND,      /* no such unit: 404 */
	CC_FINISH_REFUSED,        /* not from the unit's holder: 409, see why */
	CC_FINISH_DUPLICATE,      /* recorded before: nothing changed; answer
				   * as the first time */
	CC_FINISH_DONE,           /* recorded */
};

/* DONE: what became of the unit, for the caller's log line */
enum cc_finish_result {
	CC_RESULT_SUCCEEDED,
	CC_RESULT_RETRYING,       /* a failed attempt; it runs again */
	CC_RESULT_FAILED,         /* failed for good */
};

struct cc_finish {
	enum cc_finish_outcome outcome;
	long long job_id;
	int callback_due;         /* a job completed and has a callback_url */
	double retry_in;          /* > 0: the failed attempt runs again in
				   * this many seconds (its retry_backoff) */
	char why[200];            /* REFUSED: the reason, for the answer */
	/* DONE: the unit as recorded (read under its lock, no statement
	 * more) */
	enum cc_finish_result result;
	int attempt;              /* the attempt this result ended: 1, 2, ... */
	long long node_id;        /* the node it ran on; 0: none recorded */
	char action[64];
};

/* cc_lifecycle_finish - record one attempt's result and move its job on.
 * A deadlock is retried (up to 5 times). Returns 0 (see f->outcome) or -1
 * (err's kind bad request for an output that is not {"output": VALUE};
 * nothing changed). */
int cc_lifecycle_finish(struct cc_db *db, const struct cc_config *cfg,
			const struct cc_unit_report *rep, struct cc_finish *f,
			struct cc_err *err);

/* cc_lifecycle_expire_leases - count each unit whose lease passed without
 * a report as a failed attempt ("no result within its lease"); its node
 * gets the slot back and is not refreshed. (Reservations whose dispatcher
 * died have deadlines of their own: cc_work_unit_release_expired_
 * reservations, on every dispatch pass.) *expired gets the count;
 * callbacks that became due are delivered by the caller's callback pass. */
int cc_lifecycle_expire_leases(struct cc_db *db, const struct cc_config *cfg,
			       int *expired, struct cc_err *err);

#endif
