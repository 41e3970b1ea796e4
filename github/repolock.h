/* repolock.h: one content-creating call at a time per repository, across threads.
 *
 * GitHub asks that calls which create content (POST, PATCH, PUT, DELETE) be
 * made serially, and its Contents API fails when two writes to one
 * repository overlap.  One struct gh_repolock per process, shared by every
 * client: gh_repolock_acquire() blocks until no other thread is inside a
 * content-creating call on the same repository, and, when min_interval_ms is
 * set, until that long after the last one ended.  Thread-safe.
 */
#ifndef GH_REPOLOCK_H
#define GH_REPOLOCK_H

#include <stdint.h>

struct gh_repolock;

/* New (gh_repolock_free).  min_interval_ms: least gap between two
 * content-creating calls on one repository (0: none). */
struct gh_repolock *gh_repolock_new(int min_interval_ms);
void gh_repolock_free(struct gh_repolock *l);

/* Block until this thread holds owner/name (case-insensitive). */
void gh_repolock_acquire(struct gh_repolock *l, const char *owner, const char *name);
/* Release what gh_repolock_acquire took. */
void gh_repolock_release(struct gh_repolock *l, const char *owner, const char *name);

/*
 * Keep every content-creating call within GitHub's secondary limit: at most
 * `calls` of them (all repositories together) start in any window_ms (plus
 * half a second for the clocks); a call over the budget waits.  GitHub
 * documents 80 a minute.  calls 0 turns the budget off.  The starts are
 * kept in ring_path (borrowed; NULL keeps them in memory only) so that a
 * process restarted after a crash still knows the window before it.  Set it
 * before the lock is shared.
 */
void gh_repolock_set_budget(struct gh_repolock *l, int calls, int window_ms,
			    const char *ring_path);
/* How many calls waited for the budget. */
uint64_t gh_repolock_paced(struct gh_repolock *l);
/* How many acquisitions had to wait for another thread (for metrics). */
uint64_t gh_repolock_contended(struct gh_repolock *l);

#endif
