/* server.c: listen, accept FastCGI requests on N threads, run the workers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "fcgi/server.h"
#include "fcgi/setup.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/base/metrics.h"
#include "github/app_auth.h"
#include "github/repolock.h"
#include "github/http.h"
#include "sync/fabric.h"
#include "sync/intake.h"
#include "sync/redeliver.h"
#include "sync/queue.h"
#include "sync/notify.h"
#include "sync/store.h"

#define STOP_GRACE_MS 20000
#define REDELIVER_FIRST_MS 2000 /* after start: let the socket settle first */

/* Scans for deliveries GitHub failed to make, at start and periodically. */
struct redeliverer {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping, started;
	volatile sig_atomic_t stop_flag; /* ends the client's waits and retries */
};

static void *redeliver_main(void *arg)
{
	struct redeliverer *rd = arg;
	struct app *app = rd->app;
	struct store *st = NULL;
	struct gh_client *gh = NULL;
	struct gh_client_opts o;
	char err[HS_ERRBUF];
	int64_t wait_ms = REDELIVER_FIRST_MS;

	if (store_open(app->env.db_path, &st, err)) {
		hs_error("redelivery: %s", err);
		return NULL;
	}
	gh_client_opts_init(&o);
	o.base_url = app->env.github_api_url;
	o.auth = app->env.gh_auth;
	o.locks = app->env.gh_locks;
	o.stop = &rd->stop_flag;
	if (gh_client_new(&gh, &o, err)) {
		hs_error("redelivery: %s", err);
		store_close(st);
		return NULL;
	}
	pthread_mutex_lock(&rd->lock);
	for (;;) {
		struct timespec ts;
		int asked = 0;

		hs_deadline_ms(&ts, CLOCK_REALTIME, wait_ms);
		while (!rd->stopping && pthread_cond_timedwait(&rd->wake, &rd->lock, &ts) == 0)
			;
		if (rd->stopping)
			break;
		pthread_mutex_unlock(&rd->lock);
		if (redeliver_scan(st, gh, hs_now_ms(), &asked, err))
			hs_warn("redelivery scan: %s", err);
		else if (asked)
			hs_info("redelivery scan: asked GitHub for %d missed deliveries", asked);
		pthread_mutex_lock(&rd->lock);
		wait_ms = (int64_t)app->cfg->redeliver_seconds * 1000;
	}
	pthread_mutex_unlock(&rd->lock);
	gh_client_free(gh);
	store_close(st);
	return NULL;
}

struct req_thread {
	struct app *app;
	pthread_t thread;
	int done;
};

static void *request_main(void *arg)
{
	struct req_thread *t = arg;
	struct app *app = t->app;
	struct store *store = NULL;
	FCGX_Request fcgx;
	char err[HS_ERRBUF];

	if (store_open(app->env.db_path, &store, err)) {
		hs_error("request thread: %s", err);
		goto out;
	}
	FCGX_InitRequest(&fcgx, app->listen_fd, 0);
	while (!app->stopping && FCGX_Accept_r(&fcgx) >= 0) {
		struct http_req r;

		http_req_init(&r, &fcgx, app, store);
		routes_dispatch(&r);
		if (!r.replied)
			http_error(&r, 500, "internal", "no reply was made", NULL);
		hs_log(HS_LOG_DEBUG, NULL, NULL, "%s %s %d", r.method, r.path, r.status);
		http_req_release(&r);
		FCGX_Finish_r(&fcgx);
	}
	FCGX_Free(&fcgx, 1);
out:
	store_close(store);
	t->done = 1;
	return NULL;
}

static void describe_metrics(struct hs_metrics *m)
{
	hs_metrics_describe(m, "hedgesync_build_info", "gauge",
			    "Version of the running hedgesync.");
	hs_metrics_describe(m, "hedgesync_webhook_deliveries_total", "counter",
			    "Webhook deliveries received, by event and outcome.");
	hs_metrics_describe(m, "hedgesync_deliveries_stored", "gauge",
			    "Deliveries recorded in the database.");
	hs_metrics_describe(m, "hedgesync_jobs", "gauge",
			    "Jobs in the database by state (queued includes retries waiting).");
	hs_metrics_describe(m, "hedgesync_netbox_outbox", "gauge",
			    "NetBox notifications waiting (pending) or given up (dead).");
	hs_metrics_describe(m, "hedgesync_netbox_outbox_oldest_seconds", "gauge",
			    "Age of the oldest NetBox notification still waiting.");
	hs_metrics_describe(m, "hedgesync_netbox_notifications_total", "counter",
			    "NetBox notification attempts, by outcome.");
	hs_metrics_describe(m, "hedgesync_operations", "gauge",
			    "Change requests from NetBox and the API, by state.");
	hs_metrics_describe(m, "hedgesync_job_attempts_total", "counter",
			    "Job attempts started, by kind.");
	hs_metrics_describe(m, "hedgesync_job_failures_total", "counter",
			    "Job attempts that failed, by kind.");
	hs_metrics_describe(m, "hedgesync_job_duration_seconds", "histogram",
			    "Time one job attempt ran, by kind.");
	hs_metrics_describe(m, "hedgesync_job_latency_seconds", "histogram",
			    "Time from a job's arrival to its completion, by kind.");
	{
		char labels[128];

		snprintf(labels, sizeof(labels), "version=\"%s\"", HS_VERSION);
		hs_metrics_set(m, "hedgesync_build_info", labels, 1);
	}
}

static int open_listener(const char *spec, char *err)
{
	int is_unix, fd;
	const char *addr;
	struct stat sb;

	if (cfg_parse_listen(spec, &is_unix, &addr)) {
		hs_seterr(err, "bad HEDGESYNC_LISTEN %s", spec);
		return -1;
	}
	if (is_unix && stat(addr, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			hs_seterr(err, "%s exists and is not a socket", addr);
			return -1;
		}
		unlink(addr); /* a stale socket of a previous run */
	}
	fd = FCGX_OpenSocket(addr, 1024);
	if (fd < 0) {
		hs_seterr(err, "cannot listen on %s: %s", spec, strerror(errno));
		return -1;
	}
	if (is_unix)
		chmod(addr, 0660); /* the web server's group must reach it */
	return fd;
}

int server_run(const struct hs_config *cfg)
{
	struct app app;
	struct req_thread *threads = NULL;
	struct queue_opts qopts;
	struct store *store = NULL;
	sigset_t sigs;
	char err[HS_ERRBUF];
	int sig = 0, status = 1, released, all_done = 1;
	struct redeliverer rd;
	const char *retry_base = getenv("HEDGESYNC_RETRY_BASE_MS");
	char *notify_url = NULL;

	memset(&app, 0, sizeof(app));
	memset(&rd, 0, sizeof(rd));
	rd.app = &app;
	pthread_mutex_init(&rd.lock, NULL);
	pthread_cond_init(&rd.wake, NULL);
	app.cfg = cfg;
	app.listen_fd = -1;
	app.env.db_path = cfg->db_path;
	app.env.test_handlers = cfg->test_handlers;
	app.env.test_record = getenv("HEDGESYNC_TEST_RECORD");
	app.metrics = hs_metrics_new();
	app.env.metrics = app.metrics;
	describe_metrics(app.metrics);

	/* Every thread inherits this mask; the main thread takes the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGPIPE);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (store_open(cfg->db_path, &store, err) || store_migrate(store, err)) {
		hs_error("database %s: %s", cfg->db_path, err);
		goto out;
	}
	if (FCGX_Init()) {
		hs_error("FCGX_Init failed");
		goto out;
	}
	app.listen_fd = open_listener(cfg->listen, err);
	if (app.listen_fd < 0) {
		hs_error("%s", err);
		goto out;
	}

	if (cfg->setup) {
		/* no App yet: only /healthz and the pages that register one */
		if (setup_init(&app, err)) {
			hs_error("%s", err);
			goto out;
		}
		goto serve;
	}
	{
		struct gh_auth_opts ao = { 0 };
		char *ring;

		ao.iss = cfg->app_id;
		ao.key_pem = cfg->private_key;
		ao.key_len = strlen(cfg->private_key);
		if (gh_auth_new(&app.env.gh_auth, &ao, err)) {
			hs_error("GitHub App key: %s", err);
			goto out;
		}
		ring = hs_asprintf("%s.writes", cfg->db_path);
		app.env.gh_locks = gh_repolock_new(0);
		/* beside the database: a restart must not forget the last minute */
		gh_repolock_set_budget(app.env.gh_locks, cfg->writes_per_minute, 60000, ring);
		free(ring);
		app.env.github_api_url = cfg->github_api_url;
	}
	/* the outbox fills only while there is a NetBox to tell */
	if (store_notify_enable(store, cfg->netbox_url != NULL, err)) {
		hs_error("database %s: %s", cfg->db_path, err);
		goto out;
	}
	if (cfg->netbox_url) {
		struct notify_opts no = { 0 };

		notify_url = hs_asprintf("%s%s%s", cfg->netbox_url,
					 cfg->netbox_notify_path[0] == '/' ? "" : "/",
					 cfg->netbox_notify_path);
		no.db_path = cfg->db_path;
		no.url = notify_url;
		no.token = cfg->netbox_token;
		no.retry_base_ms = retry_base ? atoi(retry_base) : 1000;
		no.retry_max_ms = 600 * 1000;
		no.give_up_ms = (int64_t)cfg->notify_give_up_seconds * 1000;
		no.metrics = app.metrics;
		if (notify_start(&no, &app.env.notifier, err)) {
			hs_error("%s", err);
			goto out;
		}
	}
	if (intake_start(cfg->db_path, &app.intake, err)) {
		hs_error("%s", err);
		goto out;
	}
	memset(&qopts, 0, sizeof(qopts));
	qopts.env = &app.env;
	qopts.workers = cfg->workers;
	qopts.lease_ms = cfg->lease_seconds * 1000;
	qopts.max_attempts = cfg->job_attempts;
	qopts.retry_base_ms = retry_base ? atoi(retry_base) : 2000;
	if (qopts.retry_base_ms < 1)
		qopts.retry_base_ms = 2000;
	qopts.retry_max_ms = 3600 * 1000;
	if (queue_start(&qopts, &app.queue, err)) {
		hs_error("%s", err);
		goto out;
	}

	{
		/* pushes lost with a previous process: each fabric checks its branch */
		int n = 0;

		if (fabric_queue_catchup(store, &n, err))
			hs_warn("catch-up of fabrics: %s", err);
		else if (n)
			queue_notify(app.queue);
	}
serve:
	threads = hs_calloc((size_t)cfg->threads, sizeof(*threads));
	for (int i = 0; i < cfg->threads; i++) {
		threads[i].app = &app;
		if (pthread_create(&threads[i].thread, NULL, request_main, &threads[i])) {
			hs_error("cannot start request thread %d", i);
			app.stopping = 1;
			goto out;
		}
	}
	if (!cfg->setup && cfg->redeliver_seconds > 0 &&
	    pthread_create(&rd.thread, NULL, redeliver_main, &rd) == 0)
		rd.started = 1;
	if (cfg->setup) {
		hs_info("hedgesync %s has no GitHub App yet; to register one, open %s%s in a browser"
			" (this link works once)", HS_VERSION,
			cfg->public_url ? cfg->public_url : "https://<this host>", setup_path(&app));
	} else {
		hs_info("hedgesync %s serving on %s (%d request threads, %d workers, database %s)",
			HS_VERSION, cfg->listen, cfg->threads, cfg->workers, cfg->db_path);
	}

	/* SIGUSR1: /setup registered the App (only then: otherwise ignored) */
	while (sigwait(&sigs, &sig) == 0 &&
	       (sig == SIGHUP || sig == SIGPIPE || (sig == SIGUSR1 && !app.setup)))
		;
	hs_info("signal %d: stopping", sig);
	status = sig == SIGUSR1 ? SERVER_RESTART : 0;
out:
	app.stopping = 1;
	if (rd.started) {
		pthread_mutex_lock(&rd.lock);
		rd.stopping = 1;
		rd.stop_flag = 1;
		pthread_cond_signal(&rd.wake);
		pthread_mutex_unlock(&rd.lock);
		/* a scan in progress ends with its HTTP timeouts at the latest */
		pthread_join(rd.thread, NULL);
	}
	FCGX_ShutdownPending();
	if (app.listen_fd >= 0) {
		/* Wake the threads blocked in accept(): they see an error and end. */
		shutdown(app.listen_fd, SHUT_RDWR);
	}
	if (threads) {
		int64_t deadline = hs_monotonic_ms() + STOP_GRACE_MS;

		for (int i = 0; i < cfg->threads; i++) {
			if (!threads[i].thread)
				continue;
			while (!threads[i].done && hs_monotonic_ms() < deadline)
				hs_sleep_ms(10);
			if (threads[i].done)
				pthread_join(threads[i].thread, NULL);
			else
				all_done = 0;
		}
	}
	/* No request thread submits any more (or one outlived the grace and is
	 * abandoned to exit, in which case the writer must stay). */
	if (all_done)
		intake_stop(app.intake);
	released = queue_stop(app.queue, STOP_GRACE_MS);
	/* after the workers: they kick it */
	notify_stop(app.env.notifier);
	app.env.notifier = NULL;
	free(notify_url);
	if (released)
		hs_warn("released %d unfinished jobs for a later run", released);
	if (app.listen_fd >= 0) {
		int is_unix;
		const char *addr;

		close(app.listen_fd);
		if (cfg_parse_listen(cfg->listen, &is_unix, &addr) == 0 && is_unix)
			unlink(addr);
	}
	store_close(store);
	if (all_done)
		setup_free(&app);
	if (all_done && released == 0) {
		/* Threads that outlived the grace period still use these; they
		 * end with the process. */
		free(threads);
		hs_metrics_free(app.metrics);
		gh_auth_free(app.env.gh_auth);
		gh_repolock_free(app.env.gh_locks);
	}
	if (status == 0 || status == SERVER_RESTART)
		hs_info("stopped");
	return status;
}
