/* queue.h: the background workers that run stored jobs.
 *
 * Each worker thread has its own database connection and leases one job at
 * a time (store_job_claim); a keeper thread renews the leases of running
 * jobs, so a job outlives its lease only when its process died, and is then
 * run again.  Failures are retried with exponential backoff and jitter, then
 * dead-lettered after max_attempts.
 */
#ifndef SYNC_QUEUE_H
#define SYNC_QUEUE_H

#include "sync/env.h"

struct queue_opts {
	const struct sync_env *env; /* borrowed; must outlive the queue */
	int workers;                /* threads */
	int lease_ms;
	int max_attempts;
	int retry_base_ms;          /* first retry delay; doubles each attempt */
	int retry_max_ms;
};

struct queue;

/* Start the workers; *out is new. */
int queue_start(const struct queue_opts *opts, struct queue **out, char *err);

/* Wake idle workers: a job was just stored.  Safe from any thread. */
void queue_notify(struct queue *q);

/*
 * Stop claiming jobs and wait up to grace_ms for running ones to finish;
 * jobs still running after that are released (queued again, the attempt not
 * counted) and their threads abandoned to process exit.  Then free q.
 * Returns the number of jobs released.
 */
int queue_stop(struct queue *q, int grace_ms);

/* The delay before attempt `attempt + 1` after `attempt` failures. */
int queue_backoff_ms(const struct queue_opts *opts, int attempt, unsigned *seed);

#endif
