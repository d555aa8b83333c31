/* wake.h - how a pool process asks the dispatcher of its host for work
 * now, without waiting on it: a datagram on the unix socket
 * PID_PATH/ccdistribute.sock, where `ccdistribute --loop` listens, or, for
 * callbacks, PID_PATH/ccdistribute-callbacks.sock, where its callbacks
 * process listens (so a pass stuck on a slow node never delays a
 * callback, nor a callback a pass). Sending
 * never blocks and never fails a request: when no dispatcher listens (or
 * its queue is full, which means it already has a wake-up pending), the
 * datagram is dropped and the dispatcher's own timer (dispatch_interval)
 * and cron's pass remain the safety net. A missing listener is logged,
 * at most once a minute per process.
 *
 * A message is one letter and an optional delay in seconds:
 *   "d"     run a dispatch pass (units became available, slots freed)
 *   "c"     deliver due callbacks (a job completed)
 *   "d4.5"  run a dispatch pass in 4.5 s (a retry comes due then, or a
 *           blacklist entry lapses); every such pass is kept until run
 * The dispatcher coalesces them: any number of wake-ups while a pass runs
 * make one more pass after it. */
#ifndef CC_WAKE_H
#define CC_WAKE_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

enum cc_wake_what { CC_WAKE_DISPATCH = 'd', CC_WAKE_CALLBACKS = 'c' };

/* cc_wake_path - the socket for what (PID_PATH/ccdistribute.sock, or
 * PID_PATH/ccdistribute-callbacks.sock) into out (len bytes); -1 when it
 * does not fit a unix socket address. */
int cc_wake_path(const struct cc_config *cfg, enum cc_wake_what what,
		 char *out, size_t len);

/* cc_wake_send - send one wake-up (delay 0 = now). Never blocks. */
void cc_wake_send(const struct cc_config *cfg, enum cc_wake_what what,
		  double delay);

/* cc_wake_listen - bind what's socket (non-blocking, mode 0660). A stale
 * socket file is replaced; one another live process listens on is not:
 * -1 with err naming it. Returns the fd. */
int cc_wake_listen(const struct cc_config *cfg, enum cc_wake_what what,
		   struct cc_err *err);

/* The passes asked for later (a retry's backoff, a blacklist entry's
 * lapse), each kept until a pass has run at or after it: times on
 * cc_clock_now's clock, earliest first. When all CC_WAKE_DUES are taken
 * the latest is dropped (the dispatcher's timer covers it). */
#define CC_WAKE_DUES 64
#define CC_WAKE_MAX_DELAY 2592000.0       /* 30 days */

struct cc_wake_dues {
	double at[CC_WAKE_DUES];
	int n;
};

void cc_wake_due_add(struct cc_wake_dues *d, double t);
/* cc_wake_due_next - the earliest, or HUGE_VAL when none */
double cc_wake_due_next(const struct cc_wake_dues *d);
/* cc_wake_due_done - forget those at or before t (a pass ran at t) */
void cc_wake_due_done(struct cc_wake_dues *d, double t);

/* cc_wake_drain - read every pending datagram from fd: *dispatch and
 * *callbacks are set to 1 when one asked for them now, and each delayed
 * one is added to dues (as now + its delay, a little past it: the
 * sender's state was written by MySQL's clock a moment before), unless
 * dues is NULL. Returns the number of messages read. */
int cc_wake_drain(int fd, int *dispatch, int *callbacks,
		  struct cc_wake_dues *dues, double now);

/* cc_wake_close - close fd and remove what's socket file. */
void cc_wake_close(const struct cc_config *cfg, enum cc_wake_what what, int fd);

#endif
