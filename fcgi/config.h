/* config.h: hedgesync's settings from the environment and --config FILE.
 *
 * Names follow Probot where Probot has one (APP_ID, PRIVATE_KEY_PATH,
 * PRIVATE_KEY, WEBHOOK_SECRET, WEBHOOK_PATH, GHE_HOST, LOG_LEVEL, LOG_FORMAT);
 * the rest are hedgesync's own (README.md lists them all).  A file holds the
 * same keys as KEY=VALUE lines; the environment wins over the file.
 */
#ifndef CFG_CONFIG_H
#define CFG_CONFIG_H

#include "github/base/buf.h"

struct hs_config {
	char *app_id;           /* numeric App id or client id ("Iv1..."), iss of the JWT */
	char *private_key;      /* PEM text (PKCS#1 or PKCS#8), decoded */
	char *private_key_path; /* where it came from, if a file */
	char *webhook_secret;
	char *webhook_secret_previous; /* also accepted while rotating */
	char *webhook_path;     /* default /api/github/webhooks */
	char *github_api_url;   /* default https://api.github.com, no trailing slash */
	char *db_path;          /* default ./var/hedgesync.db */
	char *listen;           /* unix:PATH or tcp:HOST:PORT */
	int workers;            /* background job threads, 1..64, default 4 */
	int threads;            /* FastCGI request threads, 1..256, default 16 */
	char **api_tokens;      /* NULL-terminated bearer tokens for /api/v1 */
	char *netbox_url;
	char *netbox_token;
	char *netbox_webhook_secret;
	char *netbox_notify_path; /* appended to netbox_url; default /api/plugins/hedgehog/gitops/events/ */
	char *log_level;
	char *log_format;
	int lease_seconds;      /* job lease, default 60 */
	char *credentials_path;  /* HEDGESYNC_CREDENTIALS: what /setup stores, read if present */
	char *public_url;        /* HEDGESYNC_PUBLIC_URL: how GitHub reaches us, or NULL */
	int setup;               /* serve --setup with no App: only /setup runs */
	int notify_give_up_seconds; /* dead-letter a NetBox notification after this, default 86400 */
	int writes_per_minute;  /* content-creating GitHub calls, default 80; 0: no budget */
	int job_attempts;       /* attempts before dead-letter, default 8 */
	int test_handlers;      /* HEDGESYNC_TEST_HANDLERS=1: the test-only event */
	int redeliver_seconds;  /* scan for missed deliveries this often; 0: never */
};

/*
 * Read the credentials file (HEDGESYNC_CREDENTIALS, by default
 * app-credentials.env beside HEDGESYNC_DB) when it exists, then file (may
 * be NULL), then the environment into cfg, each winning over the one
 * before, applying defaults.  Returns HS_OK, or HS_EINVAL with every problem found (unknown
 * keys, unreadable file, malformed values) listed in msg, one per line.
 * cfg must be released with cfg_release even on failure.
 */
int cfg_load(struct hs_config *cfg, const char *file, struct hs_buf *msg);

/* The settings `serve` cannot start without: adds one line per missing or
 * malformed setting to msg; HS_EINVAL if there was any.  setup_allowed
 * (serve --setup): with no App setting at all, set cfg->setup and check the
 * rest only. */
int cfg_check_serve(struct hs_config *cfg, int setup_allowed, struct hs_buf *msg);

/* Free everything cfg owns; accepts NULL. */
void cfg_release(struct hs_config *cfg);

/* Parse HEDGESYNC_LISTEN; on success *path is borrowed from spec and either
 * a unix path (is_unix=1) or "host:port".  HS_EINVAL when malformed. */
int cfg_parse_listen(const char *spec, int *is_unix, const char **addr);

#endif
