/* webhook_sig.c: constant-time HMAC checks of webhook bodies with OpenSSL. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "github/base/err.h"
#include "github/webhook_sig.h"

/*
 * Decode exactly `n` bytes of hex from s (either case) into out; the string
 * must end right after them.  The hex digits of a signature are not secret,
 * so a plain decoder is fine; the comparison of digests below is the part
 * that must not leak timing.
 */
static int decode_hex(const char *s, unsigned char *out, size_t n)
{
	long len = 0;
	unsigned char *tmp;
	int rc = HS_EAUTH;

	if (strlen(s) != n * 2)
		return HS_EAUTH;
	tmp = OPENSSL_hexstr2buf(s, &len);
	if (tmp && (size_t)len == n) {
		memcpy(out, tmp, n);
		rc = HS_OK;
	}
	OPENSSL_free(tmp);
	return rc;
}

static int verify(const EVP_MD *md, size_t mdlen, const char *secret,
		  const void *body, size_t len, const char *hex)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int gotlen = 0;

	if (!secret || !*secret || !hex)
		return HS_EAUTH;
	if (decode_hex(hex, want, mdlen))
		return HS_EAUTH;
	if (!HMAC(md, secret, (int)strlen(secret), body, len, got, &gotlen) ||
	    gotlen != mdlen)
		return HS_EAUTH;
	return CRYPTO_memcmp(want, got, mdlen) == 0 ? HS_OK : HS_EAUTH;
}

int gh_sig_verify_sha256(const char *secret, const void *body, size_t len,
			 const char *header)
{
	if (!header || strncmp(header, "sha256=", 7))
		return HS_EAUTH;
	return verify(EVP_sha256(), 32, secret, body, len, header + 7);
}

int gh_sig_verify_sha512(const char *secret, const void *body, size_t len,
			 const char *header)
{
	return verify(EVP_sha512(), 64, secret, body, len, header);
}

void gh_sig_sign_sha256(const char *secret, const void *body, size_t len,
			char out[72])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char digits[] = "0123456789abcdef";

	memcpy(out, "sha256=", 7);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++) {
		out[7 + 2 * i] = digits[md[i] >> 4];
		out[8 + 2 * i] = digits[md[i] & 15];
	}
	out[71] = '\0';
}
