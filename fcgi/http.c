/* http.c: FastCGI request parameters, capped body reads and replies. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "github/base/err.h"
#include "github/base/mem.h"

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

const char *http_param(const struct http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

void http_req_init(struct http_req *r, FCGX_Request *fcgx, struct app *app,
		   struct store *store)
{
	const char *uri, *q;
	size_t n;

	memset(r, 0, sizeof(*r));
	r->fcgx = fcgx;
	r->app = app;
	r->store = store;
	r->method = http_param(r, "REQUEST_METHOD");
	if (!r->method)
		r->method = "GET";
	/* DOCUMENT_URI is nginx's normalized path; REQUEST_URI is the raw one. */
	uri = http_param(r, "DOCUMENT_URI");
	if (!uri)
		uri = http_param(r, "REQUEST_URI");
	if (!uri)
		uri = "/";
	q = strchr(uri, '?');
	n = q ? (size_t)(q - uri) : strlen(uri);
	if (n >= sizeof(r->path))
		n = sizeof(r->path) - 1;
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	r->query = http_param(r, "QUERY_STRING");
	if (!r->query)
		r->query = "";
}

void http_req_release(struct http_req *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
}

int http_read_body(struct http_req *r, size_t cap)
{
	const char *cl = http_param(r, "CONTENT_LENGTH");
	unsigned long long want = 0;
	size_t have = 0, alloc;
	char *end;

	if (cl && *cl) {
		want = strtoull(cl, &end, 10);
		if (*end)
			return HS_EINVAL;
		if (want > cap)
			return HS_ETOOBIG;
		alloc = (size_t)want;
	} else {
		alloc = 64 * 1024 < cap ? 64 * 1024 : cap;
	}
	r->body = hs_malloc(alloc + 1);
	for (;;) {
		int n;

		if (have == alloc) {
			if (cl && *cl)
				break;
			if (alloc == cap) {
				/* no length given and more than cap bytes */
				if (FCGX_GetChar(r->fcgx->in) != EOF)
					return HS_ETOOBIG;
				break;
			}
			alloc = alloc * 2 < cap ? alloc * 2 : cap;
			r->body = hs_realloc(r->body, alloc + 1);
		}
		n = FCGX_GetStr(r->body + have, (int)(alloc - have > 1 << 30 ? 1 << 30 : alloc - have),
				r->fcgx->in);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (cl && *cl && have != want)
		return HS_EIO;
	r->body[have] = '\0';
	r->body_len = have;
	return HS_OK;
}

void http_reply(struct http_req *r, int status, const char *content_type,
		const char *extra_headers, const void *body, size_t len)
{
	if (r->replied)
		return;
	r->replied = 1;
	r->status = status;
	/* FCGX_FPrintF has its own printf without %zu: format here. */
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			 status, reason(status), content_type, len,
			 extra_headers ? extra_headers : "");

	if (n < 0 || n >= (int)sizeof(head))
		n = snprintf(head, sizeof(head), "Status: 500 Internal Server Error\r\n\r\n");
	FCGX_PutStr(head, n, r->fcgx->out);
	if (len)
		FCGX_PutStr(body, (int)len, r->fcgx->out);
}

void http_json(struct http_req *r, int status, json_t *v)
{
	http_json_headers(r, status, NULL, v);
}

void http_json_headers(struct http_req *r, int status, const char *extra_headers,
		       json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!s) {
		static const char fallback[] =
			"{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode reply\"}}";

		http_reply(r, 500, "application/json", NULL, fallback, sizeof(fallback) - 1);
	} else {
		size_t n = strlen(s);

		s = hs_realloc(s, n + 2);
		s[n] = '\n';
		http_reply(r, status, "application/json", extra_headers, s, n + 1);
	}
	free(s);
	json_decref(v);
}

void http_error(struct http_req *r, int status, const char *code,
		const char *message, json_t *details)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (details)
		json_object_set_new(e, "details", details);
	http_json(r, status, json_pack("{s:o}", "error", e));
}

int http_check_bearer(const struct http_req *r)
{
	const char *h = http_param(r, "HTTP_AUTHORIZATION");
	char *const *tok = r->app->cfg->api_tokens;
	int ok = 0;
	size_t n;

	if (!h || strncasecmp(h, "Bearer ", 7) || !tok)
		return HS_EAUTH;
	h += 7;
	n = strlen(h);
	/* Compare against every token, always: the time taken does not say
	 * which token (if any) came close. */
	for (; *tok; tok++)
		ok |= strlen(*tok) == n && CRYPTO_memcmp(*tok, h, n) == 0;
	return ok ? HS_OK : HS_EAUTH;
}

/* A query parameter, URL-decoded into out; 0 when absent or too long. */
int http_query_get(const struct http_req *r, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);

	for (const char *p = r->query; p && *p;) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);

		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			CURL *c = curl_easy_init();
			int len = 0;
			char *v = c ? curl_easy_unescape(c, p + klen + 1, (int)(end - p - (long)klen - 1),
							 &len) : NULL;
			int ok = v && (size_t)len < n && !memchr(v, '\0', (size_t)len);

			if (ok)
				memcpy(out, v, (size_t)len + 1);
			curl_free(v);
			curl_easy_cleanup(c);
			return ok;
		}
		p = amp ? amp + 1 : end;
	}
	return 0;
}
