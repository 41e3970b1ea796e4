/* err.h: the return codes and error buffer every hedgesync module uses.
 *
 * Functions return an int: HS_OK (0) on success, a negative hs_err code on
 * failure.  Where a function can fail for a reason a person must read, it
 * takes `char *err` as its last argument: a buffer of HS_ERRBUF bytes owned
 * by the caller (may be NULL when the caller does not care).
 */
#ifndef HS_ERR_H
#define HS_ERR_H

#define HS_ERRBUF 256

typedef enum {
	HS_OK = 0,
	HS_EINVAL = -1,    /* the input is malformed or breaks a rule */
	HS_ETOOBIG = -2,   /* the input is over a size cap */
	HS_ENOTFOUND = -3, /* no such thing */
	HS_ECONFLICT = -4, /* already exists, or changed under us */
	HS_EIO = -5,       /* file system, socket or process */
	HS_EDB = -6,       /* the database failed */
	HS_ERETRY = -7,    /* transient: the same call may succeed later */
	HS_EAUTH = -8,     /* not authenticated or not allowed */
} hs_err;

/* A short, fixed English name for a code ("invalid input", ...). */
const char *hs_strerror(int code);

/* Format a message into err (HS_ERRBUF bytes); does nothing if err is NULL. */
void hs_seterr(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
