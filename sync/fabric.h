/* fabric.h: fabrics: registration, onboarding, ingestion of raw/ and the
 * resource state built from managed/.
 *
 * A fabric is (installation, owner/repo, branch, directory).  Everything
 * hedgesync changes in a fabric's repository it changes in one commit per
 * job through the Git Data API, re-planned when the branch moves, and never
 * an empty commit.  Handlers run in workers and are idempotent: a re-run
 * starts from the branch's head and finds nothing left to do.
 */
#ifndef SYNC_FABRIC_H
#define SYNC_FABRIC_H

#include <jansson.h>
#include <stddef.h>

#include "sync/events.h"
#include "sync/store.h"

struct gh_client;
struct store;
struct store_fabric;

#define FABRIC_DIR_MAX 512

/* Normalize a repo-relative directory into out: no leading or trailing
 * slash, no empty, "." or ".." segment; "" is the root.  HS_EINVAL. */
int fabric_normalize_dir(const char *in, char *out, size_t n);
/* 1 when one directory is the other or contains it. */
int fabric_dirs_overlap(const char *a, const char *b);
/* A fabric name: lowercase letters, digits and '-', 1..63, alphanumeric ends. */
int fabric_name_ok(const char *name);

struct fabric_input {
	const char *name;
	const char *repository; /* "owner/repo" */
	const char *branch;     /* NULL: the repository's default branch */
	const char *directory;
};

/*
 * Register a fabric: check the input (HS_EINVAL, the field named in err),
 * find the App's installation and the default branch through gh
 * (HS_ENOTFOUND when the App cannot see the repository), refuse a name or
 * a directory already taken or nested with another fabric's on the same
 * repository and branch (HS_ECONFLICT), store it and queue its onboarding.
 * *out (new) is the fabric as JSON.
 */
int fabric_register(struct store *st, struct gh_client *gh, const struct fabric_input *in,
		    json_t **out, char *err);

/* A stored fabric as the REST API shows it (new reference). */
json_t *fabric_to_json(const struct store_fabric *f);

/* A fabric with its own copies of the stored strings. */
struct fabric_copy {
	struct store_fabric f; /* strings point into strs */
	char *strs[6];
};

void fabric_copy_release(struct fabric_copy *c); /* accepts a zeroed copy */

/* The fabric a job's payload names ("fabric"): HS_OK with *c filled (release
 * it), 1 when that fabric was removed meanwhile (nothing to do), or an error. */
int fabric_from_job(struct ev_ctx *ctx, struct fabric_copy *c);

/* The fabrics registered on a repository branch (NULL filters: any). */
struct fabric_list {
	struct fabric_copy *v;
	size_t n;
};

int fabric_list_load(struct store *st, const char *owner, const char *repo,
		     const char *branch, struct fabric_list *out, char *err);
void fabric_list_release(struct fabric_list *l); /* accepts NULL */

/* Queue ingestion of a fabric's raw/ (REST and CLI "ingest"). */
int fabric_queue_ingest(struct store *st, const char *name, int64_t *job, char *err);

/* Queue reading the fabric's resource state again from its branch head
 * (REST "resync"): every managed file parsed and validated anew; the result
 * equals the state built push by push, and only real differences are
 * notified. */
int fabric_queue_resync(struct store *st, const char *name, int64_t *job, char *err);

/* Queue a catch-up of every onboarded fabric (at start): one whose branch
 * moved past its state while no push reached hedgesync is ingested.  *n
 * gets how many were queued. */
int fabric_queue_catchup(struct store *st, int *n, char *err);

/* Job handlers (kinds "fabric.onboard", "fabric.ingest", "fabric.resync",
 * "fabric.catchup", "github.push", "github.installation"). */
int fabric_handle_onboard(struct ev_ctx *ctx);
int fabric_handle_catchup(struct ev_ctx *ctx);
int fabric_handle_resync(struct ev_ctx *ctx);
int fabric_handle_ingest(struct ev_ctx *ctx);
int fabric_handle_push(struct ev_ctx *ctx);
int fabric_handle_installation(struct ev_ctx *ctx);

#endif
