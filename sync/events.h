/* events.h: which GitHub events hedgesync acts on, and the handlers' contract.
 *
 * A row of the event table names an X-GitHub-Event, the actions it wants
 * (NULL: every action) and the job kind that handles it.  Intake stores a
 * job for a delivery only when a row matches; everything else is recorded
 * and done.  Handlers run in worker threads, at least once per job (a crash
 * re-runs a leased job), so every handler must be idempotent.
 */
#ifndef SYNC_EVENTS_H
#define SYNC_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "sync/env.h"

struct gh_client;
struct store;
struct store_job;

struct ev_ctx {
	const struct sync_env *env; /* borrowed */
	struct store *store;        /* this worker's connection, borrowed */
	struct gh_client *gh;       /* this worker's GitHub client, or NULL */
	const struct store_job *job;
	json_t *payload;            /* the job's payload parsed; borrowed, may be NULL */
	const volatile int *stopping; /* set when the service shuts down */
	int last_attempt;           /* a failure now dead-letters the job */
	char *err;                  /* HS_ERRBUF bytes for the failure reason */
};

/*
 * Returns HS_OK when the job is done; HS_EINVAL when it can never succeed
 * (dead-lettered at once); any other error is retried with backoff.
 */
typedef int (*ev_handler_fn)(struct ev_ctx *ctx);

struct ev_handler {
	const char *kind;           /* job kind stored with the job */
	const char *event;          /* X-GitHub-Event, or NULL for internal jobs */
	const char *const *actions; /* NULL-terminated, or NULL for all */
	ev_handler_fn fn;
	int test_only;              /* only with HEDGESYNC_TEST_HANDLERS=1 */
};

/* The handler for a delivery, or NULL when hedgesync does nothing with it. */
const struct ev_handler *ev_for_event(const char *event, const char *action,
				      int test_handlers);
/* The handler of a stored job's kind, or NULL. */
const struct ev_handler *ev_for_kind(const char *kind);

/*
 * The ordering key of a delivery: "owner/repo@branch" for events about a
 * branch (push, pull requests, check suites and runs), "owner/repo" for other
 * repository events, "installation:ID" otherwise.  Jobs with one key run one
 * at a time, in arrival order.  Writes a NUL-terminated key into out.
 */
void ev_ordering_key(json_t *payload, char *out, size_t n);

/* Known GitHub event names, for bounded metric labels: the name, or "other". */
const char *ev_metric_label(const char *event);

#endif
