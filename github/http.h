/* http.h: the GitHub REST client: one keep-alive libcurl handle per thread.
 *
 * A struct gh_client belongs to one thread: it owns a curl easy handle (so
 * connections are kept alive between calls), a small ETag cache and its
 * counters.  What threads share is passed in, borrowed: the App's struct
 * gh_auth (JWT and installation-token cache), the struct gh_repolock that
 * serializes content-creating calls per repository, and the blob cache.
 *
 * gh_request() sends one API call and deals with what GitHub asks of a
 * client: it authenticates (App JWT or installation token), retries network
 * errors and 5xx with exponential backoff and jitter, renews the token once
 * on a 401, waits out 403/429 rate limits (retry-after, else
 * x-ratelimit-reset when x-ratelimit-remaining is 0, else a minute, doubling)
 * up to a bound, sends If-None-Match for GETs it has an ETag for, and
 * refuses a response body over the size cap (GH_ETOOBIG) without buffering
 * it.  Every loop is bounded.
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "github/base/buf.h"
#include "github/gh.h"

struct gh_auth;
struct gh_repolock;
struct gh_client;

#define GH_API_VERSION "2022-11-28"
#define GH_DEFAULT_API_URL "https://api.github.com"
/* Default cap on one response body. */
#define GH_MAX_RESPONSE (32 * 1024 * 1024)
/* Cap on all response headers of one call. */
#define GH_MAX_HEADERS (256 * 1024)

struct gh_client_opts {
	const char *base_url;        /* NULL: gh_api_base_url() of the environment */
	const char *user_agent;      /* NULL: "hedgesync/<version>" */
	struct gh_auth *auth;        /* borrowed, shared; NULL: no App auth */
	struct gh_repolock *locks;   /* borrowed, shared; NULL: no serialization */
	const struct gh_blob_cache *blobs; /* borrowed; NULL: no blob cache */
	const volatile sig_atomic_t *stop; /* borrowed; when it turns nonzero,
					    * waits end and calls fail (GH_ENET) */
	long connect_timeout_ms;     /* 0: 10 s */
	long timeout_ms;             /* whole call, 0: 120 s */
	size_t max_response;         /* 0: GH_MAX_RESPONSE */
	int max_attempts;            /* tries for network errors and 5xx, 0: 4 */
	int backoff_base_ms;         /* first retry delay, 0: 500 ms */
	int backoff_max_ms;          /* 0: 30 s */
	int ratelimit_max_wait_s;    /* longest total rate-limit wait, 0: 900 s */
	int ratelimit_default_s;     /* wait when GitHub names no time, 0: 60 s */
	int etag_entries;            /* ETag cache size, 0: 64, -1: off */
	int token_wait_ms;           /* wait for another thread's mint, 0: 60 s */
};

/* Fill o with zeros (every field at its default). */
void gh_client_opts_init(struct gh_client_opts *o);

/* *out is new (gh_client_free).  GH_EINVAL for a bad base URL. */
int gh_client_new(struct gh_client **out, const struct gh_client_opts *o, char *err);
void gh_client_free(struct gh_client *c);
/* A client for another thread with c's options (auth, locks, base URL),
 * without c's blob cache or ETags.  *out is new (gh_client_free). */
int gh_client_fork(struct gh_client *c, struct gh_client **out, char *err);

/* Borrowed views of the options the client was made with. */
const struct gh_blob_cache *gh_client_blobs(struct gh_client *c);
const char *gh_client_base_url(struct gh_client *c);
/* Change the response cap for later calls (0: the default). */
void gh_client_set_max_response(struct gh_client *c, size_t max);

struct gh_client_stats {
	uint64_t requests;        /* HTTP exchanges, retries included */
	uint64_t retries;         /* after a network error or 5xx */
	uint64_t ratelimit_waits; /* times a rate limit was waited out */
	uint64_t token_refreshes; /* tokens renewed after a 401 */
	uint64_t etag_hits;       /* 304s answered from the ETag cache */
	int64_t ratelimit_remaining; /* last x-ratelimit-remaining, -1 unknown */
	int64_t ratelimit_reset;     /* last x-ratelimit-reset (epoch s), 0 unknown */
};
void gh_client_stats(struct gh_client *c, struct gh_client_stats *out);

enum gh_auth_kind {
	GH_AUTH_NONE,         /* no Authorization header */
	GH_AUTH_APP,          /* Bearer <App JWT> */
	GH_AUTH_INSTALLATION, /* token <installation token> */
};

struct gh_request {
	const char *method;      /* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *path;        /* "/repos/..." under the base URL, or a full
				  * URL under it (a Link header's next page) */
	const char *body;        /* JSON text or NULL (borrowed) */
	size_t body_len;
	enum gh_auth_kind auth;
	int64_t installation_id; /* for GH_AUTH_INSTALLATION */
	const struct gh_repo *serialize; /* content-creating call on this repo */
	size_t max_response;     /* 0: the client's cap */
	const char *accept;      /* NULL: application/vnd.github+json */
};

struct gh_response {
	long status;          /* HTTP status; 200 for an ETag-cache hit */
	struct hs_buf body;   /* the body, capped */
	char *link_next;      /* new: the rel="next" URL, or NULL */
	char *etag;           /* new: the ETag header, or NULL */
	int from_cache;       /* 1: GitHub said 304 and the body is the cached one */
	int64_t date_s;       /* the Date header as epoch seconds, 0 if none */
};

void gh_response_init(struct gh_response *r);
/* Free what r holds; r may be reused after gh_response_init.  NULL is fine. */
void gh_response_release(struct gh_response *r);

/*
 * Send rq and fill rs (which must be initialized; it is reset first).
 * GH_OK means GitHub answered, with any status: read rs->status, or use
 * gh_status_error().  Otherwise GH_ENET (network/5xx after every try),
 * GH_ERATELIMIT, GH_EUNAUTH (no token could be had, or 401 twice),
 * GH_ETOOBIG (response over the cap), GH_EINVAL (bad request arguments).
 */
int gh_request(struct gh_client *c, const struct gh_request *rq,
	       struct gh_response *rs, char *err);

/* The gh_err for a finished exchange: GH_OK for 2xx and 304; otherwise the
 * code for the status, with GitHub's message in err. */
int gh_status_error(const struct gh_request *rq, const struct gh_response *rs,
		    char *err);

/*
 * gh_request, then gh_status_error, then parse the body as JSON: want is an
 * enum gh_json_want (GH_JSON_NONE: do not parse).  *out (may be
 * NULL) is new; *status (may be NULL) gets the HTTP status even on error.
 */
int gh_call(struct gh_client *c, const struct gh_request *rq, int want,
	    json_t **out, long *status, char *err);

/* Called with each page (an array, borrowed) of a paginated listing; a
 * nonzero return stops the walk and is returned by gh_paginate. */
typedef int (*gh_page_fn)(void *payload, json_t *page, char *err);
/* GET rq->path and the pages its Link headers name, at most max_pages.
 * If array_key is set, each page is an object and the array is that member. */
int gh_paginate(struct gh_client *c, const struct gh_request *rq,
		const char *array_key, int max_pages, gh_page_fn fn,
		void *payload, char *err);

/* ---- pieces exposed for the unit tests and for the other modules ---- */

/* The API base URL, no trailing slash, new: api_url (GITHUB_API_URL) if
 * set, else <ghe_protocol or https>://<ghe_host>/api/v3, else api.github.com. */
char *gh_api_base_url(const char *api_url, const char *ghe_host,
		      const char *ghe_protocol);

/* The URL of rel="next" in a Link header value, new, or NULL. */
char *gh_link_next(const char *link);

/*
 * How long to wait before retrying a 403 or 429 response, in ms, or -1 when
 * it is not a rate limit (a 403 for want of permission).  Header values may
 * be NULL.  now_s is the server's time (its Date header) when known.
 * nth counts earlier rate-limit waits of the same call (0 first).
 */
int64_t gh_ratelimit_wait_ms(long status, const char *retry_after,
			     const char *remaining, const char *reset,
			     const char *message, int64_t now_s,
			     int64_t default_ms, int nth);

/* Exponential backoff with jitter for try number attempt (1 = first retry):
 * a random value in [d/2, d] where d = min(base * 2^(attempt-1), max). */
int64_t gh_backoff_ms(int attempt, int base_ms, int max_ms, uint64_t *rng);

/* Append path to b with each '/'-separated segment percent-escaped. */
int gh_path_escape(struct hs_buf *b, const char *path);

/* Append s to b percent-escaped for a query string (every reserved byte). */
int gh_query_escape(struct hs_buf *b, const char *s);

/* 1 when p is a usable repository path: not empty, no leading or trailing
 * '/', no empty, "." or ".." segment, no NUL or control character. */
int gh_path_valid(const char *p);

#endif
