/* fuzz-github.c: any bytes as what GitHub answers: the client's readers hold.
 *
 * The first byte picks a reader, the rest is its input:
 *   0  a JSON body as a tree listing, added twice (with a prefix): every
 *      entry taken has a valid path, a 40-hex sha and a known type, and a
 *      refused listing leaves what was there before intact in count;
 *   1  a JSON body as a commit: the sha, tree and parents are 40-hex;
 *   2  a Link header: the next URL, if any, is a substring of the header;
 *   3  rate-limit headers (status, retry-after, remaining, reset, message,
 *      one a line): the wait is -1 or a non-negative time that did not
 *      overflow (the caller caps what it waits);
 *   4  a timestamp: a parse that succeeds formats and parses back the same;
 *   5  base64 content: the decoded length is within the cap;
 *   6  UTF-8 cutting: the cut is within the bounds and stays valid text.
 * Nothing may crash, leak or read out of bounds (ASan and UBSan under
 * make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/codec.h"
#include "github/gh.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-github: %s\n", what);
	abort();
}

static int hex40(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

static json_t *body(const char *p, size_t n)
{
	struct hs_buf b = HS_BUF_INIT(1u << 20);
	json_t *j = NULL;

	if (hs_buf_add(&b, p, n) == HS_OK && gh_json_parse(&b, GH_JSON_ANY, &j, NULL) != GH_OK)
		j = NULL;
	hs_buf_release(&b);
	return j;
}

static void tree(const char *p, size_t n)
{
	json_t *j = body(p, n);
	struct gh_tree t;
	char err[HS_ERRBUF];

	gh_tree_init(&t);
	for (int round = 0; j && round < 2; round++) {
		size_t before = t.n;
		int rc = gh_tree_add_listing(&t, j, round ? "sub/dir/" : "", err);

		if (rc != GH_OK && rc != GH_EBADRESP && rc != GH_ETOOBIG)
			fail("a tree listing ended with an unexpected code");
		if (t.n < before)
			fail("a tree listing lost entries");
		for (size_t i = before; i < t.n; i++) {
			if (!gh_path_valid(t.v[i].path) || !hex40(t.v[i].sha))
				fail("a tree entry has a bad path or sha");
			if (t.v[i].type != GH_OBJ_BLOB && t.v[i].type != GH_OBJ_TREE &&
			    t.v[i].type != GH_OBJ_COMMIT)
				fail("a tree entry has an unknown type");
		}
	}
	gh_tree_release(&t);
	gh_tree_release(&t);
	json_decref(j);
}

static void commit(const char *p, size_t n)
{
	json_t *j = body(p, n);
	struct gh_commit c;
	char err[HS_ERRBUF];

	if (j && gh_commit_decode(j, NULL, &c, err) == GH_OK) {
		if (!hex40(c.sha) || !hex40(c.tree) || !c.message)
			fail("a commit has a bad sha, tree or message");
		for (size_t i = 0; i < c.n_parents; i++)
			if (!hex40(c.parents[i]))
				fail("a commit parent is not a sha");
		gh_commit_release(&c);
	}
	json_decref(j);
}

static void link(const char *s)
{
	char *next = gh_link_next(s);

	if (next && !strstr(s, next))
		fail("the next link is not in the header");
	free(next);
}

static void ratelimit(char *s)
{
	char *f[5] = { NULL, NULL, NULL, NULL, NULL };
	int k = 0;
	int64_t ms;

	for (char *line = s; line && k < 5; k++) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		f[k] = *line ? line : NULL;
		line = nl ? nl + 1 : NULL;
	}
	ms = gh_ratelimit_wait_ms(f[0] ? strtol(f[0], NULL, 10) : 403, f[1], f[2], f[3], f[4],
				  1700000000, 60000, 0);
	/* -1 (not a rate limit) or a wait; values are capped, never overflow */
	if (ms != -1 && (ms < 0 || ms > 10000000000LL * 1000 + 1000))
		fail("a rate-limit wait is out of bounds");
}

static void timestamp(const char *s)
{
	int64_t ms, again;
	char out[21];

	if (gh_time_parse(s, &ms) == 0 && ms >= 0 && ms < 253402300800000LL) {
		gh_time_format(ms, out);
		if (gh_time_parse(out, &again) || again / 1000 != ms / 1000)
			fail("a parsed time does not format and parse back");
	}
}

static void base64(const char *s, size_t n)
{
	char *out = NULL;
	size_t len = 0, cap = n % 97 + 1;

	if (gh_b64_decode(s, n, cap, &out, &len) == HS_OK && len > cap)
		fail("decoded more than the cap");
	free(out);
}

static void utf8(const char *s, size_t n)
{
	size_t max = n ? (unsigned char)s[0] % (n + 1) : 0;
	size_t cut = gh_utf8_cut(s, n, max);

	if (cut > max || cut > n)
		fail("a UTF-8 cut is past its bound");
	if (gh_utf8_text(s, n) && !gh_utf8_text(s, cut))
		fail("cutting valid UTF-8 made it invalid");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t n;

	if (size < 1 || size > (1u << 20))
		return 0;
	n = size - 1;
	s = malloc(n + 1);
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 7) {
	case 0: tree(s, n); break;
	case 1: commit(s, n); break;
	case 2: link(s); break;
	case 3: ratelimit(s); break;
	case 4: timestamp(s); break;
	case 5: base64(s, n); break;
	default: utf8(s, n); break;
	}
	free(s);
	return 0;
}
