/* config.c: settings from the environment and a KEY=VALUE file, validated. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi/config.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"

#define CFG_MAX_FILE (1 << 20)
#define CFG_MAX_KEY_BYTES (64 * 1024)

/* Every key hedgesync reads; anything else in a file is a mistake. */
static const char *const known_keys[] = {
	"APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET",
	"WEBHOOK_SECRET_PREVIOUS", "WEBHOOK_PATH", "GHE_HOST", "GHE_PROTOCOL",
	"GITHUB_API_URL", "HEDGESYNC_DB", "HEDGESYNC_LISTEN", "HEDGESYNC_WORKERS",
	"HEDGESYNC_THREADS", "HEDGESYNC_API_TOKENS", "NETBOX_URL", "NETBOX_TOKEN",
	"NETBOX_WEBHOOK_SECRET", "NETBOX_NOTIFY_PATH", "LOG_LEVEL", "LOG_FORMAT",
	"HEDGESYNC_LEASE_SECONDS", "HEDGESYNC_JOB_ATTEMPTS",
	"HEDGESYNC_TEST_HANDLERS", "HEDGESYNC_REDELIVER_SECONDS", "HEDGESYNC_WRITES_PER_MINUTE",
	"HEDGESYNC_NOTIFY_GIVE_UP_SECONDS", "HEDGESYNC_CREDENTIALS", "HEDGESYNC_PUBLIC_URL", NULL,
};

struct kv {
	char *key, *val;
};

struct kvset {
	struct kv *v;
	size_t n;
};

static const char *kv_get(const struct kvset *s, const char *key)
{
	const char *e = getenv(key);

	if (e)
		return e;
	for (size_t i = s->n; i-- > 0;)
		if (!strcmp(s->v[i].key, key))
			return s->v[i].val;
	return NULL;
}

static int known(const char *key)
{
	for (size_t i = 0; known_keys[i]; i++)
		if (!strcmp(known_keys[i], key))
			return 1;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int read_file(const char *what, const char *path, struct hs_buf *out,
		     struct hs_buf *msg)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;
	int rc = HS_OK;

	if (!f) {
		hs_buf_addf(msg, "%s: cannot read %s: %s\n", what, path, strerror(errno));
		return HS_EINVAL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (hs_buf_add(out, chunk, n)) {
			hs_buf_addf(msg, "%s: %s is larger than %zu bytes\n", what, path, out->limit);
			rc = HS_EINVAL;
			break;
		}
	}
	if (ferror(f) && rc == HS_OK) {
		hs_buf_addf(msg, "%s: cannot read %s\n", what, path);
		rc = HS_EINVAL;
	}
	fclose(f);
	return rc;
}

static int parse_file(const char *path, struct kvset *set, struct hs_buf *msg)
{
	struct hs_buf text = HS_BUF_INIT(CFG_MAX_FILE);
	char *line, *save = NULL;
	int lineno = 0, rc;

	rc = read_file("--config", path, &text, msg);
	if (rc)
		goto out;
	for (line = strtok_r(text.data ? text.data : (char *)"", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key, *val;
		size_t vlen;

		lineno++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "export ", 7))
			line = trim(line + 7);
		eq = strchr(line, '=');
		if (!eq) {
			hs_buf_addf(msg, "%s:%d: expected KEY=VALUE\n", path, lineno);
			rc = HS_EINVAL;
			continue;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		vlen = strlen(val);
		if (vlen >= 2 && (val[0] == '"' || val[0] == '\'') && val[vlen - 1] == val[0]) {
			val[vlen - 1] = '\0';
			val++;
		}
		if (!known(key)) {
			hs_buf_addf(msg, "%s:%d: unknown setting %s\n", path, lineno, key);
			rc = HS_EINVAL;
			continue;
		}
		set->v = hs_realloc(set->v, (set->n + 1) * sizeof(*set->v));
		set->v[set->n].key = hs_strdup(key);
		set->v[set->n].val = hs_strdup(val);
		set->n++;
	}
out:
	hs_buf_release(&text);
	return rc;
}

static int parse_int(const char *name, const char *s, int def, int lo, int hi,
		     int *out, struct hs_buf *msg)
{
	char *end;
	long v;

	if (!s || !*s) {
		*out = def;
		return HS_OK;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		hs_buf_addf(msg, "%s must be a whole number from %d to %d, not \"%s\"\n",
			    name, lo, hi, s);
		*out = def;
		return HS_EINVAL;
	}
	*out = (int)v;
	return HS_OK;
}

/* Probot accepts the key base64-encoded or with literal "\n" escapes. */
static char *decode_private_key(const char *v)
{
	char *out, *p;

	if (strstr(v, "-----BEGIN")) {
		out = hs_strdup(v);
		for (p = out; (p = strstr(p, "\\n"));) {
			*p = '\n';
			memmove(p + 1, p + 2, strlen(p + 2) + 1);
		}
		return out;
	}
	{
		size_t len = strlen(v);
		unsigned char *dec = hs_malloc(len / 4 * 3 + 4);
		int n = EVP_DecodeBlock(dec, (const unsigned char *)v, (int)len);

		if (n <= 0) {
			free(dec);
			return NULL;
		}
		dec[n] = '\0';
		return (char *)dec;
	}
}

static char **split_tokens(const char *s)
{
	char **v = NULL, *copy, *tok, *save = NULL;
	size_t n = 0;

	copy = hs_strdup(s);
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		v = hs_realloc(v, (n + 2) * sizeof(*v));
		v[n++] = hs_strdup(tok);
		v[n] = NULL;
	}
	free(copy);
	return v;
}

static char *strip_slash(const char *s)
{
	char *c = hs_strdup(s);
	size_t n = strlen(c);

	while (n > 0 && c[n - 1] == '/')
		c[--n] = '\0';
	return c;
}

int cfg_load(struct hs_config *cfg, const char *file, struct hs_buf *msg)
{
	struct kvset set = { NULL, 0 };
	const char *v;
	int rc = HS_OK;

	memset(cfg, 0, sizeof(*cfg));
	if (file && parse_file(file, &set, msg))
		rc = HS_EINVAL;
	/* What `serve --setup` stored when the App was registered, under the
	 * file and the environment: both win over it. */
	v = kv_get(&set, "HEDGESYNC_CREDENTIALS");
	if (v && *v) {
		cfg->credentials_path = hs_strdup(v);
	} else {
		const char *db = kv_get(&set, "HEDGESYNC_DB");
		const char *slash;

		db = db && *db ? db : "./var/hedgesync.db";
		slash = strrchr(db, '/');
		cfg->credentials_path = slash ? hs_asprintf("%.*s/app-credentials.env",
							    (int)(slash - db), db)
					      : hs_strdup("app-credentials.env");
	}
	if (access(cfg->credentials_path, F_OK) == 0) {
		struct kvset creds = { NULL, 0 };

		if (parse_file(cfg->credentials_path, &creds, msg))
			rc = HS_EINVAL;
		/* the file's own settings after the credentials: they win */
		creds.v = hs_realloc(creds.v, (creds.n + set.n + 1) * sizeof(*creds.v));
		if (set.n) /* set.v is NULL when the file set nothing */
			memcpy(creds.v + creds.n, set.v, set.n * sizeof(*set.v));
		creds.n += set.n;
		free(set.v);
		set = creds;
	}

	cfg->app_id = hs_strdup(kv_get(&set, "APP_ID"));
	cfg->webhook_secret = hs_strdup(kv_get(&set, "WEBHOOK_SECRET"));
	cfg->webhook_secret_previous = hs_strdup(kv_get(&set, "WEBHOOK_SECRET_PREVIOUS"));
	v = kv_get(&set, "WEBHOOK_PATH");
	cfg->webhook_path = hs_strdup(v && *v ? v : "/api/github/webhooks");

	v = kv_get(&set, "GITHUB_API_URL");
	if (v && *v) {
		cfg->github_api_url = strip_slash(v);
	} else if ((v = kv_get(&set, "GHE_HOST")) && *v) {
		const char *proto = kv_get(&set, "GHE_PROTOCOL");

		cfg->github_api_url = hs_asprintf("%s://%s/api/v3",
						  proto && *proto ? proto : "https", v);
	} else {
		cfg->github_api_url = hs_strdup("https://api.github.com");
	}

	v = kv_get(&set, "HEDGESYNC_DB");
	cfg->db_path = hs_strdup(v && *v ? v : "./var/hedgesync.db");
	v = kv_get(&set, "HEDGESYNC_PUBLIC_URL");
	cfg->public_url = v && *v ? strip_slash(v) : NULL;
	v = kv_get(&set, "HEDGESYNC_LISTEN");
	cfg->listen = hs_strdup(v && *v ? v : "unix:./var/hedgesync.sock");

	if (parse_int("HEDGESYNC_WORKERS", kv_get(&set, "HEDGESYNC_WORKERS"), 4, 1, 64,
		      &cfg->workers, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_THREADS", kv_get(&set, "HEDGESYNC_THREADS"), 16, 1, 256,
		      &cfg->threads, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_LEASE_SECONDS", kv_get(&set, "HEDGESYNC_LEASE_SECONDS"),
		      60, 1, 3600, &cfg->lease_seconds, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_WRITES_PER_MINUTE", kv_get(&set, "HEDGESYNC_WRITES_PER_MINUTE"),
		      80, 0, 1000, &cfg->writes_per_minute, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_NOTIFY_GIVE_UP_SECONDS",
		      kv_get(&set, "HEDGESYNC_NOTIFY_GIVE_UP_SECONDS"), 86400, 1, 30 * 86400,
		      &cfg->notify_give_up_seconds, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_JOB_ATTEMPTS", kv_get(&set, "HEDGESYNC_JOB_ATTEMPTS"),
		      8, 1, 100, &cfg->job_attempts, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_REDELIVER_SECONDS", kv_get(&set, "HEDGESYNC_REDELIVER_SECONDS"),
		      300, 0, 86400, &cfg->redeliver_seconds, msg))
		rc = HS_EINVAL;
	if (parse_int("HEDGESYNC_TEST_HANDLERS", kv_get(&set, "HEDGESYNC_TEST_HANDLERS"),
		      0, 0, 1, &cfg->test_handlers, msg))
		rc = HS_EINVAL;

	v = kv_get(&set, "HEDGESYNC_API_TOKENS");
	if (v && *v)
		cfg->api_tokens = split_tokens(v);

	v = kv_get(&set, "NETBOX_URL");
	cfg->netbox_url = v && *v ? strip_slash(v) : NULL;
	cfg->netbox_token = hs_strdup(kv_get(&set, "NETBOX_TOKEN"));
	cfg->netbox_webhook_secret = hs_strdup(kv_get(&set, "NETBOX_WEBHOOK_SECRET"));
	v = kv_get(&set, "NETBOX_NOTIFY_PATH");
	cfg->netbox_notify_path = hs_strdup(v && *v ? v : "/api/plugins/hedgehog/gitops/events/");

	v = kv_get(&set, "LOG_LEVEL");
	cfg->log_level = hs_strdup(v && *v ? v : "info");
	v = kv_get(&set, "LOG_FORMAT");
	cfg->log_format = hs_strdup(v && *v ? v : "text");
	{
		enum hs_log_level l;
		enum hs_log_format f;

		if (hs_log_parse_level(cfg->log_level, &l)) {
			hs_buf_addf(msg, "LOG_LEVEL must be debug, info, warn or error, not \"%s\"\n",
				    cfg->log_level);
			rc = HS_EINVAL;
		}
		if (hs_log_parse_format(cfg->log_format, &f)) {
			hs_buf_addf(msg, "LOG_FORMAT must be json or text, not \"%s\"\n",
				    cfg->log_format);
			rc = HS_EINVAL;
		}
	}

	/* The private key: PRIVATE_KEY_PATH wins over PRIVATE_KEY, as in Probot. */
	v = kv_get(&set, "PRIVATE_KEY_PATH");
	if (v && *v) {
		struct hs_buf key = HS_BUF_INIT(CFG_MAX_KEY_BYTES);

		cfg->private_key_path = hs_strdup(v);
		if (read_file("PRIVATE_KEY_PATH", v, &key, msg) == HS_OK)
			cfg->private_key = hs_buf_steal(&key, NULL);
		else
			rc = HS_EINVAL;
		hs_buf_release(&key);
	} else if ((v = kv_get(&set, "PRIVATE_KEY")) && *v) {
		cfg->private_key = decode_private_key(v);
		if (!cfg->private_key) {
			hs_buf_addf(msg, "PRIVATE_KEY is neither PEM nor base64 of PEM\n");
			rc = HS_EINVAL;
		}
	}

	for (size_t i = 0; i < set.n; i++) {
		free(set.v[i].key);
		free(set.v[i].val);
	}
	free(set.v);
	return rc;
}

int cfg_parse_listen(const char *spec, int *is_unix, const char **addr)
{
	const char *colon;
	char *end;
	long port;

	if (!strncmp(spec, "unix:", 5) && spec[5]) {
		*is_unix = 1;
		*addr = spec + 5;
		return HS_OK;
	}
	if (strncmp(spec, "tcp:", 4))
		return HS_EINVAL;
	colon = strrchr(spec + 4, ':');
	if (!colon || colon == spec + 4)
		return HS_EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return HS_EINVAL;
	*is_unix = 0;
	*addr = spec + 4;
	return HS_OK;
}

static int check_key(const char *pem, struct hs_buf *msg)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	int rc = HS_OK;

	if (!key) {
		hs_buf_addf(msg, "the private key is not a PEM private key (PKCS#1 or PKCS#8)\n");
		rc = HS_EINVAL;
	} else if (!EVP_PKEY_is_a(key, "RSA")) {
		hs_buf_addf(msg, "the private key is not an RSA key; GitHub Apps sign with RS256\n");
		rc = HS_EINVAL;
	}
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

static int check_url(const char *name, const char *v, struct hs_buf *msg)
{
	if (v && (!strncmp(v, "https://", 8) || !strncmp(v, "http://", 7)) &&
	    strlen(v) > 8 && !strpbrk(v, " \t\r\n"))
		return HS_OK;
	hs_buf_addf(msg, "%s must be an http:// or https:// URL, not \"%s\"\n", name,
		    v ? v : "");
	return HS_EINVAL;
}

int cfg_check_serve(struct hs_config *cfg, int setup_allowed, struct hs_buf *msg)
{
	int rc = HS_OK, is_unix;
	const char *addr;

	/* serve --setup with no App at all: the /setup page registers one */
	cfg->setup = setup_allowed && (!cfg->app_id || !*cfg->app_id) && !cfg->private_key &&
		     !cfg->private_key_path && (!cfg->webhook_secret || !*cfg->webhook_secret);
	if (cfg->setup) {
		/* nothing of the App to check */
	} else if (!cfg->app_id || !*cfg->app_id) {
		hs_buf_addf(msg, "APP_ID is required (the GitHub App's id)\n");
		rc = HS_EINVAL;
	} else {
		const char *p = cfg->app_id;
		int digits = 1;

		for (; *p; p++)
			digits &= isdigit((unsigned char)*p) != 0;
		/* a numeric id, or a client id such as Iv23li... */
		if (!digits && (strncmp(cfg->app_id, "Iv", 2) || strlen(cfg->app_id) > 64 ||
				strspn(cfg->app_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.") !=
					strlen(cfg->app_id))) {
			hs_buf_addf(msg, "APP_ID must be the App's numeric id or client id, not \"%s\"\n",
				    cfg->app_id);
			rc = HS_EINVAL;
		}
	}
	if (cfg->setup) {
		/* no key yet */
	} else if (!cfg->private_key) {
		if (!cfg->private_key_path) {
			hs_buf_addf(msg, "PRIVATE_KEY_PATH or PRIVATE_KEY is required (the App's PEM key)\n");
			rc = HS_EINVAL;
		}
	} else if (check_key(cfg->private_key, msg)) {
		rc = HS_EINVAL;
	}
	if (!cfg->setup && (!cfg->webhook_secret || !*cfg->webhook_secret)) {
		hs_buf_addf(msg, "WEBHOOK_SECRET is required (the secret set on the GitHub App)\n");
		rc = HS_EINVAL;
	}
	if (cfg->webhook_path[0] != '/' || strpbrk(cfg->webhook_path, "?# \t")) {
		hs_buf_addf(msg, "WEBHOOK_PATH must be a path starting with /, not \"%s\"\n",
			    cfg->webhook_path);
		rc = HS_EINVAL;
	}
	if (check_url("GITHUB_API_URL", cfg->github_api_url, msg))
		rc = HS_EINVAL;
	if (cfg_parse_listen(cfg->listen, &is_unix, &addr)) {
		hs_buf_addf(msg, "HEDGESYNC_LISTEN must be unix:PATH or tcp:HOST:PORT, not \"%s\"\n",
			    cfg->listen);
		rc = HS_EINVAL;
	}
	if (cfg->public_url && check_url("HEDGESYNC_PUBLIC_URL", cfg->public_url, msg))
		rc = HS_EINVAL;
	if (cfg->netbox_url && check_url("NETBOX_URL", cfg->netbox_url, msg))
		rc = HS_EINVAL;
	if (cfg->netbox_url && (!cfg->netbox_token || !*cfg->netbox_token)) {
		hs_buf_addf(msg, "NETBOX_TOKEN is required when NETBOX_URL is set\n");
		rc = HS_EINVAL;
	}
	return rc;
}

void cfg_release(struct hs_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->app_id);
	if (cfg->private_key)
		OPENSSL_cleanse(cfg->private_key, strlen(cfg->private_key));
	free(cfg->private_key);
	free(cfg->private_key_path);
	free(cfg->webhook_secret);
	free(cfg->webhook_secret_previous);
	free(cfg->webhook_path);
	free(cfg->credentials_path);
	free(cfg->public_url);
	free(cfg->github_api_url);
	free(cfg->db_path);
	free(cfg->listen);
	for (char **t = cfg->api_tokens; t && *t; t++)
		free(*t);
	free(cfg->api_tokens);
	free(cfg->netbox_url);
	free(cfg->netbox_token);
	free(cfg->netbox_webhook_secret);
	free(cfg->netbox_notify_path);
	free(cfg->log_level);
	free(cfg->log_format);
	memset(cfg, 0, sizeof(*cfg));
}
