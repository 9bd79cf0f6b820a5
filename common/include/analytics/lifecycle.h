#ifndef ANALYTICS_LIFECYCLE_H
#define ANALYTICS_LIFECYCLE_H

/*
 * Orderly shutdown: block the signals a daemon waits for before any library
 * starts a thread (threads inherit the mask), then wait for them in the main
 * loop with lifecycle_wait. And the clocks the loops read.
 */

#include <time.h>

/* Blocks SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 in the calling thread and
 * ignores SIGPIPE. Returns 0, or -1 on failure. */
int lifecycle_block_signals(void);

/* Waits up to timeout_ms for a blocked signal. Returns its number, or 0 when
 * the time ran out. */
int lifecycle_wait(int timeout_ms);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
long long lifecycle_now_ms(void);

/* Milliseconds from an arbitrary fixed point (CLOCK_MONOTONIC). */
long long lifecycle_mono_ms(void);

/* Writes to ts the time ms milliseconds (>= 0) from now on clock
 * (CLOCK_MONOTONIC or CLOCK_REALTIME, as the condition variable was made):
 * the deadline pthread_cond_timedwait takes. */
void lifecycle_deadline(clockid_t clock, long long ms, struct timespec *ts);

#endif
