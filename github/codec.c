/* codec.c: base64 and SHA-1 through OpenSSL, times, UTF-8 boundaries. */
#define _GNU_SOURCE /* timegm */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "github/base/mem.h"
#include "github/codec.h"
#include "github/gh.h"

char *gh_b64_encode(const void *data, size_t len, size_t *outlen)
{
	const unsigned char *p = data;
	size_t cap = 4 * ((len + 2) / 3) + 1, n = 0;
	char *out = hs_malloc(cap);

	/* EVP_EncodeBlock takes an int length: feed it in whole 3-byte groups */
	while (len) {
		size_t chunk = len > 3 * 1024 * 1024 ? 3 * 1024 * 1024 : len;

		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, p, (int)chunk);
		p += chunk;
		len -= chunk;
	}
	out[n] = '\0';
	if (outlen)
		*outlen = n;
	return out;
}

int gh_b64_decode(const char *s, size_t len, size_t max_out, char **out,
		  size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t cap, n = 0;
	int ret = GH_EBADRESP, k;

	*out = NULL;
	*outlen = 0;
	/* at most 3 bytes per 4 input characters, whatever the blanks */
	cap = len / 4 * 3 + 3;
	if (cap > max_out + 3) {
		/* blanks may shrink it: count the real characters first */
		size_t chars = 0;

		for (size_t i = 0; i < len; i++)
			if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t')
				chars++;
		cap = chars / 4 * 3 + 3;
		if (cap > max_out + 3)
			return GH_ETOOBIG;
	}
	buf = hs_malloc(cap + 80);
	ctx = EVP_ENCODE_CTX_new();
	if (!ctx)
		goto out;
	EVP_DecodeInit(ctx);
	while (len) {
		size_t chunk = len > 1024 * 1024 ? 1024 * 1024 : len;

		if (EVP_DecodeUpdate(ctx, buf + n, &k, (const unsigned char *)s,
				     (int)chunk) < 0)
			goto out;
		n += (size_t)k;
		s += chunk;
		len -= chunk;
	}
	if (EVP_DecodeFinal(ctx, buf + n, &k) < 0)
		goto out;
	n += (size_t)k;
	if (n > max_out) {
		ret = GH_ETOOBIG;
		goto out;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*outlen = n;
	buf = NULL;
	ret = GH_OK;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(buf);
	return ret;
}

void gh_git_blob_sha(const void *data, size_t len, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char head[40];
	int hlen = snprintf(head, sizeof(head), "blob %zu", len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx) {
		out[0] = '\0';
		return;
	}
	/* the header's NUL is part of what git hashes */
	EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
	EVP_DigestUpdate(ctx, head, (size_t)hlen + 1);
	EVP_DigestUpdate(ctx, data, len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (unsigned int i = 0; i < mdlen && i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
}

static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int gh_time_parse(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	const char *p;
	time_t t;

	if (!s || strlen(s) < 20)
		return GH_EBADRESP;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &se))
		return GH_EBADRESP;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' && p[1] == '\0') {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
		   !digits(p + 1, 2, &oh) && !digits(p + 4, 2, &om)) {
		sign = *p == '+' ? 1 : -1;
	} else {
		return GH_EBADRESP;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return GH_EBADRESP;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return GH_EBADRESP;
	*ms = ((int64_t)t - sign * (oh * 3600 + om * 60)) * 1000;
	return GH_OK;
}

void gh_time_format(int64_t ms, char out[21])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

size_t gh_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	/* back up over continuation bytes to the start of a sequence */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int gh_utf8_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t need;
		unsigned int cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			need = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}
