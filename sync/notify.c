/* notify.c: the NetBox outbox's sender thread. */
#include <curl/curl.h>
#include <jansson.h>
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
#include "sync/notify.h"
#include "sync/store.h"

#define NOTIFY_IDLE_MS 1000            /* look at the outbox at least this often */
#define NOTIFY_ANSWER_MAX (64u << 10)  /* NetBox's answer is read and dropped */
#define NOTIFY_KEEP_MS (7LL * 86400 * 1000) /* delivered notifications kept a week */
#define NOTIFY_PURGE_EVERY_MS (3600LL * 1000)

struct notifier {
	struct notify_opts o;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int kicked;
	volatile int stopping;
	unsigned seed;
};

/* The notification being sent, copied out of the store's row. */
struct sending {
	int64_t id, since_ms;
	int attempts;
	char *fabric, *body;
};

char *notify_body(const struct store_note *n)
{
	json_t *res = n->spec ? json_loads(n->spec, 0, NULL) : NULL;
	json_t *spec = json_object_get(res, "spec");
	json_t *b = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}",
			      "change_id", (json_int_t)n->id, "sequence", (json_int_t)n->seq,
			      "fabric", n->fabric, "action", n->action, "kind", n->kind,
			      "name", n->name, "path", n->path, "blob_sha", n->blob_sha,
			      "commit", n->commit_sha, "origin", n->origin);
	char *out;

	if (n->operation)
		json_object_set_new(b, "operation", json_string(n->operation));
	json_object_set(b, "spec", spec ? spec : json_null());
	json_object_set(b, "resource", res ? res : json_null());
	out = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	json_decref(res);
	return out;
}

static int take(const struct store_note *n, void *arg)
{
	struct sending *s = arg;

	s->id = n->id;
	s->since_ms = n->since_ms;
	s->attempts = n->attempts;
	s->fabric = hs_strdup(n->fabric);
	s->body = notify_body(n);
	return 0;
}

static size_t drop_answer(char *p, size_t size, size_t n, void *arg)
{
	size_t *seen = arg;

	(void)p;
	*seen += size * n;
	return *seen > NOTIFY_ANSWER_MAX ? 0 : size * n;
}

static int abort_on_stop(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const struct notifier *nt = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return nt->stopping;
}

/* POST one body: HS_OK for a 2xx, else an error with the reason in err. */
static int post(struct notifier *nt, CURL *c, const struct sending *s, char *err)
{
	struct curl_slist *h = NULL;
	char hdr[96], *auth = NULL;
	size_t seen = 0;
	long status = 0;
	CURLcode cc;
	int rc = HS_OK;

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	snprintf(hdr, sizeof(hdr), "X-Hedgesync-Change: %lld", (long long)s->id);
	h = curl_slist_append(h, hdr);
	if (nt->o.token && *nt->o.token) {
		auth = hs_asprintf("Authorization: Token %s", nt->o.token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, nt->o.url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hedgesync/" HS_VERSION);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)nt->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &seen);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, nt);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status >= 200 && status < 300)) {
		hs_seterr(err, "NetBox unreachable: %s", curl_easy_strerror(cc));
		rc = HS_ERETRY;
	} else if (status < 200 || status >= 300) {
		hs_seterr(err, "NetBox answered %ld", status);
		rc = HS_ERETRY;
	}
	curl_slist_free_all(h);
	if (auth) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	return rc;
}

static int64_t backoff_ms(struct notifier *nt, int attempts)
{
	int64_t d = nt->o.retry_base_ms;

	for (int i = 1; i < attempts && d < nt->o.retry_max_ms; i++)
		d *= 2;
	if (d > nt->o.retry_max_ms)
		d = nt->o.retry_max_ms;
	return d * (75 + rand_r(&nt->seed) % 51) / 100;
}

static void wait_for_work(struct notifier *nt, int64_t ms)
{
	struct timespec ts;

	hs_deadline_ms(&ts, CLOCK_REALTIME, ms);
	pthread_mutex_lock(&nt->mu);
	while (!nt->kicked && !nt->stopping)
		if (pthread_cond_timedwait(&nt->cv, &nt->mu, &ts))
			break;
	nt->kicked = 0;
	pthread_mutex_unlock(&nt->mu);
}

/* One notification: send it and record the outcome.  1 when one was due. */
static int send_next(struct notifier *nt, struct store *st, CURL *c, int64_t *next_ms)
{
	struct sending s = { 0 };
	char err[HS_ERRBUF] = "", dberr[HS_ERRBUF] = "", idbuf[24];
	int64_t now = hs_now_ms();
	int rc = store_note_next(st, now, take, &s, next_ms, dberr);

	if (rc) {
		if (rc != HS_ENOTFOUND)
			hs_log(HS_LOG_WARN, NULL, NULL, "outbox: %s", dberr);
		return 0;
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)s.id);
	rc = post(nt, c, &s, err);
	now = hs_now_ms();
	if (rc == HS_OK) {
		rc = store_note_delivered(st, s.id, now, dberr);
		hs_metrics_add(nt->o.metrics, "hedgesync_netbox_notifications_total",
			       "outcome=\"delivered\"", 1);
		hs_log(HS_LOG_DEBUG, "change", idbuf, "fabric %s: delivered to NetBox", s.fabric);
	} else if (!nt->stopping) {
		int64_t when = now + backoff_ms(nt, s.attempts + 1);
		int dead = when - s.since_ms > nt->o.give_up_ms;

		rc = store_note_failed(st, s.id, when, dead, err, dberr);
		hs_metrics_add(nt->o.metrics, "hedgesync_netbox_notifications_total",
			       dead ? "outcome=\"dead\"" : "outcome=\"failed\"", 1);
		hs_log(dead ? HS_LOG_ERROR : HS_LOG_WARN, "change", idbuf,
		       "fabric %s: %s (attempt %d)%s", s.fabric, err, s.attempts + 1,
		       dead ? "; dead-lettered" : "");
	} else {
		rc = HS_OK; /* stopping: sent again by the next process */
	}
	if (rc)
		hs_log(HS_LOG_WARN, "change", idbuf, "outbox: %s", dberr);
	free(s.fabric);
	free(s.body);
	return 1;
}

static void *notify_main(void *arg)
{
	struct notifier *nt = arg;
	struct store *st = NULL;
	CURL *c = curl_easy_init();
	char err[HS_ERRBUF];
	int64_t purged = 0;

	if (!c || store_open(nt->o.db_path, &st, err)) {
		hs_error("NetBox notifications cannot start: %s", c ? err : "no curl handle");
		goto out;
	}
	while (!nt->stopping) {
		int64_t next = 0, now;

		if (send_next(nt, st, c, &next))
			continue;
		now = hs_now_ms();
		if (now - purged > NOTIFY_PURGE_EVERY_MS) {
			if (store_note_purge(st, now - NOTIFY_KEEP_MS, err))
				hs_log(HS_LOG_WARN, NULL, NULL, "outbox: %s", err);
			purged = now;
		}
		wait_for_work(nt, next && next - now < NOTIFY_IDLE_MS ?
			      (next > now ? next - now : 1) : NOTIFY_IDLE_MS);
	}
out:
	store_close(st);
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

int notify_start(const struct notify_opts *o, struct notifier **out, char *err)
{
	struct notifier *nt = hs_calloc(1, sizeof(*nt));

	nt->o = *o;
	if (nt->o.retry_base_ms <= 0)
		nt->o.retry_base_ms = 1000;
	if (nt->o.retry_max_ms < nt->o.retry_base_ms)
		nt->o.retry_max_ms = nt->o.retry_base_ms;
	if (nt->o.give_up_ms <= 0)
		nt->o.give_up_ms = 86400LL * 1000;
	if (nt->o.timeout_ms <= 0)
		nt->o.timeout_ms = 30000;
	nt->seed = (unsigned)(time(NULL) ^ (getpid() << 4));
	pthread_mutex_init(&nt->mu, NULL);
	pthread_cond_init(&nt->cv, NULL);
	if (pthread_create(&nt->thread, NULL, notify_main, nt)) {
		hs_seterr(err, "cannot start the NetBox notification thread");
		pthread_mutex_destroy(&nt->mu);
		pthread_cond_destroy(&nt->cv);
		free(nt);
		return HS_EIO;
	}
	*out = nt;
	return HS_OK;
}

void notify_kick(struct notifier *nt)
{
	if (!nt)
		return;
	pthread_mutex_lock(&nt->mu);
	nt->kicked = 1;
	pthread_cond_signal(&nt->cv);
	pthread_mutex_unlock(&nt->mu);
}

void notify_stop(struct notifier *nt)
{
	if (!nt)
		return;
	pthread_mutex_lock(&nt->mu);
	nt->stopping = 1;
	pthread_cond_signal(&nt->cv);
	pthread_mutex_unlock(&nt->mu);
	pthread_join(nt->thread, NULL);
	pthread_mutex_destroy(&nt->mu);
	pthread_cond_destroy(&nt->cv);
	free(nt);
}
