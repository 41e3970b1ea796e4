/* routes.h: the route table of `hedgesync serve`. */
#ifndef FCGI_ROUTES_H
#define FCGI_ROUTES_H

#include <stddef.h>

struct http_req;

/* Answer one request: find its route, check the method, run the handler.
 * Unknown path: 404; known path, other method: 405 with Allow. */
void routes_dispatch(struct http_req *r);

/* The route for path, or NULL; *allowed is whether it takes method.
 * *allow_header gets the route's methods as an Allow value ("GET, HEAD"). */
const char *routes_match(const char *webhook_path, const char *method,
			 const char *path, int *allowed, char *allow_header,
			 size_t allow_len);

/* Route handlers, one module each. */
void webhook_handle(struct http_req *r);   /* POST WEBHOOK_PATH */
void health_handle(struct http_req *r);    /* GET /healthz */
void metrics_handle(struct http_req *r);   /* GET /metrics */
void api_handle(struct http_req *r);       /* /api/v1/... */
void netbox_handle(struct http_req *r);    /* POST /api/netbox/webhooks */

struct chg_request;
/* Shared by the REST API and the NetBox endpoint (fcgi/api.c): submit a
 * change set and answer 202 {operation_id, ...}, 200 when it is already
 * decided (?wait=) or a repeat, 422 with every problem, 404 for an unknown
 * fabric. */
void api_submit_change(struct http_req *r, const struct chg_request *rq);
/* Wait up to seconds (at most 60) while operation id is queued. */
void api_wait_operation(struct http_req *r, const char *id, int seconds);

#endif
