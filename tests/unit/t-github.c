/* t-github.c: the pieces of github/ that need no server: codecs, parsing, JWT, token cache. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>

#include "github/app_auth.h"
#include "github/base/buf.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/gh.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/manifest.h"
#include "github/repolock.h"
#include "tests/unit/unit.h"

static void test_base64(void)
{
	/* GitHub wraps content every 60 characters and ends with a newline */
	const char *wrapped = "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBsb25nZXIgbGluZSBvZiB0ZXh0IHRo\n"
			      "YXQgd3JhcHM=\n";
	char *out = NULL, *enc;
	size_t len = 0;

	T_EQ_INT(gh_b64_decode(wrapped, strlen(wrapped), 1000, &out, &len), GH_OK);
	T_EQ_STR(out, "hello world, this is a longer line of text that wraps");
	enc = gh_b64_encode(out, len, &len);
	T_EQ_STR(enc, "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBsb25nZXIgbGluZSBvZiB0ZXh0IHRoYXQgd3JhcHM=");
	free(enc);
	free(out);
	T_EQ_INT(gh_b64_decode("", 0, 10, &out, &len), GH_OK);
	T_EQ_INT(len, 0);
	free(out);
	T_EQ_INT(gh_b64_decode("AAEC/w==", 8, 10, &out, &len), GH_OK);
	T_ASSERT(len == 4 && (unsigned char)out[3] == 0xff);
	free(out);
	T_EQ_INT(gh_b64_decode("not base64!!", 12, 100, &out, &len), GH_EBADRESP);
	T_ASSERT(out == NULL);
	T_EQ_INT(gh_b64_decode(wrapped, strlen(wrapped), 10, &out, &len), GH_ETOOBIG);
	T_ASSERT(out == NULL);
}

static void test_blob_sha(void)
{
	char sha[41];

	/* `printf 'hello\n' | git hash-object --stdin` */
	gh_git_blob_sha("hello\n", 6, sha);
	T_EQ_STR(sha, "ce013625030ba8dba906f756967f9e9ca394464a");
	gh_git_blob_sha("", 0, sha);
	T_EQ_STR(sha, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

static void test_times(void)
{
	int64_t ms;
	char buf[21];

	T_EQ_INT(gh_time_parse("2016-07-11T22:14:10Z", &ms), GH_OK);
	T_EQ_INT(ms, 1468275250000LL);
	T_EQ_INT(gh_time_parse("2016-07-12T00:14:10+02:00", &ms), GH_OK);
	T_EQ_INT(ms, 1468275250000LL);
	T_EQ_INT(gh_time_parse("2016-07-11T22:14:10.123Z", &ms), GH_OK);
	T_EQ_INT(gh_time_parse("2016-07-11 nonsense", &ms), GH_EBADRESP);
	T_EQ_INT(gh_time_parse("2016-13-11T22:14:10Z", &ms), GH_EBADRESP);
	gh_time_format(1468275250000LL, buf);
	T_EQ_STR(buf, "2016-07-11T22:14:10Z");
}

static void test_utf8(void)
{
	const char *s = "ab\xc3\xa9z"; /* "abéz" */

	T_EQ_INT(gh_utf8_cut(s, 5, 3), 2); /* not inside é */
	T_EQ_INT(gh_utf8_cut(s, 5, 4), 4);
	T_EQ_INT(gh_utf8_cut(s, 5, 9), 5);
	T_ASSERT(gh_utf8_text(s, 5));
	T_ASSERT(!gh_utf8_text("a\0b", 3));
	T_ASSERT(!gh_utf8_text("\xc3", 1));
	T_ASSERT(!gh_utf8_text("\xc0\xaf", 2)); /* overlong '/' */
	T_ASSERT(!gh_utf8_text("\xed\xa0\x80", 3)); /* surrogate */
}

static void test_names(void)
{
	struct gh_repo ok = { "acme", "fabric.v2_x-y", 1 }, bad = { "acme", "../x", 1 };

	T_ASSERT(gh_sha_valid("ce013625030ba8dba906f756967f9e9ca394464a"));
	T_ASSERT(!gh_sha_valid("CE013625030ba8dba906f756967f9e9ca394464a"));
	T_ASSERT(!gh_sha_valid("ce013625030ba8dba906f756967f9e9ca394464"));
	T_ASSERT(gh_repo_valid(&ok));
	T_ASSERT(!gh_repo_valid(&bad));
	T_ASSERT(gh_path_valid("managed/vpcs/vpc-1.yaml"));
	T_ASSERT(!gh_path_valid("/abs"));
	T_ASSERT(!gh_path_valid("a//b"));
	T_ASSERT(!gh_path_valid("a/../b"));
	T_ASSERT(!gh_path_valid("a/"));
	T_ASSERT(!gh_path_valid("a\nb"));
	T_ASSERT(gh_branch_valid("feature/x-1"));
	T_ASSERT(!gh_branch_valid("a..b"));
	T_ASSERT(!gh_branch_valid("a b"));
	T_ASSERT(!gh_branch_valid("x.lock"));
	T_ASSERT(!gh_branch_valid("-x"));
	T_EQ_STR(gh_strerror(GH_ENOTFF), "not a fast forward");
	T_EQ_STR(gh_strerror(HS_EINVAL), "invalid input");
	T_EQ_INT(gh_err_to_hs(GH_ENOTFF), HS_ECONFLICT);
	T_EQ_INT(gh_err_to_hs(GH_ERATELIMIT), HS_ERETRY);
}

static void test_escape_and_base_url(void)
{
	struct hs_buf b = HS_BUF_INIT(1024);
	char *u;

	T_EQ_INT(gh_path_escape(&b, "dir with space/a+b#c?.yaml"), HS_OK);
	T_EQ_STR(hs_buf_str(&b), "dir%20with%20space/a%2Bb%23c%3F.yaml");
	hs_buf_reset(&b);
	T_EQ_INT(gh_query_escape(&b, "feature/x&y"), HS_OK);
	T_EQ_STR(hs_buf_str(&b), "feature%2Fx%26y");
	hs_buf_release(&b);
	u = gh_api_base_url("http://127.0.0.1:9/api/", NULL, NULL);
	T_EQ_STR(u, "http://127.0.0.1:9/api");
	free(u);
	u = gh_api_base_url(NULL, "ghe.example.com", NULL);
	T_EQ_STR(u, "https://ghe.example.com/api/v3");
	free(u);
	u = gh_api_base_url("", "", "http");
	T_EQ_STR(u, "https://api.github.com");
	free(u);
}

static void test_link_next(void)
{
	char *n;

	n = gh_link_next("<https://api.github.com/x?page=2>; rel=\"next\", "
			 "<https://api.github.com/x?page=5>; rel=\"last\"");
	T_EQ_STR(n, "https://api.github.com/x?page=2");
	free(n);
	n = gh_link_next("<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"");
	T_EQ_STR(n, "https://a/x?page=3");
	free(n);
	n = gh_link_next("<https://a/x?cursor=v1_9>; rel=next");
	T_EQ_STR(n, "https://a/x?cursor=v1_9");
	free(n);
	T_ASSERT(gh_link_next("<https://a/x?page=5>; rel=\"last\"") == NULL);
	T_ASSERT(gh_link_next("garbage <unterminated") == NULL);
	T_ASSERT(gh_link_next(NULL) == NULL);
}

static void test_ratelimit_wait(void)
{
	/* retry-after wins */
	T_EQ_INT(gh_ratelimit_wait_ms(429, "7", NULL, NULL, NULL, 1000, 60000, 0), 7000);
	T_EQ_INT(gh_ratelimit_wait_ms(403, "0", "5", NULL, NULL, 1000, 60000, 0), 1000);
	/* remaining 0: until reset, by the server's clock, plus a second */
	T_EQ_INT(gh_ratelimit_wait_ms(403, NULL, "0", "1030", NULL, 1000, 60000, 0), 31000);
	/* absurd values are capped, not overflowed (found by fuzz-github) */
	T_ASSERT(gh_ratelimit_wait_ms(429, "99999999999999999999", NULL, NULL, NULL, 1000, 60000,
				      0) == 10000000000LL * 1000);
	T_ASSERT(gh_ratelimit_wait_ms(403, NULL, "0", "99999999999999999999", NULL, 1000, 60000,
				      0) > 0);
	T_EQ_INT(gh_ratelimit_wait_ms(403, NULL, "0", "990", NULL, 1000, 60000, 0), 1000);
	/* a rate limit that names no time: a minute, doubling */
	T_EQ_INT(gh_ratelimit_wait_ms(403, NULL, "12", "1030",
				      "You have exceeded a secondary rate limit", 1000, 60000, 0),
		 60000);
	T_EQ_INT(gh_ratelimit_wait_ms(429, NULL, NULL, NULL, NULL, 1000, 60000, 2), 240000);
	/* a 403 that is not a rate limit, and other statuses */
	T_EQ_INT(gh_ratelimit_wait_ms(403, NULL, "4999", "1030",
				      "Resource not accessible by integration", 1000, 60000, 0), -1);
	T_EQ_INT(gh_ratelimit_wait_ms(500, "5", NULL, NULL, NULL, 1000, 60000, 0), -1);
	T_EQ_INT(gh_ratelimit_wait_ms(403, "soon", "x", NULL, NULL, 1000, 60000, 0), -1);
}

static void test_backoff(void)
{
	uint64_t rng = 12345;

	for (int i = 0; i < 200; i++) {
		int64_t d1 = gh_backoff_ms(1, 500, 30000, &rng);
		int64_t d3 = gh_backoff_ms(3, 500, 30000, &rng);
		int64_t d20 = gh_backoff_ms(20, 500, 30000, &rng);

		T_ASSERT(d1 >= 250 && d1 <= 500);
		T_ASSERT(d3 >= 1000 && d3 <= 2000);
		T_ASSERT(d20 >= 15000 && d20 <= 30000);
	}
}

static void test_changeset(void)
{
	struct gh_changeset cs;

	gh_changeset_init(&cs);
	T_EQ_INT(gh_changeset_put(&cs, "a.yaml", "1", 1, 0), GH_OK);
	T_EQ_INT(gh_changeset_put(&cs, "b.yaml", "2", 1, 0100755), GH_OK);
	T_EQ_INT(gh_changeset_put(&cs, "a.yaml", "33", 2, 0), GH_OK); /* replaces */
	T_EQ_INT(gh_changeset_delete(&cs, "b.yaml"), GH_OK);
	T_EQ_INT(cs.n, 2);
	T_EQ_STR(cs.v[0].data, "33");
	T_EQ_INT(cs.v[0].mode, 0100644);
	T_ASSERT(cs.v[1].delete && cs.v[1].data == NULL);
	T_EQ_INT(gh_changeset_put(&cs, "../x", "1", 1, 0), GH_EINVAL);
	T_EQ_INT(gh_changeset_put(&cs, "x", "1", 1, 0100600), GH_EINVAL);
	T_EQ_INT(gh_changeset_delete(&cs, ""), GH_EINVAL);
	gh_changeset_clear(&cs);
	T_EQ_INT(cs.n, 0);
	gh_changeset_release(&cs);
	gh_changeset_release(NULL);
}

/* ---- keys and JWTs ---- */

/* A file in the scratch directory, made by the shell command "pre PATH post"
 * unless it exists.  New string. */
static char *made(const char *name, const char *pre, const char *post)
{
	char *path = hs_asprintf("%s/%s", unit_tmpdir(), name);
	char cmd[2048];

	if (access(path, R_OK) != 0) {
		snprintf(cmd, sizeof(cmd), "%s %s %s", pre, path, post);
		if (system(cmd) != 0)
			unit_fail(__FILE__, __LINE__, "could not run: %s", cmd);
	}
	return path;
}

static char *pkcs1(void)
{
	return made("k1.pem", "openssl genrsa -traditional -out", "2048 2>/dev/null");
}

static char *read_all(const char *path, size_t *len)
{
	char *pem = NULL;

	if (gh_auth_read_key(path, &pem, len, NULL))
		unit_fail(__FILE__, __LINE__, "cannot read %s", path);
	return pem;
}

static int auth_from(const char *path, int margin, struct gh_auth **a, char *err)
{
	struct gh_auth_opts o = { 0 };
	size_t len;
	char *pem = read_all(path, &len);
	int rc;

	o.iss = "4242";
	o.key_pem = pem;
	o.key_len = len;
	o.token_margin_s = margin;
	rc = gh_auth_new(a, &o, err);
	free(pem);
	return rc;
}

static void check_jwt(struct gh_auth *a, const char *pub_path)
{
	size_t plen;
	char *pub = read_all(pub_path, &plen), *s = NULL;
	jwt_t *j = NULL;
	long now = (long)(hs_now_ms() / 1000);

	T_EQ_INT(gh_auth_jwt(a, &s, NULL), GH_OK);
	/* libjwt checks the RS256 signature against the public key */
	T_EQ_INT(jwt_decode(&j, s, (const unsigned char *)pub, (int)plen), 0);
	T_EQ_INT(jwt_get_alg(j), JWT_ALG_RS256);
	T_EQ_INT(jwt_get_grant_int(j, "iss"), 4242);
	T_ASSERT(labs(jwt_get_grant_int(j, "iat") - (now - 60)) <= 2);
	T_ASSERT(jwt_get_grant_int(j, "exp") - now <= 600);
	T_ASSERT(jwt_get_grant_int(j, "exp") - now >= 500);
	jwt_free(j);
	free(s);
	free(pub);
}

static void test_jwt_pkcs1_and_pkcs8(void)
{
	char *k1 = pkcs1(), *k8, *pub, *cmd;
	struct gh_auth *a = NULL;

	pub = hs_asprintf("%s/k1.pub", unit_tmpdir());
	cmd = hs_asprintf("openssl rsa -in %s -pubout -out %s 2>/dev/null", k1, pub);
	T_EQ_INT(system(cmd), 0);
	free(cmd);
	k8 = hs_asprintf("%s/k8.pem", unit_tmpdir());
	cmd = hs_asprintf("openssl pkcs8 -topk8 -nocrypt -in %s -out %s", k1, k8);
	T_EQ_INT(system(cmd), 0);
	free(cmd);

	T_EQ_INT(auth_from(k1, 0, &a, NULL), GH_OK);
	check_jwt(a, pub);
	gh_auth_free(a);
	T_EQ_INT(auth_from(k8, 0, &a, NULL), GH_OK);
	check_jwt(a, pub);
	/* a clock skew moves both claims */
	gh_auth_set_skew(a, 3600);
	{
		int64_t iat, exp, now = hs_now_ms() / 1000;

		gh_auth_jwt_times(a, &iat, &exp);
		T_ASSERT(iat >= now + 3600 - 62 && iat <= now + 3600 - 58);
	}
	gh_auth_free(a);
	gh_auth_free(NULL);
	free(k1);
	free(k8);
	free(pub);
}

static void test_bad_keys(void)
{
	struct gh_auth_opts o = { 0 };
	struct gh_auth *a = NULL;
	char err[HS_ERRBUF], *ec, *small, *pem;
	size_t len;

	o.iss = "1";
	o.key_pem = "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n";
	o.key_len = strlen(o.key_pem);
	T_EQ_INT(gh_auth_new(&a, &o, err), GH_EINVAL);
	T_ASSERT(a == NULL && strstr(err, "PEM"));

	ec = made("ec.pem", "openssl ecparam -name prime256v1 -genkey -noout -out", "");
	pem = read_all(ec, &len);
	o.key_pem = pem;
	o.key_len = len;
	T_EQ_INT(gh_auth_new(&a, &o, err), GH_EINVAL);
	T_ASSERT(strstr(err, "RSA") != NULL);
	free(pem);

	small = made("small.pem", "openssl genrsa -traditional -out", "1024 2>/dev/null");
	pem = read_all(small, &len);
	o.key_pem = pem;
	o.key_len = len;
	T_EQ_INT(gh_auth_new(&a, &o, err), GH_EINVAL);
	free(pem);

	o.iss = "";
	T_EQ_INT(gh_auth_new(&a, &o, err), GH_EINVAL);
	T_EQ_INT(gh_auth_read_key("/nonexistent/key.pem", &pem, &len, err), GH_EINVAL);
	free(ec);
	free(small);
}

/* ---- the token cache ---- */

struct minter {
	pthread_mutex_t mu;
	int calls;
	int life_s;
	int sleep_ms;
	const char *token; /* NULL: "tok-<n>" padded to 600 characters */
	int fail;
};

static int fake_mint(void *payload, int64_t inst, char **token, int64_t *exp, char *err)
{
	struct minter *m = payload;
	int n;

	pthread_mutex_lock(&m->mu);
	n = ++m->calls;
	pthread_mutex_unlock(&m->mu);
	if (m->sleep_ms)
		hs_sleep_ms(m->sleep_ms);
	if (m->fail) {
		hs_seterr(err, "mint failed");
		return GH_ENET;
	}
	if (m->token) {
		*token = hs_strdup(m->token);
	} else {
		*token = hs_malloc(601);
		memset(*token, 'x', 600);
		snprintf(*token, 600, "ghs_%lld_%d.", (long long)inst, n);
		(*token)[strlen(*token)] = 'x';
		(*token)[600] = '\0';
	}
	*exp = hs_now_ms() + (int64_t)m->life_s * 1000;
	return GH_OK;
}

static void test_token_cache(void)
{
	struct minter m = { PTHREAD_MUTEX_INITIALIZER, 0, 3600, 0, NULL, 0 };
	struct gh_auth *a = NULL;
	char *k1 = pkcs1(), *t1 = NULL, *t2 = NULL, *t3 = NULL;

	T_EQ_INT(auth_from(k1, 300, &a, NULL), GH_OK);
	T_EQ_INT(gh_auth_token(a, 7, fake_mint, &m, 0, &t1, NULL), GH_OK);
	T_EQ_INT(strlen(t1), 600); /* long tokens are kept whole */
	T_EQ_INT(gh_auth_token(a, 7, fake_mint, &m, 0, &t2, NULL), GH_OK);
	T_EQ_STR(t2, t1);
	T_EQ_INT(m.calls, 1);
	/* another installation has its own */
	T_EQ_INT(gh_auth_token(a, 8, fake_mint, &m, 0, &t3, NULL), GH_OK);
	T_ASSERT(strcmp(t3, t1) != 0);
	T_EQ_INT(m.calls, 2);
	free(t3);
	/* invalidating a token that was already replaced keeps the new one */
	gh_auth_token_invalidate(a, 7, "not-the-token");
	free(t2);
	T_EQ_INT(gh_auth_token(a, 7, fake_mint, &m, 0, &t2, NULL), GH_OK);
	T_EQ_INT(m.calls, 2);
	gh_auth_token_invalidate(a, 7, t1);
	free(t2);
	T_EQ_INT(gh_auth_token(a, 7, fake_mint, &m, 0, &t2, NULL), GH_OK);
	T_EQ_INT(m.calls, 3);
	T_ASSERT(strcmp(t2, t1) != 0);
	T_EQ_INT(gh_auth_mint_count(a), 3);
	free(t1);
	free(t2);
	/* a token inside its margin is renewed before it expires */
	m.life_s = 2; /* margin is min(300 s, half of 2 s) */
	T_EQ_INT(gh_auth_token(a, 9, fake_mint, &m, 0, &t1, NULL), GH_OK);
	T_EQ_INT(gh_auth_token(a, 9, fake_mint, &m, 0, &t2, NULL), GH_OK);
	T_EQ_INT(m.calls, 4);
	hs_sleep_ms(1100);
	free(t2);
	T_EQ_INT(gh_auth_token(a, 9, fake_mint, &m, 0, &t2, NULL), GH_OK);
	T_EQ_INT(m.calls, 5);
	free(t1);
	free(t2);
	/* what GitHub sends is checked: no spaces or CR/LF in a header */
	m.token = "ghs_bad token\r\nX-Evil: 1";
	T_EQ_INT(gh_auth_token(a, 10, fake_mint, &m, 0, &t1, NULL), GH_EBADRESP);
	T_ASSERT(t1 == NULL);
	m.token = NULL;
	m.fail = 1;
	T_EQ_INT(gh_auth_token(a, 11, fake_mint, &m, 0, &t1, NULL), GH_ENET);
	gh_auth_free(a);
	free(k1);
}

struct racer {
	struct gh_auth *a;
	struct minter *m;
	char *tok;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	r->rc = gh_auth_token(r->a, 42, fake_mint, r->m, 5000, &r->tok, NULL);
	return NULL;
}

static void test_token_single_flight(void)
{
	struct minter m = { PTHREAD_MUTEX_INITIALIZER, 0, 3600, 300, NULL, 0 };
	struct racer rs[8];
	pthread_t ts[8];
	struct gh_auth *a = NULL;
	char *k1 = pkcs1();

	T_EQ_INT(auth_from(k1, 0, &a, NULL), GH_OK);
	for (int i = 0; i < 8; i++) {
		rs[i].a = a;
		rs[i].m = &m;
		rs[i].tok = NULL;
		pthread_create(&ts[i], NULL, race, &rs[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(ts[i], NULL);
	T_EQ_INT(m.calls, 1); /* eight threads, one mint */
	for (int i = 0; i < 8; i++) {
		T_EQ_INT(rs[i].rc, GH_OK);
		T_EQ_STR(rs[i].tok, rs[0].tok);
	}
	for (int i = 0; i < 8; i++)
		free(rs[i].tok);
	gh_auth_free(a);
	free(k1);
}

/* ---- per-repository serialization ---- */

struct locker {
	struct gh_repolock *l;
	const char *repo;
	int *inside;
	int *max_inside;
	pthread_mutex_t *mu;
};

static void *lock_loop(void *arg)
{
	struct locker *k = arg;

	for (int i = 0; i < 50; i++) {
		gh_repolock_acquire(k->l, "acme", k->repo);
		pthread_mutex_lock(k->mu);
		(*k->inside)++;
		if (*k->inside > *k->max_inside)
			*k->max_inside = *k->inside;
		pthread_mutex_unlock(k->mu);
		usleep(200);
		pthread_mutex_lock(k->mu);
		(*k->inside)--;
		pthread_mutex_unlock(k->mu);
		gh_repolock_release(k->l, "acme", k->repo);
	}
	return NULL;
}

/* n acquire/release pairs on two repositories; the milliseconds they took */
static int64_t budget_calls(struct gh_repolock *l, int n)
{
	int64_t t0 = hs_monotonic_ms();

	for (int i = 0; i < n; i++) {
		gh_repolock_acquire(l, "acme", i % 2 ? "a" : "b");
		gh_repolock_release(l, "acme", i % 2 ? "a" : "b");
	}
	return hs_monotonic_ms() - t0;
}

/* The write budget: 3 calls in any 400 ms window (+500 ms margin), across
 * repositories, and across a restart through the ring file. */
static void test_budget(void)
{
	char ring[] = "/tmp/hs-budget-XXXXXX";
	int fd = mkstemp(ring);
	struct gh_repolock *l = gh_repolock_new(0);
	int64_t ms;

	T_ASSERT(fd >= 0);
	close(fd);
	gh_repolock_set_budget(l, 3, 400, ring);
	ms = budget_calls(l, 3);
	T_ASSERT(ms < 300);                    /* within the budget: no wait */
	T_EQ_INT((int)gh_repolock_paced(l), 0);
	ms = budget_calls(l, 1);               /* the 4th waits for the 1st's window */
	T_ASSERT(ms >= 800);
	T_EQ_INT((int)gh_repolock_paced(l), 1);
	gh_repolock_free(l);
	/* three calls, then a new process (a restart): the ring file tells it */
	unlink(ring);
	l = gh_repolock_new(0);
	gh_repolock_set_budget(l, 3, 400, ring);
	T_ASSERT(budget_calls(l, 3) < 300);
	gh_repolock_free(l);
	l = gh_repolock_new(0);
	gh_repolock_set_budget(l, 3, 400, ring);
	ms = budget_calls(l, 1);
	T_ASSERT(ms >= 700);
	T_EQ_INT((int)gh_repolock_paced(l), 1);
	gh_repolock_free(l);
	/* off */
	l = gh_repolock_new(0);
	gh_repolock_set_budget(l, 0, 400, NULL);
	T_ASSERT(budget_calls(l, 20) < 300);
	gh_repolock_free(l);
	unlink(ring);
}

static void test_repolock(void)
{
	struct gh_repolock *l = gh_repolock_new(0);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	int inside_a = 0, max_a = 0, inside_b = 0, max_b = 0;
	struct locker ks[6];
	pthread_t ts[6];
	int64_t t0;

	for (int i = 0; i < 6; i++) {
		/* four threads on one repository ("Fabric" in any case), two on another */
		ks[i].l = l;
		ks[i].repo = i < 4 ? (i % 2 ? "Fabric" : "fabric") : "other";
		ks[i].inside = i < 4 ? &inside_a : &inside_b;
		ks[i].max_inside = i < 4 ? &max_a : &max_b;
		ks[i].mu = &mu;
		pthread_create(&ts[i], NULL, lock_loop, &ks[i]);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(ts[i], NULL);
	T_EQ_INT(max_a, 1);
	T_EQ_INT(max_b, 1);
	T_ASSERT(gh_repolock_contended(l) > 0);
	gh_repolock_free(l);
	/* a minimum interval between two writes to one repository */
	l = gh_repolock_new(150);
	gh_repolock_acquire(l, "acme", "x");
	gh_repolock_release(l, "acme", "x");
	t0 = hs_monotonic_ms();
	gh_repolock_acquire(l, "acme", "x");
	gh_repolock_release(l, "acme", "x");
	T_ASSERT(hs_monotonic_ms() - t0 >= 140);
	gh_repolock_free(l);
	test_budget();
	gh_repolock_free(NULL);
}

static void test_web_base(void)
{
	static const char *const cases[][2] = {
		{ "https://api.github.com", "https://github.com" },
		{ "https://ghe.example.com/api/v3", "https://ghe.example.com" },
		{ "https://ghe.example.com/api/v3/", "https://ghe.example.com" },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *w = gh_web_base(cases[i][0]);

		T_EQ_STR(w, cases[i][1]);
		free(w);
	}
}

const struct unit_test unit_tests[] = {
	UNIT(test_web_base),
	UNIT(test_base64),
	UNIT(test_blob_sha),
	UNIT(test_times),
	UNIT(test_utf8),
	UNIT(test_names),
	UNIT(test_escape_and_base_url),
	UNIT(test_link_next),
	UNIT(test_ratelimit_wait),
	UNIT(test_backoff),
	UNIT(test_changeset),
	UNIT(test_jwt_pkcs1_and_pkcs8),
	UNIT(test_bad_keys),
	UNIT(test_token_cache),
	UNIT(test_token_single_flight),
	UNIT(test_repolock),
	{ NULL, NULL },
};
