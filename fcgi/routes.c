/* routes.c: path and method dispatch; a static table, one row a route. */
#include <stdio.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"

struct route {
	const char *path;      /* exact path, or a prefix ending in '/' */
	const char *methods;   /* "POST", "GET HEAD", or NULL: the handler decides */
	void (*fn)(struct http_req *r);
	unsigned prefix : 1;
	unsigned webhook : 1;  /* path comes from WEBHOOK_PATH */
};

static const struct route routes[] = {
	{ NULL, "POST", webhook_handle, 0, 1 },
	{ "/healthz", "GET HEAD", health_handle, 0, 0 },
	{ "/metrics", "GET HEAD", metrics_handle, 0, 0 },
	{ "/api/netbox/webhooks", "POST", netbox_handle, 0, 0 },
	{ "/api/v1/", NULL, api_handle, 1, 0 },
};

static int method_allowed(const char *methods, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = methods; (p = strstr(p, m)); p += n)
		if ((p == methods || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

void routes_dispatch(struct http_req *r)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
		const struct route *rt = &routes[i];
		const char *path = rt->webhook ? r->app->cfg->webhook_path : rt->path;

		if (rt->prefix ? strncmp(r->path, path, strlen(path)) : strcmp(r->path, path))
			continue;
		if (rt->methods && !method_allowed(rt->methods, r->method)) {
			char allow[64] = "Allow: ";
			size_t n = strlen(allow);

			for (const char *p = rt->methods; *p && n + 4 < sizeof(allow); p++) {
				if (*p == ' ') {
					allow[n++] = ',';
					allow[n++] = ' ';
				} else {
					allow[n++] = *p;
				}
			}
			memcpy(allow + n, "\r\n", 3);
			http_json_headers(r, 405, allow,
					  json_pack("{s:{s:s, s:s}}", "error", "code",
						    "method_not_allowed", "message",
						    "this path does not take that method"));
			return;
		}
		rt->fn(r);
		return;
	}
	http_error(r, 404, "not_found", "no such path", NULL);
}
