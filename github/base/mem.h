/* mem.h: allocation that never returns NULL.
 *
 * hedgesync does not try to limp on after malloc fails: these print what
 * they tried to allocate and abort, so every other function can treat
 * allocation as infallible and keep one cleanup path for real errors.
 */
#ifndef HS_MEM_H
#define HS_MEM_H

#include <stddef.h>

void *hs_malloc(size_t n);
void *hs_calloc(size_t nmemb, size_t size);
void *hs_realloc(void *p, size_t n);
char *hs_strdup(const char *s);          /* NULL in, NULL out */
char *hs_strndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *hs_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
