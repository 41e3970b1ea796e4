/* netbox.c: POST /api/netbox/webhooks: NetBox event-rule webhooks.
 *
 * The body is checked against X-Hook-Signature (HMAC-SHA512 with
 * NETBOX_WEBHOOK_SECRET) before anything else; an unsigned or forged body
 * changes nothing.  A Hedgehog object's create, update or delete becomes one
 * change submitted as the REST API's /changes would; anything else is
 * acknowledged with 200 and ignored.  NetBox may send one event again (a
 * requeued job): the digest of the body makes the repeat answer with the
 * first operation instead of queueing another.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/webhook_sig.h"
#include "sync/change.h"
#include "sync/netbox.h"

#define NETBOX_MAX_BODY (4u << 20)

static void digest(const char *body, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (EVP_Digest(body, len, md, &n, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void netbox_handle(struct http_req *r)
{
	const char *secret = r->app->cfg->netbox_webhook_secret;
	struct nb_change c;
	struct chg_request rq = { 0 };
	json_t *body = NULL, *changes = NULL, *one;
	json_error_t jerr;
	char hint[64] = "", err[HS_ERRBUF] = "", dedup[72];
	int rc;

	memset(&c, 0, sizeof(c));
	if (!secret || !*secret) {
		http_error(r, 401, "unauthorized",
			   "NETBOX_WEBHOOK_SECRET is not set: unsigned NetBox webhooks are refused",
			   NULL);
		return;
	}
	rc = http_read_body(r, NETBOX_MAX_BODY);
	if (rc) {
		http_error(r, rc == HS_ETOOBIG ? 413 : 400, "bad_request",
			   "the body could not be read (at most 4 MB)", NULL);
		return;
	}
	if (gh_sig_verify_sha512(secret, r->body, r->body_len,
				 http_param(r, "HTTP_X_HOOK_SIGNATURE"))) {
		http_error(r, 401, "unauthorized",
			   "X-Hook-Signature is missing or does not match the body", NULL);
		return;
	}
	body = json_loadb(r->body, r->body_len, 0, &jerr);
	if (!body) {
		http_error(r, 400, "invalid_json", jerr.text, NULL);
		return;
	}
	http_query_get(r, "fabric", hint, sizeof(hint));
	rc = nb_parse(body, *hint ? hint : NULL, &c, err);
	if (rc) {
		http_error(r, 422, "invalid", err, NULL);
		goto out;
	}
	if (c.action == NB_IGNORE) {
		http_json(r, 200, json_pack("{s:s, s:s}", "status", "ignored", "reason", c.reason));
		goto out;
	}
	one = json_pack("{s:s, s:O}", "op", c.action == NB_DELETE ? "delete" : "apply",
			"resource", c.resource);
	if (c.base)
		json_object_set(one, "base", c.base);
	changes = json_pack("[o]", one);
	digest(r->body, r->body_len, dedup);
	rq.fabric = c.fabric;
	rq.changes = changes;
	rq.author_name = c.user;
	rq.source = "netbox";
	rq.dedup = *dedup ? dedup : NULL;
	hs_log(HS_LOG_INFO, NULL, NULL, "NetBox %s of %s %s in fabric %s by %s",
	       c.action == NB_DELETE ? "delete" : "change", c.kind->name, c.name, c.fabric, c.user);
	api_submit_change(r, &rq);
out:
	nb_change_release(&c);
	json_decref(changes);
	json_decref(body);
}
