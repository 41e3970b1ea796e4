/* setup.h: registering the GitHub App in one click (serve --setup).
 *
 * With no App configured, `hedgesync serve --setup` prints a one-time link
 * to /setup?token=...; that page posts github/app.yml, made a manifest with
 * this service's addresses, to GitHub's "new App" page.  GitHub creates the
 * App and sends the browser to /setup/callback with a code, which hedgesync
 * trades for the App's id, private key and webhook secret.  They are
 * written beside the database (HEDGESYNC_CREDENTIALS, mode 0600; the key in
 * its own file) and the service starts again with them.
 */
#ifndef FCGI_SETUP_H
#define FCGI_SETUP_H

#include <stddef.h>

struct app;
struct http_req;

/* github/app.yml, built into the binary. */
extern const char hs_app_yml[];
extern const size_t hs_app_yml_len;

/* Make app->setup (the token is printed by the caller): HS_OK or HS_EIO. */
int setup_init(struct app *app, char *err);
/* The link to print: /setup?token=... (borrowed). */
const char *setup_path(const struct app *app);
void setup_free(struct app *app); /* accepts an app without setup */

void setup_handle(struct http_req *r);    /* GET /setup */
void callback_handle(struct http_req *r); /* GET /setup/callback */

/* The manifest for base (https://host, no trailing slash) as JSON text,
 * new, or NULL with err set (for the page and the tests). */
char *setup_manifest(const char *base, const char *webhook_path, char *err);

#endif
