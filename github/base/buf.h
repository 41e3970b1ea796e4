/* buf.h: a growable byte buffer with a hard size cap.
 *
 * Everything read from the network or from users goes into an hs_buf whose
 * limit is set when it is initialized; an append that would pass the limit
 * fails with HS_ETOOBIG and leaves the buffer as it was.  The data is always
 * NUL-terminated (the terminator is not counted in len nor in the limit).
 */
#ifndef HS_BUF_H
#define HS_BUF_H

#include <stddef.h>

struct hs_buf {
	char *data;   /* NULL until the first append */
	size_t len;   /* bytes in use */
	size_t alloc; /* bytes allocated */
	size_t limit; /* most bytes len may reach */
};

#define HS_BUF_INIT(lim) { NULL, 0, 0, (lim) }

void hs_buf_init(struct hs_buf *b, size_t limit);
/* Free the data; b may be reused after hs_buf_init.  Accepts NULL. */
void hs_buf_release(struct hs_buf *b);
/* Keep the allocation, forget the contents. */
void hs_buf_reset(struct hs_buf *b);

int hs_buf_add(struct hs_buf *b, const void *p, size_t n);
int hs_buf_addstr(struct hs_buf *b, const char *s);
int hs_buf_addch(struct hs_buf *b, char c);
int hs_buf_addf(struct hs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The contents, "" when empty; borrowed, valid until the next append. */
const char *hs_buf_str(const struct hs_buf *b);
/* Take the data (new, caller frees; never NULL) and leave b empty. */
char *hs_buf_steal(struct hs_buf *b, size_t *len);

#endif
