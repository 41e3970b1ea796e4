/* unit.h: the small unit-test harness of tests/unit/t-*.c.
 *
 * A test file defines static test functions and a table:
 *
 *	static void test_thing(void) { T_ASSERT(1 + 1 == 2); }
 *	const struct unit_test unit_tests[] = { UNIT(test_thing), { NULL, NULL } };
 *
 * unit.c supplies main(): it runs every test (or those named on the command
 * line), prints "ok N - name" or "not ok N - name" with the failed checks,
 * and ends with the line "N passed, N failed".  A failed check stops only
 * the current test.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdint.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT(fn) { #fn, fn }

extern const struct unit_test unit_tests[];

void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* A scratch directory for this test binary, removed at exit. */
const char *unit_tmpdir(void);

#define T_ASSERT(c) do { if (!(c)) unit_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define T_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) unit_fail(__FILE__, __LINE__, "%s == %lld, want %lld (%s)", #a, a_, b_, #b); } while (0)
#define T_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) unit_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

#endif
