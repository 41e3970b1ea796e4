/* layout.c: fabric directory layout: path classes and the managed-file rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/emit.h"
#include "sync/layout.h"
#include "sync/validate.h"

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

int lay_is_yaml_name(const char *path)
{
	return path && (has_suffix(path, ".yaml") || has_suffix(path, ".yml"));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int starts_dir(const char *rel, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(rel, dir, n) && rel[n] == '/';
}

enum lay_class lay_classify(const char *rel)
{
	const char *base;

	if (!rel || !*rel)
		return LAY_OTHER;
	base = base_name(rel);
	if (!strcmp(base, ".gitkeep"))
		return LAY_GITKEEP;
	if (!strcmp(rel, ".hnp/manifest.yaml"))
		return LAY_MANIFEST;
	if (!strcmp(rel, ".hnp/archive-log.yaml"))
		return LAY_ARCHIVE_LOG;
	if (starts_dir(rel, ".hnp"))
		return LAY_HNP;
	if (starts_dir(rel, "raw"))
		return LAY_RAW;
	if (starts_dir(rel, "unmanaged"))
		return LAY_UNMANAGED;
	if (starts_dir(rel, "managed")) {
		const char *folder = rel + 8;
		const char *slash = strchr(folder, '/');
		char plural[64];
		size_t n;

		if (!slash || strchr(slash + 1, '/') || !lay_is_yaml_name(slash + 1))
			return LAY_STRAY;
		n = (size_t)(slash - folder);
		if (n >= sizeof(plural))
			return LAY_STRAY;
		memcpy(plural, folder, n);
		plural[n] = '\0';
		return kind_by_plural(plural) ? LAY_MANAGED : LAY_STRAY;
	}
	if (!strchr(rel, '/') && lay_is_yaml_name(rel))
		return LAY_LOOSE_YAML;
	return LAY_OTHER;
}

char *lay_managed_path(const struct kind_info *k, const char *name)
{
	if (!k || !k->managed || !name)
		return NULL;
	return hs_asprintf("managed/%s/%s.yaml", k->plural, name);
}

void lay_check_path(const char *file, const char *rel, struct fnd_list *fl)
{
	switch (lay_classify(rel)) {
	case LAY_STRAY:
		fnd_add(fl, FND_LAYOUT_STRAY_FILE, FND_SEV_DEFAULT, file, -1, 0, 0, NULL,
			"managed/ holds only <kind folder>/<name>.yaml files (folders: vpcs, vpcattachments, vpcpeerings, ipv4namespaces, externals, externalattachments, externalpeerings, connections, servers, switches, switchgroups, vlannamespaces)");
		break;
	case LAY_LOOSE_YAML:
		fnd_add(fl, FND_LAYOUT_STRAY_FILE, FND_SEV_DEFAULT, file, -1, 0, 0, NULL,
			"loose YAML in the fabric directory is not read; move it to raw/ to have it ingested");
		break;
	case LAY_RAW:
		if (lay_is_yaml_name(rel))
			fnd_add(fl, FND_LAYOUT_RAW_PENDING, FND_SEV_DEFAULT, file, -1, 0, 0, NULL,
				"waits in raw/ for ingestion");
		else
			fnd_add(fl, FND_INGEST_NOT_YAML, FND_SEV_DEFAULT, file, -1, 0, 0, NULL,
				"raw/ takes .yaml and .yml files; ingestion will move this one to unmanaged/");
		break;
	default:
		break;
	}
}

void lay_check_managed(const char *file, const char *rel, struct val_res *const *res,
		       size_t n, const char *data, size_t len, struct fnd_list *fl)
{
	const struct val_res *r;
	const struct hy_node *kind, *name;
	uint32_t kline, kcol;
	const struct kind_info *folder_kind = NULL;
	const char *folder, *slash, *base;
	char plural[64];

	if (!n) {
		fnd_add(fl, FND_LAYOUT_EMPTY_FILE, FND_SEV_DEFAULT, file, -1, 0, 0, NULL,
			"a managed file holds exactly one resource; this one has none");
		return;
	}
	if (n > 1)
		fnd_add(fl, FND_LAYOUT_MULTI_DOC, FND_SEV_DEFAULT, file, (int)res[1]->doc->index,
			res[1]->doc->line, 1, NULL,
			"a managed file holds exactly one resource; this one has %zu documents (put extra documents in raw/ to split them)",
			n);
	r = res[0];
	folder = rel + (starts_dir(rel, "managed") ? 8 : 0);
	slash = strchr(folder, '/');
	if (slash && (size_t)(slash - folder) < sizeof(plural)) {
		memcpy(plural, folder, (size_t)(slash - folder));
		plural[slash - folder] = '\0';
		folder_kind = kind_by_plural(plural);
	}
	base = base_name(rel);
	kind = hy_get(r->root, "kind");
	name = hy_get(hy_get(r->root, "metadata"), "name");
	kline = kind ? kind->line : r->doc->line;
	kcol = kind ? kind->col : 1;
	if (r->kind && r->kind->managed && folder_kind && folder_kind != r->kind)
		fnd_add(fl, FND_LAYOUT_WRONG_FOLDER, FND_SEV_DEFAULT, file, (int)r->doc->index,
			kline, kcol, "kind",
			"a %s belongs in managed/%s/, not managed/%s/", r->kind->name, r->kind->plural,
			folder_kind->plural);
	else if (r->kind && !r->kind->managed)
		fnd_add(fl, FND_LAYOUT_WRONG_FOLDER, FND_SEV_DEFAULT, file, (int)r->doc->index,
			kline, kcol, "kind",
			"%s is not a managed kind and does not belong under managed/", r->kind->name);
	if (r->name && r->kind && r->kind->managed) {
		size_t nl = strlen(r->name);

		if (strncmp(base, r->name, nl) || strcmp(base + nl, ".yaml"))
			fnd_add(fl, FND_LAYOUT_FILE_NAME, FND_SEV_DEFAULT, file, (int)r->doc->index,
				name ? name->line : r->doc->line, name ? name->col : 1, "metadata.name",
				"the file of %s %s must be named %s.yaml", r->kind->name, r->name, r->name);
	}
	if (n == 1 && !r->errors && r->kind && r->kind->managed) {
		struct hs_buf b = HS_BUF_INIT(len * 2 + 4096);

		if (emit_managed(&b, r->root) == HS_OK && (b.len != len || (len && memcmp(b.data, data, len))))
			fnd_add(fl, FND_LAYOUT_NOT_CANONICAL, FND_SEV_DEFAULT, file, (int)r->doc->index,
				0, 0, NULL,
				"valid, but not in canonical form (key order, quoting, indentation, no comments); the Fix layout action rewrites it");
		hs_buf_release(&b);
	}
}
