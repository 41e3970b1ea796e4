/* err.c: error names and the caller-owned error buffer. */
#include <stdarg.h>
#include <stdio.h>

#include "github/base/err.h"

const char *hs_strerror(int code)
{
	switch (code) {
	case HS_OK: return "ok";
	case HS_EINVAL: return "invalid input";
	case HS_ETOOBIG: return "too big";
	case HS_ENOTFOUND: return "not found";
	case HS_ECONFLICT: return "conflict";
	case HS_EIO: return "i/o error";
	case HS_EDB: return "database error";
	case HS_ERETRY: return "temporary failure";
	case HS_EAUTH: return "unauthorized";
	}
	return "unknown error";
}

void hs_seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, HS_ERRBUF, fmt, ap);
	va_end(ap);
}
