/* callback.h - delivering a complete job's callback: POST job=<job JSON>
 * to its callback_url, outside any request path. Each delivery is claimed
 * with one conditional UPDATE, so however many processes look, a callback
 * fires once per attempt. 201 Created deletes the job and its files (the
 * original's contract); other 2xx are done; failures are retried with a
 * growing delay up to callback_retries attempts, each logged. */
#ifndef CC_CALLBACK_H
#define CC_CALLBACK_H

#include "core/config.h"
#include "core/db.h"
#include "core/err.h"
#include "core/http.h"

/* cc_callback_deliver_due - deliver every callback that is due (at most a
 * batch per call). *delivered counts attempts made. 0 or -1. */
int cc_callback_deliver_due(struct cc_db *db, const struct cc_config *cfg,
			    struct cc_http *http, int *delivered,
			    struct cc_err *err);

#endif
