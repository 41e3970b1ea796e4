/* unit.c: main() for the unit-test binaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"

static jmp_buf unit_jmp;
static char tmpdir[256];

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	longjmp(unit_jmp, 1);
}

const char *unit_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/hs-unit-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

static void remove_tmpdir(void)
{
	char cmd[300];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	/* static: they must survive longjmp out of a failed test */
	static int passed, failed, n;
	static const struct unit_test *t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	atexit(remove_tmpdir);
	for (t = unit_tests; t->name; t++) {
		if (!wanted(t->name, argc, argv))
			continue;
		n++;
		if (setjmp(unit_jmp) == 0) {
			t->fn();
			printf("ok %d - %s\n", n, t->name);
			passed++;
		} else {
			printf("not ok %d - %s\n", n, t->name);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
