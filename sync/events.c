/* events.c: the event table, ordering keys and the test-only handler. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "github/base/clock.h"
#include "github/base/err.h"
#include "sync/change.h"
#include "sync/checkrun.h"
#include "sync/events.h"
#include "sync/fabric.h"
#include "sync/store.h"

static int handle_test(struct ev_ctx *ctx);

/*
 * Events no row names are stored as "ignored": installation events,
 * pull_request "closed" and so on.  Later handlers add rows here.
 */
static const char *const installation_actions[] = { "created", "added", NULL };
static const char *const pull_request_actions[] = { "opened", "synchronize", "reopened", NULL };
static const char *const check_suite_actions[] = { "requested", "rerequested", NULL };
static const char *const check_run_actions[] = { "rerequested", "requested_action", NULL };

static const struct ev_handler handlers[] = {
	{ "test.record", "hedgesync_test", NULL, handle_test, 1 },
	{ "github.push", "push", NULL, fabric_handle_push, 0 },
	{ "github.installation", "installation", installation_actions,
	  fabric_handle_installation, 0 },
	{ "github.installation_repositories", "installation_repositories",
	  installation_actions, fabric_handle_installation, 0 },
	{ "github.pull_request", "pull_request", pull_request_actions,
	  checkrun_handle_pull_request, 0 },
	{ "github.check_suite", "check_suite", check_suite_actions,
	  checkrun_handle_check_suite, 0 },
	{ "github.check_run", "check_run", check_run_actions, checkrun_handle_check_run, 0 },
	{ "fabric.onboard", NULL, NULL, fabric_handle_onboard, 0 },
	{ "fabric.ingest", NULL, NULL, fabric_handle_ingest, 0 },
	{ "fabric.resync", NULL, NULL, fabric_handle_resync, 0 },
	{ "fabric.catchup", NULL, NULL, fabric_handle_catchup, 0 },
	{ "netbox.change", NULL, NULL, chg_handle, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static int action_wanted(const char *const *actions, const char *action)
{
	if (!actions)
		return 1;
	for (; *actions; actions++)
		if (action && !strcmp(*actions, action))
			return 1;
	return 0;
}

const struct ev_handler *ev_for_event(const char *event, const char *action,
				      int test_handlers)
{
	for (const struct ev_handler *h = handlers; h->kind; h++) {
		if (!h->event || strcmp(h->event, event))
			continue;
		if (h->test_only && !test_handlers)
			continue;
		if (action_wanted(h->actions, action))
			return h;
	}
	return NULL;
}

const struct ev_handler *ev_for_kind(const char *kind)
{
	for (const struct ev_handler *h = handlers; h->kind; h++)
		if (!strcmp(h->kind, kind))
			return h;
	return NULL;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

void ev_ordering_key(json_t *payload, char *out, size_t n)
{
	const char *repo = str_at(payload, "repository", "full_name");
	const char *branch = NULL, *ref;
	json_t *inst;

	if (!repo) {
		inst = json_object_get(json_object_get(payload, "installation"), "id");
		snprintf(out, n, "installation:%lld",
			 json_is_integer(inst) ? (long long)json_integer_value(inst) : 0LL);
		return;
	}
	if ((ref = str_at(payload, "ref", NULL)) && !strncmp(ref, "refs/heads/", 11))
		branch = ref + 11;
	else if (json_is_object(json_object_get(payload, "pull_request")))
		branch = str_at(json_object_get(payload, "pull_request"), "head", "ref");
	else if (json_is_object(json_object_get(payload, "check_suite")))
		branch = str_at(payload, "check_suite", "head_branch");
	else if (json_is_object(json_object_get(payload, "check_run")))
		branch = str_at(json_object_get(payload, "check_run"), "check_suite",
				"head_branch");
	if (branch)
		snprintf(out, n, "%s@%s", repo, branch);
	else
		snprintf(out, n, "%s", repo);
}

const char *ev_metric_label(const char *event)
{
	static const char *const known[] = {
		"push", "pull_request", "check_suite", "check_run", "installation",
		"installation_repositories", "ping", "hedgesync_test", NULL,
	};

	for (size_t i = 0; known[i]; i++)
		if (!strcmp(known[i], event))
			return known[i];
	return "other";
}

/*
 * The test-only handler: it appends "run <guid>" on every attempt and
 * "effect <guid>" once per delivery (its idempotent effect) to the record
 * file, so tests can tell re-runs from lost or doubled work.  The payload
 * may ask it to sleep ("sleep_ms"), to fail its first attempts
 * ("fail_attempts") or to fail while a file exists ("fail_while_exists"), to
 * exercise leases, retries and dead letters.
 */
static int handle_test(struct ev_ctx *ctx)
{
	const struct store_job *job = ctx->job;
	json_t *sleep_ms = json_object_get(ctx->payload, "sleep_ms");
	json_t *fail = json_object_get(ctx->payload, "fail_attempts");
	json_t *fail_while = json_object_get(ctx->payload, "fail_while_exists");
	char line[256], *buf = NULL;
	int fd, rc = HS_OK;
	long size;

	if (!ctx->env->test_record) {
		hs_seterr(ctx->err, "HEDGESYNC_TEST_RECORD is not set");
		return HS_EINVAL;
	}
	fd = open(ctx->env->test_record, O_RDWR | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		hs_seterr(ctx->err, "open %s: %s", ctx->env->test_record, strerror(errno));
		return HS_EIO;
	}
	flock(fd, LOCK_EX);
	snprintf(line, sizeof(line), "run %s %d\n", job->guid, job->attempts);
	if (write(fd, line, strlen(line)) < 0)
		rc = HS_EIO;
	flock(fd, LOCK_UN);
	if (rc)
		goto out;

	if (json_is_integer(sleep_ms))
		hs_sleep_ms(json_integer_value(sleep_ms));
	if (json_is_integer(fail) && job->attempts <= json_integer_value(fail)) {
		hs_seterr(ctx->err, "asked to fail attempt %d", job->attempts);
		rc = HS_ERETRY;
		goto out;
	}
	if (json_is_string(fail_while) && access(json_string_value(fail_while), F_OK) == 0) {
		hs_seterr(ctx->err, "asked to fail while %s exists", json_string_value(fail_while));
		rc = HS_ERETRY;
		goto out;
	}

	flock(fd, LOCK_EX);
	snprintf(line, sizeof(line), "effect %s\n", job->guid);
	size = lseek(fd, 0, SEEK_END);
	if (size > 0) {
		buf = malloc((size_t)size + 1);
		if (!buf || pread(fd, buf, (size_t)size, 0) != size) {
			rc = HS_EIO;
		} else {
			buf[size] = '\0';
			if (strstr(buf, line) == buf ||
			    (strstr(buf, line) && strstr(buf, line)[-1] == '\n'))
				goto unlock; /* done before: do nothing */
		}
	}
	if (rc == HS_OK && write(fd, line, strlen(line)) < 0)
		rc = HS_EIO;
unlock:
	flock(fd, LOCK_UN);
out:
	free(buf);
	close(fd);
	return rc;
}
