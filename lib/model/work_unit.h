/* work_unit.h - the work_units table: creation in bulk, reservation and
 * assignment for dispatch, and the reads and writes the unit/job state
 * machine (central/lifecycle.c) is made of. The rules live there; the SQL
 * lives here. A unit's `input` travels as a JSON string (the original's
 * wire format); input_is_json says whether that string is JSON text (a
 * non-string input, a merge unit's array) so that our workers can give the
 * action the input's real JSON type. */
#ifndef CC_WORK_UNIT_H
#define CC_WORK_UNIT_H

#include <jansson.h>
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

#define CC_RESERVATION_LIMIT 25

/* Seconds a reservation holds when the caller gives none
 * (cc_work_unit_reserve): the default node_timeout (30) + 10. */
#define CC_RESERVATION_DEADLINE 40

/* An assignment token: 32 lowercase hex digits (128 bits). The reserving
 * UPDATE sets it to LEFT(SHA2(CONCAT(secret, ':', id), 256), 32) with a
 * secret drawn from getrandom for each reservation, so it is unguessable,
 * and one unit's token tells nothing about another's. */
#define CC_TOKEN_LEN 32

/* A work_units row as read, declared once (cc_work_unit_row): every SELECT
 * binds into it by column name, and reads only what it needs. NULL numbers
 * read as 0 (worker_pid, node_record_id, last_node_id). */
struct cc_work_unit {
	long long id;
	long long job_id;
	int status;
	int attempts;
	long long worker_pid;
	long long node_record_id;
	long long last_node_id;   /* the node its last failed attempt ran on */
	long long position;       /* input order */
	int input_is_json;
	char *action;
	char *input;
	size_t input_len;
	char *output;             /* JSON text {"output": ...} */
	/* who may report: the current assignment's token ("" none), and the
	 * token and pid of the last attempt whose own report was recorded
	 * ("" / 0 none), to recognise that report when it comes again */
	char token[CC_TOKEN_LEN + 1];
	char last_token[CC_TOKEN_LEN + 1];
	long long last_pid;
	long long reservation;    /* the dispatcher's reservation number, 0 none */
	/* from joins */
	char *options;            /* the job's options (JSON object text) */
	char *host;               /* the node's HOST:PORT */
	double running_for;       /* seconds since the unit last changed */
};

extern const struct cc_dbrow cc_work_unit_row;

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
 * batches, and add them to the job's units_total (caller holds the
 * transaction). */
int cc_work_unit_create_many(struct cc_db *db, long long job_id,
			     const char *action, int status,
			     const struct cc_unit_input *in, size_t n,
			     struct cc_err *err);

/* cc_work_unit_job_of - the job a unit belongs to. 1 found, 0 not, -1. */
int cc_work_unit_job_of(struct cc_db *db, long long id, long long *job_id,
			struct cc_err *err);

/* cc_work_unit_lock - SELECT ... FOR UPDATE of the unit (inside a
 * transaction that already holds its job's row: lock order is job, then
 * unit) into *u (status, attempts, worker_pid, node_record_id, position,
 * action, token, last_token, last_pid; cleanup with
 * cc_db_row_cleanup(&cc_work_unit_row, u)). 1 found, 0 not, -1 error. */
int cc_work_unit_lock(struct cc_db *db, long long id, struct cc_work_unit *u,
		      struct cc_err *err);

/* Who reported a recorded attempt, kept in last_token / last_pid (see
 * struct cc_work_unit): token NULL or "" and pid <= 0 store NULL. Every
 * recorded attempt clears the unit's token: that assignment is over. */
struct cc_attempt_by {
	const char *token;
	long long pid;
	int node_alive;           /* a worker reported: refresh the unit's node
				   * (updated_at); 0 for a lease expiry */
};

/* Every recorded attempt (succeed, retry, fail, replace) takes the unit off
 * its node (u->node_record_id, as read by cc_work_unit_lock) and gives the
 * node its slot back (slots_used - 1) in the same statement. */

/* cc_work_unit_succeed - u succeeded with output: it is complete, and its
 * job's units_done counts it (one statement: both rows are locked). */
int cc_work_unit_succeed(struct cc_db *db, const struct cc_work_unit *u,
			 const char *output, double time,
			 const struct cc_attempt_by *by, struct cc_err *err);

/* cc_work_unit_retry - attempt number `tries` failed: the unit is free to
 * run again after backoff_s seconds, preferably not on the same node. */
int cc_work_unit_retry(struct cc_db *db, const struct cc_work_unit *u, int tries,
		       const char *output, double time, long long backoff_s,
		       const struct cc_attempt_by *by, struct cc_err *err);

/* cc_work_unit_fail - the unit failed for good after `tries` attempts; its
 * job's units_done counts it. */
int cc_work_unit_fail(struct cc_db *db, const struct cc_work_unit *u, int tries,
		      const char *output, double time,
		      const struct cc_attempt_by *by, struct cc_err *err);

/* cc_work_unit_replace - a split unit is replaced by the n processing units
 * in (already placed after it in input order): the units are created, the
 * split unit removed, and the job's units_total adjusted. */
int cc_work_unit_replace(struct cc_db *db, const struct cc_work_unit *u,
			 const struct cc_unit_input *in, size_t n,
			 struct cc_err *err);

/* cc_work_unit_job_state - whether any of the job's units failed, and
 * whether any is still splitting (index lookups, no scan). */
int cc_work_unit_job_state(struct cc_db *db, long long job_id, int *failed,
			   int *splitting, struct cc_err *err);

/* cc_work_unit_each_output - call fn(output, ctx) with the output text
 * ({"output": ...}, or NULL) of each complete unit of the job, in input
 * order. fn returns 0 to go on; its non-zero value stops the walk and is
 * returned. fn must not use db. */
int cc_work_unit_each_output(struct cc_db *db, long long job_id,
			     int (*fn)(const char *output, void *ctx), void *ctx,
			     struct cc_err *err);

/* cc_work_unit_delete_complete - remove the job's complete units. */
int cc_work_unit_delete_complete(struct cc_db *db, long long job_id,
				 struct cc_err *err);

/* A reserved unit, ready to send. */
struct cc_reserved_unit {
	long long id, job_id, last_node_id;
	int attempts, status, input_is_json;
	char *action;
	char *payload;            /* work_unit JSON text for POST /work */
	char token[CC_TOKEN_LEN + 1]; /* its assignment token (in payload) */
};

/* cc_work_unit_reserve_for - reserve up to limit available units (not
 * assigned, not reserved, due, action in the comma-separated `actions`, not
 * blacklisted) with reservation number *reservation (chosen here) until
 * deadline_s seconds from now (reserved_until; past it, any dispatcher's
 * cc_work_unit_release_expired_reservations frees them), in one UPDATE
 * that also gives each its assignment token (CC_TOKEN_LEN); then load
 * them. Each payload carries its unit's token. *units is an array (free
 * with cc_work_unit_reserved_free). Returns the count, or -1 (also when no
 * random secret can be drawn). */
int cc_work_unit_reserve_for(struct cc_db *db, const char *actions, int limit,
			     int deadline_s, int *reservation,
			     struct cc_reserved_unit **units, struct cc_err *err);

/* cc_work_unit_reserve - the same with CC_RESERVATION_DEADLINE. */
int cc_work_unit_reserve(struct cc_db *db, const char *actions, int limit,
			 int *reservation, struct cc_reserved_unit **units,
			 struct cc_err *err);

void cc_work_unit_reserved_free(struct cc_reserved_unit *units, int n);

/* Sending a reserved unit to a node, in three steps:
 *
 * cc_work_unit_claim - before the POST: the unit (still reserved by
 * reservation, unassigned, incomplete) gets node_id as its node, and the
 * node one of its slots, in one statement, only if the node has a free
 * slot (slots_used < max_workers), is not busy and not benched. A node
 * back from the bench is claimed for its probe: no other claim passes for
 * probe_s seconds. Returns 1 claimed, 0 not (node full, busy or benched;
 * or the unit is no longer ours), -1 error.
 *
 * cc_work_unit_sent - the node answered with pid: record it, with a lease
 * of lease_s seconds, end the reservation, refresh the node and end its
 * bench; only if the unit is still ours on that node (a result that
 * already arrived, the node's check-out or an expired reservation is never
 * overwritten: no ghost assignments). Returns 1 recorded, 0 not, -1.
 *
 * cc_work_unit_unclaim - the send failed: the unit is available again
 * and the node gets its slot back, only if the unit is still ours on that
 * node with no pid. Returns 1 released, 0 not, -1. */
int cc_work_unit_claim(struct cc_db *db, long long id, int reservation,
		       long long node_id, int probe_s, struct cc_err *err);
int cc_work_unit_sent(struct cc_db *db, long long id, int reservation,
		      long long node_id, long long pid, int lease_s,
		      struct cc_err *err);
int cc_work_unit_unclaim(struct cc_db *db, long long id, int reservation,
			 long long node_id, struct cc_err *err);

/* cc_work_unit_cancel_reservations - release every unit still reserved by
 * reservation that holds no node (claimed ones are unclaimed one by one,
 * or by the deadline). */
int cc_work_unit_cancel_reservations(struct cc_db *db, int reservation,
				     struct cc_err *err);

/* cc_work_unit_release_expired_reservations - release up to 100
 * reservations past their deadline (their dispatcher died or stalled):
 * the units are available again, a claimed one's node gets its slot back.
 * One indexed SELECT when there are none. *released counts them. */
int cc_work_unit_release_expired_reservations(struct cc_db *db, int *released,
					       struct cc_err *err);

/* cc_work_unit_release_node - units assigned to a node become available
 * again (node and pid cleared); attempts unchanged; the node gets their
 * slots back. Run it in a transaction that holds the node's row (the
 * check-in's SELECT ... FOR UPDATE, or the node's removal).
 * Their tokens hold until they are reserved again: a result the node's
 * worker still sends with its token is heard until then. */
int cc_work_unit_release_node(struct cc_db *db, long long node_id,
			      unsigned long long *released, struct cc_err *err);

/* cc_work_unit_list_expired - up to 100 incomplete units whose lease has
 * passed, into *units (id, worker_pid, token, host, running_for; free with
 * cc_db_rows_free(&cc_work_unit_row, *units, *n)). */
int cc_work_unit_list_expired(struct cc_db *db, struct cc_work_unit **units,
			      size_t *n, struct cc_err *err);

/* cc_work_unit_json_by_worker - the unit a worker "pid@host:port" runs, as
 * JSON text (caller frees), with action, stage, job, attempts and how long
 * it has run. 1 found, 0 not, -1 error. */
int cc_work_unit_json_by_worker(struct cc_db *db, long long pid,
				const char *host, char **out, struct cc_err *err);

#endif
