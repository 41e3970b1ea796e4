/* layout.h: where things go in a fabric directory (PRODUCT.md §3).
 *
 *   .hnp/manifest.yaml, .hnp/archive-log.yaml   fabric metadata
 *   raw/...                                    drop zone (.yaml, .yml)
 *   unmanaged/...                              what ingestion could not take
 *   managed/<plural>/<metadata.name>.yaml      one resource per file
 *
 * Paths here are relative to the fabric directory, '/'-separated, without
 * leading or trailing slash.  Pure functions over strings; thread-safe.
 */
#ifndef HS_LAYOUT_H
#define HS_LAYOUT_H

#include <stddef.h>

#include "sync/finding.h"
#include "sync/kinds.h"

struct val_res;

enum lay_class {
	LAY_MANIFEST,    /* .hnp/manifest.yaml */
	LAY_ARCHIVE_LOG, /* .hnp/archive-log.yaml */
	LAY_HNP,         /* anything else under .hnp/ */
	LAY_GITKEEP,     /* a .gitkeep anywhere */
	LAY_RAW,         /* a file under raw/ */
	LAY_MANAGED,     /* managed/<known plural>/<file>.yaml or .yml */
	LAY_UNMANAGED,   /* under unmanaged/ */
	LAY_LOOSE_YAML,  /* a .yaml/.yml file directly in the fabric directory */
	LAY_STRAY,       /* anything else under managed/ */
	LAY_OTHER,       /* files the layout does not govern (README, ...) */
};

enum lay_class lay_classify(const char *rel);
/* 1 for names ending in .yaml or .yml. */
int lay_is_yaml_name(const char *path);

/* "managed/<plural>/<name>.yaml" (new; caller frees), or NULL when the
 * kind is not managed. */
char *lay_managed_path(const struct kind_info *k, const char *name);

/* Findings about a path itself: stray files under managed/, loose YAML in
 * the fabric root (layout-stray-file), files waiting in raw/
 * (layout-raw-pending).  file is the name shown. */
void lay_check_path(const char *file, const char *rel, struct fnd_list *fl);

/* Findings about a loaded managed file: empty, several documents, the kind
 * in another kind's folder, the name not the file name, not canonical.
 * res[0..n) are its documents as validated; data/len its bytes. */
void lay_check_managed(const char *file, const char *rel, struct val_res *const *res,
		       size_t n, const char *data, size_t len, struct fnd_list *fl);

#endif
