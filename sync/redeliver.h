/* redeliver.h: bring in the webhooks GitHub failed to deliver.
 *
 * GitHub does not retry a failed delivery.  While hedgesync was down (or
 * nginx, or the network), deliveries failed; GitHub keeps them for three
 * days.  A scan lists them with the App JWT and asks GitHub to send again
 * each one that never succeeded and that hedgesync has not stored.  The
 * redelivery keeps its X-GitHub-Delivery guid, so intake stores it once.
 */
#ifndef SYNC_REDELIVER_H
#define SYNC_REDELIVER_H

#include <stdint.h>

struct gh_client;
struct store;

#define REDELIVER_WINDOW_MS (3LL * 24 * 3600 * 1000) /* what GitHub keeps */
#define REDELIVER_MAX_ASKS 3                     /* per guid, then left alone */

/* One scan.  *asked (may be NULL) gets how many redeliveries were requested. */
int redeliver_scan(struct store *st, struct gh_client *gh, int64_t now_ms,
		   int *asked, char *err);

#endif
