/* manifest.c: POST /app-manifests/{code}/conversions. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/http.h"
#include "github/json.h"
#include "github/manifest.h"

#define CODE_MAX 128

static char *dup_or_null(const char *s)
{
	return s ? hs_strdup(s) : NULL;
}

int gh_manifest_convert(struct gh_client *c, const char *code, struct gh_app_creds *out,
			char *err)
{
	char path[64 + CODE_MAX];
	struct gh_request rq;
	json_t *j = NULL;
	const char *pem, *secret, *slug;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!code || !*code || strlen(code) > CODE_MAX ||
	    strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
		    strlen(code)) {
		hs_seterr(err, "the code GitHub sent back is not a manifest code");
		return GH_EINVAL;
	}
	snprintf(path, sizeof(path), "/app-manifests/%s/conversions", code);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = path;
	rq.body = "{}";
	rq.body_len = 2;
	rq.auth = GH_AUTH_NONE;
	rq.max_response = 1u << 20;
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &j, NULL, err);
	if (rc)
		goto out;
	pem = gh_json_str(j, "pem", 16384);
	secret = gh_json_str(j, "webhook_secret", 1024);
	slug = gh_json_str(j, "slug", 256);
	if (gh_json_int(j, "id", &out->id) || out->id <= 0 || !pem ||
	    !strstr(pem, "PRIVATE KEY-----") || !secret || !*secret || !slug) {
		hs_seterr(err, "GitHub's answer lacks the App's id, key, webhook secret or slug");
		rc = GH_EBADRESP;
		goto out;
	}
	out->pem = hs_strdup(pem);
	out->webhook_secret = hs_strdup(secret);
	out->slug = hs_strdup(slug);
	out->client_id = dup_or_null(gh_json_str(j, "client_id", 256));
	out->html_url = dup_or_null(gh_json_str(j, "html_url", 2048));
out:
	if (j) {
		/* the key and secret also sit in the parsed answer: wipe them */
		json_t *k = json_object_get(j, "pem"), *s = json_object_get(j, "webhook_secret");

		if (json_is_string(k))
			OPENSSL_cleanse((char *)json_string_value(k), json_string_length(k));
		if (json_is_string(s))
			OPENSSL_cleanse((char *)json_string_value(s), json_string_length(s));
	}
	json_decref(j);
	if (rc)
		gh_app_creds_release(out);
	return rc;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void gh_app_creds_release(struct gh_app_creds *x)
{
	if (!x)
		return;
	wipe_free(x->pem);
	wipe_free(x->webhook_secret);
	free(x->slug);
	free(x->client_id);
	free(x->html_url);
	memset(x, 0, sizeof(*x));
}

char *gh_web_base(const char *api_url)
{
	size_t n;
	char *s;

	if (!api_url || !strcmp(api_url, GH_DEFAULT_API_URL))
		return hs_strdup("https://github.com");
	s = hs_strdup(api_url);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	if (n > 7 && !strcmp(s + n - 7, "/api/v3"))
		s[n - 7] = '\0';
	return s;
}
