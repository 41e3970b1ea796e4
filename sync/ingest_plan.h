/* ingest_plan.h: what ingesting a fabric's raw/ folder would change.
 *
 * plan_build is pure: given the files in raw/ (path, bytes, blob sha), the
 * current files under managed/ (path, bytes) and the paths already taken
 * under unmanaged/, it decides, per PRODUCT.md §4 "Ingestion":
 *
 *  - a valid document of a managed kind becomes managed/<plural>/<name>.yaml
 *    in canonical form (created, updated, or unchanged when the bytes are
 *    the same; a resource found at another managed path is moved);
 *  - a document invalid on its own, of an unknown or unmanaged kind, and a
 *    file that is not YAML go to unmanaged/ with a "<file>.reasons.yaml"
 *    beside them listing every finding with line and column.  A file none of
 *    whose documents is ingested moves whole; otherwise each refused
 *    document is cut out on its own as unmanaged/<stem>.doc<N>.yaml;
 *  - two documents of one kind and name that differ are both refused as
 *    ambiguous; identical ones are ingested once;
 *  - references that do not resolve and other fabric-level findings are
 *    warnings only (the target may come in a later push); references to the
 *    "default" namespaces always resolve; SwitchProfile/ServerProfile are
 *    not checked; fields hhfab fills in are never required;
 *  - every raw file is deleted (raw/.gitkeep is kept, or written when the
 *    folder would vanish); the archive entries record each file's blob sha.
 *
 * Paths are relative to the fabric directory ("raw/a.yaml").  The plan owns
 * copies of everything it returns.  Thread-safe; no I/O.
 */
#ifndef HS_INGEST_PLAN_H
#define HS_INGEST_PLAN_H

#include <stddef.h>
#include <jansson.h>

#include "github/base/buf.h"
#include "sync/finding.h"
#include "sync/yaml.h"

struct plan_file {
	const char *path; /* relative to the fabric directory */
	const char *data;
	size_t len;
	const char *sha;  /* git blob sha (raw files), may be NULL */
};

enum plan_outcome {
	PLAN_CREATED,   /* new managed file */
	PLAN_UPDATED,   /* managed file rewritten (or moved) */
	PLAN_UNCHANGED, /* managed file already holds exactly this */
	PLAN_DUPLICATE, /* same resource, identical, earlier in the batch */
	PLAN_UNMANAGED, /* refused: to unmanaged/ */
	PLAN_EMPTY,     /* a raw file without documents */
};

struct plan_doc {
	char *raw_path;
	int index;          /* document index in the raw file, -1 for the whole file */
	unsigned line;      /* where it starts in the raw file */
	char *kind;         /* NULL when unknown */
	char *name;
	enum plan_outcome outcome;
	char *target;       /* managed or unmanaged path; NULL when none */
	char *reason;       /* one line; NULL for plain successes */
};

enum plan_write_kind {
	PLAN_W_MANAGED,
	PLAN_W_UNMANAGED,
	PLAN_W_REASONS,
	PLAN_W_KEEP, /* raw/.gitkeep */
};

struct plan_write {
	char *path;
	char *data;
	size_t len;
	enum plan_write_kind kind;
};

struct plan_raw {
	char *path;
	char *sha;
	unsigned documents;
};

struct plan {
	struct plan_write *writes;
	size_t nwrites;
	char **deletes;
	size_t ndeletes;
	struct plan_doc *docs;
	size_t ndocs;
	struct plan_raw *raws;
	size_t nraws;
	struct fnd_list findings; /* about the raw files */
	size_t created, updated, unchanged, duplicates, unmanaged;
};

/* Build the plan.  unmanaged_paths (may be NULL) are existing files under
 * unmanaged/, to avoid overwriting them.  lim may be NULL for the loader
 * defaults.  HS_OK and *out (new; plan_free), or a negative code with err. */
int plan_build(struct plan **out, const struct plan_file *raw, size_t nraw,
	       const struct plan_file *managed, size_t nmanaged,
	       const char *const *unmanaged_paths, size_t nunmanaged,
	       const struct hy_limits *lim, char *err);
void plan_free(struct plan *p);

/* 1 when the plan writes and deletes nothing. */
int plan_is_noop(const struct plan *p);
const char *plan_outcome_name(enum plan_outcome o);

/* A readable report (hedgesync ingest --dry-run). */
int plan_format_text(const struct plan *p, struct hs_buf *out);
/* The whole plan as JSON (new reference). */
json_t *plan_to_json(const struct plan *p);
/* One archive-log entry per raw file: {raw, blob, documents: [{index,
 * kind, name, outcome, target}]} (new reference; the caller adds the
 * commit). */
json_t *plan_archive_entries(const struct plan *p);
/* The commit message listing what happened (new; caller frees). */
char *plan_commit_message(const struct plan *p);

#endif
