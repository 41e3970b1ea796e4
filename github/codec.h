/* codec.h: base64, git blob ids, ISO 8601 times and UTF-8 cuts, for github/. */
#ifndef GH_CODEC_H
#define GH_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Base64 of data, no line breaks.  New (free()); *outlen may be NULL. */
char *gh_b64_encode(const void *data, size_t len, size_t *outlen);

/*
 * Decode base64 that may hold line breaks and blanks (GitHub wraps at 60).
 * *out is new (free()), NUL-terminated, *outlen bytes.  GH_ETOOBIG when the
 * result would pass max_out, GH_EBADRESP when s is not base64.
 */
int gh_b64_decode(const char *s, size_t len, size_t max_out, char **out,
		  size_t *outlen);

/* git's id of a blob holding data: sha1("blob <len>\0" data), in hex. */
void gh_git_blob_sha(const void *data, size_t len, char out[41]);

/* Parse "2016-07-11T22:14:10Z" (or with +hh:mm / fraction) into ms since
 * the epoch.  GH_EBADRESP when it is not such a time. */
int gh_time_parse(const char *s, int64_t *ms);
/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void gh_time_format(int64_t ms, char out[21]);

/* The longest prefix of s[0..len) that is at most max bytes and does not
 * end inside a UTF-8 sequence. */
size_t gh_utf8_cut(const char *s, size_t len, size_t max);
/* 1 when s[0..len) is valid UTF-8 with no NUL byte. */
int gh_utf8_text(const char *s, size_t len);

#endif
