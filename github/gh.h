/* gh.h: what every github/ module shares: error codes, repository, person, blob cache.
 *
 * Every github/ function returns GH_OK (0) or one of the negative gh_err
 * codes below, and takes `char *err` (HS_ERRBUF bytes, caller-owned, may be
 * NULL) for the message a person reads.  The codes do not overlap the base
 * HS_E* codes; gh_err_to_hs() maps them for layers that only know those.
 */
#ifndef GH_GH_H
#define GH_GH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	GH_OK = 0,
	GH_ENOTFOUND = -20,  /* 404: no such repository, path, ref or object */
	GH_ECONFLICT = -21,  /* 409, or a contents sha that is stale or missing */
	GH_ENOTFF = -22,     /* 422 "Update is not a fast forward" */
	GH_EUNAUTH = -23,    /* 401/403: bad credentials or not allowed */
	GH_ERATELIMIT = -24, /* rate limited for longer than we may wait */
	GH_ETOOBIG = -25,    /* a response or an input over its size cap */
	GH_EBADRESP = -26,   /* GitHub's answer is not what the API documents */
	GH_ENET = -27,       /* network error or 5xx, after every retry */
	GH_EINVAL = -28,     /* 422 validation failed, or a bad argument */
} gh_err;

/* A short fixed name for a gh_err or HS_E* code ("not a fast forward"). */
const char *gh_strerror(int code);
/* The base-layer code nearest to a gh_err (HS_* codes pass through). */
int gh_err_to_hs(int code);

#define GH_SHA_HEX 40
/* A git object id as 40 lowercase hex digits and a NUL. */
typedef char gh_sha[GH_SHA_HEX + 1];

/* 1 when s is exactly 40 lowercase hex digits. */
int gh_sha_valid(const char *s);

/* One repository and the installation that acts on it.  Borrowed strings. */
struct gh_repo {
	const char *owner;
	const char *name;
	int64_t installation_id;
};

/* 1 when owner and name are GitHub-shaped: [A-Za-z0-9._-], 1..100 bytes. */
int gh_repo_valid(const struct gh_repo *r);

/* A commit author or committer.  Borrowed strings; date is ISO 8601 or NULL. */
struct gh_person {
	const char *name;
	const char *email;
	const char *date;
};

/*
 * A cache of blob contents keyed by blob sha.  Blobs never change, so an
 * entry never goes stale.  The store implements it; github/ only calls it.
 *
 *   get: on a hit, *data is new (malloc'd, the caller frees it with free())
 *        and *len its length; return 0.  On a miss return GH_ENOTFOUND.
 *        Any other negative return is treated as a miss.
 *   put: copy data (borrowed) under sha; return 0 or a negative code (a
 *        failed put is logged and otherwise ignored).
 *
 * Both must be safe to call from several threads at once.  github/ checks
 * that data from get hashes to sha before using it.
 */
struct gh_blob_cache {
	void *ctx;
	int (*get)(void *ctx, const char *sha, char **data, size_t *len);
	int (*put)(void *ctx, const char *sha, const char *data, size_t len);
	int (*has)(void *ctx, const char *sha); /* optional: 1 when held, without reading */
};

#endif
