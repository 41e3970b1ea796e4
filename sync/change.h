/* change.h: edits made in NetBox, on their way into Git.
 *
 * An edit arrives as a change set (the REST API's /changes, or one NetBox
 * webhook turned into one change by sync/netbox.c).  chg_submit validates
 * every change with the engine, including the fabric rules against the
 * fabric's current state, and only then stores it as a queued operation with
 * its job; nothing is stored for an invalid change set.
 *
 * chg_handle, the job, takes every queued operation of the fabric (so a
 * burst becomes few commits) and decides each change against the branch:
 * unchanged since its base -> written; identical -> noop; changed in Git ->
 * field-level three-way merge (sync/merge.c) -> written when the sides do not
 * overlap, else the operation ends in conflict and Git is not touched.  One
 * operation with one change and a known base is one Contents API write with
 * the base blob as lock; anything else is one Git Data commit per author
 * (an operation joins its author's commit unless another author's edit of
 * the same file lies between them, so the order of edits of one file is
 * kept).  Commits carry the NetBox user as author and a
 * "Hedgesync-Operation: <id>" trailer, which is how a re-run after a crash
 * finds a write that landed.  When GitHub refuses the write (a protected
 * branch, 422) or the job's last attempt fails, the open operations end
 * "failed" with the reason.
 */
#ifndef SYNC_CHANGE_H
#define SYNC_CHANGE_H

#include <jansson.h>

#include "sync/events.h"

struct store;

#define CHG_ID_MAX 64
#define CHG_MAX_CHANGES 1000

struct chg_request {
	const char *fabric;
	const json_t *changes;    /* [{op: apply|delete, resource, base_sha?, base?}], borrowed */
	const char *author_name;  /* required */
	const char *author_email; /* NULL: "<name>@netbox.invalid" */
	const char *message;      /* NULL: made from the changes */
	const char *source;       /* "api" or "netbox" */
	const char *dedup;        /* NULL, or a digest: the same digest again is a repeat */
};

/*
 * Validate and store rq.  HS_OK: op_id (CHG_ID_MAX bytes) names the
 * operation; *repeat is 1 when rq->dedup matched an earlier one (op_id is
 * then that operation).  HS_EINVAL: *problems (new) lists every problem
 * ({change, field?, code?, message, ...}) and err sums them up.
 * HS_ENOTFOUND: no such fabric.  Nothing is written unless HS_OK.
 */
int chg_submit(struct store *st, const struct chg_request *rq, char *op_id, int *repeat,
	       json_t **problems, char *err);

/* The operation as the REST API shows it (new), or HS_ENOTFOUND. */
int chg_op_json(struct store *st, const char *id, json_t **out, char *err);

/* 1 when the operation is still queued (for ?wait=), 0 when finished, or an
 * error code. */
int chg_op_pending(struct store *st, const char *id);

/* Job handler, kind "netbox.change". */
int chg_handle(struct ev_ctx *ctx);

#endif
