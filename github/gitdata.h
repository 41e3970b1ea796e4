/* gitdata.h: the Git Data API: refs, commits, trees, blobs, and one-commit change sets.
 *
 * gh_git_commit() is how hedgesync writes several files: one tree built on
 * the branch head's tree (base_tree, inline content, sha null to delete),
 * one commit, one ref update with force false.  It costs the same five
 * calls for 1 file or 1000.  When the branch moved meanwhile (422 "Update is
 * not a fast forward"), it re-reads the head, lets the caller re-plan the
 * change set on it, and tries again, a bounded number of times.
 */
#ifndef GH_GITDATA_H
#define GH_GITDATA_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "github/gh.h"

struct gh_client;

/* Largest blob gh_git_get_blob returns, as GitHub documents. */
#define GH_BLOB_MAX (100 * 1024 * 1024)
/* Most entries gh_git_get_tree collects when it walks a truncated tree. */
#define GH_TREE_MAX_ENTRIES 1000000

/* A branch name git accepts (no "..", control characters, ~^:?*[\ or space,
 * no leading '-' or '/', no trailing '/', ".lock" or '.'). */
int gh_branch_valid(const char *branch);

/* GET /repos/{o}/{r}/git/ref/heads/{branch}: the commit it points at. */
int gh_git_get_ref(struct gh_client *c, const struct gh_repo *r, const char *branch,
		   gh_sha out, char *err);
/* POST /repos/{o}/{r}/git/refs: make refs/heads/{branch} at sha.
 * GH_EINVAL when it exists already (GitHub's 422). */
int gh_git_create_ref(struct gh_client *c, const struct gh_repo *r,
		      const char *branch, const char *sha, char *err);
/* PATCH /repos/{o}/{r}/git/refs/heads/{branch} {sha, force}.
 * GH_ENOTFF when force is 0 and sha does not descend from the head. */
int gh_git_update_ref(struct gh_client *c, const struct gh_repo *r,
		      const char *branch, const char *sha, int force, char *err);

struct gh_commit {
	gh_sha sha;
	gh_sha tree;
	gh_sha *parents; /* new */
	size_t n_parents;
	char *message;   /* new */
};
/* GET /repos/{o}/{r}/git/commits/{sha}.  Release out with gh_commit_release. */
int gh_git_get_commit(struct gh_client *c, const struct gh_repo *r, const char *sha,
		      struct gh_commit *out, char *err);
void gh_commit_release(struct gh_commit *x);
/* The commit in GitHub's answer j (borrowed); when sha is not NULL the
 * answer must be about that commit.  GH_EBADRESP for a malformed answer. */
int gh_commit_decode(const json_t *j, const char *sha, struct gh_commit *out, char *err);

enum gh_object_type { GH_OBJ_BLOB, GH_OBJ_TREE, GH_OBJ_COMMIT };

struct gh_tree_entry {
	char *path;     /* new; full path from the root tree */
	uint32_t mode;  /* 0100644, 0100755, 040000, 0160000, 0120000 (octal) */
	enum gh_object_type type;
	gh_sha sha;
	int64_t size;   /* blobs; -1 otherwise */
};

struct gh_tree {
	gh_sha sha;
	struct gh_tree_entry *v; /* new */
	size_t n, alloc;
	int requests;            /* API calls it took (more than 1 if truncated) */
};

/*
 * GET /repos/{o}/{r}/git/trees/{sha}[?recursive=1] into out (initialized
 * with gh_tree_init).  Recursive listings hold trees and blobs, as GitHub
 * returns them.  When GitHub answers truncated: true, the tree is walked one
 * sub-tree at a time (each again tried recursively first), so the result is
 * always complete, or an error.
 */
int gh_git_get_tree(struct gh_client *c, const struct gh_repo *r, const char *sha,
		    int recursive, struct gh_tree *out, char *err);
void gh_tree_init(struct gh_tree *t);
void gh_tree_release(struct gh_tree *t);
/* Append the entries of one listing (GitHub's answer to GET trees/{sha},
 * borrowed) to t, each path under prefix.  GH_EBADRESP for a bad entry,
 * GH_ETOOBIG past GH_TREE_MAX_ENTRIES. */
int gh_tree_add_listing(struct gh_tree *t, const json_t *listing, const char *prefix,
			char *err);

/*
 * GET /repos/{o}/{r}/git/blobs/{sha}, through the client's blob cache.
 * *data is new (free()), NUL-terminated, *len bytes; its git blob id is
 * checked against sha.  GH_ETOOBIG over max bytes (0: GH_BLOB_MAX).
 */
int gh_git_get_blob(struct gh_client *c, const struct gh_repo *r, const char *sha,
		    size_t max, char **data, size_t *len, char *err);
/*
 * Read into c's blob cache, `parallel` at a time, the blobs of shas[0..n)
 * it does not hold yet, each at most max bytes, so that the
 * gh_git_get_blob calls that follow are served from it.  Best effort:
 * blobs that fail are left for those calls to read (and report).  Without
 * a cache, or with one blob to read, it does nothing.  Returns how many
 * blobs it read.
 */
size_t gh_git_prefetch_blobs(struct gh_client *c, const struct gh_repo *r,
			     const char *const *shas, size_t n, size_t max, int parallel);
/* How many blobs gh_git_prefetch_blobs reads at a time. */
#define GH_PREFETCH_PARALLEL 8
/* POST /repos/{o}/{r}/git/blobs (base64): the new blob's sha in out. */
int gh_git_create_blob(struct gh_client *c, const struct gh_repo *r,
		       const char *data, size_t len, gh_sha out, char *err);

/* ---- change sets ---- */

struct gh_change {
	char *path;     /* new */
	char *data;     /* new; NULL for a deletion */
	size_t len;
	uint32_t mode;  /* 0100644 (default), 0100755 or 0120000 */
	int delete;     /* 1: remove the file */
};

struct gh_changeset {
	struct gh_change *v;
	size_t n, alloc;
};

void gh_changeset_init(struct gh_changeset *cs);
void gh_changeset_release(struct gh_changeset *cs);
/* Empty it, keeping the allocation. */
void gh_changeset_clear(struct gh_changeset *cs);
/* Write data (copied) to path; a later change to the same path replaces an
 * earlier one.  mode 0 means 0100644.  GH_EINVAL for a bad path or mode. */
int gh_changeset_put(struct gh_changeset *cs, const char *path, const char *data,
		     size_t len, uint32_t mode);
/* Remove path (which must exist on the branch when committed). */
int gh_changeset_delete(struct gh_changeset *cs, const char *path);

/*
 * Re-plan after the branch moved: head is the new head commit.  Edit cs to
 * what should be committed on top of it (it may clear it: nothing to do).
 * Return GH_OK to try again, or any error to give up with it.
 */
typedef int (*gh_replan_fn)(void *payload, const char *head, struct gh_changeset *cs,
			    char *err);

struct gh_commit_opts {
	const char *branch;
	const char *message;
	const struct gh_person *author;    /* NULL: the App */
	const struct gh_person *committer; /* NULL: the App */
	int max_attempts;   /* tries on non-fast-forward, 0: 5 */
	gh_replan_fn replan; /* NULL: give up at the first non-fast-forward */
	void *payload;
};

struct gh_commit_result {
	gh_sha commit;  /* the new commit (the head, when noop) */
	gh_sha tree;
	gh_sha parent;  /* the head it was built on */
	int attempts;   /* 1 unless the branch moved */
	int noop;       /* 1: the change set changed nothing; no commit made */
};

/*
 * Commit cs to o->branch as exactly one commit (or none when it changes
 * nothing).  Calls: get ref, get commit, create tree, create commit, update
 * ref; plus blob creations for content that is not UTF-8 text.  cs may be
 * changed by o->replan.  GH_ENOTFF when the branch kept moving.
 */
int gh_git_commit(struct gh_client *c, const struct gh_repo *r,
		  const struct gh_commit_opts *o, struct gh_changeset *cs,
		  struct gh_commit_result *out, char *err);

/* The pieces gh_git_commit uses, for callers that build commits otherwise. */
int gh_git_create_tree(struct gh_client *c, const struct gh_repo *r,
		       const char *base_tree, const struct gh_changeset *cs,
		       gh_sha out, char *err);
int gh_git_create_commit(struct gh_client *c, const struct gh_repo *r,
			 const char *message, const char *tree,
			 const char *const *parents, size_t n_parents,
			 const struct gh_person *author,
			 const struct gh_person *committer, gh_sha out, char *err);

#endif
