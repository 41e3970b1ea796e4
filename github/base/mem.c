/* mem.c: allocation that aborts on exhaustion. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/mem.h"

static void oom(size_t n)
{
	fprintf(stderr, "hedgesync: out of memory allocating %zu bytes\n", n);
	abort();
}

void *hs_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *hs_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *hs_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *hs_strdup(const char *s)
{
	return s ? hs_strndup(s, strlen(s)) : NULL;
}

char *hs_strndup(const char *s, size_t n)
{
	char *p;
	size_t len = strnlen(s, n);

	p = hs_malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *hs_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	p = hs_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
