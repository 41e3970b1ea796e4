/* t-validate-corpus.c: the data-driven cases under tests/data/yaml/<case>/.
 *
 * A case is a directory holding either
 *   input.yaml          one file, validated alone (document and fabric rules)
 *   fabric/             a fabric directory, validated as hedgesync validate does
 *   fabric/ + plan      a fabric directory whose raw/ is planned for ingestion
 * and
 *   expected            the findings, one per line:
 *                       "<severity> <code> <file>:<line>:<col> <field path or ->"
 *   options             (optional) "partial", "max_findings N", "max_bytes N",
 *                       "max_docs N", "max_depth N", "max_nodes N", "max_anchors N"
 *   canonical.yaml      (optional) the managed form of input.yaml's documents
 *   plan                (ingest cases) the plan as hedgesync ingest --dry-run prints it
 *
 * A file case without errors is a valid case: each of its resources must be
 * written canonically, reload to the same spec, and write again to the same
 * bytes.  HS_UPDATE_EXPECTED=1 rewrites expected, plan and canonical.yaml
 * from the current output (review the diff before committing it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/emit.h"
#include "sync/ingest_plan.h"
#include "sync/layout.h"
#include "sync/validate.h"
#include "tests/unit/unit.h"

#define CASES "tests/data/yaml"

struct copts {
	int partial;
	size_t max_findings;
	struct hy_limits lim;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, alloc = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (n + 65536 + 1 > alloc) {
			alloc = alloc ? alloc * 2 : 131072;
			buf = hs_realloc(buf, alloc);
		}
		r = fread(buf + n, 1, alloc - n - 1, f);
		n += r;
		if (!r)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}

static int exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void read_opts(const char *dir, struct copts *o)
{
	static const struct hy_limits def = HY_LIMITS_DEFAULT;
	char *path = hs_asprintf("%s/options", dir), *text, *line, *save = NULL;
	size_t len;

	memset(o, 0, sizeof(*o));
	o->lim = def;
	text = slurp(path, &len);
	free(path);
	if (!text)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v = 0;
		char key[64];

		if (sscanf(line, "%63s %llu", key, &v) < 1)
			continue;
		if (!strcmp(key, "partial"))
			o->partial = 1;
		else if (!strcmp(key, "max_findings"))
			o->max_findings = v;
		else if (!strcmp(key, "max_bytes"))
			o->lim.max_bytes = v;
		else if (!strcmp(key, "max_docs"))
			o->lim.max_docs = (uint32_t)v;
		else if (!strcmp(key, "max_depth"))
			o->lim.max_depth = (uint32_t)v;
		else if (!strcmp(key, "max_nodes"))
			o->lim.max_nodes = v;
		else if (!strcmp(key, "max_anchors"))
			o->lim.max_anchors = (uint32_t)v;
	}
	free(text);
}

static void format_findings(const struct fnd_list *fl, const char *strip, struct hs_buf *out)
{
	size_t sl = strip ? strlen(strip) : 0;

	for (size_t i = 0; i < fl->n; i++) {
		const struct finding *f = &fl->v[i];
		const char *file = f->file ? f->file : "-";

		if (sl && !strncmp(file, strip, sl))
			file += sl;
		hs_buf_addf(out, "%s %s %s:%u:%u %s\n", fnd_sev_name(f->sev), fnd_code_name(f->code),
			    file, f->line, f->col, f->path && *f->path ? f->path : "-");
	}
}

/* Compare got with the file `name` of the case, or write it in update mode. */
static int compare(const char *dir, const char *name, const struct hs_buf *got)
{
	char *path = hs_asprintf("%s/%s", dir, name);
	size_t len;
	char *want;
	int ok;

	if (getenv("HS_UPDATE_EXPECTED")) {
		spit(path, got->data ? got->data : "", got->len);
		free(path);
		return 1;
	}
	want = slurp(path, &len);
	ok = want && len == got->len && (!len || !memcmp(want, got->data, len));
	if (!ok)
		printf("#   %s: %s differs\n#   --- want\n%s#   --- got\n%s", dir, name,
		       want ? want : "(missing)\n", hs_buf_str(got));
	free(want);
	free(path);
	return ok;
}

/* Valid documents: canonical twice, same spec after reloading. */
static int check_round_trip(const char *dir, const char *data, size_t len, struct hs_buf *canon)
{
	struct hy_stream *st = NULL;
	int ok = 1;

	if (hy_load(&st, data, len, "input.yaml", NULL, NULL, NULL, NULL) != HS_OK)
		return 0;
	for (uint32_t d = 0; d < st->ndocs; d++) {
		struct hs_buf b1 = HS_BUF_INIT(1 << 24), b2 = HS_BUF_INIT(1 << 24);
		struct hy_stream *s1 = NULL;
		const struct hy_node *r = st->docs[d].root;

		if (emit_managed(&b1, r) != HS_OK ||
		    hy_load(&s1, b1.data, b1.len, "c", NULL, NULL, NULL, NULL) != HS_OK ||
		    s1->ndocs != 1) {
			printf("#   %s: document %u does not write back\n", dir, d + 1);
			ok = 0;
		} else {
			const struct hy_node *r1 = s1->docs[0].root;

			if (!hy_equal(hy_get(r, "spec"), hy_get(r1, "spec")) ||
			    !hy_equal(hy_get(r, "kind"), hy_get(r1, "kind")) ||
			    !hy_equal(hy_get(hy_get(r, "metadata"), "name"),
				      hy_get(hy_get(r1, "metadata"), "name"))) {
				printf("#   %s: document %u changes value when written\n", dir, d + 1);
				ok = 0;
			}
			emit_managed(&b2, r1);
			if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len)) {
				printf("#   %s: document %u is not written the same twice\n", dir, d + 1);
				ok = 0;
			}
			if (d)
				hs_buf_addstr(canon, "---\n");
			hs_buf_add(canon, b1.data, b1.len);
		}
		hy_stream_free(s1);
		hs_buf_release(&b1);
		hs_buf_release(&b2);
	}
	hy_stream_free(st);
	return ok;
}

static int run_file_case(const char *dir, int *is_valid)
{
	struct copts o;
	struct val_opts vo = VAL_OPTS_DEFAULT;
	char *path = hs_asprintf("%s/input.yaml", dir), *data;
	size_t len;
	struct val_set *s;
	struct hs_buf got = HS_BUF_INIT(1 << 24), canon = HS_BUF_INIT(1 << 24);
	int ok;

	read_opts(dir, &o);
	if (o.partial)
		vo.ref_sev = FND_WARNING;
	data = slurp(path, &len);
	free(path);
	if (!data)
		return 0;
	s = val_set_new(&vo, &o.lim, o.max_findings);
	val_set_add(s, "input.yaml", NULL, data, len, 0);
	val_set_finish(s);
	format_findings(val_set_findings(s), NULL, &got);
	ok = compare(dir, "expected", &got);
	*is_valid = !fnd_count(val_set_findings(s), FND_ERROR);
	if (*is_valid) {
		char *cpath = hs_asprintf("%s/canonical.yaml", dir);

		ok &= check_round_trip(dir, data, len, &canon);
		if (exists(cpath) || getenv("HS_UPDATE_EXPECTED"))
			ok &= compare(dir, "canonical.yaml", &canon);
		free(cpath);
	}
	val_set_free(s);
	free(data);
	hs_buf_release(&got);
	hs_buf_release(&canon);
	return ok;
}

struct files {
	char **rel;
	size_t n, alloc;
};

static void walk(const char *root, const char *rel, struct files *out)
{
	char *dirpath = *rel ? hs_asprintf("%s/%s", root, rel) : hs_strdup(root);
	DIR *d = opendir(dirpath);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *r, *p;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = *rel ? hs_asprintf("%s/%s", rel, e->d_name) : hs_strdup(e->d_name);
		p = hs_asprintf("%s/%s", root, r);
		{
			struct stat st;

			if (!stat(p, &st) && S_ISDIR(st.st_mode)) {
				walk(root, r, out);
			} else {
				if (out->n == out->alloc) {
					out->alloc = out->alloc ? out->alloc * 2 : 32;
					out->rel = hs_realloc(out->rel, out->alloc * sizeof(*out->rel));
				}
				out->rel[out->n++] = hs_strdup(r);
			}
		}
		free(r);
		free(p);
	}
	if (d)
		closedir(d);
	free(dirpath);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void files_release(struct files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->rel[i]);
	free(f->rel);
}

static char *disk_path(const char *root, const char *rel)
{
	return hs_asprintf("%s/%s", root, rel);
}

static int run_fabric_case(const char *dir)
{
	struct copts o;
	struct val_opts vo = VAL_OPTS_DEFAULT;
	char *root = hs_asprintf("%s/fabric", dir);
	struct files fs = { 0 };
	struct val_set *s;
	struct hs_buf got = HS_BUF_INIT(1 << 24);
	int ok;

	read_opts(dir, &o);
	if (o.partial)
		vo.ref_sev = FND_WARNING;
	walk(root, "", &fs);
	if (fs.n > 1)
		qsort(fs.rel, fs.n, sizeof(*fs.rel), str_cmp);
	s = val_set_new(&vo, &o.lim, o.max_findings);
	for (size_t i = 0; i < fs.n; i++) {
		enum lay_class c = lay_classify(fs.rel[i]);
		char *p = disk_path(root, fs.rel[i]), *data;
		size_t len;

		lay_check_path(fs.rel[i], fs.rel[i], val_set_findings(s));
		if (c == LAY_MANAGED || (c == LAY_RAW && lay_is_yaml_name(fs.rel[i]))) {
			data = slurp(p, &len);
			if (data)
				val_set_add(s, fs.rel[i], fs.rel[i], data, len,
					    c == LAY_MANAGED ? VAL_MANAGED : VAL_DOC_ONLY);
			free(data);
		}
		free(p);
	}
	val_set_finish(s);
	format_findings(val_set_findings(s), NULL, &got);
	ok = compare(dir, "expected", &got);
	val_set_free(s);
	files_release(&fs);
	hs_buf_release(&got);
	free(root);
	return ok;
}

static int run_ingest_case(const char *dir)
{
	char *root = hs_asprintf("%s/fabric", dir);
	struct files fs = { 0 };
	struct plan_file *raw, *man;
	const char **unm;
	char **datas;
	size_t nraw = 0, nman = 0, nunm = 0;
	struct plan *p = NULL;
	struct hs_buf got = HS_BUF_INIT(1 << 24), text = HS_BUF_INIT(1 << 24);
	int ok = 0;

	walk(root, "", &fs);
	if (fs.n > 1)
		qsort(fs.rel, fs.n, sizeof(*fs.rel), str_cmp);
	raw = hs_calloc(fs.n + 1, sizeof(*raw));
	man = hs_calloc(fs.n + 1, sizeof(*man));
	unm = hs_calloc(fs.n + 1, sizeof(*unm));
	datas = hs_calloc(fs.n + 1, sizeof(*datas));
	for (size_t i = 0; i < fs.n; i++) {
		enum lay_class c = lay_classify(fs.rel[i]);
		char *path = disk_path(root, fs.rel[i]);
		size_t len;

		if (c == LAY_UNMANAGED) {
			unm[nunm++] = fs.rel[i];
		} else if (c == LAY_MANAGED || c == LAY_RAW ||
			   (c == LAY_GITKEEP && !strncmp(fs.rel[i], "raw/", 4))) {
			datas[i] = slurp(path, &len);
			if (c == LAY_MANAGED) {
				man[nman].path = fs.rel[i];
				man[nman].data = datas[i];
				man[nman].len = len;
				nman++;
			} else {
				raw[nraw].path = fs.rel[i];
				raw[nraw].data = datas[i];
				raw[nraw].len = len;
				raw[nraw].sha = "0123456789abcdef0123456789abcdef01234567";
				nraw++;
			}
		}
		free(path);
	}
	if (plan_build(&p, raw, nraw, man, nman, unm, nunm, NULL, NULL) == HS_OK) {
		format_findings(&p->findings, NULL, &got);
		ok = compare(dir, "expected", &got);
		plan_format_text(p, &text);
		/* the contents of the files the plan writes, so they are reviewed too */
		for (size_t i = 0; i < p->nwrites; i++)
			hs_buf_addf(&text, "=== %s\n%.*s", p->writes[i].path, (int)p->writes[i].len,
				    p->writes[i].data);
		ok &= compare(dir, "plan", &text);
		/* the plan is pure: the same input gives the same plan */
		{
			struct plan *p2 = NULL;
			struct hs_buf t2 = HS_BUF_INIT(1 << 24);

			plan_build(&p2, raw, nraw, man, nman, unm, nunm, NULL, NULL);
			plan_format_text(p2, &t2);
			for (size_t i = 0; i < p2->nwrites; i++)
				hs_buf_addf(&t2, "=== %s\n%.*s", p2->writes[i].path,
					    (int)p2->writes[i].len, p2->writes[i].data);
			if (t2.len != text.len || memcmp(t2.data, text.data, t2.len)) {
				printf("#   %s: the plan differs between two runs\n", dir);
				ok = 0;
			}
			hs_buf_release(&t2);
			plan_free(p2);
		}
	}
	plan_free(p);
	for (size_t i = 0; i < fs.n; i++)
		free(datas[i]);
	free(datas);
	free(raw);
	free(man);
	free(unm);
	files_release(&fs);
	hs_buf_release(&got);
	hs_buf_release(&text);
	free(root);
	return ok;
}

enum case_kind { CASE_FILE, CASE_FABRIC, CASE_INGEST };

static struct files list_cases(void)
{
	struct files cases = { 0 };
	DIR *d = opendir(CASES);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (cases.n == cases.alloc) {
			cases.alloc = cases.alloc ? cases.alloc * 2 : 64;
			cases.rel = hs_realloc(cases.rel, cases.alloc * sizeof(*cases.rel));
		}
		cases.rel[cases.n++] = hs_asprintf("%s/%s", CASES, e->d_name);
	}
	if (d)
		closedir(d);
	if (cases.n > 1)
		qsort(cases.rel, cases.n, sizeof(*cases.rel), str_cmp);
	return cases;
}

static enum case_kind kind_of(const char *dir)
{
	char *plan = hs_asprintf("%s/plan", dir), *fab = hs_asprintf("%s/fabric", dir);
	enum case_kind k = CASE_FILE;

	if (exists(fab))
		k = exists(plan) || strstr(dir, "/ingest-") ? CASE_INGEST : CASE_FABRIC;
	free(plan);
	free(fab);
	return k;
}

static void run_kind(enum case_kind want)
{
	struct files cases = list_cases();
	int failed = 0, ran = 0;

	for (size_t i = 0; i < cases.n; i++) {
		const char *dir = cases.rel[i];
		int ok, is_valid = 0;

		if (kind_of(dir) != want)
			continue;
		ran++;
		if (want == CASE_FILE)
			ok = run_file_case(dir, &is_valid);
		else if (want == CASE_FABRIC)
			ok = run_fabric_case(dir);
		else
			ok = run_ingest_case(dir);
		printf("#   %s %s%s\n", ok ? "ok" : "FAILED", dir + strlen(CASES) + 1,
		       is_valid ? " (valid, round-tripped)" : "");
		failed += !ok;
	}
	files_release(&cases);
	printf("#   %d cases, %d failed\n", ran, failed);
	T_ASSERT(ran > 0);
	T_EQ_INT(failed, 0);
}

static void test_file_cases(void)
{
	run_kind(CASE_FILE);
}

static void test_fabric_cases(void)
{
	run_kind(CASE_FABRIC);
}

static void test_ingest_cases(void)
{
	run_kind(CASE_INGEST);
}

/* At least 60 invalid cases, valid ones too, and every rule code shown. */
static void test_coverage(void)
{
	struct files cases = list_cases();
	int seen[FND_CODE_COUNT] = { 0 };
	int invalid = 0, valid = 0, missing = 0;

	for (size_t i = 0; i < cases.n; i++) {
		char *path = hs_asprintf("%s/expected", cases.rel[i]), *text, *line, *save = NULL;
		size_t len;
		int errors = 0;

		text = slurp(path, &len);
		free(path);
		if (!text)
			continue;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char sev[16], code[64];
			int c;

			if (sscanf(line, "%15s %63s", sev, code) != 2)
				continue;
			c = fnd_code_lookup(code);
			if (c >= 0)
				seen[c]++;
			errors += !strcmp(sev, "error");
		}
		if (errors)
			invalid++;
		else if (kind_of(cases.rel[i]) == CASE_FILE)
			valid++;
		free(text);
	}
	for (int c = 0; c < FND_CODE_COUNT; c++)
		if (!seen[c]) {
			printf("#   no case shows rule %s\n", fnd_code_name((enum fnd_code)c));
			missing++;
		}
	printf("#   %d invalid cases, %d valid file cases, %d of %d rules shown\n", invalid, valid,
	       FND_CODE_COUNT - missing, FND_CODE_COUNT);
	files_release(&cases);
	T_ASSERT(invalid >= 60);
	T_ASSERT(valid >= 10);
	T_EQ_INT(missing, 0);
}

/* docs/RULES.md explains every code. */
static void test_rules_documented(void)
{
	size_t len;
	char *doc = slurp("docs/RULES.md", &len);
	int missing = 0;

	T_ASSERT(doc);
	for (int c = 0; c < FND_CODE_COUNT; c++) {
		char *needle = hs_asprintf("`%s`", fnd_code_name((enum fnd_code)c));

		if (!strstr(doc, needle)) {
			printf("#   docs/RULES.md does not explain %s\n", needle);
			missing++;
		}
		free(needle);
	}
	free(doc);
	T_EQ_INT(missing, 0);
}

const struct unit_test unit_tests[] = {
	UNIT(test_file_cases),
	UNIT(test_fabric_cases),
	UNIT(test_ingest_cases),
	UNIT(test_coverage),
	UNIT(test_rules_documented),
	{ NULL, NULL },
};
