/* clock.h: wall and monotonic time in milliseconds. */
#ifndef HS_CLOCK_H
#define HS_CLOCK_H

#include <stdint.h>

int64_t hs_now_ms(void);       /* milliseconds since the epoch */
int64_t hs_monotonic_ms(void); /* for measuring durations */
void hs_sleep_ms(int64_t ms);

#endif
