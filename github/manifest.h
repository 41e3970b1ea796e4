/* manifest.h: registering the App from a manifest (GitHub's App manifest flow).
 *
 * A person posts the manifest to GitHub's "new App" page, GitHub creates
 * the App and sends the browser back to the redirect URL with a one-hour
 * code; gh_manifest_convert trades the code for the App's id, private key
 * and webhook secret (POST /app-manifests/{code}/conversions, no
 * authentication).
 */
#ifndef GH_MANIFEST_H
#define GH_MANIFEST_H

#include <stdint.h>

struct gh_client;

struct gh_app_creds {
	int64_t id;
	char *slug;           /* new */
	char *client_id;      /* new, may be NULL */
	char *pem;            /* new: the private key, PEM */
	char *webhook_secret; /* new */
	char *html_url;       /* new: the App's page, may be NULL */
};

/* code: as GitHub gave it (letters, digits, '-', '_'; at most 128 bytes).
 * HS-style GH_* codes; on GH_OK *out is filled (gh_app_creds_release). */
int gh_manifest_convert(struct gh_client *c, const char *code, struct gh_app_creds *out,
			char *err);
/* Wipes the key and the secret.  Accepts NULL. */
void gh_app_creds_release(struct gh_app_creds *x);

/* GitHub's web address for an API base URL, new: https://api.github.com ->
 * https://github.com, https://HOST/api/v3 -> https://HOST, anything else
 * (an emulator) as it is. */
char *gh_web_base(const char *api_url);

#endif
