/* clock.h: wall and monotonic time in milliseconds. */
#ifndef HS_CLOCK_H
#define HS_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t hs_now_ms(void);       /* milliseconds since the epoch */
int64_t hs_monotonic_ms(void); /* for measuring durations */
void hs_sleep_ms(int64_t ms);
/* *ts = the time on clock id (CLOCK_REALTIME, or the clock a condition
 * variable was made with) ms milliseconds from now: the absolute deadline
 * pthread_cond_timedwait takes. */
void hs_deadline_ms(struct timespec *ts, clockid_t id, int64_t ms);

#endif
