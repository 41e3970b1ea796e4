/* http.c: the GitHub REST client on libcurl: auth, retries, rate limits, ETags, caps. */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "github/app_auth.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/http.h"
#include "github/json.h"
#include "github/repolock.h"

#ifndef HS_VERSION
#define HS_VERSION "dev"
#endif

#define ETAG_MAX_BODY (1024 * 1024)      /* larger bodies are not kept */
#define ETAG_MAX_BYTES (8 * 1024 * 1024) /* all kept bodies together */
#define HDR_VALUE_MAX 8192
#define MAX_LOOPS 64 /* hard bound on exchanges per gh_request */
#define MAX_RL_WAITS 8

struct etag_ent {
	char *key; /* "<installation>|<accept>|<url>" */
	char *etag;
	char *body;
	size_t len;
	uint64_t used; /* LRU tick */
};

struct gh_client {
	CURL *curl;
	char *base_url;
	char *user_agent;
	struct gh_client_opts o; /* base_url and user_agent point at ours */
	size_t max_response;
	uint64_t rng;
	struct etag_ent *etags;
	int n_etags;
	size_t etag_bytes;
	uint64_t tick;
	struct gh_client_stats st;
	char curl_err[CURL_ERROR_SIZE];
	/* the exchange in progress */
	struct hs_buf *sink;
	int too_big;
	size_t hdr_bytes;
	int hdr_too_big;
	char *h_etag, *h_link, *h_retry_after, *h_remaining, *h_reset, *h_date;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void gh_client_opts_init(struct gh_client_opts *o)
{
	memset(o, 0, sizeof(*o));
}

char *gh_api_base_url(const char *api_url, const char *ghe_host,
		      const char *ghe_protocol)
{
	char *s;
	size_t n;

	if (api_url && *api_url)
		s = hs_strdup(api_url);
	else if (ghe_host && *ghe_host)
		s = hs_asprintf("%s://%s/api/v3",
				ghe_protocol && *ghe_protocol ? ghe_protocol : "https",
				ghe_host);
	else
		s = hs_strdup(GH_DEFAULT_API_URL);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct gh_client *c = ud;
	size_t n = size * nmemb;

	if (hs_buf_add(c->sink, ptr, n)) {
		c->too_big = 1;
		return 0; /* curl aborts the transfer and closes the connection */
	}
	return n;
}

static void clear_headers(struct gh_client *c)
{
	free(c->h_etag);
	free(c->h_link);
	free(c->h_retry_after);
	free(c->h_remaining);
	free(c->h_reset);
	free(c->h_date);
	c->h_etag = c->h_link = c->h_retry_after = NULL;
	c->h_remaining = c->h_reset = c->h_date = NULL;
}

static void keep(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = hs_strndup(v, n > HDR_VALUE_MAX ? HDR_VALUE_MAX : n);
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	struct gh_client *c = ud;
	size_t n = size * nmemb, klen;
	const char *colon, *v, *end;

	c->hdr_bytes += n;
	if (c->hdr_bytes > GH_MAX_HEADERS) {
		c->hdr_too_big = 1;
		return 0;
	}
	if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100): forget the last */
		clear_headers(c);
		return n;
	}
	colon = memchr(line, ':', n);
	if (!colon)
		return n;
	klen = (size_t)(colon - line);
	v = colon + 1;
	end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
#define IS(name) (klen == sizeof(name) - 1 && !strncasecmp(line, name, klen))
	if (IS("etag"))
		keep(&c->h_etag, v, (size_t)(end - v));
	else if (IS("link"))
		keep(&c->h_link, v, (size_t)(end - v));
	else if (IS("retry-after"))
		keep(&c->h_retry_after, v, (size_t)(end - v));
	else if (IS("x-ratelimit-remaining"))
		keep(&c->h_remaining, v, (size_t)(end - v));
	else if (IS("x-ratelimit-reset"))
		keep(&c->h_reset, v, (size_t)(end - v));
	else if (IS("date"))
		keep(&c->h_date, v, (size_t)(end - v));
#undef IS
	return n;
}

static int valid_base(const char *u)
{
	return (!strncmp(u, "https://", 8) && u[8]) || (!strncmp(u, "http://", 7) && u[7]);
}

int gh_client_fork(struct gh_client *c, struct gh_client **out, char *err)
{
	struct gh_client_opts o = c->o;

	o.blobs = NULL; /* the cache is the parent thread's: it fills it */
	o.etag_entries = -1;
	return gh_client_new(out, &o, err);
}

int gh_client_new(struct gh_client **out, const struct gh_client_opts *o, char *err)
{
	struct gh_client *c;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	c = hs_calloc(1, sizeof(*c));
	c->o = *o;
	c->base_url = o->base_url ? gh_api_base_url(o->base_url, NULL, NULL)
				  : gh_api_base_url(getenv("GITHUB_API_URL"),
						    getenv("GHE_HOST"),
						    getenv("GHE_PROTOCOL"));
	if (!valid_base(c->base_url)) {
		hs_seterr(err, "GitHub API URL '%s' is not http(s)://host...", c->base_url);
		free(c->base_url);
		free(c);
		return GH_EINVAL;
	}
	c->user_agent = hs_strdup(o->user_agent ? o->user_agent : "hedgesync/" HS_VERSION);
	c->o.base_url = c->base_url;
	c->o.user_agent = c->user_agent;
	if (!c->o.connect_timeout_ms)
		c->o.connect_timeout_ms = 10000;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 120000;
	c->max_response = o->max_response ? o->max_response : GH_MAX_RESPONSE;
	if (c->o.max_attempts <= 0)
		c->o.max_attempts = 4;
	if (c->o.backoff_base_ms <= 0)
		c->o.backoff_base_ms = 500;
	if (c->o.backoff_max_ms <= 0)
		c->o.backoff_max_ms = 30000;
	if (c->o.ratelimit_max_wait_s <= 0)
		c->o.ratelimit_max_wait_s = 900;
	if (c->o.ratelimit_default_s <= 0)
		c->o.ratelimit_default_s = 60;
	if (c->o.etag_entries == 0)
		c->o.etag_entries = 64;
	if (c->o.token_wait_ms <= 0)
		c->o.token_wait_ms = 60000;
	c->rng = (uint64_t)hs_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
	if (!c->rng)
		c->rng = 0x9e3779b97f4a7c15ULL;
	c->st.ratelimit_remaining = -1;
	c->curl = curl_easy_init();
	if (!c->curl) {
		hs_seterr(err, "curl_easy_init failed");
		gh_client_free(c);
		return GH_ENET;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
	*out = c;
	return GH_OK;
}

static void etag_drop(struct gh_client *c, int i)
{
	struct etag_ent *e = &c->etags[i];

	c->etag_bytes -= e->len;
	free(e->key);
	free(e->etag);
	free(e->body);
	c->etags[i] = c->etags[--c->n_etags];
}

void gh_client_free(struct gh_client *c)
{
	if (!c)
		return;
	while (c->n_etags)
		etag_drop(c, c->n_etags - 1);
	free(c->etags);
	clear_headers(c);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base_url);
	free(c->user_agent);
	free(c);
}

const struct gh_blob_cache *gh_client_blobs(struct gh_client *c)
{
	return c->o.blobs;
}

const char *gh_client_base_url(struct gh_client *c)
{
	return c->base_url;
}

void gh_client_set_max_response(struct gh_client *c, size_t max)
{
	c->max_response = max ? max : GH_MAX_RESPONSE;
}

void gh_client_stats(struct gh_client *c, struct gh_client_stats *out)
{
	*out = c->st;
}

void gh_response_init(struct gh_response *r)
{
	memset(r, 0, sizeof(*r));
	hs_buf_init(&r->body, 0);
}

void gh_response_release(struct gh_response *r)
{
	if (!r)
		return;
	hs_buf_release(&r->body);
	free(r->link_next);
	free(r->etag);
	r->link_next = r->etag = NULL;
	r->status = 0;
	r->from_cache = 0;
	r->date_s = 0;
}

char *gh_link_next(const char *link)
{
	const char *p = link;

	if (!link)
		return NULL;
	/* <url>; rel="next", <url>; rel="last" */
	while ((p = strchr(p, '<'))) {
		const char *u = p + 1, *ue = strchr(u, '>'), *q, *end;

		if (!ue)
			return NULL;
		end = strchr(ue, ',');
		if (!end)
			end = ue + strlen(ue);
		for (q = ue; q < end; q++) {
			const char *v, *ve;

			if (strncasecmp(q, "rel=", 4))
				continue;
			v = q + 4;
			if (*v == '"')
				v++;
			ve = v;
			while (ve < end && *ve != '"' && *ve != ';' && *ve != ',')
				ve++;
			/* rel may list several space-separated types */
			while (v < ve) {
				const char *w = v;

				while (w < ve && *w != ' ')
					w++;
				if (w - v == 4 && !strncasecmp(v, "next", 4))
					return hs_strndup(u, (size_t)(ue - u));
				v = w;
				while (v < ve && *v == ' ')
					v++;
			}
		}
		p = end;
	}
	return NULL;
}

#define PARSE_UINT_MAX 10000000000LL

static int parse_uint(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -1;
	v = strtoll(s, &end, 10);
	while (*end == ' ')
		end++;
	if (*end || v < 0)
		return -1;
	/* seconds or epoch seconds: past ~300 years is nonsense, and the
	 * callers multiply by 1000 */
	*out = v > PARSE_UINT_MAX ? PARSE_UINT_MAX : v;
	return 0;
}

int64_t gh_ratelimit_wait_ms(long status, const char *retry_after,
			     const char *remaining, const char *reset,
			     const char *message, int64_t now_s,
			     int64_t default_ms, int nth)
{
	int64_t v, rem, w;

	if (status != 403 && status != 429)
		return -1;
	if (now_s <= 0)
		now_s = hs_now_ms() / 1000;
	if (retry_after) {
		if (!parse_uint(retry_after, &v))
			return (v > 0 ? v : 1) * 1000;
		v = (int64_t)curl_getdate(retry_after, NULL); /* an HTTP date */
		if (v > now_s + PARSE_UINT_MAX)
			v = now_s + PARSE_UINT_MAX;
		if (v > 0)
			return v > now_s ? (v - now_s) * 1000 : 1000;
	}
	if (remaining && !parse_uint(remaining, &rem) && rem == 0 &&
	    reset && !parse_uint(reset, &v)) {
		/* a second of slack: GitHub resets on the second boundary */
		w = (v - now_s) * 1000 + 1000;
		return w < 1000 ? 1000 : w;
	}
	if (status == 429 || (message && strcasestr(message, "rate limit"))) {
		w = default_ms;
		for (int i = 0; i < nth && w < 3600 * 1000; i++)
			w *= 2;
		return w;
	}
	return -1;
}

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

int64_t gh_backoff_ms(int attempt, int base_ms, int max_ms, uint64_t *rng)
{
	int64_t d = base_ms > 0 ? base_ms : 1;

	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return d / 2 + (int64_t)(next_rand(rng) % (uint64_t)(d / 2 + 1));
}

int gh_path_valid(const char *p)
{
	const char *seg;
	size_t n;

	if (!p || !*p || (n = strlen(p)) > 4096 || p[0] == '/' || p[n - 1] == '/')
		return 0;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return 0;
	seg = p;
	for (;;) {
		const char *e = strchr(seg, '/');
		size_t len = e ? (size_t)(e - seg) : strlen(seg);

		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (!e)
			return 1;
		seg = e + 1;
	}
}

int gh_path_escape(struct hs_buf *b, const char *path)
{
	const char *seg = path;
	int rc = HS_OK;

	for (;;) {
		const char *e = strchr(seg, '/');
		size_t len = e ? (size_t)(e - seg) : strlen(seg);
		char *esc = len ? curl_easy_escape(NULL, seg, (int)len) : NULL;

		if (len && !esc)
			return HS_EINVAL;
		if (esc) {
			rc = hs_buf_addstr(b, esc);
			curl_free(esc);
		}
		if (rc)
			return rc;
		if (!e)
			return HS_OK;
		rc = hs_buf_addch(b, '/');
		if (rc)
			return rc;
		seg = e + 1;
	}
}

int gh_query_escape(struct hs_buf *b, const char *s)
{
	char *esc = curl_easy_escape(NULL, s, (int)strlen(s));
	int rc;

	if (!esc)
		return HS_EINVAL;
	rc = hs_buf_addstr(b, esc);
	curl_free(esc);
	return rc;
}

/* Sleep ms in short slices; 1 if c->o.stop turned on meanwhile. */
static int pause_ms(struct gh_client *c, int64_t ms)
{
	int64_t end = hs_monotonic_ms() + ms;

	for (;;) {
		int64_t left = end - hs_monotonic_ms();

		if (c->o.stop && *c->o.stop)
			return 1;
		if (left <= 0)
			return 0;
		hs_sleep_ms(left > 100 ? 100 : left);
	}
}

/* GitHub's "message" from an error body: new, printable, short, or NULL. */
static char *body_message(const struct hs_buf *b)
{
	json_t *j = NULL;
	const char *m;
	char *s = NULL;

	if (!b->len || b->len > 1024 * 1024)
		return NULL;
	j = json_loadb(b->data, b->len, 0, NULL);
	m = gh_json_str(j, "message", 100000);
	if (m) {
		size_t n = strlen(m) > 200 ? 200 : strlen(m);

		s = hs_strndup(m, n);
		for (char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
	json_decref(j);
	return s;
}

static struct etag_ent *etag_find(struct gh_client *c, const char *key)
{
	for (int i = 0; i < c->n_etags; i++)
		if (!strcmp(c->etags[i].key, key))
			return &c->etags[i];
	return NULL;
}

static void etag_store(struct gh_client *c, const char *key, const char *etag,
		       const struct hs_buf *body)
{
	struct etag_ent *e;
	int i;

	if (c->o.etag_entries < 0 || body->len > ETAG_MAX_BODY)
		return;
	e = etag_find(c, key);
	if (e)
		etag_drop(c, (int)(e - c->etags));
	while (c->n_etags > 0 &&
	       (c->n_etags >= c->o.etag_entries || c->etag_bytes + body->len > ETAG_MAX_BYTES)) {
		int lru = 0;

		for (i = 1; i < c->n_etags; i++)
			if (c->etags[i].used < c->etags[lru].used)
				lru = i;
		etag_drop(c, lru);
	}
	if (!c->etags)
		c->etags = hs_calloc((size_t)c->o.etag_entries, sizeof(*c->etags));
	e = &c->etags[c->n_etags++];
	e->key = hs_strdup(key);
	e->etag = hs_strdup(etag);
	e->body = hs_malloc(body->len + 1);
	memcpy(e->body, hs_buf_str(body), body->len);
	e->body[body->len] = '\0';
	e->len = body->len;
	e->used = ++c->tick;
	c->etag_bytes += body->len;
}

static void free_headers(struct curl_slist *h)
{
	/* some of them carry a token or a JWT */
	for (struct curl_slist *p = h; p; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

static int perform(struct gh_client *c, const char *url, const char *method,
		   const char *body, size_t body_len, struct curl_slist *h,
		   size_t cap, struct gh_response *rs, char *err)
{
	CURLcode code;
	long status = 0;

	hs_buf_release(&rs->body);
	hs_buf_init(&rs->body, cap);
	rs->status = 0;
	rs->date_s = 0;
	clear_headers(c);
	c->sink = &rs->body;
	c->too_big = c->hdr_too_big = 0;
	c->hdr_bytes = 0;
	c->curl_err[0] = '\0';

	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
				 strcmp(method, "POST") ? method : NULL);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
	code = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	c->st.requests++;
	c->sink = NULL;
	if (c->too_big || code == CURLE_FILESIZE_EXCEEDED) {
		hs_seterr(err, "%s %s: response body over %zu bytes, refused",
			  method, url, cap);
		return GH_ETOOBIG;
	}
	if (c->hdr_too_big) {
		hs_seterr(err, "%s %s: response headers over %d bytes, refused",
			  method, url, GH_MAX_HEADERS);
		return GH_ETOOBIG;
	}
	if (code != CURLE_OK) {
		hs_seterr(err, "%s %s: %s", method, url,
			  c->curl_err[0] ? c->curl_err : curl_easy_strerror(code));
		return GH_ENET;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	rs->status = status;
	if (c->h_date) {
		time_t t = curl_getdate(c->h_date, NULL);

		rs->date_s = t > 0 ? (int64_t)t : 0;
	}
	if (c->h_remaining) {
		int64_t v;

		if (!parse_uint(c->h_remaining, &v))
			c->st.ratelimit_remaining = v;
	}
	if (c->h_reset) {
		int64_t v;

		if (!parse_uint(c->h_reset, &v))
			c->st.ratelimit_reset = v;
	}
	return GH_OK;
}

/* gh_auth_mint_fn: POST /app/installations/{id}/access_tokens with the JWT. */
static int mint_token(void *payload, int64_t inst, char **token,
		      int64_t *expires_at_ms, char *err)
{
	struct gh_client *c = payload;
	struct gh_response rs;
	struct gh_request rq;
	json_t *j = NULL;
	const char *tok, *exp;
	int64_t exp_ms;
	char path[96];
	int rc;

	*token = NULL;
	snprintf(path, sizeof(path), "/app/installations/%lld/access_tokens",
		 (long long)inst);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = path;
	rq.auth = GH_AUTH_APP;
	rq.max_response = 1024 * 1024;
	gh_response_init(&rs);
	rc = gh_request(c, &rq, &rs, err);
	if (rc)
		goto out;
	rc = gh_status_error(&rq, &rs, err);
	if (rc)
		goto out;
	rc = gh_json_parse(&rs.body, GH_JSON_OBJECT, &j, err);
	if (rc)
		goto out;
	tok = gh_json_str(j, "token", GH_AUTH_MAX_TOKEN);
	exp = gh_json_str(j, "expires_at", 64);
	if (!tok || !exp || gh_time_parse(exp, &exp_ms)) {
		hs_seterr(err, "installation token response lacks token or expires_at");
		rc = GH_EBADRESP;
		goto out;
	}
	/* expires_at is on GitHub's clock: carry it over to ours */
	if (rs.date_s)
		exp_ms = hs_now_ms() + (exp_ms - rs.date_s * 1000);
	*token = hs_strdup(tok);
	*expires_at_ms = exp_ms;
	hs_debug("minted a token for installation %lld", (long long)inst);
out:
	if (j) {
		/* the token lives in j's string too */
		json_t *t = json_object_get(j, "token");

		if (json_is_string(t))
			OPENSSL_cleanse((void *)json_string_value(t), json_string_length(t));
	}
	json_decref(j);
	if (rs.body.data)
		OPENSSL_cleanse(rs.body.data, rs.body.len);
	gh_response_release(&rs);
	return rc;
}

static char *make_url(struct gh_client *c, const char *path, char *err)
{
	size_t n = strlen(c->base_url);

	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8)) {
		/* only ever follow links back to the API we talk to */
		if (strncmp(path, c->base_url, n) || (path[n] != '/' && path[n] != '?')) {
			hs_seterr(err, "refusing a URL outside %s", c->base_url);
			return NULL;
		}
		return hs_strdup(path);
	}
	if (path[0] != '/') {
		hs_seterr(err, "API path '%s' does not start with '/'", path);
		return NULL;
	}
	return hs_asprintf("%s%s", c->base_url, path);
}

int gh_request(struct gh_client *c, const struct gh_request *rq,
	       struct gh_response *rs, char *err)
{
	const char *accept = rq->accept ? rq->accept : "application/vnd.github+json";
	size_t cap = rq->max_response ? rq->max_response : c->max_response;
	int is_get = !strcmp(rq->method, "GET");
	char *url = NULL, *cred = NULL, *ekey = NULL, *msg = NULL;
	int tries = 1, refreshed = 0, skew_fixed = 0, rl_n = 0, ret = GH_EINVAL;
	int64_t rl_waited = 0;

	gh_response_release(rs);
	gh_response_init(rs);
	if ((rq->auth != GH_AUTH_NONE && !c->o.auth) ||
	    (rq->auth == GH_AUTH_INSTALLATION && rq->installation_id <= 0)) {
		hs_seterr(err, "%s %s: no App credentials or installation for this call",
			  rq->method, rq->path);
		return GH_EINVAL;
	}
	url = make_url(c, rq->path, err);
	if (!url)
		return GH_EINVAL;
	if (is_get && c->o.etag_entries > 0 && rq->auth != GH_AUTH_NONE)
		ekey = hs_asprintf("%lld|%s|%s", rq->auth == GH_AUTH_APP ? -1LL :
				   (long long)rq->installation_id, accept, url);

	for (int loop = 0;; loop++) {
		struct curl_slist *h = NULL;
		struct etag_ent *ent = NULL;
		char *line;
		int rc;

		if (loop >= MAX_LOOPS || (c->o.stop && *c->o.stop)) {
			hs_seterr(err, "%s %s: gave up (%s)", rq->method, rq->path,
				  loop >= MAX_LOOPS ? "too many exchanges" : "stopping");
			ret = GH_ENET;
			goto out;
		}
		if (cred) {
			OPENSSL_cleanse(cred, strlen(cred));
			free(cred);
			cred = NULL;
		}
		if (rq->auth == GH_AUTH_APP)
			rc = gh_auth_jwt(c->o.auth, &cred, err);
		else if (rq->auth == GH_AUTH_INSTALLATION)
			rc = gh_auth_token(c->o.auth, rq->installation_id, mint_token, c,
					   c->o.token_wait_ms, &cred, err);
		else
			rc = GH_OK;
		if (rc) {
			ret = rc; /* the mint's own code: unauthorized, not found, ... */
			goto out;
		}

		line = hs_asprintf("Accept: %s", accept);
		h = curl_slist_append(h, line);
		free(line);
		h = curl_slist_append(h, "X-GitHub-Api-Version: " GH_API_VERSION);
		h = curl_slist_append(h, "Expect:");
		if (rq->body)
			h = curl_slist_append(h, "Content-Type: application/json");
		if (cred) {
			line = hs_asprintf("Authorization: %s %s",
					   rq->auth == GH_AUTH_APP ? "Bearer" : "token", cred);
			h = curl_slist_append(h, line);
			OPENSSL_cleanse(line, strlen(line));
			free(line);
		}
		if (ekey && (ent = etag_find(c, ekey))) {
			line = hs_asprintf("If-None-Match: %s", ent->etag);
			h = curl_slist_append(h, line);
			free(line);
		}
		if (!h) {
			hs_seterr(err, "cannot build request headers");
			ret = GH_EINVAL;
			goto out;
		}

		if (rq->serialize && c->o.locks)
			gh_repolock_acquire(c->o.locks, rq->serialize->owner, rq->serialize->name);
		rc = perform(c, url, rq->method, rq->body, rq->body_len, h, cap, rs, err);
		if (rq->serialize && c->o.locks)
			gh_repolock_release(c->o.locks, rq->serialize->owner, rq->serialize->name);
		free_headers(h);

		if (rc == GH_ETOOBIG) {
			ret = rc;
			goto out;
		}
		if (rc == GH_ENET || rs->status >= 500) {
			char why[HS_ERRBUF];

			if (rc == GH_ENET)
				snprintf(why, sizeof(why), "%s", err ? err : "network error");
			else
				snprintf(why, sizeof(why), "%s %s: HTTP %ld", rq->method,
					 rq->path, rs->status);
			if (tries >= c->o.max_attempts) {
				hs_seterr(err, "%s (gave up after %d tries)", why, tries);
				ret = GH_ENET;
				goto out;
			}
			hs_warn("github: %s; retrying", why);
			c->st.retries++;
			if (pause_ms(c, gh_backoff_ms(tries, c->o.backoff_base_ms,
						     c->o.backoff_max_ms, &c->rng)))
				continue; /* the loop head reports the stop */
			tries++;
			continue;
		}
		if (rs->status == 401 && rq->auth == GH_AUTH_INSTALLATION && !refreshed) {
			/* expired or revoked early: renew once and try again */
			gh_auth_token_invalidate(c->o.auth, rq->installation_id, cred);
			refreshed = 1;
			c->st.token_refreshes++;
			continue;
		}
		if (rs->status == 401 && rq->auth == GH_AUTH_APP && !skew_fixed && rs->date_s) {
			int64_t skew = rs->date_s - hs_now_ms() / 1000;

			skew_fixed = 1;
			if (skew > 30 || skew < -30) {
				/* GitHub's clock differs: sign the JWT on its time */
				hs_warn("github: server clock is %lld s off ours; adjusting the JWT",
					(long long)skew);
				gh_auth_set_skew(c->o.auth, skew);
				continue;
			}
		}
		if (rs->status == 403 || rs->status == 429) {
			int64_t w;

			free(msg);
			msg = body_message(&rs->body);
			w = gh_ratelimit_wait_ms(rs->status, c->h_retry_after, c->h_remaining,
						 c->h_reset, msg, rs->date_s,
						 (int64_t)c->o.ratelimit_default_s * 1000, rl_n);
			if (w >= 0) {
				if (rl_n >= MAX_RL_WAITS ||
				    rl_waited + w > (int64_t)c->o.ratelimit_max_wait_s * 1000) {
					hs_seterr(err, "%s %s: rate limited; GitHub asks to wait %lld s",
						  rq->method, rq->path, (long long)((w + 999) / 1000));
					ret = GH_ERATELIMIT;
					goto out;
				}
				hs_warn("github: rate limited on %s %s; waiting %lld ms",
					rq->method, rq->path, (long long)w);
				w += (int64_t)(next_rand(&c->rng) % 250);
				c->st.ratelimit_waits++;
				rl_n++;
				rl_waited += w;
				pause_ms(c, w);
				continue;
			}
		}
		if (rs->status == 304 && ent) {
			hs_buf_reset(&rs->body);
			if (hs_buf_add(&rs->body, ent->body, ent->len)) {
				hs_seterr(err, "cached body over the response cap");
				ret = GH_ETOOBIG;
				goto out;
			}
			ent->used = ++c->tick;
			rs->status = 200;
			rs->from_cache = 1;
			rs->etag = hs_strdup(ent->etag);
			c->st.etag_hits++;
		} else {
			if (rs->status == 200 && ekey && c->h_etag)
				etag_store(c, ekey, c->h_etag, &rs->body);
			rs->etag = c->h_etag ? hs_strdup(c->h_etag) : NULL;
		}
		rs->link_next = gh_link_next(c->h_link);
		hs_debug("github: %s %s -> %ld", rq->method, rq->path, rs->status);
		ret = GH_OK;
		break;
	}
out:
	if (cred) {
		OPENSSL_cleanse(cred, strlen(cred));
		free(cred);
	}
	free(msg);
	free(ekey);
	free(url);
	return ret;
}

int gh_status_error(const struct gh_request *rq, const struct gh_response *rs,
		    char *err)
{
	long st = rs->status;
	char *msg;
	int code;

	if ((st >= 200 && st < 300) || st == 304)
		return GH_OK;
	msg = body_message(&rs->body);
	if (st == 404 || st == 410)
		code = GH_ENOTFOUND;
	else if (st == 409)
		code = GH_ECONFLICT;
	else if (st == 422 && msg && strcasestr(msg, "not a fast forward"))
		code = GH_ENOTFF;
	else if (st == 422 && msg && (strstr(msg, "wasn't supplied") ||
				      strstr(msg, "but expected")))
		code = GH_ECONFLICT; /* the branch or file moved under us */
	else if (st == 422 || st == 400)
		code = GH_EINVAL;
	else if (st == 401 || st == 403)
		code = GH_EUNAUTH;
	else if (st == 429)
		code = GH_ERATELIMIT;
	else if (st == 413)
		code = GH_ETOOBIG;
	else if (st >= 500)
		code = GH_ENET;
	else
		code = GH_EBADRESP;
	hs_seterr(err, "%s %.200s: HTTP %ld%s%s", rq->method, rq->path, st,
		  msg ? ": " : "", msg ? msg : "");
	free(msg);
	return code;
}

int gh_call(struct gh_client *c, const struct gh_request *rq, int want,
	    json_t **out, long *status, char *err)
{
	struct gh_response rs;
	int rc;

	if (out)
		*out = NULL;
	if (status)
		*status = 0;
	gh_response_init(&rs);
	rc = gh_request(c, rq, &rs, err);
	if (status)
		*status = rs.status;
	if (rc)
		goto out;
	rc = gh_status_error(rq, &rs, err);
	if (rc || !want || !out)
		goto out;
	rc = gh_json_parse(&rs.body, want, out, err);
out:
	gh_response_release(&rs);
	return rc;
}

int gh_paginate(struct gh_client *c, const struct gh_request *rq,
		const char *array_key, int max_pages, gh_page_fn fn,
		void *payload, char *err)
{
	struct gh_request r = *rq;
	struct gh_response rs;
	char *next = NULL;
	json_t *j = NULL;
	int rc = GH_OK, page;

	gh_response_init(&rs);
	for (page = 0; page < max_pages; page++) {
		json_t *arr;

		rc = gh_request(c, &r, &rs, err);
		if (rc)
			goto out;
		rc = gh_status_error(&r, &rs, err);
		if (rc)
			goto out;
		rc = gh_json_parse(&rs.body, array_key ? GH_JSON_OBJECT : GH_JSON_ARRAY, &j, err);
		if (rc)
			goto out;
		arr = array_key ? gh_json_arr(j, array_key) : j;
		if (!arr) {
			hs_seterr(err, "%s: no '%s' array in the response", r.path, array_key);
			rc = GH_EBADRESP;
			goto out;
		}
		rc = fn(payload, arr, err);
		json_decref(j);
		j = NULL;
		if (rc)
			goto out;
		free(next);
		next = rs.link_next;
		rs.link_next = NULL;
		if (!next)
			goto out;
		r.path = next;
	}
	hs_seterr(err, "%s: more than %d pages", rq->path, max_pages);
	rc = GH_ETOOBIG;
out:
	json_decref(j);
	free(next);
	gh_response_release(&rs);
	return rc;
}
