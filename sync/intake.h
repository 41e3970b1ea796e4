/* intake.h: group commit of webhook deliveries.
 *
 * Request threads hand their delivery to one writer thread and wait; the
 * writer stores everything that arrived meanwhile in one transaction, so a
 * burst of N deliveries costs one fsync instead of N and no request thread
 * ever waits on sqlite's write lock.  A delivery is answered only after the
 * transaction that holds it committed.
 */
#ifndef SYNC_INTAKE_H
#define SYNC_INTAKE_H

#include <stdint.h>

#include "sync/store.h"

struct intake;

/* Open the writer's own connection and start its thread; *out is new. */
int intake_start(const char *db_path, struct intake **out, char *err);

/*
 * Store d (borrowed until return) and its job.  Blocks until committed.
 * HS_OK (job id in *job_id, 0 for none), HS_ECONFLICT for a guid stored
 * before, or another error when the transaction failed (nothing stored).
 */
int intake_submit(struct intake *in, const struct store_delivery_in *d,
		  int64_t *job_id, char *err);

/* Store what was submitted, then stop the thread and free; accepts NULL. */
void intake_stop(struct intake *in);

#endif
