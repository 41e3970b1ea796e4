/* notify.h: the NetBox outbox's sender.
 *
 * One thread with its own database connection and curl handle POSTs each
 * notification of the outbox (sync/store.h) to NetBox, in order per fabric:
 * a fabric's next change waits until the one before it is delivered or
 * dead-lettered.  Any 2xx is delivered; anything else (and no answer) is
 * retried after retry_base_ms doubling to retry_max_ms, with jitter, until
 * give_up_ms have passed since the change was queued: then it is
 * dead-lettered (`hedgesync notifications retry` sends it again).  Delivery
 * is at least once: a crash between NetBox's answer and the database's
 * record sends the change again with the same change id.
 *
 * The body (JSON): {change_id, sequence, fabric, action, kind, name, path,
 * blob_sha, commit, origin, operation?, spec, resource}; headers
 * Authorization: Token <token>, X-Hedgesync-Change: <change id>.
 */
#ifndef SYNC_NOTIFY_H
#define SYNC_NOTIFY_H

#include <stdint.h>

struct hs_metrics;
struct notifier;

struct notify_opts {
	const char *db_path;
	const char *url;          /* NETBOX_URL + NETBOX_NOTIFY_PATH, borrowed */
	const char *token;        /* NETBOX_TOKEN, may be NULL; never logged */
	int64_t retry_base_ms;    /* first retry delay */
	int64_t retry_max_ms;     /* longest delay */
	int64_t give_up_ms;       /* dead-letter after this long (24 h) */
	int64_t timeout_ms;       /* one POST, connection included */
	struct hs_metrics *metrics; /* borrowed */
};

/* Start the sender (*out new: notify_stop).  Strings of o are borrowed for
 * the sender's life.  HS_EIO when the thread cannot start. */
int notify_start(const struct notify_opts *o, struct notifier **out, char *err);

/* Something was queued: look now rather than at the next tick.  Accepts NULL. */
void notify_kick(struct notifier *n);

/* Stop: an attempt in progress is abandoned (it is sent again later).
 * Accepts NULL. */
void notify_stop(struct notifier *n);

/* The body sent for one notification (new), for tests and the CLI. */
struct store_note;
char *notify_body(const struct store_note *note);

#endif
