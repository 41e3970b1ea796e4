/* checks.h: the Checks API: create and update check runs, annotations in batches of 50.
 *
 * GitHub takes at most 50 annotations per request and appends the
 * annotations of each update to the run.  gh_checks_create() and
 * gh_checks_update() send any number: the first 50 with the create (or
 * first update), the rest in further updates of 50.  While batches remain,
 * the run is kept in_progress; the status, conclusion and completed_at asked
 * for go with the last request, so a run is never seen completed with half
 * its annotations.  A summary or text over 65,535 bytes is cut (at a UTF-8
 * boundary) with a note saying so.
 */
#ifndef GH_CHECKS_H
#define GH_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "github/gh.h"

struct gh_client;

#define GH_CHECKS_ANNOTATIONS_PER_CALL 50
#define GH_CHECKS_MAX_TEXT 65535      /* summary and text */
#define GH_CHECKS_MAX_MESSAGE 65535   /* annotation message, raw_details */
#define GH_CHECKS_MAX_TITLE 255       /* annotation title */
#define GH_CHECKS_MAX_ACTIONS 3

enum gh_annotation_level { GH_ANN_NOTICE, GH_ANN_WARNING, GH_ANN_FAILURE };

struct gh_annotation {
	const char *path;        /* repository-relative */
	int start_line;          /* 1-based */
	int end_line;            /* >= start_line */
	int start_column;        /* 0: none; only sent when on one line */
	int end_column;
	enum gh_annotation_level level;
	const char *message;
	const char *title;       /* NULL: none */
	const char *raw_details; /* NULL: none */
};

/* A button on the run; GitHub sends check_run requested_action with identifier. */
struct gh_check_action {
	const char *label;       /* <= 20 characters */
	const char *description; /* <= 40 characters */
	const char *identifier;  /* <= 20 characters */
};

/* All strings borrowed; NULL (or 0) fields are not sent. */
struct gh_check_run {
	const char *name;        /* required to create */
	const char *head_sha;    /* required to create */
	const char *status;      /* "queued", "in_progress", "completed" */
	const char *conclusion;  /* "success", "failure", "neutral", "action_required", ... */
	const char *details_url;
	const char *external_id;
	const char *started_at;  /* ISO 8601 */
	const char *completed_at;
	const char *title;       /* output; title and summary needed when there is output */
	const char *summary;
	const char *text;
	const struct gh_annotation *annotations;
	size_t n_annotations;
	const struct gh_check_action *actions;
	size_t n_actions;
};

/* POST /repos/{o}/{r}/check-runs, then PATCHes for further annotations.
 * *id gets the run's id; *calls (may be NULL) the requests made. */
int gh_checks_create(struct gh_client *c, const struct gh_repo *r,
		     const struct gh_check_run *run, int64_t *id, int *calls,
		     char *err);

/* PATCH /repos/{o}/{r}/check-runs/{id}, in batches as above. */
int gh_checks_update(struct gh_client *c, const struct gh_repo *r, int64_t id,
		     const struct gh_check_run *run, int *calls, char *err);

#endif
