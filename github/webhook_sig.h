/* webhook_sig.h: HMAC signatures on webhook bodies (GitHub and NetBox). */
#ifndef GH_WEBHOOK_SIG_H
#define GH_WEBHOOK_SIG_H

#include <stddef.h>

/*
 * Check a GitHub `X-Hub-Signature-256` header ("sha256=" and 64 hex digits)
 * against HMAC-SHA256(secret, body).  The comparison takes the same time
 * wherever the digests differ.  Returns HS_OK when it matches, HS_EAUTH when
 * it does not or the header is missing or malformed.
 */
int gh_sig_verify_sha256(const char *secret, const void *body, size_t len,
			 const char *header);

/*
 * Check a NetBox `X-Hook-Signature` header (128 hex digits, no prefix)
 * against HMAC-SHA512(secret, body).  Same contract as above.
 */
int gh_sig_verify_sha512(const char *secret, const void *body, size_t len,
			 const char *header);

/* Write "sha256=<hex>" for body into out (at least 72 bytes). For tests and
 * tools that send signed deliveries. */
void gh_sig_sign_sha256(const char *secret, const void *body, size_t len,
			char out[72]);

#endif
