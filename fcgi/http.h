/* http.h: one FastCGI request: its parameters, a capped body and replies.
 *
 * A `struct http_req` lives on a request thread's stack for one request.
 * Replies go through http_reply / http_json / http_error only, which write
 * Status, Content-Type and Content-Length and then the body.
 */
#ifndef FCGI_HTTP_H
#define FCGI_HTTP_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stddef.h>

struct app;
struct store;

#define HTTP_MAX_BODY (25u * 1024 * 1024) /* GitHub's payload cap */

struct http_req {
	FCGX_Request *fcgx;    /* borrowed */
	struct app *app;       /* borrowed */
	struct store *store;   /* this thread's connection, borrowed */
	const char *method;
	char path[1024];       /* without the query string */
	const char *query;     /* "" when none */
	char *body;            /* NUL-terminated; NULL until http_read_body */
	size_t body_len;
	int replied;
	int status;            /* what was answered, for the access log */
};

/* Fill method, path and query from the FastCGI parameters. */
void http_req_init(struct http_req *r, FCGX_Request *fcgx, struct app *app,
		   struct store *store);
void http_req_release(struct http_req *r);

/* A CGI parameter ("HTTP_X_GITHUB_EVENT", "CONTENT_TYPE", ...), borrowed, or NULL. */
const char *http_param(const struct http_req *r, const char *name);

/* Read the body, at most `cap` bytes: HS_ETOOBIG when it is larger (nothing
 * is kept), HS_EIO when the client went away. */
int http_read_body(struct http_req *r, size_t cap);

/* Reply with a body of len bytes. extra_headers is NULL or "Name: v\r\n..." */
void http_reply(struct http_req *r, int status, const char *content_type,
		const char *extra_headers, const void *body, size_t len);
/* Reply with JSON; steals v.  extra_headers as for http_reply. */
void http_json(struct http_req *r, int status, json_t *v);
void http_json_headers(struct http_req *r, int status, const char *extra_headers,
		       json_t *v);
/* {"error": {"code", "message", "details"}}; details stolen, may be NULL. */
void http_error(struct http_req *r, int status, const char *code,
		const char *message, json_t *details);

/* Query parameter key of the request, URL-decoded into out (n bytes): 1 when
 * present and it fits, else 0. */
int http_query_get(const struct http_req *r, const char *key, char *out, size_t n);
/* Constant-time check of "Authorization: Bearer <token>" against the
 * configured API tokens.  HS_OK or HS_EAUTH. */
int http_check_bearer(const struct http_req *r);

#endif
