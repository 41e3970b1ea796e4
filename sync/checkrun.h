/* checkrun.h: the "Hedgehog fabric" check run on pull requests and pushes.
 *
 * A check validates, at the head commit, every registered fabric whose
 * directory the change touches, whole (references cross files), with the
 * layout rules of `hedgesync validate`.  Findings become annotations; the
 * run fails only for errors the change introduces: errors also found at the
 * base commit (same file, rule code and message, lines ignored) are listed
 * in the summary and do not fail it; warnings never fail.  The summary also
 * previews what ingesting raw/ will do after the merge.
 *
 * Handlers follow sync/events.h: idempotent (a re-run finds the run it
 * created, by head sha and external id, and finishes it or leaves it be).
 * Triggers that are not re-requests make no second run on a commit that
 * already has one, so pull_request and check_suite deliveries for one push
 * cost one run.  Details in docs/CHECKS.md.
 */
#ifndef SYNC_CHECKRUN_H
#define SYNC_CHECKRUN_H

#include "sync/events.h"

struct gh_repo;

#define CHECKRUN_NAME "Hedgehog fabric"

/* pull_request opened, synchronize, reopened. */
int checkrun_handle_pull_request(struct ev_ctx *ctx);
/* check_suite requested, rerequested. */
int checkrun_handle_check_suite(struct ev_ctx *ctx);
/* check_run rerequested (of a "Hedgehog fabric" run), and requested_action
 * "fix-layout": the layout fixes of the fabrics on the pull request's base
 * branch committed to its head branch in one commit, then a check of it. */
int checkrun_handle_check_run(struct ev_ctx *ctx);

/*
 * The check of a push to a registered fabric's branch, on the pushed commit
 * `after`; the changed paths come from ctx->payload's commits (or a compare
 * with its "before" when the payload cannot tell).  r and branch borrowed.
 * Does nothing when no fabric is registered on that branch.
 */
int checkrun_on_push(struct ev_ctx *ctx, const struct gh_repo *r, const char *branch,
		     const char *after);

#endif
