/* arena.h: bump allocation for trees that live and die together.
 *
 * An arena hands out memory from large blocks and frees it all at once with
 * arena_free; there is no per-object free.  The YAML engine puts every node,
 * string and fact of a load in one arena, which makes building a tree of a
 * million nodes cost a few hundred mallocs instead of a million.
 *
 * Not thread-safe: one arena belongs to one thread at a time.  Allocation
 * never fails (hs_malloc aborts on exhaustion).
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

struct arena;

/* A new, empty arena (new; free with arena_free). */
struct arena *arena_new(void);
/* Free the arena and everything allocated from it.  Accepts NULL. */
void arena_free(struct arena *a);

/* n bytes aligned for any scalar type, zero-filled; borrowed from a. */
void *arena_alloc(struct arena *a, size_t n);
/* n bytes, aligned, not zeroed. */
void *arena_alloc_raw(struct arena *a, size_t n);
/* A NUL-terminated copy of s[0..n) (s may hold NUL bytes). */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Bytes handed out so far (for statistics). */
size_t arena_used(const struct arena *a);

#endif
