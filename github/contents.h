/* contents.h: the Contents API: read a file or a directory, write or delete one file.
 *
 * A write names the blob sha it replaces (the optimistic lock): GitHub
 * answers 409 when the file changed since, and these functions return
 * GH_ECONFLICT and write nothing.  GitHub asks that Contents writes to one
 * repository be made one at a time; they are serialized through the
 * client's gh_repolock.
 */
#ifndef GH_CONTENTS_H
#define GH_CONTENTS_H

#include <stddef.h>
#include <stdint.h>

#include "github/gh.h"

struct gh_client;

/* Largest file gh_contents_get returns (GitHub serves none larger). */
#define GH_CONTENTS_MAX_FILE (100 * 1024 * 1024)

enum gh_content_type {
	GH_CONTENT_FILE,
	GH_CONTENT_DIR,
	GH_CONTENT_SYMLINK,
	GH_CONTENT_SUBMODULE,
};

struct gh_content_entry {
	enum gh_content_type type;
	char *name;   /* new */
	char *path;   /* new */
	gh_sha sha;
	int64_t size;
};

struct gh_content {
	enum gh_content_type type;
	char *path;   /* new */
	gh_sha sha;   /* file: its blob sha; dir: "" (GitHub lists none) */
	int64_t size;
	char *data;   /* file: the content, decoded, NUL-terminated; else NULL */
	size_t len;
	struct gh_content_entry *entries; /* dir: its entries (GitHub lists <= 1000) */
	size_t n_entries;
};

/*
 * GET /repos/{owner}/{repo}/contents/{path}?ref=REF.  ref may be NULL (the
 * default branch); path "" is the repository root.  *out is new
 * (gh_content_free).  A file over 1 MB, which GitHub sends without content,
 * is fetched through the blob API (and the blob cache).
 */
int gh_contents_get(struct gh_client *c, const struct gh_repo *r, const char *path,
		    const char *ref, struct gh_content **out, char *err);
void gh_content_free(struct gh_content *x);

struct gh_contents_write {
	const char *path;    /* repository-relative, no leading '/' */
	const char *branch;  /* NULL: the default branch */
	const char *message; /* the commit message */
	const char *data;    /* put: the new content (borrowed) */
	size_t len;
	const char *sha;     /* blob sha being replaced; NULL when creating (put) */
	const struct gh_person *author;    /* NULL: GitHub's default */
	const struct gh_person *committer; /* NULL: the App */
};

struct gh_file_commit {
	gh_sha content_sha; /* the new blob ("" after a delete) */
	gh_sha commit_sha;  /* the commit made */
	int created;        /* put: 1 when the file did not exist (201) */
};

/*
 * PUT /repos/{owner}/{repo}/contents/{path}: create or replace one file in
 * one commit.  GH_ECONFLICT when w->sha is stale, or missing for a file
 * that exists; GH_ENOTFOUND when the branch does not exist.
 */
int gh_contents_put(struct gh_client *c, const struct gh_repo *r,
		    const struct gh_contents_write *w, struct gh_file_commit *out,
		    char *err);

/* DELETE /repos/{owner}/{repo}/contents/{path} with w->sha (required). */
int gh_contents_delete(struct gh_client *c, const struct gh_repo *r,
		       const struct gh_contents_write *w, struct gh_file_commit *out,
		       char *err);

#endif
