/* repolock.c: per-repository mutual exclusion for content-creating calls. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "github/base/clock.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/repolock.h"

struct slot {
	char *key;          /* "owner/name", lower case */
	int busy;
	int waiters;
	int64_t released_ms; /* monotonic time of the last release */
	size_t ring_idx;     /* the budget entry of the call in progress */
	int64_t ring_val;    /* ... and the start it was given */
};

/*
 * A call counts from when it is let go until it ends: GitHub sees it
 * somewhere in between, and our clock and GitHub's are not the same.  The
 * margin, added to the window, covers what remains.
 */
#define BUDGET_MARGIN_MS 500

struct gh_repolock {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int min_interval_ms;
	struct slot *slots;
	size_t n, alloc;
	uint64_t contended;
	/* the process-wide budget: starts of the last `budget` calls */
	int budget;
	int64_t window_ms;   /* the budget's window, margin included */
	int64_t *starts;     /* ring of monotonic ms */
	size_t next;
	int fd;              /* the ring in wall-clock ms, or -1 */
	uint64_t paced;
};

struct gh_repolock *gh_repolock_new(int min_interval_ms)
{
	struct gh_repolock *l = hs_calloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->min_interval_ms = min_interval_ms > 0 ? min_interval_ms : 0;
	l->fd = -1;
	return l;
}

void gh_repolock_free(struct gh_repolock *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->slots[i].key);
	free(l->slots);
	free(l->starts);
	if (l->fd >= 0)
		close(l->fd);
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

/* Record a start (monotonic ms) in the ring and its file. */
static void put_start(struct gh_repolock *l, size_t idx, int64_t start)
{
	int64_t wall = hs_now_ms() + (start - hs_monotonic_ms());

	l->starts[idx] = start;
	/* best effort: a lost entry only makes the next process bolder */
	if (l->fd >= 0 && pwrite(l->fd, &wall, sizeof(wall), (off_t)(idx * sizeof(wall))) < 0)
		(void)0;
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
	if (l->budget) {
		/* this call may start a minute after the budget-th call before it */
		int64_t now = hs_monotonic_ms(), start = now + (wait > 0 ? wait : 0);
		int64_t oldest = l->starts[l->next];

		if (oldest && oldest + l->window_ms > start) {
			start = oldest + l->window_ms;
			l->paced++;
		}
		put_start(l, l->next, start);
		s->ring_idx = l->next;
		s->ring_val = start;
		l->next = (l->next + 1) % (size_t)l->budget;
		wait = start - now;
	}
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
	/* the call is over: it counts from now, unless its entry was reused */
	if (l->budget && l->starts[s->ring_idx] == s->ring_val)
		put_start(l, s->ring_idx, s->released_ms);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	free(key);
}

/*
 * Read the starts another process recorded in the ring file, as monotonic
 * times of this one; entries older than a minute, or from the future of a
 * clock that stepped back, do not count.
 */
static void load_ring(struct gh_repolock *l)
{
	int64_t now_wall = hs_now_ms(), now_mono = hs_monotonic_ms();
	int64_t newest = 0;
	struct stat st;

	if (fstat(l->fd, &st) || st.st_size != (off_t)(l->budget * sizeof(int64_t)))
		goto fresh;
	for (int i = 0; i < l->budget; i++) {
		int64_t wall;

		if (pread(l->fd, &wall, sizeof(wall), (off_t)(i * sizeof(wall))) != sizeof(wall))
			goto fresh;
		if (wall <= now_wall - l->window_ms || wall > now_wall + l->window_ms)
			continue;
		l->starts[i] = now_mono - (now_wall - wall);
		if (wall > newest) {
			newest = wall;
			l->next = (size_t)(i + 1) % (size_t)l->budget;
		}
	}
	return;
fresh:
	memset(l->starts, 0, (size_t)l->budget * sizeof(*l->starts));
	l->next = 0;
	if (ftruncate(l->fd, 0) || ftruncate(l->fd, (off_t)(l->budget * sizeof(int64_t))))
		hs_log(HS_LOG_WARN, NULL, NULL, "write budget file: cannot size it");
}

void gh_repolock_set_budget(struct gh_repolock *l, int calls, int window_ms,
			    const char *ring_path)
{
	pthread_mutex_lock(&l->mu);
	free(l->starts);
	l->starts = NULL;
	l->next = 0;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->budget = calls > 0 && window_ms > 0 ? calls : 0;
	l->window_ms = (int64_t)window_ms + BUDGET_MARGIN_MS;
	if (l->budget) {
		l->starts = hs_calloc((size_t)l->budget, sizeof(*l->starts));
		if (ring_path) {
			l->fd = open(ring_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (l->fd < 0)
				hs_log(HS_LOG_WARN, NULL, NULL, "write budget file %s: cannot open it",
				       ring_path);
			else
				load_ring(l);
		}
	}
	pthread_mutex_unlock(&l->mu);
}

uint64_t gh_repolock_paced(struct gh_repolock *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->mu);
	n = l->paced;
	pthread_mutex_unlock(&l->mu);
	return n;
}

uint64_t gh_repolock_contended(struct gh_repolock *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->mu);
	n = l->contended;
	pthread_mutex_unlock(&l->mu);
	return n;
}
