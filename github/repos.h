/* repos.h: repository-level reads: the App's installation, compare, pull-request files. */
#ifndef GH_REPOS_H
#define GH_REPOS_H

#include <stddef.h>
#include <stdint.h>

#include "github/gh.h"

struct gh_client;

/* GitHub lists at most 300 files in a compare and 3000 in a pull request. */
#define GH_COMPARE_MAX_FILES 300
#define GH_PULL_MAX_FILES 3000

/*
 * GET /repos/{owner}/{repo}/installation with the App JWT: the id of the
 * installation that covers the repository.  GH_ENOTFOUND when the App is
 * not installed on it.
 */
int gh_repos_installation(struct gh_client *c, const char *owner, const char *repo,
			  int64_t *installation_id, char *err);

struct gh_file_change {
	char *filename;          /* new */
	char *previous_filename; /* new, renames only, else NULL */
	char *status;            /* new: added, removed, modified, renamed, copied,
				  * changed, unchanged */
	gh_sha sha;              /* the blob after the change ("" when removed or
				  * when GitHub gives none) */
};

struct gh_file_list {
	struct gh_file_change *v; /* new */
	size_t n, alloc;
	int truncated; /* 1: GitHub's cap was reached; compare trees for the rest */
};
void gh_file_list_init(struct gh_file_list *l);
void gh_file_list_release(struct gh_file_list *l);

struct gh_compare {
	char *status;        /* new: "ahead", "behind", "identical", "diverged" */
	int64_t ahead_by;
	int64_t behind_by;
	int64_t total_commits;
	gh_sha merge_base;
	struct gh_file_list files;
};
void gh_compare_release(struct gh_compare *x);

/* GET /repos/{o}/{r}/compare/{base}...{head}. */
int gh_repos_compare(struct gh_client *c, const struct gh_repo *r, const char *base,
		     const char *head, struct gh_compare *out, char *err);

/* GET /repos/{o}/{r}/pulls/{number}/files, every page (100 per page). */
int gh_pulls_list_files(struct gh_client *c, const struct gh_repo *r, int64_t number,
			struct gh_file_list *out, char *err);

#endif
