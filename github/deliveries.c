/* deliveries.c: GET /app/hook/deliveries and POST .../{id}/attempts, with the App JWT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/deliveries.h"
#include "github/http.h"
#include "github/json.h"

#define DELIVERIES_MAX_PAGES 200

void gh_delivery_list_init(struct gh_delivery_list *l)
{
	memset(l, 0, sizeof(*l));
}

void gh_delivery_list_release(struct gh_delivery_list *l)
{
	if (!l)
		return;
	free(l->v);
	gh_delivery_list_init(l);
}

struct walk {
	struct gh_delivery_list *out;
	int64_t since_ms;
	size_t max;
	int done; /* reached since_ms or max */
};

/* Copy a string member into a fixed field, cut to fit; "" when missing. */
static void field(char *dst, size_t size, const json_t *o, const char *key)
{
	const char *s = gh_json_str(o, key, 65536);

	snprintf(dst, size, "%s", s ? s : "");
}

static int page(void *payload, json_t *arr, char *err)
{
	struct walk *w = payload;
	json_t *e;
	size_t i;

	if (w->done)
		return 1; /* stop: the rest is older than asked */
	json_array_foreach(arr, i, e) {
		struct gh_delivery d;
		const char *at = gh_json_str(e, "delivered_at", 64);
		int64_t code = 0;

		memset(&d, 0, sizeof(d));
		if (gh_json_int(e, "id", &d.id) || d.id <= 0 || !at ||
		    gh_time_parse(at, &d.delivered_at_ms) ||
		    !gh_json_str(e, "guid", sizeof(d.guid) - 1) ||
		    !gh_json_str(e, "event", sizeof(d.event) - 1)) {
			hs_seterr(err, "delivery %zu lacks id, guid, event or delivered_at", i);
			return GH_EBADRESP;
		}
		if (w->since_ms && d.delivered_at_ms < w->since_ms) {
			w->done = 1;
			return 1;
		}
		field(d.guid, sizeof(d.guid), e, "guid");
		field(d.event, sizeof(d.event), e, "event");
		field(d.action, sizeof(d.action), e, "action");
		field(d.status, sizeof(d.status), e, "status");
		if (!gh_json_int(e, "status_code", &code))
			d.status_code = (long)code;
		d.redelivery = gh_json_true(e, "redelivery");
		if (gh_json_int(e, "installation_id", &d.installation_id))
			d.installation_id = 0;
		if (gh_json_int(e, "repository_id", &d.repository_id))
			d.repository_id = 0;
		if (w->out->n == w->out->alloc) {
			w->out->alloc = w->out->alloc ? 2 * w->out->alloc : 64;
			w->out->v = hs_realloc(w->out->v, w->out->alloc * sizeof(d));
		}
		w->out->v[w->out->n++] = d;
		if (w->out->n >= w->max) {
			w->done = 1;
			return 1;
		}
	}
	return GH_OK;
}

int gh_deliveries_list(struct gh_client *c, int64_t since_ms, size_t max,
		       struct gh_delivery_list *out, char *err)
{
	struct gh_request rq;
	struct walk w = { out, since_ms, max ? max : 10000, 0 };
	int rc;

	gh_delivery_list_init(out);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = "/app/hook/deliveries?per_page=100";
	rq.auth = GH_AUTH_APP;
	rc = gh_paginate(c, &rq, NULL, DELIVERIES_MAX_PAGES, page, &w, err);
	if (rc == 1 && w.done)
		rc = GH_OK; /* stopped on purpose */
	if (rc)
		gh_delivery_list_release(out);
	return rc;
}

int gh_deliveries_redeliver(struct gh_client *c, int64_t id, char *err)
{
	struct gh_request rq;
	char path[96];

	if (id <= 0) {
		hs_seterr(err, "bad delivery id");
		return GH_EINVAL;
	}
	snprintf(path, sizeof(path), "/app/hook/deliveries/%lld/attempts", (long long)id);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = path;
	rq.auth = GH_AUTH_APP;
	return gh_call(c, &rq, 0, NULL, NULL, err);
}
