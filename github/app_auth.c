/* app_auth.c: App JWTs with libjwt and a single-flight installation-token cache. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "github/app_auth.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/gh.h"

struct tok {
	int64_t inst;
	char *token;        /* NULL when there is none */
	int64_t expires_ms; /* GitHub's expires_at */
	int64_t minted_ms;  /* when we received it */
	int minting;        /* a thread is minting for this installation */
};

struct gh_auth {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled when a mint ends */
	char *iss;
	int iss_numeric;
	char *pem; /* the key, re-encoded as PKCS#8 PEM for libjwt */
	size_t pem_len;
	int margin_s;
	int ttl_s;
	int64_t skew_s;
	struct tok *toks;
	size_t n, alloc;
	uint64_t mints;
};

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

int gh_auth_read_key(const char *path, char **pem, size_t *len, char *err)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n = 0;
	int ret = GH_EINVAL;

	*pem = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f) {
		hs_seterr(err, "cannot open private key '%s': %s", path, strerror(errno));
		goto out;
	}
	buf = hs_malloc(GH_AUTH_MAX_KEY + 1);
	n = fread(buf, 1, GH_AUTH_MAX_KEY + 1, f);
	if (ferror(f)) {
		hs_seterr(err, "cannot read private key '%s'", path);
		goto out;
	}
	if (n > GH_AUTH_MAX_KEY) {
		hs_seterr(err, "private key '%s' is over %d bytes", path, GH_AUTH_MAX_KEY);
		ret = GH_ETOOBIG;
		goto out;
	}
	buf[n] = '\0';
	*pem = buf;
	*len = n;
	buf = NULL;
	ret = GH_OK;
out:
	if (buf) {
		OPENSSL_cleanse(buf, n);
		free(buf);
	}
	if (f)
		fclose(f);
	return ret;
}

/* Never prompt for a pass phrase: an encrypted key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Read an RSA private key in either PEM format; write it out as PKCS#8. */
static int normalize_key(const char *pem, size_t len, char **out, size_t *outlen,
			 char *err)
{
	BIO *in = NULL, *mem = NULL;
	EVP_PKEY *pkey = NULL;
	char *data;
	long n;
	int ret = GH_EINVAL;

	if (!pem || !len || len > GH_AUTH_MAX_KEY) {
		hs_seterr(err, "private key is empty or over %d bytes", GH_AUTH_MAX_KEY);
		goto out;
	}
	in = BIO_new_mem_buf(pem, (int)len);
	mem = BIO_new(BIO_s_mem());
	if (!in || !mem) {
		hs_seterr(err, "cannot allocate a BIO");
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL);
	if (!pkey) {
		hs_seterr(err, "private key is not an unencrypted PEM private key "
			  "(PKCS#1 or PKCS#8)");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		hs_seterr(err, "private key is not an RSA key (RS256 needs RSA)");
		goto out;
	}
	if (EVP_PKEY_get_bits(pkey) < 2048) {
		hs_seterr(err, "RSA key has %d bits, fewer than 2048", EVP_PKEY_get_bits(pkey));
		goto out;
	}
	if (!PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL)) {
		hs_seterr(err, "cannot re-encode the private key");
		goto out;
	}
	n = BIO_get_mem_data(mem, &data);
	if (n <= 0) {
		hs_seterr(err, "cannot re-encode the private key");
		goto out;
	}
	*out = hs_strndup(data, (size_t)n);
	*outlen = (size_t)n;
	OPENSSL_cleanse(data, (size_t)n);
	ret = GH_OK;
out:
	EVP_PKEY_free(pkey);
	BIO_free(in);
	BIO_free(mem);
	return ret;
}

int gh_auth_new(struct gh_auth **out, const struct gh_auth_opts *o, char *err)
{
	struct gh_auth *a = NULL;
	pthread_condattr_t ca;
	int ret;

	*out = NULL;
	if (!o->iss || !*o->iss || strlen(o->iss) > 200) {
		hs_seterr(err, "App id (JWT iss) is missing or too long");
		return GH_EINVAL;
	}
	a = hs_calloc(1, sizeof(*a));
	ret = normalize_key(o->key_pem, o->key_len, &a->pem, &a->pem_len, err);
	if (ret) {
		free(a);
		return ret;
	}
	a->iss = hs_strdup(o->iss);
	a->iss_numeric = strspn(a->iss, "0123456789") == strlen(a->iss) &&
			 strlen(a->iss) < 18;
	a->margin_s = o->token_margin_s > 0 ? o->token_margin_s : 300;
	a->ttl_s = o->jwt_ttl_s > 0 ? o->jwt_ttl_s : 540;
	if (a->ttl_s > 600)
		a->ttl_s = 600;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = a;
	return GH_OK;
}

void gh_auth_free(struct gh_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		wipe_free(a->toks[i].token);
	free(a->toks);
	if (a->pem) {
		OPENSSL_cleanse(a->pem, a->pem_len);
		free(a->pem);
	}
	free(a->iss);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

void gh_auth_set_skew(struct gh_auth *a, int64_t skew_s)
{
	pthread_mutex_lock(&a->mu);
	a->skew_s = skew_s;
	pthread_mutex_unlock(&a->mu);
}

int64_t gh_auth_skew(struct gh_auth *a)
{
	int64_t s;

	pthread_mutex_lock(&a->mu);
	s = a->skew_s;
	pthread_mutex_unlock(&a->mu);
	return s;
}

void gh_auth_jwt_times(struct gh_auth *a, int64_t *iat, int64_t *exp)
{
	int64_t now = hs_now_ms() / 1000 + gh_auth_skew(a);

	/* iat 60 s back for clock drift, as GitHub advises */
	*iat = now - 60;
	*exp = now + a->ttl_s;
}

int gh_auth_jwt(struct gh_auth *a, char **out, char *err)
{
	jwt_t *jwt = NULL;
	int64_t iat, exp;
	char *s;
	int ret = GH_EINVAL;

	*out = NULL;
	gh_auth_jwt_times(a, &iat, &exp);
	if (jwt_new(&jwt)) {
		hs_seterr(err, "jwt_new failed");
		goto out;
	}
	if (jwt_add_grant_int(jwt, "iat", (long)iat) ||
	    jwt_add_grant_int(jwt, "exp", (long)exp) ||
	    (a->iss_numeric ? jwt_add_grant_int(jwt, "iss", strtol(a->iss, NULL, 10))
			    : jwt_add_grant(jwt, "iss", a->iss))) {
		hs_seterr(err, "cannot set the JWT claims");
		goto out;
	}
	if (jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)a->pem,
			(int)a->pem_len)) {
		hs_seterr(err, "cannot set RS256 with the App key");
		goto out;
	}
	s = jwt_encode_str(jwt);
	if (!s) {
		hs_seterr(err, "cannot sign the App JWT");
		goto out;
	}
	*out = s;
	ret = GH_OK;
out:
	jwt_free(jwt);
	return ret;
}

static struct tok *find_tok(struct gh_auth *a, int64_t inst, int create)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->toks[i].inst == inst)
			return &a->toks[i];
	if (!create)
		return NULL;
	if (a->n == a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 8;
		a->toks = hs_realloc(a->toks, a->alloc * sizeof(*a->toks));
	}
	memset(&a->toks[a->n], 0, sizeof(*a->toks));
	a->toks[a->n].inst = inst;
	return &a->toks[a->n++];
}

static int fresh(const struct gh_auth *a, const struct tok *t, int64_t now)
{
	int64_t margin = (int64_t)a->margin_s * 1000;
	int64_t life = t->expires_ms - t->minted_ms;

	if (!t->token)
		return 0;
	/* short-lived tokens (tests, emulators) renew at half their life */
	if (life > 0 && margin > life / 2)
		margin = life / 2;
	return t->expires_ms - margin > now;
}

static int token_chars_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= GH_AUTH_MAX_TOKEN &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

int gh_auth_token(struct gh_auth *a, int64_t inst, gh_auth_mint_fn mint,
		  void *payload, int wait_ms, char **token, char *err)
{
	int64_t deadline = hs_monotonic_ms() + (wait_ms > 0 ? wait_ms : 60000);
	char *minted = NULL;
	int64_t expires = 0;
	struct tok *t;
	int rc;

	*token = NULL;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct timespec ts;
		int64_t left;

		t = find_tok(a, inst, 1);
		if (fresh(a, t, hs_now_ms())) {
			*token = hs_strdup(t->token);
			pthread_mutex_unlock(&a->mu);
			return GH_OK;
		}
		if (!t->minting)
			break;
		left = deadline - hs_monotonic_ms();
		if (left <= 0) {
			pthread_mutex_unlock(&a->mu);
			hs_seterr(err, "timed out waiting for installation %lld's token",
				  (long long)inst);
			return GH_ENET;
		}
		hs_deadline_ms(&ts, CLOCK_MONOTONIC, left);
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
	}
	t->minting = 1;
	pthread_mutex_unlock(&a->mu);

	rc = mint(payload, inst, &minted, &expires, err);
	if (rc == GH_OK && (!minted || !token_chars_ok(minted))) {
		hs_seterr(err, "installation token from GitHub is empty, too long "
			  "or has unexpected characters");
		rc = GH_EBADRESP;
	}

	pthread_mutex_lock(&a->mu);
	t = find_tok(a, inst, 1); /* the array may have moved */
	t->minting = 0;
	if (rc == GH_OK) {
		wipe_free(t->token);
		t->token = minted;
		t->minted_ms = hs_now_ms();
		t->expires_ms = expires;
		a->mints++;
		*token = hs_strdup(minted);
		minted = NULL;
	}
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	wipe_free(minted);
	return rc;
}

void gh_auth_token_invalidate(struct gh_auth *a, int64_t inst, const char *token)
{
	struct tok *t;

	pthread_mutex_lock(&a->mu);
	t = find_tok(a, inst, 0);
	if (t && t->token && token && !strcmp(t->token, token)) {
		wipe_free(t->token);
		t->token = NULL;
	}
	pthread_mutex_unlock(&a->mu);
}

uint64_t gh_auth_mint_count(struct gh_auth *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->mu);
	n = a->mints;
	pthread_mutex_unlock(&a->mu);
	return n;
}
