/* arena.c: bump allocator over a chain of blocks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/mem.h"
#include "sync/arena.h"

#define ARENA_ALIGN 16
#define ARENA_MIN_BLOCK (64 * 1024)
#define ARENA_MAX_BLOCK (4 * 1024 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	/* data follows, aligned */
};

struct arena {
	struct arena_block *head; /* the block being filled */
	size_t next_size;         /* size of the next block to allocate */
	size_t used;
};

#define BLOCK_HDR ((sizeof(struct arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

struct arena *arena_new(void)
{
	struct arena *a = hs_calloc(1, sizeof(*a));

	a->next_size = ARENA_MIN_BLOCK;
	return a;
}

void arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

static void *block_data(struct arena_block *b)
{
	return (char *)b + BLOCK_HDR;
}

void *arena_alloc_raw(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t off = b ? (b->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1) : 0;
	void *p;

	if (!b || off > b->size || b->size - off < n) {
		size_t size = a->next_size;

		if (size < n)
			size = n;
		b = hs_malloc(BLOCK_HDR + size);
		b->size = size;
		b->used = 0;
		off = 0;
		/* a block too big for the normal chain goes behind the head so the
		 * head keeps filling */
		if (a->head && size > a->next_size) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
			if (a->next_size < ARENA_MAX_BLOCK)
				a->next_size *= 2;
		}
	}
	p = (char *)block_data(b) + off;
	a->used += n + (off - b->used);
	b->used = off + n;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	void *p = arena_alloc_raw(a, n);

	memset(p, 0, n);
	return p;
}

/* Strings need no alignment: pack them when the head block has room. */
static char *alloc_bytes(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;

	if (b && b->size - b->used >= n) {
		char *p = (char *)block_data(b) + b->used;

		b->used += n;
		a->used += n;
		return p;
	}
	return arena_alloc_raw(a, n);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = alloc_bytes(a, n + 1);

	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t arena_used(const struct arena *a)
{
	return a ? a->used : 0;
}
