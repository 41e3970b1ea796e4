/* queue.c: worker threads, leases, retries and dead letters. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/base/metrics.h"
#include "github/http.h"
#include "sync/blobcache.h"
#include "sync/events.h"
#include "sync/queue.h"
#include "sync/store.h"

#define IDLE_WAIT_MS 500

struct worker {
	struct queue *q;
	pthread_t thread;
	char owner[128];
	int64_t running_job; /* 0 when idle; guarded by q->lock */
	int exited;          /* guarded by q->lock */
	unsigned seed;
};

struct queue {
	struct queue_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* new work, or stopping */
	pthread_cond_t exited; /* a worker left its loop */
	pthread_cond_t keeper_wake; /* stopping, for the lease keeper alone */
	volatile int stopping;
	int pending_wakeups;
	struct worker *w;
	int n;
	pthread_t keeper;
	int keeper_started;
};

int queue_backoff_ms(const struct queue_opts *opts, int attempt, unsigned *seed)
{
	int64_t d = opts->retry_base_ms;

	for (int i = 1; i < attempt && d < opts->retry_max_ms; i++)
		d *= 2;
	if (d > opts->retry_max_ms)
		d = opts->retry_max_ms;
	/* jitter: 75%..125%, so retries of many jobs do not arrive together */
	d = d * (75 + rand_r(seed) % 51) / 100;
	return (int)(d < 1 ? 1 : d);
}

static void run_job(struct worker *w, struct store *st, struct gh_client *gh,
		    struct store_job *job)
{
	struct queue *q = w->q;
	struct hs_metrics *m = q->opts.env->metrics;
	const struct ev_handler *h = ev_for_kind(job->kind);
	char err[HS_ERRBUF] = "", labels[96], id[32];
	struct ev_ctx ctx;
	json_t *payload = NULL;
	int64_t t0 = hs_monotonic_ms(), elapsed;
	int rc;

	snprintf(labels, sizeof(labels), "kind=\"%s\"", h ? h->kind : "unknown");
	snprintf(id, sizeof(id), "%lld", (long long)job->id);
	hs_metrics_add(m, "hedgesync_job_attempts_total", labels, 1);

	if (!h) {
		hs_seterr(err, "no handler for job kind %s", job->kind);
		rc = HS_EINVAL;
	} else {
		if (job->payload_len)
			payload = json_loadb(job->payload, job->payload_len, 0, NULL);
		memset(&ctx, 0, sizeof(ctx));
		ctx.env = q->opts.env;
		ctx.store = st;
		ctx.gh = gh;
		ctx.job = job;
		ctx.payload = payload;
		ctx.stopping = &q->stopping;
		ctx.last_attempt = job->attempts >= q->opts.max_attempts;
		ctx.err = err;
		rc = h->fn(&ctx);
	}
	elapsed = hs_monotonic_ms() - t0;
	hs_metrics_observe(m, "hedgesync_job_duration_seconds", labels, elapsed / 1000.0);

	if (rc == HS_OK) {
		if (store_job_done(st, job->id, w->owner, elapsed, err) == HS_OK) {
			hs_metrics_observe(m, "hedgesync_job_latency_seconds", labels,
					   (hs_now_ms() - job->created_ms) / 1000.0);
			hs_log(HS_LOG_INFO, "delivery", job->guid ? job->guid : id,
			       "job %lld %s done in %lld ms (attempt %d)", (long long)job->id,
			       job->kind, (long long)elapsed, job->attempts);
		} else {
			hs_log(HS_LOG_WARN, "delivery", job->guid ? job->guid : id,
			       "job %lld finished but %s", (long long)job->id, err);
		}
	} else {
		int dead = rc == HS_EINVAL || job->attempts >= q->opts.max_attempts;
		int64_t when = dead ? 0 : hs_now_ms() +
			queue_backoff_ms(&q->opts, job->attempts, &w->seed);
		char reason[HS_ERRBUF];

		snprintf(reason, sizeof(reason), "%s", err[0] ? err : hs_strerror(rc));
		hs_metrics_add(m, "hedgesync_job_failures_total", labels, 1);
		if (store_job_fail(st, job->id, w->owner, when, reason, err) != HS_OK)
			hs_log(HS_LOG_WARN, "delivery", job->guid ? job->guid : id,
			       "could not record failure: %s", err);
		hs_log(dead ? HS_LOG_ERROR : HS_LOG_WARN, "delivery",
		       job->guid ? job->guid : id, "job %lld %s attempt %d failed: %s%s",
		       (long long)job->id, job->kind, job->attempts, reason,
		       dead ? " (dead-lettered)" : "");
	}
	json_decref(payload);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct queue *q = w->q;
	struct store *st = NULL;
	struct gh_client *gh = NULL;
	struct gh_blob_cache blobs;
	char err[HS_ERRBUF];

	if (store_open(q->opts.env->db_path, &st, err)) {
		hs_error("worker %s: %s", w->owner, err);
		goto out;
	}
	if (q->opts.env->gh_auth) {
		struct gh_client_opts o;

		/* one client per worker: its own keep-alive connection, and its
		 * own database connection behind the blob cache */
		gh_client_opts_init(&o);
		blobcache_init(&blobs, st);
		o.base_url = q->opts.env->github_api_url;
		o.auth = q->opts.env->gh_auth;
		o.locks = q->opts.env->gh_locks;
		o.blobs = &blobs;
		if (gh_client_new(&gh, &o, err))
			hs_error("worker %s: GitHub client: %s", w->owner, err);
	}
	while (!q->stopping) {
		struct store_job *job = NULL;
		int rc = store_job_claim(st, w->owner, hs_now_ms(), q->opts.lease_ms, &job, err);

		if (rc == HS_OK) {
			pthread_mutex_lock(&q->lock);
			w->running_job = job->id;
			pthread_mutex_unlock(&q->lock);
			run_job(w, st, gh, job);
			pthread_mutex_lock(&q->lock);
			w->running_job = 0;
			pthread_mutex_unlock(&q->lock);
			store_job_free(job);
			continue;
		}
		if (rc != HS_ENOTFOUND)
			hs_warn("worker %s: claim: %s", w->owner, err);
		/* Nothing runnable: sleep until notified or a retry may be due. */
		pthread_mutex_lock(&q->lock);
		if (!q->stopping && !q->pending_wakeups) {
			struct timespec ts;

			hs_deadline_ms(&ts, CLOCK_REALTIME, IDLE_WAIT_MS);
			pthread_cond_timedwait(&q->wake, &q->lock, &ts);
		}
		if (q->pending_wakeups)
			q->pending_wakeups--;
		pthread_mutex_unlock(&q->lock);
	}
out:
	gh_client_free(gh);
	store_close(st);
	pthread_mutex_lock(&q->lock);
	w->exited = 1;
	pthread_cond_broadcast(&q->exited);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Renew the leases of running jobs every third of a lease. */
static void *keeper_main(void *arg)
{
	struct queue *q = arg;
	struct store *st = NULL;
	char err[HS_ERRBUF];

	if (store_open(q->opts.env->db_path, &st, err)) {
		hs_error("lease keeper: %s", err);
		return NULL;
	}
	pthread_mutex_lock(&q->lock);
	while (!q->stopping) {
		struct timespec ts;
		int64_t until = hs_now_ms() + q->opts.lease_ms;

		for (int i = 0; i < q->n; i++) {
			int64_t id = q->w[i].running_job;

			if (!id)
				continue;
			pthread_mutex_unlock(&q->lock);
			store_job_renew(st, id, q->w[i].owner, until);
			pthread_mutex_lock(&q->lock);
		}
		hs_deadline_ms(&ts, CLOCK_REALTIME, q->opts.lease_ms / 3);
		pthread_cond_timedwait(&q->keeper_wake, &q->lock, &ts);
	}
	pthread_mutex_unlock(&q->lock);
	store_close(st);
	return NULL;
}

int queue_start(const struct queue_opts *opts, struct queue **out, char *err)
{
	struct queue *q = hs_calloc(1, sizeof(*q));
	char host[64] = "localhost";

	q->opts = *opts;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	pthread_cond_init(&q->exited, NULL);
	pthread_cond_init(&q->keeper_wake, NULL);
	gethostname(host, sizeof(host) - 1);
	q->w = hs_calloc((size_t)opts->workers, sizeof(*q->w));
	for (int i = 0; i < opts->workers; i++) {
		struct worker *w = &q->w[i];

		w->q = q;
		w->seed = (unsigned)(time(NULL) ^ (getpid() << 8) ^ i);
		snprintf(w->owner, sizeof(w->owner), "%s:%d:%lld:%d", host, (int)getpid(),
			 (long long)hs_now_ms(), i);
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			hs_seterr(err, "cannot start worker thread %d", i);
			q->n = i;
			queue_stop(q, 0);
			return HS_EIO;
		}
		q->n = i + 1;
	}
	if (pthread_create(&q->keeper, NULL, keeper_main, q) == 0)
		q->keeper_started = 1;
	*out = q;
	return HS_OK;
}

void queue_notify(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->pending_wakeups < q->n)
		q->pending_wakeups++;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

int queue_stop(struct queue *q, int grace_ms)
{
	struct timespec ts;
	int released = 0, all_exited;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->wake);
	pthread_cond_broadcast(&q->keeper_wake);
	hs_deadline_ms(&ts, CLOCK_REALTIME, grace_ms);
	for (;;) {
		all_exited = 1;
		for (int i = 0; i < q->n; i++)
			all_exited &= q->w[i].exited;
		if (all_exited || pthread_cond_timedwait(&q->exited, &q->lock, &ts))
			break;
	}
	pthread_mutex_unlock(&q->lock);
	if (q->keeper_started)
		pthread_join(q->keeper, NULL);

	if (!all_exited) {
		/* Give back what is still running, so another process (or this one
		 * after a restart) runs it promptly instead of after the lease. */
		struct store *st = NULL;
		char err[HS_ERRBUF];

		if (store_open(q->opts.env->db_path, &st, err) == HS_OK) {
			pthread_mutex_lock(&q->lock);
			for (int i = 0; i < q->n; i++) {
				if (q->w[i].exited || !q->w[i].running_job)
					continue;
				if (store_job_release(st, q->w[i].running_job, q->w[i].owner) == HS_OK)
					released++;
			}
			pthread_mutex_unlock(&q->lock);
			store_close(st);
		}
		/* The abandoned threads still use q: it is left to process exit. */
		return released;
	}
	for (int i = 0; i < q->n; i++)
		pthread_join(q->w[i].thread, NULL);
	pthread_cond_destroy(&q->wake);
	pthread_cond_destroy(&q->exited);
	pthread_cond_destroy(&q->keeper_wake);
	pthread_mutex_destroy(&q->lock);
	free(q->w);
	free(q);
	return 0;
}
