/* env.h: what the domain layer needs from the process: settings and shared
 * services, filled in once by the front (fcgi/) and read-only afterwards. */
#ifndef SYNC_ENV_H
#define SYNC_ENV_H

struct hs_metrics;
struct gh_auth;
struct gh_repolock;
struct notifier;

struct sync_env {
	const char *db_path;        /* every worker opens its own connection */
	struct hs_metrics *metrics; /* shared registry, borrowed */
	int test_handlers;          /* enable the test-only event */
	const char *test_record;    /* file the test handler appends to */
	const char *github_api_url;
	struct gh_auth *gh_auth;    /* shared token cache; NULL: no GitHub */
	struct gh_repolock *gh_locks; /* shared per-repository serialization */
	struct notifier *notifier;  /* the NetBox outbox's sender, or NULL */
};

#endif
