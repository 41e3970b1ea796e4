/* status.c: /healthz and /metrics. */
#include <stdio.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "github/base/buf.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/metrics.h"
#include "sync/store.h"

void health_handle(struct http_req *r)
{
	int version = 0;

	if (store_schema_version(r->store, &version) || version != store_schema_latest()) {
		http_error(r, 503, "unhealthy", "the database cannot be read", NULL);
		return;
	}
	http_json(r, 200, json_pack("{s:s, s:s, s:i}", "status", "ok", "version", HS_VERSION,
				    "schema", version));
}

void metrics_handle(struct http_req *r)
{
	struct hs_metrics *m = r->app->metrics;
	struct store_queue_stats st;
	struct hs_buf out = HS_BUF_INIT(4 << 20);

	/* Queue gauges come from the database, so they are right across
	 * restarts and across several processes sharing one database. */
	if (store_queue_stats(r->store, &st) == HS_OK) {
		hs_metrics_set(m, "hedgesync_jobs", "state=\"queued\"", (double)st.queued);
		hs_metrics_set(m, "hedgesync_jobs", "state=\"running\"", (double)st.running);
		hs_metrics_set(m, "hedgesync_jobs", "state=\"dead\"", (double)st.dead);
		hs_metrics_set(m, "hedgesync_jobs", "state=\"done\"", (double)st.done);
		hs_metrics_set(m, "hedgesync_deliveries_stored", NULL, (double)st.deliveries);
	}
	{
		struct store_note_counts nc;
		struct store_op_counts oc;

		if (store_note_counts(r->store, NULL, &nc) == HS_OK) {
			int64_t age = nc.oldest_pending_ms ? hs_now_ms() - nc.oldest_pending_ms : 0;

			hs_metrics_set(m, "hedgesync_netbox_outbox", "state=\"pending\"",
				       (double)nc.pending);
			hs_metrics_set(m, "hedgesync_netbox_outbox", "state=\"dead\"", (double)nc.dead);
			hs_metrics_set(m, "hedgesync_netbox_outbox_oldest_seconds", NULL,
				       age > 0 ? age / 1000.0 : 0);
		}
		if (store_op_counts(r->store, NULL, &oc) == HS_OK) {
			hs_metrics_set(m, "hedgesync_operations", "state=\"queued\"", (double)oc.queued);
			hs_metrics_set(m, "hedgesync_operations", "state=\"conflict\"",
				       (double)oc.conflicts);
			hs_metrics_set(m, "hedgesync_operations", "state=\"failed\"", (double)oc.failed);
		}
	}
	hs_metrics_render(m, &out);
	http_reply(r, 200, "text/plain; version=0.0.4", NULL, hs_buf_str(&out), out.len);
	hs_buf_release(&out);
}
