/* store.h: hedgesync's sqlite database: schema, deliveries and the job queue.
 *
 * The only module that speaks SQL.  One `struct store` is one connection;
 * each thread opens its own (sqlite connections are not shared across
 * threads here).  The database runs in WAL mode with a busy timeout, so
 * readers never block the writer and writers wait for each other.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* Open (creating if needed) the database at path.  Does not migrate.
 * *out is new; close it with store_close. */
int store_open(const char *path, struct store **out, char *err);
void store_close(struct store *s); /* accepts NULL */

/* Bring the schema to the newest version; each step runs in a transaction
 * and is recorded in PRAGMA user_version.  Refuses a database newer than
 * this binary. */
int store_migrate(struct store *s, char *err);
int store_schema_version(struct store *s, int *version);
int store_schema_latest(void);

/* ---- deliveries ------------------------------------------------------- */

struct store_delivery_in {
	const char *guid;         /* X-GitHub-Delivery */
	const char *event;        /* X-GitHub-Event */
	const char *action;       /* payload action, may be NULL */
	const char *repo;         /* owner/name, may be NULL */
	int64_t installation_id;  /* 0 when none */
	const void *body;         /* the raw body as received */
	size_t len;
	const char *job_kind;     /* handler to run, or NULL: recorded, nothing to do */
	const char *ordering_key; /* jobs with one key run one at a time, in order */
};

/* Store a delivery and, with a job_kind, its job, in one transaction.
 * HS_ECONFLICT when the guid is already stored (nothing written).
 * *job_id (may be NULL) gets the new job's id, or 0. */
int store_delivery_add(struct store *s, const struct store_delivery_in *d,
		       int64_t *job_id, char *err);

/*
 * Store many deliveries in one transaction (one fsync for all): result[i]
 * gets HS_OK, or HS_ECONFLICT when item i's guid was stored before (or
 * earlier in the same batch), and job_id[i] its job or 0.  Returns HS_OK
 * when the transaction committed; on any other return nothing was stored.
 */
int store_delivery_add_batch(struct store *s, const struct store_delivery_in *d,
			     size_t n, int *result, int64_t *job_id, char *err);

struct store_delivery_row {
	int64_t id;
	const char *guid, *event, *action, *repo; /* borrowed for the callback */
	int64_t received_ms;
	const char *state;      /* queued, running, done, ignored, dead */
	int attempts;
	int64_t job_id;         /* 0 when there is no job */
	const char *last_error; /* NULL if none */
};

typedef int (*store_delivery_fn)(const struct store_delivery_row *row, void *ctx);

/* Newest first; failed_only keeps dead-lettered ones.  A non-zero return
 * from fn stops the walk and is returned. */
int store_delivery_list(struct store *s, int failed_only, int limit,
			store_delivery_fn fn, void *ctx, char *err);

/* Put a dead-lettered delivery's job back in the queue (attempts reset).
 * HS_ENOTFOUND when id names no dead job. id is the delivery's id or guid. */
int store_delivery_retry(struct store *s, const char *id, char *err);

/* Count deliveries whose guid is guid (0 or 1). */
int store_delivery_exists(struct store *s, const char *guid, int *exists);

/* ---- jobs ------------------------------------------------------------- */

struct store_job {
	int64_t id;
	int64_t delivery_id;  /* 0 for jobs not made from a delivery */
	char *kind;
	char *ordering_key;
	char *guid;           /* the delivery's guid, or NULL */
	char *event;
	char *action;
	char *payload;        /* NUL-terminated */
	size_t payload_len;
	int attempts;         /* including this one */
	int64_t created_ms;
};

void store_job_free(struct store_job *j); /* accepts NULL */

/* Add a job that no delivery carries (NetBox changes, outbox, ...). */
int store_job_add(struct store *s, const char *kind, const char *ordering_key,
		  const void *payload, size_t len, int64_t *job_id, char *err);

/*
 * Lease the next runnable job: the oldest unfinished job of its ordering key,
 * due (run_after <= now) and not leased by a live lease.  *job is new.
 * HS_ENOTFOUND when nothing is runnable.
 */
int store_job_claim(struct store *s, const char *owner, int64_t now_ms,
		    int64_t lease_ms, struct store_job **job, char *err);

/* Extend the lease of jobs still held by owner. */
int store_job_renew(struct store *s, int64_t id, const char *owner,
		    int64_t until_ms);

/* Finish: HS_ECONFLICT if owner no longer holds the lease. */
int store_job_done(struct store *s, int64_t id, const char *owner,
		   int64_t duration_ms, char *err);

/* Fail this attempt: run again at run_after_ms, or dead-letter when
 * run_after_ms is 0.  error is kept for `deliveries list`. */
int store_job_fail(struct store *s, int64_t id, const char *owner,
		   int64_t run_after_ms, const char *error, char *err);

/* Give a job back unfinished (shutdown): queued again, attempt not counted. */
int store_job_release(struct store *s, int64_t id, const char *owner);

struct store_queue_stats {
	int64_t queued;  /* waiting, including retries */
	int64_t running; /* leased */
	int64_t dead;    /* dead-lettered */
	int64_t done;
	int64_t deliveries;
};

int store_queue_stats(struct store *s, struct store_queue_stats *st);

/* ---- fabrics ---------------------------------------------------------- */

struct store_fabric {
	const char *name;
	const char *owner, *repo, *branch;
	const char *directory;   /* normalized, "" for the repository root */
	int64_t installation_id;
	int64_t created_ms;
	const char *head;        /* commit of the resource state, NULL before any */
};

typedef int (*store_fabric_fn)(const struct store_fabric *f, void *ctx);

/* Add a fabric (strings borrowed).  HS_ECONFLICT when the name, or the
 * same repository, branch and directory, is taken. */
int store_fabric_add(struct store *s, const struct store_fabric *f, char *err);
/* Call fn for each fabric matching the non-NULL filters (the struct's
 * strings are borrowed for the call).  With a name that matches nothing:
 * HS_ENOTFOUND. */
int store_fabric_each(struct store *s, const char *name, const char *owner,
		      const char *repo, const char *branch, store_fabric_fn fn,
		      void *ctx, char *err);
/* Forget a fabric and its resource state.  HS_ENOTFOUND when unknown. */
int store_fabric_delete(struct store *s, const char *name, char *err);

struct store_resource {
	const char *kind, *name, *path;
	const char *blob_sha, *commit_sha;
	const char *spec;     /* JSON */
	int valid;
	const char *findings; /* JSON array */
	const char *origin;   /* git, ingestion, netbox */
	const char *operation; /* origin netbox: the operation that wrote it, else NULL */
	int64_t seq;          /* change sequence (read only) */
	int deleted;          /* a tombstone (read only) */
};

typedef int (*store_resource_fn)(const struct store_resource *r, void *ctx);

/* Replace a fabric's whole resource state with r[0..n) built from head, in
 * one transaction, and record head on the fabric. */
int store_resources_replace(struct store *s, const char *fabric, const char *head,
			    const struct store_resource *r, size_t n, char *err);
/* The live resources, by kind and name. */
int store_resource_each(struct store *s, const char *fabric, store_resource_fn fn,
			void *ctx, char *err);
/* Changes after cursor `since` in sequence order, tombstones included;
 * kind and name filter when not NULL; at most limit (<= 0: all). */
int store_resource_changes(struct store *s, const char *fabric, const char *kind,
			   const char *name, int64_t since, int limit, store_resource_fn fn,
			   void *ctx, char *err);

struct store_fabric_jobs {
	int64_t pending; /* queued or running jobs of the fabric's branch */
	int64_t dead;
};

/* Jobs waiting on the fabric's repository branch. */
int store_fabric_jobs(struct store *s, const char *fabric, struct store_fabric_jobs *out);

/* ---- operations: change requests from NetBox and the API ------------- */

enum store_op_state {
	STORE_OP_QUEUED,
	STORE_OP_COMMITTED,
	STORE_OP_NOOP,
	STORE_OP_CONFLICT,
	STORE_OP_FAILED,
};

const char *store_op_state_name(enum store_op_state st); /* "queued", ... */

struct store_op {
	const char *id;
	const char *fabric;
	const char *source;       /* "api" or "netbox" */
	const char *dedup;        /* NULL, or a digest that makes a repeat a no-op */
	const char *author_name, *author_email;
	const char *message;      /* NULL: made from the changes */
	const char *changes;      /* JSON array */
	enum store_op_state state;
	const char *result;       /* JSON object, or NULL */
	const char *commit_sha;   /* committed: the commit */
	int64_t attempt_ms;       /* 0 until a write was tried */
	int64_t created_ms, finished_ms;
};

typedef int (*store_op_fn)(const struct store_op *op, void *ctx);

/*
 * Store a new queued operation (strings borrowed) and its job (kind
 * job_kind, ordering key job_key, payload job_payload) in one transaction.
 * HS_ECONFLICT when op->dedup is already stored: nothing is written and
 * existing (may be NULL, at least 64 bytes) gets that operation's id.
 */
int store_op_add(struct store *s, const struct store_op *op, const char *job_kind,
		 const char *job_key, const char *job_payload, char *existing,
		 int64_t *job, char *err);
/* Call fn with the operation (strings borrowed for the call).  HS_ENOTFOUND. */
int store_op_get(struct store *s, const char *id, store_op_fn fn, void *ctx, char *err);
/* Operations, newest first, at most limit, filtered by fabric and state
 * (NULL: any). */
int store_op_list(struct store *s, const char *fabric, const char *state, int limit,
		  store_op_fn fn, void *ctx, char *err);
/* The queued operations of a fabric, oldest first, at most limit. */
int store_op_open(struct store *s, const char *fabric, int limit, store_op_fn fn,
		  void *ctx, char *err);

/* One operation's outcome; writes are the files it put (path relative to
 * the repository, blob sha), so a later push knows them as its own. */
struct store_op_done {
	const char *id;
	enum store_op_state state;
	const char *result;       /* JSON, may be NULL */
	const char *commit_sha;   /* may be NULL */
	const char *const *write_path;
	const char *const *write_blob;
	size_t n_writes;
};

/* Note, before trying it, that a write for these queued operations is about
 * to be made, and the files it will put (state and result unused), so a
 * re-run after a crash looks for it and the push it causes is known as
 * theirs. */
int store_op_attempt(struct store *s, const char *fabric, const struct store_op_done *d,
		     size_t n, int64_t now_ms, char *err);
/* Finish queued operations in one transaction; one already finished is
 * left as it is. */
int store_op_finish(struct store *s, const char *fabric, const struct store_op_done *d,
		    size_t n, int64_t now_ms, char *err);
/* The operation that wrote blob at path of fabric, into op_id (64 bytes);
 * HS_ENOTFOUND when none did. */
int store_op_writer(struct store *s, const char *fabric, const char *path,
		    const char *blob, char *op_id);

struct store_op_counts {
	int64_t queued;
	int64_t conflicts; /* operations that ended in conflict */
	int64_t failed;
};

/* fabric NULL: all fabrics. */
int store_op_counts(struct store *s, const char *fabric, struct store_op_counts *out);

/* ---- the NetBox outbox ------------------------------------------------ */

/*
 * While notifying is on, every change of the resource state (a resource
 * created, changed or deleted, in store_resources_replace) adds a
 * notification in the same transaction.  Its id is the change id NetBox
 * sees: stable across retries, never reused.
 */
int store_notify_enable(struct store *s, int on, char *err);

struct store_note {
	int64_t id;             /* the change id */
	const char *fabric;
	int64_t seq;            /* the resource's sequence number (the API's cursor) */
	const char *action;     /* created, updated, deleted */
	const char *kind, *name, *path;
	const char *blob_sha, *commit_sha, *origin;
	const char *operation;  /* origin netbox: the operation, else NULL */
	const char *spec;       /* the resource as JSON (deleted: as it was) */
	const char *state;      /* pending, delivered, dead */
	int attempts;
	int64_t next_ms, since_ms, created_ms, delivered_ms;
	const char *last_error;
};

typedef int (*store_note_fn)(const struct store_note *n, void *ctx);

/*
 * The next notification to send at now_ms: of the fabrics whose oldest
 * pending notification is due, the oldest such one (so each fabric's go in
 * order).  HS_OK after fn; HS_ENOTFOUND when none is due, with *next_ms (may
 * be NULL) the time the next one is due, or 0 when nothing is pending.
 */
int store_note_next(struct store *s, int64_t now_ms, store_note_fn fn, void *ctx,
		    int64_t *next_ms, char *err);
int store_note_delivered(struct store *s, int64_t id, int64_t now_ms, char *err);
/* A failed attempt: try again at next_ms, or dead-letter it (dead). */
int store_note_failed(struct store *s, int64_t id, int64_t next_ms, int dead,
		      const char *error, char *err);
/* Notifications in state (NULL: any), newest first, at most limit. */
int store_note_list(struct store *s, const char *state, int limit, store_note_fn fn,
		    void *ctx, char *err);
/* Put dead notification id (0: every dead one) back in the queue, its give-up
 * window starting again at now_ms; *n how many.  HS_ENOTFOUND for an id that
 * is not dead. */
int store_note_retry(struct store *s, int64_t id, int64_t now_ms, int *n, char *err);
/* Forget notifications delivered before before_ms. */
int store_note_purge(struct store *s, int64_t before_ms, char *err);

struct store_note_counts {
	int64_t pending, dead;
	int64_t oldest_pending_ms; /* created_ms of the oldest pending, 0 if none */
};

/* fabric NULL: all fabrics. */
int store_note_counts(struct store *s, const char *fabric, struct store_note_counts *out);

/* ---- redeliveries ---------------------------------------------------- */

/* Whether to ask GitHub to redeliver guid: it is not stored, and it was
 * never asked for, or asked fewer than max_asks times and not within
 * min_interval_ms.  Record an ask with store_redelivery_asked. */
int store_redelivery_should_ask(struct store *s, const char *guid, int64_t now_ms,
				int64_t min_interval_ms, int max_asks, int *ask);
int store_redelivery_asked(struct store *s, const char *guid, int64_t now_ms);

/* ---- blobs ------------------------------------------------------------ */

/* Git blobs by sha (immutable, so never invalidated).  get: HS_OK with
 * *data new (NUL-terminated, caller frees), or HS_ENOTFOUND.  put: stores a
 * copy; storing a sha twice keeps the first. */
int store_blob_get(struct store *s, const char *sha, char **data, size_t *len);
/* 1 when the blob is stored (without reading it). */
int store_blob_has(struct store *s, const char *sha);
int store_blob_put(struct store *s, const char *sha, const void *data, size_t len);

#endif
