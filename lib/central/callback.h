/* callback.h - delivering a complete job's callback: POST job=<job JSON>
 * to its callback_url, outside any request path (ccdistribute delivers
 * them; the pool only wakes it). Deliveries run concurrently (libcurl
 * multi, up to CC_CALLBACK_PARALLEL at once), so a receiver that hangs
 * holds one slot for server_timeout seconds, never the others.
 *
 * What is promised, per job:
 * - one delivery at a time: a delivery is claimed with one conditional
 *   UPDATE that moves the job's next try past the delivery's deadline,
 *   so however many processes look, it is not sent again while in flight;
 * - every delivery of one completion carries the same header
 *   X-CloudCrowd-Delivery: JOB:CREATED_AT:SECONDS, so a receiver that
 *   answered but whose answer was lost can drop the repeat;
 * - 201 Created deletes the job and its files (the original's contract);
 *   other 2xx are done; anything else, or no answer, is retried with a
 *   growing delay (retry_backoff doubling) up to callback_retries
 *   attempts, each logged. So a callback arrives at least once while the
 *   receiver is reachable within those attempts, and may arrive more than
 *   once only when an answer was lost. */
#ifndef CC_CALLBACK_H
#define CC_CALLBACK_H

#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

#define CC_CALLBACK_PARALLEL 16

struct cc_callbacks;

/* cc_callbacks_new - the delivery engine of one process. NULL on out of
 * memory. */
struct cc_callbacks *cc_callbacks_new(const struct cc_config *cfg);
void cc_callbacks_free(struct cc_callbacks *cb);

/* cc_callbacks_start_due - claim and start the due deliveries there is
 * room for. Returns how many started, or -1 (database) with err set. */
int cc_callbacks_start_due(struct cc_callbacks *cb, struct cc_db *db,
			   struct cc_err *err);

/* cc_callbacks_wait - wait up to wait_ms for deliveries in flight or for
 * one of the nfds fds to become readable, then record every delivery that
 * ended. Returns how many are still in flight, or -1 (database). */
int cc_callbacks_wait(struct cc_callbacks *cb, struct cc_db *db,
		      const int *fds, int nfds, int wait_ms, struct cc_err *err);

/* cc_callback_deliver_due - deliver every due callback and wait for them
 * all (cron's one-shot pass). *delivered counts attempts. 0 or -1. */
int cc_callback_deliver_due(struct cc_db *db, const struct cc_config *cfg,
			    int *delivered, struct cc_err *err);

#endif
