/* clock.h - the one monotonic clock of every program, for intervals:
 * timeouts, backoffs, deadlines, durations. Seconds as a double; it never
 * goes back when the wall clock is set (CLOCK_MONOTONIC). */
#ifndef CC_CLOCK_H
#define CC_CLOCK_H

/* cc_clock_now - seconds since an arbitrary fixed point. */
double cc_clock_now(void);

#endif
