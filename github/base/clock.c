/* clock.c: wall and monotonic time in milliseconds. */
#include <errno.h>
#include <time.h>

#include "github/base/clock.h"

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hs_now_ms(void)
{
	return read_clock(CLOCK_REALTIME);
}

int64_t hs_monotonic_ms(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

void hs_deadline_ms(struct timespec *ts, clockid_t id, int64_t ms)
{
	clock_gettime(id, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void hs_sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
