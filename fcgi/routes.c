/* routes.c: path and method dispatch; a static table, one row a route. */
#include <stdio.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "fcgi/setup.h"

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
	{ "/setup", "GET HEAD", setup_handle, 0, 0 },
	{ "/setup/callback", "GET", callback_handle, 0, 0 },
};

static int method_allowed(const char *methods, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = methods; (p = strstr(p, m)); p += n)
		if ((p == methods || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Route names are returned for tests and logs; the table is the truth. */
static const struct route *find(const char *webhook_path, const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
		const struct route *rt = &routes[i];
		const char *p = rt->webhook ? webhook_path : rt->path;

		if (rt->prefix ? !strncmp(path, p, strlen(p)) : !strcmp(path, p))
			return rt;
	}
	return NULL;
}

static void allow_value(const char *methods, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = methods; *p && n + 3 < len; p++) {
		if (*p == ' ') {
			out[n++] = ',';
			out[n++] = ' ';
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

const char *routes_match(const char *webhook_path, const char *method,
			 const char *path, int *allowed, char *allow_header,
			 size_t allow_len)
{
	const struct route *rt = find(webhook_path, path);

	*allowed = 0;
	if (allow_len)
		allow_header[0] = '\0';
	if (!rt)
		return NULL;
	*allowed = !rt->methods || method_allowed(rt->methods, method);
	if (rt->methods && allow_len)
		allow_value(rt->methods, allow_header, allow_len);
	return rt->webhook ? webhook_path : rt->path;
}

void routes_dispatch(struct http_req *r)
{
	const struct route *rt = find(r->app->cfg->webhook_path, r->path);
	char allow[64], header[80];

	if (!rt) {
		http_error(r, 404, "not_found", "no such path", NULL);
		return;
	}
	if (rt->methods && !method_allowed(rt->methods, r->method)) {
		allow_value(rt->methods, allow, sizeof(allow));
		snprintf(header, sizeof(header), "Allow: %s\r\n", allow);
		http_json_headers(r, 405, header,
				  json_pack("{s:{s:s, s:s}}", "error", "code",
					    "method_not_allowed", "message",
					    "this path does not take that method"));
		return;
	}
	if (r->app->setup && rt->fn != health_handle && rt->fn != setup_handle &&
	    rt->fn != callback_handle) {
		http_error(r, 503, "not_set_up",
			   "hedgesync has no GitHub App yet: open the /setup link it printed", NULL);
		return;
	}
	rt->fn(r);
}
