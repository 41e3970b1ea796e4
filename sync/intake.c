/* intake.c: one writer thread commits deliveries in batches. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "sync/intake.h"

#define BATCH_MAX 256

struct item {
	const struct store_delivery_in *d;
	int rc;
	int64_t job_id;
	char err[HS_ERRBUF];
	int done;
	pthread_cond_t cond; /* this item's waiter alone is woken */
	struct item *next;
};

struct intake {
	struct store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* items arrived, or stopping */
	struct item *head, *tail;
	int stopping;
};

static void run_batch(struct intake *in, struct item **items, size_t n)
{
	struct store_delivery_in d[BATCH_MAX] = { { 0 } };
	int result[BATCH_MAX];
	int64_t job[BATCH_MAX];
	char err[HS_ERRBUF] = "";
	int rc;

	for (size_t i = 0; i < n; i++)
		d[i] = *items[i]->d;
	rc = store_delivery_add_batch(in->store, d, n, result, job, err);
	if (rc == HS_ERETRY) /* the write lock stayed busy: one more try */
		rc = store_delivery_add_batch(in->store, d, n, result, job, err);
	pthread_mutex_lock(&in->lock);
	for (size_t i = 0; i < n; i++) {
		struct item *it = items[i];

		it->rc = rc ? rc : result[i];
		it->job_id = rc ? 0 : job[i];
		if (rc)
			memcpy(it->err, err, sizeof(it->err));
		else if (result[i] == HS_ECONFLICT)
			hs_seterr(it->err, "delivery %s is already stored", it->d->guid);
		it->done = 1;
		pthread_cond_signal(&it->cond);
	}
	pthread_mutex_unlock(&in->lock);
}

static void *writer_main(void *arg)
{
	struct intake *in = arg;
	struct item *items[BATCH_MAX];

	pthread_mutex_lock(&in->lock);
	for (;;) {
		size_t n = 0;

		while (!in->head && !in->stopping)
			pthread_cond_wait(&in->work, &in->lock);
		if (!in->head && in->stopping)
			break;
		while (in->head && n < BATCH_MAX) {
			items[n++] = in->head;
			in->head = in->head->next;
		}
		if (!in->head)
			in->tail = NULL;
		pthread_mutex_unlock(&in->lock);
		run_batch(in, items, n);
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

int intake_start(const char *db_path, struct intake **out, char *err)
{
	struct intake *in = hs_calloc(1, sizeof(*in));
	int rc;

	*out = NULL;
	rc = store_open(db_path, &in->store, err);
	if (rc) {
		free(in);
		return rc;
	}
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->work, NULL);
	if (pthread_create(&in->thread, NULL, writer_main, in)) {
		hs_seterr(err, "cannot start the intake writer thread");
		store_close(in->store);
		free(in);
		return HS_EIO;
	}
	*out = in;
	return HS_OK;
}

int intake_submit(struct intake *in, const struct store_delivery_in *d,
		  int64_t *job_id, char *err)
{
	struct item it;

	memset(&it, 0, sizeof(it));
	it.d = d;
	pthread_cond_init(&it.cond, NULL);
	pthread_mutex_lock(&in->lock);
	if (in->stopping) {
		pthread_mutex_unlock(&in->lock);
		pthread_cond_destroy(&it.cond);
		hs_seterr(err, "the service is stopping");
		return HS_ERETRY;
	}
	if (in->tail)
		in->tail->next = &it;
	else
		in->head = &it;
	in->tail = &it;
	pthread_cond_signal(&in->work);
	while (!it.done)
		pthread_cond_wait(&it.cond, &in->lock);
	pthread_mutex_unlock(&in->lock);
	pthread_cond_destroy(&it.cond);
	if (job_id)
		*job_id = it.job_id;
	if (it.rc)
		hs_seterr(err, "%s", it.err);
	return it.rc;
}

void intake_stop(struct intake *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->lock);
	in->stopping = 1;
	pthread_cond_signal(&in->work);
	pthread_mutex_unlock(&in->lock);
	pthread_join(in->thread, NULL);
	pthread_cond_destroy(&in->work);
	pthread_mutex_destroy(&in->lock);
	store_close(in->store);
	free(in);
}
