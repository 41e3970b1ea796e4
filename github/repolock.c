/* repolock.c: per-repository mutual exclusion for content-creating calls. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "github/base/clock.h"
#include "github/base/mem.h"
#include "github/repolock.h"

struct slot {
	char *key;          /* "owner/name", lower case */
	int busy;
	int waiters;
	int64_t released_ms; /* monotonic time of the last release */
};

struct gh_repolock {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int min_interval_ms;
	struct slot *slots;
	size_t n, alloc;
	uint64_t contended;
};

struct gh_repolock *gh_repolock_new(int min_interval_ms)
{
	struct gh_repolock *l = hs_calloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->min_interval_ms = min_interval_ms > 0 ? min_interval_ms : 0;
	return l;
}

void gh_repolock_free(struct gh_repolock *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->slots[i].key);
	free(l->slots);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

static char *make_key(const char *owner, const char *name)
{
	char *k = hs_asprintf("%s/%s", owner ? owner : "", name ? name : "");

	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

/* The slot for key; idle slots are reused so the table stays small. */
static struct slot *get_slot(struct gh_repolock *l, const char *key)
{
	struct slot *idle = NULL;

	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->slots[i].key, key))
			return &l->slots[i];
		if (!idle && !l->slots[i].busy && !l->slots[i].waiters &&
		    hs_monotonic_ms() - l->slots[i].released_ms > l->min_interval_ms + 60000)
			idle = &l->slots[i];
	}
	if (idle && l->n >= 64) {
		free(idle->key);
		memset(idle, 0, sizeof(*idle));
		idle->key = hs_strdup(key);
		return idle;
	}
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->slots = hs_realloc(l->slots, l->alloc * sizeof(*l->slots));
	}
	memset(&l->slots[l->n], 0, sizeof(*l->slots));
	l->slots[l->n].key = hs_strdup(key);
	return &l->slots[l->n++];
}

void gh_repolock_acquire(struct gh_repolock *l, const char *owner, const char *name)
{
	char *key = make_key(owner, name);
	struct slot *s;
	int64_t wait = 0;

	pthread_mutex_lock(&l->mu);
	s = get_slot(l, key);
	if (s->busy)
		l->contended++;
	while (s->busy) {
		s->waiters++;
		pthread_cond_wait(&l->cv, &l->mu);
		s = get_slot(l, key); /* the table may have moved */
		s->waiters--;
	}
	s->busy = 1;
	if (l->min_interval_ms && s->released_ms)
		wait = s->released_ms + l->min_interval_ms - hs_monotonic_ms();
	pthread_mutex_unlock(&l->mu);
	free(key);
	if (wait > 0)
		hs_sleep_ms(wait);
}

void gh_repolock_release(struct gh_repolock *l, const char *owner, const char *name)
{
	char *key = make_key(owner, name);
	struct slot *s;

	pthread_mutex_lock(&l->mu);
	s = get_slot(l, key);
	s->busy = 0;
	s->released_ms = hs_monotonic_ms();
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	free(key);
}

uint64_t gh_repolock_contended(struct gh_repolock *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->mu);
	n = l->contended;
	pthread_mutex_unlock(&l->mu);
	return n;
}
