/* t-webhook-sig.c: GitHub's and NetBox's webhook signatures. */
#include <string.h>

#include "github/base/err.h"
#include "github/webhook_sig.h"
#include "tests/unit/unit.h"

static const char secret[] = "It's a Secret to Everybody";
static const char body[] = "Hello, World!";
/* GitHub's documented test vector (validating-webhook-deliveries.md). */
static const char good[] =
	"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

static void test_github_vector(void)
{
	char sig[72];

	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), good), HS_OK);
	gh_sig_sign_sha256(secret, body, strlen(body), sig);
	T_EQ_STR(sig, good);
}

static void test_upper_case_hex_accepted(void)
{
	char up[sizeof(good)];

	memcpy(up, good, sizeof(good));
	for (char *p = up + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), up), HS_OK);
}

static void test_rejections(void)
{
	char bad[sizeof(good)];

	/* tampered body, wrong secret, flipped digit */
	T_EQ_INT(gh_sig_verify_sha256(secret, "Hello, World?", 13, good), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha256("other", body, strlen(body), good), HS_EAUTH);
	memcpy(bad, good, sizeof(good));
	bad[sizeof(good) - 2] = bad[sizeof(good) - 2] == '7' ? '8' : '7';
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), bad), HS_EAUTH);
	/* malformed headers */
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), NULL), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), ""), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), good + 7), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), "sha256=zz"), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body),
				      "sha1=757107ea0eb2509fc211221cce984b8a37570b6d"), HS_EAUTH);
	memcpy(bad, good, sizeof(good));
	bad[20] = 'g';
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body), bad), HS_EAUTH);
	/* truncated and extended digests */
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body),
				      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e"), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha256(secret, body, strlen(body),
				      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1700"), HS_EAUTH);
	/* an empty secret never verifies */
	T_EQ_INT(gh_sig_verify_sha256("", body, strlen(body), good), HS_EAUTH);
}

static void test_netbox_sha512(void)
{
	/* printf '%s' 'Hello, World!' | openssl dgst -sha512 -hmac "It's a Secret to Everybody" */
	static const char hex[] =
		"11ed355a617e98134e842012a7944ccf59c10256cb182357bd7e3a42013ff07c"
		"376f8c14cf5cc1923da20b51d64256b2fb8ebbf100aa67a61326f61fea8111bc";
	char bad[sizeof(hex)];

	T_EQ_INT(gh_sig_verify_sha512(secret, body, strlen(body), hex), HS_OK);
	memcpy(bad, hex, sizeof(hex));
	bad[0] = '2';
	T_EQ_INT(gh_sig_verify_sha512(secret, body, strlen(body), bad), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha512(secret, "x", 1, hex), HS_EAUTH);
	T_EQ_INT(gh_sig_verify_sha512(secret, body, strlen(body), "abc"), HS_EAUTH);
	/* GitHub's prefixed form is not NetBox's */
	T_EQ_INT(gh_sig_verify_sha512(secret, body, strlen(body), "sha512=11ed"), HS_EAUTH);
}

const struct unit_test unit_tests[] = {
	UNIT(test_github_vector),
	UNIT(test_upper_case_hex_accepted),
	UNIT(test_rejections),
	UNIT(test_netbox_sha512),
	{ NULL, NULL },
};
