/* buf.c: growable byte buffer with a size cap. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"

void hs_buf_init(struct hs_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->limit = limit;
}

void hs_buf_release(struct hs_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void hs_buf_reset(struct hs_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int grow(struct hs_buf *b, size_t extra)
{
	size_t need, n;

	if (extra > b->limit - b->len)
		return HS_ETOOBIG;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return HS_OK;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	b->data = hs_realloc(b->data, n);
	b->alloc = n;
	return HS_OK;
}

int hs_buf_add(struct hs_buf *b, const void *p, size_t n)
{
	int rc = grow(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HS_OK;
}

int hs_buf_addstr(struct hs_buf *b, const char *s)
{
	return hs_buf_add(b, s, strlen(s));
}

int hs_buf_addch(struct hs_buf *b, char c)
{
	return hs_buf_add(b, &c, 1);
}

int hs_buf_addf(struct hs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return HS_EINVAL;
	rc = grow(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return HS_OK;
}

const char *hs_buf_str(const struct hs_buf *b)
{
	return b->data ? b->data : "";
}

char *hs_buf_steal(struct hs_buf *b, size_t *len)
{
	char *p;

	if (!b->data)
		(void)hs_buf_add(b, "", 0);
	if (!b->data) /* limit 0: still hand back a valid empty string */
		b->data = hs_calloc(1, 1);
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}
