/* gh.c: the github/ error codes and the checks on shas and repository names. */
#include <string.h>

#include "github/base/err.h"
#include "github/gh.h"

const char *gh_strerror(int code)
{
	switch (code) {
	case GH_OK: return "ok";
	case GH_ENOTFOUND: return "not found";
	case GH_ECONFLICT: return "conflict";
	case GH_ENOTFF: return "not a fast forward";
	case GH_EUNAUTH: return "unauthorized";
	case GH_ERATELIMIT: return "rate limited";
	case GH_ETOOBIG: return "too big";
	case GH_EBADRESP: return "bad response";
	case GH_ENET: return "network error";
	case GH_EINVAL: return "invalid request";
	}
	return hs_strerror(code);
}

int gh_err_to_hs(int code)
{
	switch (code) {
	case GH_OK: return HS_OK;
	case GH_ENOTFOUND: return HS_ENOTFOUND;
	case GH_ECONFLICT:
	case GH_ENOTFF: return HS_ECONFLICT;
	case GH_EUNAUTH: return HS_EAUTH;
	case GH_ERATELIMIT:
	case GH_ENET: return HS_ERETRY;
	case GH_ETOOBIG: return HS_ETOOBIG;
	case GH_EBADRESP: return HS_EIO;
	case GH_EINVAL: return HS_EINVAL;
	}
	return code;
}

int gh_sha_valid(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; i < GH_SHA_HEX; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return 0;
	}
	return s[GH_SHA_HEX] == '\0';
}

static int name_valid(const char *s)
{
	size_t n;

	if (!s)
		return 0;
	n = strlen(s);
	if (n == 0 || n > 100 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") == n;
}

int gh_repo_valid(const struct gh_repo *r)
{
	return r && name_valid(r->owner) && name_valid(r->name);
}
