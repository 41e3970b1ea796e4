/* deliveries.h: the App's webhook deliveries: list them, ask for one again.
 *
 * GitHub does not redeliver a failed delivery by itself.  After downtime,
 * hedgesync lists the recent deliveries (GET /app/hook/deliveries, with the
 * App JWT) and asks GitHub to send again those whose status is not "OK"
 * (POST /app/hook/deliveries/{id}/attempts).  A redelivery keeps its guid,
 * the X-GitHub-Delivery header, so the intake's dedupe still works.
 */
#ifndef GH_DELIVERIES_H
#define GH_DELIVERIES_H

#include <stddef.h>
#include <stdint.h>

#include "github/gh.h"

struct gh_client;

struct gh_delivery {
	int64_t id;              /* the delivery (attempt) id, for redelivery */
	char guid[64];           /* the X-GitHub-Delivery value */
	char event[64];          /* X-GitHub-Event */
	char action[64];         /* "" when the event has none */
	char status[128];        /* "OK" when delivered, else why not */
	long status_code;        /* the receiver's HTTP status, 0 if none */
	int redelivery;          /* 1: this attempt was a redelivery */
	int64_t delivered_at_ms; /* ms since the epoch */
	int64_t installation_id; /* 0 when none */
	int64_t repository_id;   /* 0 when none */
};

struct gh_delivery_list {
	struct gh_delivery *v; /* new */
	size_t n, alloc;
};
void gh_delivery_list_init(struct gh_delivery_list *l);
void gh_delivery_list_release(struct gh_delivery_list *l);

/*
 * The deliveries made since since_ms (ms since the epoch; 0: all GitHub
 * keeps), newest first, at most max (0: 10000).  Pages of 100 are followed
 * through their Link headers until one reaches back past since_ms.
 */
int gh_deliveries_list(struct gh_client *c, int64_t since_ms, size_t max,
		       struct gh_delivery_list *out, char *err);

/* POST /app/hook/deliveries/{id}/attempts: GitHub answers 202 and sends it again. */
int gh_deliveries_redeliver(struct gh_client *c, int64_t id, char *err);

#endif
