/* replay.c: run a fuzz target over saved inputs without libFuzzer.
 *
 *   build/tests/fuzz-NAME-replay FILE_OR_DIR...
 *
 * Every regular file named (directories: every file in them, in name order,
 * one level deep) is passed once to LLVMFuzzerTestOneInput.  A target that
 * finds a bug aborts, which fails the run; otherwise the last line is
 * "N passed, 0 failed" with N the number of inputs run.  Unreadable inputs
 * count as failed.  This is how `make check` replays the seed corpora with
 * gcc builds.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int passed, failed;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, alloc = 0;

	if (!f) {
		printf("not ok - cannot read %s\n", path);
		failed++;
		return;
	}
	for (;;) {
		size_t r;

		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 65536;
			buf = realloc(buf, alloc);
			if (!buf) {
				fclose(f);
				printf("not ok - out of memory reading %s\n", path);
				failed++;
				return;
			}
		}
		r = fread(buf + n, 1, alloc - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	/* hand the target an exact-size copy so ASan sees reads past the end */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (n)
			memcpy(exact, buf, n);
		free(buf);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	passed++;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, alloc = 0;

	if (stat(path, &st)) {
		printf("not ok - no such input %s\n", path);
		failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d))) {
		size_t len;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		len = strlen(path) + strlen(e->d_name) + 2;
		p = malloc(len);
		snprintf(p, len, "%s/%s", path, e->d_name);
		if (stat(p, &st) || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			names = realloc(names, alloc * sizeof(*names));
		}
		names[n++] = p;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
