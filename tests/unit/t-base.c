/* t-base.c: the capped buffer, error names and allocation helpers. */
#include <stdlib.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "tests/unit/unit.h"

static void test_buf_cap(void)
{
	struct hs_buf b = HS_BUF_INIT(8);

	T_EQ_INT(hs_buf_addstr(&b, "abcd"), HS_OK);
	T_EQ_INT(hs_buf_addstr(&b, "efgh"), HS_OK);
	T_EQ_INT(b.len, 8);
	T_EQ_INT(hs_buf_addch(&b, 'x'), HS_ETOOBIG);
	T_EQ_STR(hs_buf_str(&b), "abcdefgh"); /* unchanged by the refused append */
	T_EQ_INT(hs_buf_addf(&b, "%d", 1), HS_ETOOBIG);
	hs_buf_release(&b);
	hs_buf_release(NULL);
}

static void test_buf_steal(void)
{
	struct hs_buf b = HS_BUF_INIT(1 << 20);
	size_t len;
	char *s;

	T_EQ_STR(hs_buf_str(&b), "");
	T_EQ_INT(hs_buf_addf(&b, "%s-%d", "x", 42), HS_OK);
	s = hs_buf_steal(&b, &len);
	T_EQ_STR(s, "x-42");
	T_EQ_INT(len, 4);
	T_ASSERT(b.data == NULL && b.len == 0);
	free(s);
	s = hs_buf_steal(&b, &len);
	T_EQ_STR(s, "");
	free(s);
}

static void test_err_names(void)
{
	char err[HS_ERRBUF];

	T_EQ_STR(hs_strerror(HS_ETOOBIG), "too big");
	T_EQ_STR(hs_strerror(12345), "unknown error");
	hs_seterr(err, "%s=%d", "k", 7);
	T_EQ_STR(err, "k=7");
	hs_seterr(NULL, "ignored");
}

static void test_strndup(void)
{
	char *s = hs_strndup("hello", 3);

	T_EQ_STR(s, "hel");
	free(s);
	T_ASSERT(hs_strdup(NULL) == NULL);
	s = hs_asprintf("%s/%s", "a", "b");
	T_EQ_STR(s, "a/b");
	free(s);
}

const struct unit_test unit_tests[] = {
	UNIT(test_buf_cap),
	UNIT(test_buf_steal),
	UNIT(test_err_names),
	UNIT(test_strndup),
	{ NULL, NULL },
};
