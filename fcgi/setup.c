/* setup.c: GET /setup and GET /setup/callback, the App manifest flow. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "fcgi/setup.h"
#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/http.h"
#include "github/manifest.h"
#include "sync/yaml.h"

#define SETUP_HOST_MAX 255

struct setup {
	pthread_mutex_t mu;
	char token[41];   /* in the printed link: who may start the flow */
	char path[64];    /* /setup?token=... */
	char state[41];   /* sent to GitHub with the manifest, checked on return */
	int done;         /* the App is registered: nothing more to do here */
};

static int random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof(r) || RAND_bytes(r, (int)bytes) != 1)
		return HS_EIO;
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	OPENSSL_cleanse(r, sizeof(r));
	return HS_OK;
}

int setup_init(struct app *app, char *err)
{
	struct setup *s = hs_calloc(1, sizeof(*s));

	if (random_hex(s->token, 20)) {
		hs_seterr(err, "no random bytes for the setup token");
		free(s);
		return HS_EIO;
	}
	snprintf(s->path, sizeof(s->path), "/setup?token=%s", s->token);
	pthread_mutex_init(&s->mu, NULL);
	app->setup = s;
	return HS_OK;
}

const char *setup_path(const struct app *app)
{
	return app->setup ? app->setup->path : NULL;
}

void setup_free(struct app *app)
{
	if (!app || !app->setup)
		return;
	pthread_mutex_destroy(&app->setup->mu);
	OPENSSL_cleanse(app->setup, sizeof(*app->setup));
	free(app->setup);
	app->setup = NULL;
}

static int same(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strlen(a) == n && CRYPTO_memcmp(a, b, n) == 0;
}

/* The address GitHub and the browser reach this service at, new:
 * HEDGESYNC_PUBLIC_URL, else the request's scheme and Host. */
static char *public_base(struct http_req *r)
{
	const char *host = http_param(r, "HTTP_HOST");
	const char *https = http_param(r, "HTTPS");
	const char *fwd = http_param(r, "HTTP_X_FORWARDED_PROTO");
	const char *port = http_param(r, "SERVER_PORT");
	int tls = (https && *https && strcmp(https, "off")) || (fwd && !strcmp(fwd, "https"));

	if (r->app->cfg->public_url)
		return hs_strdup(r->app->cfg->public_url);
	if (!host || !*host || strlen(host) > SETUP_HOST_MAX ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
		    strlen(host))
		return NULL;
	/* nginx may pass the host without its port ($host): SERVER_PORT has it */
	if (!strchr(host, ':') && port && strspn(port, "0123456789") == strlen(port) &&
	    *port && strcmp(port, tls ? "443" : "80"))
		return hs_asprintf("%s://%s:%s", tls ? "https" : "http", host, port);
	return hs_asprintf("%s://%s", tls ? "https" : "http", host);
}

char *setup_manifest(const char *base, const char *webhook_path, char *err)
{
	struct hy_stream *ys = NULL;
	json_t *m = NULL;
	char *out = NULL, *url;

	if (hy_load(&ys, hs_app_yml, hs_app_yml_len, "github/app.yml", NULL, NULL, NULL, err) ||
	    ys->ndocs != 1 || !(m = hy_to_json(ys->docs[0].root, err)) || !json_is_object(m)) {
		hs_seterr(err, "github/app.yml is not one YAML mapping");
		goto out;
	}
	json_object_set_new(m, "url", json_string(base));
	url = hs_asprintf("%s%s", base, webhook_path);
	json_object_set_new(m, "hook_attributes", json_pack("{s:s, s:b}", "url", url, "active", 1));
	free(url);
	url = hs_asprintf("%s/setup/callback", base);
	json_object_set_new(m, "redirect_url", json_string(url));
	free(url);
	out = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(m);
	hy_stream_free(ys);
	return out;
}

static void html_escape(struct hs_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': hs_buf_addstr(b, "&amp;"); break;
		case '<': hs_buf_addstr(b, "&lt;"); break;
		case '>': hs_buf_addstr(b, "&gt;"); break;
		case '"': hs_buf_addstr(b, "&quot;"); break;
		case '\'': hs_buf_addstr(b, "&#39;"); break;
		default: hs_buf_addch(b, *s);
		}
	}
}

static void page(struct http_req *r, int status, const char *title, const char *body_html)
{
	struct hs_buf b = HS_BUF_INIT(1 << 20);

	hs_buf_addstr(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
	html_escape(&b, title);
	hs_buf_addstr(&b, "</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em;"
			  " margin: 3em auto\">\n<h1>");
	html_escape(&b, title);
	hs_buf_addf(&b, "</h1>\n%s\n</body></html>\n", body_html);
	http_reply(r, status, "text/html; charset=utf-8",
		   "Cache-Control: no-store\r\nX-Frame-Options: DENY\r\n"
		   "Referrer-Policy: no-referrer\r\n", b.data, b.len);
	hs_buf_release(&b);
}

static void page_text(struct http_req *r, int status, const char *title, const char *text)
{
	struct hs_buf b = HS_BUF_INIT(1 << 16);

	hs_buf_addstr(&b, "<p>");
	html_escape(&b, text);
	hs_buf_addstr(&b, "</p>");
	page(r, status, title, hs_buf_str(&b));
	hs_buf_release(&b);
}

void setup_handle(struct http_req *r)
{
	struct setup *s = r->app->setup;
	char token[64] = "", org[64] = "", err[HS_ERRBUF] = "";
	char *base = NULL, *manifest = NULL, *web = NULL;
	struct hs_buf b = HS_BUF_INIT(1 << 20);

	if (!s) {
		page_text(r, 404, "hedgesync is set up", "This service already runs as a GitHub App.");
		goto out;
	}
	http_query_get(r, "token", token, sizeof(token));
	http_query_get(r, "org", org, sizeof(org));
	if (!same(token, s->token)) {
		page_text(r, 403, "Not this link",
			  "Open the link hedgesync printed when it started (serve --setup).");
		goto out;
	}
	if (*org && strspn(org, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
			    strlen(org)) {
		page_text(r, 400, "Not an organization", "org= must be a GitHub organization's login.");
		goto out;
	}
	base = public_base(r);
	if (!base) {
		page_text(r, 400, "Unknown address",
			  "The request has no usable Host; set HEDGESYNC_PUBLIC_URL.");
		goto out;
	}
	manifest = setup_manifest(base, r->app->cfg->webhook_path, err);
	if (!manifest) {
		page_text(r, 500, "No manifest", err);
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	if (!*s->state && random_hex(s->state, 20))
		s->state[0] = '\0';
	pthread_mutex_unlock(&s->mu);
	web = gh_web_base(r->app->cfg->github_api_url);
	hs_buf_addstr(&b, "<p>This registers a GitHub App named after <code>github/app.yml</code>"
			  " for this hedgesync, with its webhook at <code>");
	html_escape(&b, base);
	html_escape(&b, r->app->cfg->webhook_path);
	hs_buf_addstr(&b, "</code>. GitHub asks you to confirm its name; hedgesync then stores"
			  " the App's id, private key and webhook secret and starts with them.</p>\n");
	hs_buf_addstr(&b, "<form method=\"post\" action=\"");
	html_escape(&b, web);
	if (*org) {
		hs_buf_addstr(&b, "/organizations/");
		html_escape(&b, org);
	}
	hs_buf_addstr(&b, "/settings/apps/new?state=");
	html_escape(&b, s->state);
	hs_buf_addstr(&b, "\">\n<input type=\"hidden\" name=\"manifest\" value=\"");
	html_escape(&b, manifest);
	hs_buf_addstr(&b, "\">\n<button type=\"submit\">Register the GitHub App on ");
	html_escape(&b, web);
	hs_buf_addstr(&b, "</button>\n</form>\n<p>For an organization's App, add"
			  " <code>&amp;org=LOGIN</code> to this page's address.</p>");
	page(r, 200, "Register hedgesync as a GitHub App", hs_buf_str(&b));
out:
	hs_buf_release(&b);
	free(base);
	free(manifest);
	free(web);
}

/* Write text to path with mode 0600, atomically (a temporary, then rename). */
static int write_private(const char *path, const char *text, char *err)
{
	char *tmp = hs_asprintf("%s.tmp", path);
	size_t len = strlen(text);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = HS_OK;

	if (fd < 0 || fchmod(fd, 0600) || write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		hs_seterr(err, "cannot write %s: %s", tmp, strerror(errno));
		rc = HS_EIO;
	}
	if (fd >= 0 && close(fd) && !rc) {
		hs_seterr(err, "cannot write %s: %s", tmp, strerror(errno));
		rc = HS_EIO;
	}
	if (!rc && rename(tmp, path)) {
		hs_seterr(err, "cannot rename %s: %s", tmp, strerror(errno));
		rc = HS_EIO;
	}
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* The key beside the credentials file, then the file naming it. */
static int store_creds(const struct hs_config *cfg, const struct gh_app_creds *c, char **key_path,
		       char *err)
{
	const char *slash = strrchr(cfg->credentials_path, '/');
	char *env;
	int rc;

	*key_path = slash ? hs_asprintf("%.*s/app-private-key.pem",
					(int)(slash - cfg->credentials_path), cfg->credentials_path)
			  : hs_strdup("app-private-key.pem");
	rc = write_private(*key_path, c->pem, err);
	if (rc)
		return rc;
	env = hs_asprintf("# The GitHub App registered by hedgesync serve --setup (%s).\n"
			  "APP_ID=%lld\nPRIVATE_KEY_PATH=%s\nWEBHOOK_SECRET=%s\n",
			  c->slug, (long long)c->id, *key_path, c->webhook_secret);
	rc = write_private(cfg->credentials_path, env, err);
	OPENSSL_cleanse(env, strlen(env));
	free(env);
	return rc;
}

void callback_handle(struct http_req *r)
{
	struct setup *s = r->app->setup;
	char code[160] = "", state[64] = "", err[HS_ERRBUF] = "";
	struct gh_client_opts o;
	struct gh_client *gh = NULL;
	struct gh_app_creds creds;
	struct hs_buf b = HS_BUF_INIT(1 << 16);
	char *key_path = NULL;
	int rc, ok;

	memset(&creds, 0, sizeof(creds));
	if (!s) {
		page_text(r, 404, "hedgesync is set up", "This service already runs as a GitHub App.");
		goto out;
	}
	http_query_get(r, "code", code, sizeof(code));
	http_query_get(r, "state", state, sizeof(state));
	pthread_mutex_lock(&s->mu);
	ok = !s->done && *s->state && same(state, s->state);
	if (ok)
		s->done = 1; /* one registration; a second callback finds it done */
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		page_text(r, 400, "Not this registration",
			  "This answer from GitHub does not belong to the setup page of this"
			  " hedgesync, or the App is registered already.");
		goto out;
	}
	gh_client_opts_init(&o);
	o.base_url = r->app->cfg->github_api_url;
	rc = gh_client_new(&gh, &o, err);
	if (!rc)
		rc = gh_manifest_convert(gh, code, &creds, err);
	if (!rc)
		rc = store_creds(r->app->cfg, &creds, &key_path, err);
	if (rc) {
		pthread_mutex_lock(&s->mu);
		s->done = 0; /* let the person try again */
		s->state[0] = '\0';
		pthread_mutex_unlock(&s->mu);
		hs_log(HS_LOG_ERROR, NULL, NULL, "setup: %s", err);
		page_text(r, 502, "GitHub did not hand over the App", err);
		goto out;
	}
	hs_log(HS_LOG_INFO, NULL, NULL, "setup: GitHub App %s (id %lld) registered; its credentials"
	       " are in %s, its key in %s", creds.slug, (long long)creds.id,
	       r->app->cfg->credentials_path, key_path);
	hs_buf_addstr(&b, "<p>GitHub App <b>");
	html_escape(&b, creds.slug);
	hs_buf_addf(&b, "</b> (id %lld) is registered. Its id, private key and webhook secret are"
		    " stored beside the database; hedgesync is starting again with them.</p>\n",
		    (long long)creds.id);
	if (creds.html_url) {
		hs_buf_addstr(&b, "<p>Next: <a href=\"");
		html_escape(&b, creds.html_url);
		hs_buf_addstr(&b, "/installations/new\">install the App</a> on the repositories that"
				  " hold your fabrics, then register each fabric"
				  " (<code>POST /api/v1/fabrics</code>).</p>");
	}
	page(r, 200, "hedgesync is registered", hs_buf_str(&b));
	/* the answer is on its way: the main thread restarts the service */
	kill(getpid(), SIGUSR1);
out:
	hs_buf_release(&b);
	gh_app_creds_release(&creds);
	gh_client_free(gh);
	free(key_path);
}
