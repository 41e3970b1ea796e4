/* cli_validate.c: hedgesync validate and hedgesync ingest --dry-run over local files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fcgi/cli_validate.h"
#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/finding.h"
#include "sync/ingest_plan.h"
#include "sync/layout.h"
#include "sync/validate.h"

/* --- files ---------------------------------------------------------------------------- */

struct cfile {
	char *path; /* as shown: the argument joined with the relative path */
	char *rel;  /* relative to the walked root */
};

struct cfiles {
	struct cfile *v;
	size_t n, alloc;
};

static void cfiles_add(struct cfiles *l, const char *path, const char *rel)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->v = hs_realloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n].path = hs_strdup(path);
	l->v[l->n].rel = hs_strdup(rel);
	l->n++;
}

static void cfiles_release(struct cfiles *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].rel);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cfile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfile *)a)->rel, ((const struct cfile *)b)->rel);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (!n || !strcmp(dir, "."))
		return hs_strdup(name);
	return hs_asprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

static int is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int is_fabric_dir(const char *dir)
{
	char *m = join(dir, ".hnp/manifest.yaml"), *a = join(dir, "managed"), *r = join(dir, "raw");
	int yes = is_file(m) || is_dir(a) || is_dir(r);

	free(m);
	free(a);
	free(r);
	return yes;
}

/* Every regular file under dir (relative names), skipping .git.  The
 * directory entry's type saves a stat per file where the file system gives
 * it. */
static void walk(const char *dir, const char *rel, struct cfiles *out, int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > 32)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *path, *r;
		int isdir, isreg;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git"))
			continue;
		path = join(dir, e->d_name);
		r = *rel ? hs_asprintf("%s/%s", rel, e->d_name) : hs_strdup(e->d_name);
		if (e->d_type == DT_DIR || e->d_type == DT_REG) {
			isdir = e->d_type == DT_DIR;
			isreg = !isdir;
		} else {
			isdir = is_dir(path);
			isreg = !isdir && is_file(path);
		}
		if (isdir)
			walk(path, r, out, depth + 1);
		else if (isreg)
			cfiles_add(out, path, r);
		free(path);
		free(r);
	}
	closedir(d);
}

/* Fabric directories under dir (not descending into one), hidden ones skipped. */
static void find_fabrics(const char *dir, struct cfiles *out, int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > 16)
		return;
	if (is_fabric_dir(dir)) {
		cfiles_add(out, dir, dir);
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *path;

		if (e->d_name[0] == '.')
			continue;
		path = join(dir, e->d_name);
		if (is_dir(path))
			find_fabrics(path, out, depth + 1);
		free(path);
	}
	closedir(d);
}

/* The directory of the last file read, kept open: files come sorted, so
 * most opens are relative to it and skip walking the whole path. */
struct dircache {
	char *dir;
	int fd;
};

static int open_cached(struct dircache *dc, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!dc || !slash)
		return open(path, O_RDONLY | O_CLOEXEC);
	n = (size_t)(slash - path);
	if (!dc->dir || strlen(dc->dir) != n || strncmp(dc->dir, path, n)) {
		if (dc->fd >= 0)
			close(dc->fd);
		free(dc->dir);
		dc->dir = hs_strndup(path, n);
		dc->fd = open(n ? dc->dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dc->fd < 0)
		return open(path, O_RDONLY | O_CLOEXEC);
	return openat(dc->fd, slash + 1, O_RDONLY | O_CLOEXEC);
}

static void dircache_release(struct dircache *dc)
{
	if (dc->fd >= 0)
		close(dc->fd);
	free(dc->dir);
	dc->dir = NULL;
	dc->fd = -1;
}

/* Read a whole file; HS_ETOOBIG (with *size) when over max.  Reads until
 * end of file (no fstat on the common path: small files are the norm). */
static int read_file_dc(struct dircache *dc, const char *path, size_t max, char **data,
			size_t *len, size_t *size)
{
	size_t alloc = 16384, got = 0;
	char *buf;
	int fd = open_cached(dc, path);

	*data = NULL;
	*len = 0;
	*size = 0;
	if (fd < 0)
		return HS_EIO;
	buf = hs_malloc(alloc + 1);
	for (;;) {
		ssize_t r;

		if (got == alloc) {
			if (got > max) {
				struct stat st;

				*size = fstat(fd, &st) ? got : (size_t)st.st_size;
				close(fd);
				free(buf);
				return HS_ETOOBIG;
			}
			alloc *= 2;
			buf = hs_realloc(buf, alloc + 1);
		}
		r = read(fd, buf + got, alloc - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			free(buf);
			return HS_EIO;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got > max) {
		*size = got;
		free(buf);
		return HS_ETOOBIG;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	*size = got;
	return HS_OK;
}

static int read_file(const char *path, size_t max, char **data, size_t *len, size_t *size)
{
	return read_file_dc(NULL, path, max, data, len, size);
}

/* --- validate --------------------------------------------------------------------------- */

struct vstate {
	enum fnd_format fmt;
	struct val_opts opts;
	struct hy_limits lim;
	size_t max_findings;
	json_t *all;       /* json format: every finding */
	struct dircache dc;
	size_t files, docs, bytes, errors, warnings, notices;
	int io_errors;
};

static void add_file(struct vstate *vs, struct val_set *set, const char *path, const char *rel,
		     unsigned flags)
{
	char *data;
	size_t len, size = 0;
	int rc = read_file_dc(&vs->dc, path, vs->lim.max_bytes, &data, &len, &size);

	if (rc == HS_ETOOBIG) {
		fnd_add(val_set_findings(set), FND_YAML_FILE_TOO_LARGE, FND_SEV_DEFAULT, path, -1, 0, 0,
			NULL, "the file is %zu bytes, over the limit of %zu", size, vs->lim.max_bytes);
		return;
	}
	if (rc != HS_OK) {
		fprintf(stderr, "hedgesync validate: cannot read '%s': %s\n", path, strerror(errno));
		vs->io_errors++;
		return;
	}
	(void)val_set_add(set, path, rel, data, len, flags);
	free(data);
}

static void report(struct vstate *vs, struct val_set *set)
{
	struct fnd_list *fl;
	struct val_stats st;

	val_set_finish(set);
	fl = val_set_findings(set);
	val_set_stats(set, &st);
	vs->files += st.files;
	vs->docs += st.docs;
	vs->bytes += st.bytes;
	vs->errors += fnd_count(fl, FND_ERROR);
	vs->warnings += fnd_count(fl, FND_WARNING);
	vs->notices += fnd_count(fl, FND_NOTICE);
	if (vs->fmt == FND_FMT_JSON) {
		for (size_t i = 0; i < fl->n; i++)
			json_array_append_new(vs->all, fnd_to_json(&fl->v[i]));
	} else {
		struct hs_buf b = HS_BUF_INIT((size_t)1 << 30);

		(void)fnd_format_list(fl, vs->fmt, &b);
		fwrite(hs_buf_str(&b), 1, b.len, stdout);
		hs_buf_release(&b);
	}
}

static void validate_fabric(struct vstate *vs, const char *dir)
{
	struct cfiles files = { 0 };
	struct val_set *set = val_set_new(&vs->opts, &vs->lim, vs->max_findings);

	walk(dir, "", &files, 0);
	if (files.n > 1)
		qsort(files.v, files.n, sizeof(*files.v), cfile_cmp);
	for (size_t i = 0; i < files.n; i++) {
		const struct cfile *f = &files.v[i];

		lay_check_path(f->path, f->rel, val_set_findings(set));
		switch (lay_classify(f->rel)) {
		case LAY_MANAGED:
			add_file(vs, set, f->path, f->rel, VAL_MANAGED);
			break;
		case LAY_RAW:
			if (lay_is_yaml_name(f->rel))
				add_file(vs, set, f->path, f->rel, VAL_DOC_ONLY);
			break;
		default:
			break;
		}
	}
	report(vs, set);
	val_set_free(set);
	cfiles_release(&files);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void validate_usage(FILE *f)
{
	fprintf(f,
		"usage: hedgesync validate [--format text|github|json] [--partial] [--max-findings N] [--stats] PATH...\n"
		"\n"
		"Check Hedgehog fabric YAML offline with the rules of the \"Hedgehog fabric\" check run.\n"
		"A PATH may be a YAML file, a fabric directory (one with .hnp/manifest.yaml, managed/\n"
		"or raw/: layout rules apply to it) or a directory holding fabric directories.\n"
		"Loose files are validated together as one set of resources.\n"
		"\n"
		"  --format text     path:line:col: severity [code] field: message (default)\n"
		"  --format github   GitHub Actions annotations (::error file=...)\n"
		"  --format json     one JSON document with every finding and a summary\n"
		"  --partial         the files are not the whole fabric: a reference that does\n"
		"                    not resolve is a warning, not an error\n"
		"  --max-findings N  stop listing after N findings (default %d)\n"
		"  --max-bytes N     refuse files over N bytes (default %u)\n"
		"  --max-nodes N     refuse files over N YAML nodes, aliases expanded (default %u)\n"
		"  --stats           print timing, throughput and peak memory on stderr\n"
		"\n"
		"Exit status: 0 no errors, 1 errors found, 2 bad usage or unreadable input.\n"
		"Rule codes: docs/RULES.md.\n",
		FND_DEFAULT_LIMIT, HY_MAX_BYTES, HY_MAX_NODES);
}

int cli_validate_main(int argc, char **argv)
{
	struct vstate vs;
	struct cfiles loose = { 0 }, fabrics = { 0 };
	static const struct hy_limits deflim = HY_LIMITS_DEFAULT;
	int stats = 0, npaths = 0, rc;
	double t0;

	memset(&vs, 0, sizeof(vs));
	vs.dc.fd = -1;
	vs.fmt = FND_FMT_TEXT;
	vs.opts.fabric_sev = FND_SEV_DEFAULT;
	vs.opts.ref_sev = FND_SEV_DEFAULT;
	vs.lim = deflim;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			validate_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
			const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);

			if (fnd_parse_format(v, &vs.fmt) != HS_OK) {
				fprintf(stderr, "hedgesync validate: --format takes text, github or json\n");
				return 2;
			}
		} else if (!strcmp(a, "--partial")) {
			vs.opts.ref_sev = FND_WARNING;
		} else if (!strcmp(a, "--stats")) {
			stats = 1;
		} else if ((!strcmp(a, "--max-bytes") || !strcmp(a, "--max-nodes")) && i + 1 < argc) {
			char *end;
			unsigned long long n = strtoull(argv[++i], &end, 10);

			if (*end || !n) {
				fprintf(stderr, "hedgesync validate: %s takes a positive number\n", a);
				return 2;
			}
			if (a[6] == 'b')
				vs.lim.max_bytes = (size_t)n;
			else
				vs.lim.max_nodes = n;
		} else if (!strcmp(a, "--max-findings") && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);

			if (*end || n < 1) {
				fprintf(stderr, "hedgesync validate: --max-findings takes a positive number\n");
				return 2;
			}
			vs.max_findings = (size_t)n;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "hedgesync validate: unknown option '%s'\n", a);
			validate_usage(stderr);
			return 2;
		} else {
			npaths++;
		}
	}
	if (!npaths) {
		validate_usage(stderr);
		return 2;
	}
	t0 = now_s();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--format") || !strcmp(a, "--max-findings") || !strcmp(a, "--max-bytes") ||
		    !strcmp(a, "--max-nodes")) {
			i++;
			continue;
		}
		if (a[0] == '-' && a[1])
			continue;
		if (is_dir(a)) {
			size_t before = fabrics.n;

			find_fabrics(a, &fabrics, 0);
			if (fabrics.n == before) {
				struct cfiles all = { 0 };

				walk(a, "", &all, 0);
				if (all.n > 1)
					qsort(all.v, all.n, sizeof(*all.v), cfile_cmp);
				for (size_t k = 0; k < all.n; k++)
					if (lay_is_yaml_name(all.v[k].rel))
						cfiles_add(&loose, all.v[k].path, all.v[k].rel);
				cfiles_release(&all);
			}
		} else if (is_file(a)) {
			cfiles_add(&loose, a, a);
		} else {
			fprintf(stderr, "hedgesync validate: no such file or directory '%s'\n", a);
			vs.io_errors++;
		}
	}
	if (vs.fmt == FND_FMT_JSON)
		vs.all = json_array();
	if (loose.n) {
		struct val_set *set = val_set_new(&vs.opts, &vs.lim, vs.max_findings);

		for (size_t i = 0; i < loose.n; i++)
			add_file(&vs, set, loose.v[i].path, NULL, 0);
		report(&vs, set);
		val_set_free(set);
	}
	for (size_t i = 0; i < fabrics.n; i++)
		validate_fabric(&vs, fabrics.v[i].path);
	if (vs.fmt == FND_FMT_JSON) {
		json_t *o = json_object();
		char *s;

		json_object_set_new(o, "findings", vs.all);
		json_object_set_new(o, "summary",
				    json_pack("{s:I,s:I,s:I,s:I,s:I}", "files", (json_int_t)vs.files,
					      "documents", (json_int_t)vs.docs, "errors",
					      (json_int_t)vs.errors, "warnings", (json_int_t)vs.warnings,
					      "notices", (json_int_t)vs.notices));
		s = json_dumps(o, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		fprintf(vs.fmt == FND_FMT_TEXT ? stdout : stderr,
			"%zu file%s, %zu document%s: %zu error%s, %zu warning%s, %zu notice%s\n",
			vs.files, vs.files == 1 ? "" : "s", vs.docs, vs.docs == 1 ? "" : "s", vs.errors,
			vs.errors == 1 ? "" : "s", vs.warnings, vs.warnings == 1 ? "" : "s", vs.notices,
			vs.notices == 1 ? "" : "s");
	}
	if (stats) {
		double dt = now_s() - t0;
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr,
			"stats: %zu file%s, %zu documents, %zu bytes in %.3f s (cpu %.3f s user+sys): %.0f documents/s, %.1f MB/s, peak RSS %ld KiB\n",
			vs.files, vs.files == 1 ? "" : "s", vs.docs, vs.bytes, dt,
			(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
				(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
			dt > 0 ? (double)vs.docs / dt : 0.0, dt > 0 ? (double)vs.bytes / dt / 1e6 : 0.0,
			ru.ru_maxrss);
	}
	fflush(stdout);
	rc = vs.io_errors ? 2 : vs.errors ? 1 : 0;
	dircache_release(&vs.dc);
	cfiles_release(&loose);
	cfiles_release(&fabrics);
	return rc;
}

#define INGEST_READ_MAX ((size_t)256 * 1024 * 1024)

/* --- ingest --dry-run ---------------------------------------------------------------------- */

/* Git's blob id: sha1("blob <len>\0" + data), hex. */
static void blob_sha(const char *data, size_t len, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hdr[64];
	int n = snprintf(hdr, sizeof(hdr), "blob %zu", len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, hdr, (size_t)n + 1) == 1 &&
	    EVP_DigestUpdate(ctx, data, len) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1) {
		for (unsigned i = 0; i < mdlen && i < 20; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
	}
	EVP_MD_CTX_free(ctx);
}

static void ingest_usage(FILE *f)
{
	fprintf(f,
		"usage: hedgesync ingest --dry-run [--format text|json] DIR\n"
		"\n"
		"Show what ingestion would do with the fabric directory DIR: which documents of\n"
		"raw/ become managed/<kind>/<name>.yaml (created, updated, unchanged), which go to\n"
		"unmanaged/ and why, which files are written and deleted.  Nothing is changed.\n"
		"The service runs the same plan and commits it.\n");
}

int cli_ingest_main(int argc, char **argv)
{
	const char *dir = NULL;
	int dry = 0, rc = 2;
	enum fnd_format fmt = FND_FMT_TEXT;
	struct cfiles files = { 0 };
	struct plan_file *raw = NULL, *man = NULL;
	const char **unm = NULL;
	char **datas = NULL, (*shas)[41] = NULL;
	size_t nraw = 0, nman = 0, nunm = 0;
	struct plan *plan = NULL;
	char err[HS_ERRBUF];
	static const struct hy_limits lim = HY_LIMITS_DEFAULT;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			ingest_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--dry-run") || !strcmp(a, "-n")) {
			dry = 1;
		} else if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
			const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);

			if (fnd_parse_format(v, &fmt) != HS_OK || fmt == FND_FMT_GITHUB) {
				fprintf(stderr, "hedgesync ingest: --format takes text or json\n");
				return 2;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "hedgesync ingest: unknown option '%s'\n", a);
			ingest_usage(stderr);
			return 2;
		} else if (!dir) {
			dir = a;
		} else {
			ingest_usage(stderr);
			return 2;
		}
	}
	if (!dir) {
		ingest_usage(stderr);
		return 2;
	}
	if (!dry) {
		fprintf(stderr,
			"hedgesync ingest: only --dry-run runs offline; the service ingests on push\n");
		return 2;
	}
	if (!is_dir(dir)) {
		fprintf(stderr, "hedgesync ingest: '%s' is not a directory\n", dir);
		return 2;
	}
	walk(dir, "", &files, 0);
	if (files.n > 1)
		qsort(files.v, files.n, sizeof(*files.v), cfile_cmp);
	raw = hs_calloc(files.n + 1, sizeof(*raw));
	man = hs_calloc(files.n + 1, sizeof(*man));
	unm = hs_calloc(files.n + 1, sizeof(*unm));
	datas = hs_calloc(files.n + 1, sizeof(*datas));
	shas = hs_calloc(files.n + 1, sizeof(*shas));
	for (size_t i = 0; i < files.n; i++) {
		const struct cfile *f = &files.v[i];
		enum lay_class c = lay_classify(f->rel);
		size_t len, size;

		if (c == LAY_UNMANAGED) {
			unm[nunm++] = f->rel;
			continue;
		}
		if (c != LAY_RAW && c != LAY_MANAGED && !(c == LAY_GITKEEP && !strncmp(f->rel, "raw/", 4)))
			continue;
		/* raw files are read even past the loader's limit so that the plan can
		 * move them to unmanaged/ whole */
		if (read_file(f->path, c == LAY_MANAGED ? lim.max_bytes : INGEST_READ_MAX, &datas[i],
			      &len, &size) != HS_OK) {
			fprintf(stderr, "hedgesync ingest: cannot read '%s'; left out\n", f->path);
			continue;
		}
		if (c == LAY_MANAGED) {
			man[nman].path = f->rel;
			man[nman].data = datas[i];
			man[nman].len = len;
			nman++;
		} else {
			blob_sha(datas[i], len, shas[i]);
			raw[nraw].path = f->rel;
			raw[nraw].data = datas[i];
			raw[nraw].len = len;
			raw[nraw].sha = shas[i];
			nraw++;
		}
	}
	if (plan_build(&plan, raw, nraw, man, nman, unm, nunm, &lim, err) != HS_OK) {
		fprintf(stderr, "hedgesync ingest: %s\n", err);
		goto out;
	}
	if (fmt == FND_FMT_JSON) {
		json_t *j = plan_to_json(plan);
		char *s = json_dumps(j, JSON_INDENT(2));

		if (s)
			puts(s);
		free(s);
		json_decref(j);
	} else {
		struct hs_buf b = HS_BUF_INIT((size_t)1 << 30);

		if (!nraw)
			printf("raw/ is empty: nothing to ingest\n");
		(void)plan_format_text(plan, &b);
		fwrite(hs_buf_str(&b), 1, b.len, stdout);
		hs_buf_release(&b);
	}
	rc = 0;
out:
	plan_free(plan);
	for (size_t i = 0; i < files.n; i++)
		free(datas[i]);
	free(datas);
	free(shas);
	free(raw);
	free(man);
	free(unm);
	cfiles_release(&files);
	return rc;
}
