/* webhook.c: GitHub webhook intake: verify, record, queue, answer at once.
 *
 * Order of checks: size (413), signature over the raw body (401), the
 * delivery headers (400), the JSON (400).  Only a request that passes all
 * of them is stored, and storing it is the only thing done before the
 * answer: the work itself runs later in a worker.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/base/metrics.h"
#include "github/webhook_sig.h"
#include "sync/events.h"
#include "sync/intake.h"
#include "sync/queue.h"
#include "sync/store.h"

static void count(struct http_req *r, const char *event, const char *outcome)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "event=\"%s\",outcome=\"%s\"",
		 event ? ev_metric_label(event) : "none", outcome);
	hs_metrics_add(r->app->metrics, "hedgesync_webhook_deliveries_total", labels, 1);
}

/* A header value is usable when it is short and of the expected alphabet. */
static int header_ok(const char *v, size_t max, const char *alphabet)
{
	size_t n;

	if (!v || !*v)
		return 0;
	n = strlen(v);
	return n <= max && strspn(v, alphabet) == n;
}

static int signature_ok(struct http_req *r)
{
	const struct hs_config *cfg = r->app->cfg;
	const char *sig = http_param(r, "HTTP_X_HUB_SIGNATURE_256");

	if (gh_sig_verify_sha256(cfg->webhook_secret, r->body, r->body_len, sig) == HS_OK)
		return 1;
	/* While a secret is being rotated both are accepted. */
	return cfg->webhook_secret_previous && *cfg->webhook_secret_previous &&
	       gh_sig_verify_sha256(cfg->webhook_secret_previous, r->body, r->body_len,
				    sig) == HS_OK;
}

/* GitHub can post the JSON as a form field "payload=" (urlencoded). */
static json_t *parse_payload(struct http_req *r, json_error_t *jerr)
{
	const char *ct = http_param(r, "CONTENT_TYPE");
	json_t *v;

	if (ct && !strncmp(ct, "application/x-www-form-urlencoded", 33)) {
		CURL *c;
		char *plain, *escaped;
		int len = 0;

		if (strncmp(r->body, "payload=", 8)) {
			snprintf(jerr->text, sizeof(jerr->text), "form body has no payload field");
			return NULL;
		}
		c = curl_easy_init();
		if (!c)
			return NULL;
		/* Form encoding writes spaces as '+' (a real '+' is %2B): undo that
		 * on a copy, since the stored body must stay exactly as signed. */
		escaped = hs_strndup(r->body + 8, r->body_len - 8);
		for (char *p = escaped; *p; p++)
			if (*p == '+')
				*p = ' ';
		plain = curl_easy_unescape(c, escaped, (int)strlen(escaped), &len);
		free(escaped);
		v = plain ? json_loadb(plain, (size_t)len, 0, jerr) : NULL;
		curl_free(plain);
		curl_easy_cleanup(c);
		return v;
	}
	return json_loadb(r->body, r->body_len, 0, jerr);
}

void webhook_handle(struct http_req *r)
{
	const char *event = NULL, *guid, *action = NULL, *repo = NULL;
	const struct ev_handler *h;
	struct store_delivery_in in;
	json_error_t jerr;
	json_t *payload = NULL, *v;
	char key[512], err[HS_ERRBUF];
	int64_t job_id = 0;
	int rc;

	rc = http_read_body(r, HTTP_MAX_BODY);
	if (rc == HS_ETOOBIG) {
		count(r, NULL, "too_large");
		http_error(r, 413, "too_large", "webhook bodies are capped at 25 MB", NULL);
		return;
	}
	if (rc) {
		count(r, NULL, "bad_request");
		http_error(r, 400, "bad_request", "could not read the request body", NULL);
		return;
	}
	if (!signature_ok(r)) {
		count(r, NULL, "unauthorized");
		hs_log(HS_LOG_WARN, "delivery", NULL, "webhook refused: bad or missing signature");
		http_error(r, 401, "bad_signature",
			   "X-Hub-Signature-256 is missing or does not match the body", NULL);
		return;
	}
	guid = http_param(r, "HTTP_X_GITHUB_DELIVERY");
	event = http_param(r, "HTTP_X_GITHUB_EVENT");
	if (!header_ok(guid, 128, "0123456789abcdefABCDEF-") ||
	    !header_ok(event, 64, "abcdefghijklmnopqrstuvwxyz_")) {
		count(r, NULL, "bad_request");
		http_error(r, 400, "missing_header",
			   "X-GitHub-Delivery and X-GitHub-Event are required", NULL);
		return;
	}
	payload = parse_payload(r, &jerr);
	if (!json_is_object(payload)) {
		count(r, event, "bad_request");
		http_error(r, 400, "invalid_json",
			   payload ? "the body is not a JSON object" : "the body is not valid JSON",
			   payload ? NULL : json_pack("{s:s, s:i}", "reason", jerr.text,
						      "position", jerr.position));
		goto out;
	}
	v = json_object_get(payload, "action");
	action = json_is_string(v) ? json_string_value(v) : NULL;
	v = json_object_get(json_object_get(payload, "repository"), "full_name");
	repo = json_is_string(v) ? json_string_value(v) : NULL;

	h = strcmp(event, "ping") ? ev_for_event(event, action, r->app->env.test_handlers) : NULL;
	ev_ordering_key(payload, key, sizeof(key));
	v = json_object_get(json_object_get(payload, "installation"), "id");

	memset(&in, 0, sizeof(in));
	in.guid = guid;
	in.event = event;
	in.action = action;
	in.repo = repo;
	in.installation_id = json_is_integer(v) ? json_integer_value(v) : 0;
	in.body = r->body;
	in.len = r->body_len;
	in.job_kind = h ? h->kind : NULL;
	in.ordering_key = key;

	rc = intake_submit(r->app->intake, &in, &job_id, err);
	if (rc == HS_ECONFLICT) {
		count(r, event, "duplicate");
		hs_log(HS_LOG_INFO, "delivery", guid, "%s: duplicate delivery, not processed again",
		       event);
		http_json(r, 200, json_pack("{s:s, s:s}", "status", "duplicate", "delivery", guid));
		goto out;
	}
	if (rc) {
		count(r, event, "error");
		hs_log(HS_LOG_ERROR, "delivery", guid, "cannot store delivery: %s", err);
		http_error(r, 503, "store_failed", "the delivery could not be stored; retry", NULL);
		goto out;
	}
	if (h) {
		queue_notify(r->app->queue);
		count(r, event, "queued");
		hs_log(HS_LOG_INFO, "delivery", guid, "%s%s%s queued as job %lld (%s)", event,
		       action ? "." : "", action ? action : "", (long long)job_id, key);
		http_json(r, 202, json_pack("{s:s, s:s, s:I}", "status", "queued", "delivery",
					    guid, "job", (json_int_t)job_id));
	} else {
		count(r, event, strcmp(event, "ping") ? "ignored" : "ping");
		hs_log(HS_LOG_INFO, "delivery", guid, "%s%s%s recorded, nothing to do", event,
		       action ? "." : "", action ? action : "");
		http_json(r, 200, json_pack("{s:s, s:s}", "status",
					    strcmp(event, "ping") ? "ignored" : "pong",
					    "delivery", guid));
	}
out:
	json_decref(payload);
}
