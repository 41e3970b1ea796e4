/* redeliver.c: ask GitHub again for deliveries that never reached hedgesync. */
#include <string.h>

#include "github/base/err.h"
#include "github/base/log.h"
#include "github/deliveries.h"
#include "github/gh.h"
#include "sync/redeliver.h"
#include "sync/store.h"

#define ASK_INTERVAL_MS (10LL * 60 * 1000)

int redeliver_scan(struct store *st, struct gh_client *gh, int64_t now_ms,
		   int *asked, char *err)
{
	struct gh_delivery_list l;
	int rc, n = 0;

	if (asked)
		*asked = 0;
	gh_delivery_list_init(&l);
	rc = gh_deliveries_list(gh, now_ms - REDELIVER_WINDOW_MS, 0, &l, err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	/* Newest first: the first attempt seen of a guid is its latest. */
	for (size_t i = 0; i < l.n; i++) {
		const struct gh_delivery *d = &l.v[i];
		int ask = 0, seen = 0;

		for (size_t k = 0; k < i; k++)
			seen |= !strcmp(l.v[k].guid, d->guid);
		if (seen || !d->guid[0])
			continue;
		if (!strcmp(d->status, "OK") && d->status_code >= 200 && d->status_code < 300)
			continue; /* it arrived (then it is stored, or was refused on purpose) */
		if (store_redelivery_should_ask(st, d->guid, now_ms, ASK_INTERVAL_MS,
						REDELIVER_MAX_ASKS, &ask) || !ask)
			continue;
		if (gh_deliveries_redeliver(gh, d->id, err) != GH_OK) {
			hs_log(HS_LOG_WARN, "delivery", d->guid, "redelivery request failed: %s", err);
			continue;
		}
		store_redelivery_asked(st, d->guid, now_ms);
		hs_log(HS_LOG_INFO, "delivery", d->guid, "%s missed (%s); asked GitHub to redeliver",
		       d->event, d->status[0] ? d->status : "failed");
		n++;
	}
	if (asked)
		*asked = n;
out:
	gh_delivery_list_release(&l);
	return rc;
}
