/* work_unit.h - the work_units table: creation in bulk, the result of an
 * attempt (finish), reservation and assignment for dispatch, leases, and
 * the unit JSON sent to nodes. A unit's `input` travels as a JSON string
 * (the original's wire format); input_is_json says whether that string is
 * JSON text (a non-string input, a merge unit's array) so that our workers
 * can give the action the input's real JSON type. */
#ifndef CC_WORK_UNIT_H
#define CC_WORK_UNIT_H

#include <jansson.h>
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

#define CC_RESERVATION_LIMIT 25

struct cc_unit_input {
	const char *text;
	size_t len;
	int is_json;
	long long position;
};

/* cc_unit_input_from_json - fill in from one JSON input value: a string is
 * used as is, anything else becomes compact JSON text (*owned receives the
 * allocation, or NULL; caller frees). -1 on out of memory. */
int cc_unit_input_from_json(json_t *value, long long position,
			    struct cc_unit_input *in, char **owned);

/* cc_work_unit_create_many - insert n units of a job with one status, in
 * batches (caller holds the transaction). */
int cc_work_unit_create_many(struct cc_db *db, long long job_id,
			     const char *action, int status,
			     const struct cc_unit_input *in, size_t n,
			     struct cc_err *err);

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

/* cc_work_unit_finish - record one attempt's result: succeeded (a split
 * unit becomes its processing units; others become succeeded) or failed
 * (retried with backoff until work_unit_retries, then failed), then the
 * job's completion check; all in one transaction with the job row locked.
 * pid <= 0 means "not given". output is the JSON text {"output": ...}.
 * Returns 0 (see f->outcome) or -1 (err->code 400 for a bad output, 500). */
int cc_work_unit_finish(struct cc_db *db, const struct cc_config *cfg,
			long long id, long long pid, int succeeded,
			const char *output, double time, struct cc_finish *f,
			struct cc_err *err);

/* A reserved unit, ready to send. */
struct cc_reserved_unit {
	long long id, job_id, last_node_id;
	int attempts, status, input_is_json;
	char *action;
	char *payload;            /* work_unit JSON text for POST /work */
};

/* cc_work_unit_reserve - reserve up to limit available units (not assigned,
 * not reserved, due, action in the comma-separated `actions`, not
 * blacklisted) with reservation number *reservation (chosen here), in one
 * UPDATE; then load them. *units is an array (free with
 * cc_work_unit_reserved_free). Returns the count, or -1. */
int cc_work_unit_reserve(struct cc_db *db, const char *actions, int limit,
			 int *reservation, struct cc_reserved_unit **units,
			 struct cc_err *err);

void cc_work_unit_reserved_free(struct cc_reserved_unit *units, int n);

/* cc_work_unit_assign - record that the unit runs on node as pid, with a
 * lease of lease_s seconds; only if it is still reserved by reservation and
 * incomplete (a result that already arrived is never overwritten: no ghost
 * assignments). Returns 1 recorded, 0 not (already finished), -1 error. */
int cc_work_unit_assign(struct cc_db *db, long long id, int reservation,
			long long node_id, long long pid, int lease_s,
			struct cc_err *err);

/* cc_work_unit_cancel_reservations - release every unit still reserved by
 * reservation. */
int cc_work_unit_cancel_reservations(struct cc_db *db, int reservation,
				     struct cc_err *err);

/* cc_work_unit_release_node - units assigned to a node become available
 * again (node and pid cleared); attempts unchanged. */
int cc_work_unit_release_node(struct cc_db *db, long long node_id,
			      unsigned long long *released, struct cc_err *err);

/* cc_work_unit_expire_leases - each unit whose lease passed without a
 * report counts as a failed attempt ("no report from its node within the
 * lease"). *expired gets the count; callbacks that became due are
 * delivered by the caller's callback pass. */
int cc_work_unit_expire_leases(struct cc_db *db, const struct cc_config *cfg,
			       int *expired, struct cc_err *err);

/* cc_work_unit_json_by_worker - the unit a worker "pid@host:port" runs, as
 * JSON text (caller frees), with action, stage, job, attempts and how long
 * it has run. 1 found, 0 not, -1 error. */
int cc_work_unit_json_by_worker(struct cc_db *db, long long pid,
				const char *host, char **out, struct cc_err *err);

#endif
