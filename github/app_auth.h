/* app_auth.h: the App's JWT and the shared, thread-safe installation-token cache.
 *
 * One struct gh_auth per App and process, created before the worker threads
 * start and shared by all of them (every function here is thread-safe).  It
 * holds the App's private key and, per installation, the current token.  It
 * makes no HTTP call itself: gh_auth_token() calls back into the caller's
 * `mint` function (github/http.c supplies one) when a token is needed, and
 * makes sure only one thread mints for an installation at a time while the
 * others wait for its result.
 *
 * Tokens, JWTs and keys are secrets: nothing here logs them, and the copies
 * held here are wiped before they are freed.
 */
#ifndef GH_APP_AUTH_H
#define GH_APP_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct gh_auth;

struct gh_auth_opts {
	const char *iss;     /* the App id (or client id), the JWT's iss */
	const char *key_pem; /* RSA private key, PKCS#1 or PKCS#8 PEM (borrowed) */
	size_t key_len;
	int token_margin_s;  /* renew a token this long before expires_at
			      * (0: 300 s); never more than half its lifetime */
	int jwt_ttl_s;       /* exp - now (0: 540 s; at most 600) */
};

/* Largest PEM file gh_auth_read_key accepts. */
#define GH_AUTH_MAX_KEY (64 * 1024)
/* Longest installation token accepted from GitHub (they are ~520 bytes). */
#define GH_AUTH_MAX_TOKEN 8192

/* Read a PEM file into *pem (new, free() it; wipe it first if you care). */
int gh_auth_read_key(const char *path, char **pem, size_t *len, char *err);

/* *out is new (gh_auth_free).  GH_EINVAL when the key is not an RSA private
 * key in PEM or iss is empty. */
int gh_auth_new(struct gh_auth **out, const struct gh_auth_opts *o, char *err);
void gh_auth_free(struct gh_auth *a);

/* A fresh App JWT: RS256, iat = now - 60, exp = now + jwt_ttl_s, iss, with
 * now corrected by the skew set below.  *jwt is new (free()). */
int gh_auth_jwt(struct gh_auth *a, char **jwt, char *err);
/* The JWT claims gh_auth_jwt would use now (for tests and diagnostics). */
void gh_auth_jwt_times(struct gh_auth *a, int64_t *iat, int64_t *exp);

/* Tell the signer that GitHub's clock reads skew_s seconds ahead of ours. */
void gh_auth_set_skew(struct gh_auth *a, int64_t skew_s);
int64_t gh_auth_skew(struct gh_auth *a);

/*
 * Mint a token for an installation: on success set *token (new, malloc'd)
 * and *expires_at_ms and return 0; otherwise a gh_err with err set.
 */
typedef int (*gh_auth_mint_fn)(void *payload, int64_t installation_id,
			       char **token, int64_t *expires_at_ms, char *err);

/*
 * The installation's token: from the cache when it is good for longer than
 * the margin, otherwise minted through mint(payload, ...) (by this thread or
 * by one it waits for, at most wait_ms).  *token is new (free()).
 */
int gh_auth_token(struct gh_auth *a, int64_t installation_id,
		  gh_auth_mint_fn mint, void *payload, int wait_ms,
		  char **token, char *err);

/* Forget the installation's token if it is still `token` (GitHub said 401:
 * a token another thread minted since is kept). */
void gh_auth_token_invalidate(struct gh_auth *a, int64_t installation_id,
			      const char *token);

/* How many tokens this cache has minted (successful mint calls). */
uint64_t gh_auth_mint_count(struct gh_auth *a);

#endif
