/* t-validate-cli.c: hedgesync validate and ingest --dry-run as a user runs them. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi/cli_validate.h"
#include "github/base/mem.h"
#include "tests/unit/unit.h"

static char out[1 << 20];

/* Run a verb with stdout and stderr captured into out; returns its status. */
static int run(int (*verb)(int, char **), const char *const *args)
{
	char path[512];
	char *argv[32];
	int argc = 0, fd, saved_out, saved_err, rc;
	FILE *f;
	size_t n;

	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/out.txt", unit_tmpdir());
	fflush(stdout);
	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	rc = verb(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	f = fopen(path, "rb");
	n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	return rc;
}

static void put(const char *rel, const char *text)
{
	char *path = hs_asprintf("%s/%s", unit_tmpdir(), rel);
	char *dir = hs_strdup(path), *slash;
	FILE *f;

	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "wb");
	fputs(text, f);
	fclose(f);
	free(dir);
	free(path);
}

/* A path under the scratch directory (a ring of buffers: several may be live). */
static char *tmp(const char *rel)
{
	static char buf[8][512];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", unit_tmpdir(), rel);
	return b;
}

static const char VPC_OK[] =
	"apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v1\n"
	"  namespace: default\nspec:\n  subnets:\n    default:\n      subnet: 10.0.1.0/24\n"
	"      vlan: 1001\n";

static void test_usage(void)
{
	const char *none[] = { "validate", NULL };
	const char *help[] = { "validate", "--help", NULL };
	const char *bad[] = { "validate", "--nope", "x", NULL };
	const char *fmt[] = { "validate", "--format", "xml", "x", NULL };
	const char *missing[] = { "validate", "/nonexistent/file.yaml", NULL };

	T_EQ_INT(run(cli_validate_main, none), 2);
	T_ASSERT(strstr(out, "usage: hedgesync validate"));
	T_EQ_INT(run(cli_validate_main, help), 0);
	T_ASSERT(strstr(out, "--format"));
	T_EQ_INT(run(cli_validate_main, bad), 2);
	T_EQ_INT(run(cli_validate_main, fmt), 2);
	T_EQ_INT(run(cli_validate_main, missing), 2);
}

static void test_files(void)
{
	const char *ok[] = { "validate", tmp("ok.yaml"), NULL };
	const char *bad[] = { "validate", "--format", "github", tmp("bad.yaml"), NULL };
	const char *json[] = { "validate", "--format=json", tmp("bad.yaml"), NULL };

	put("ok.yaml", VPC_OK);
	put("bad.yaml", "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v1\n"
			"spec:\n  subnets:\n    default:\n      subnet: 10.0.1.0/24\n");
	T_EQ_INT(run(cli_validate_main, ok), 0);
	T_ASSERT(strstr(out, "1 file, 1 document: 0 errors, 0 warnings, 0 notices"));
	T_EQ_INT(run(cli_validate_main, bad), 1);
	T_ASSERT(strstr(out, "::error file="));
	T_ASSERT(strstr(out, ",line=8,col=7,title=vpc-vlan::spec.subnets.default.vlan: "));
	T_EQ_INT(run(cli_validate_main, json), 1);
	{
		json_error_t e;
		json_t *j = json_loads(out, 0, &e);

		T_ASSERT(j);
		T_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "summary"), "errors")), 1);
		T_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "findings"), 0),
							   "code")),
			 "vpc-vlan");
		json_decref(j);
	}
}

static void test_fabric_directory(void)
{
	const char *args[] = { "validate", tmp("fab"), NULL };
	const char *partial[] = { "validate", "--partial", tmp("fab/managed/vpcattachments/a1.yaml"), NULL };

	put("fab/.hnp/manifest.yaml", "version: '1.0'\n");
	put("fab/managed/vpcs/v1.yaml", VPC_OK);
	put("fab/managed/vpcs/wrong.yaml", VPC_OK); /* same VPC, wrong name */
	put("fab/managed/vpcattachments/a1.yaml",
	    "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n  name: a1\n"
	    "  namespace: default\nspec:\n  connection: c1\n  subnet: v1/default\n");
	put("fab/raw/new.yaml", VPC_OK);
	T_EQ_INT(run(cli_validate_main, args), 1);
	T_ASSERT(strstr(out, "managed/vpcs/wrong.yaml:4:9: error [layout-file-name]"));
	T_ASSERT(strstr(out, "[resource-duplicate]"));
	T_ASSERT(strstr(out, "managed/vpcattachments/a1.yaml:7:15: error [ref-unresolved]"));
	T_ASSERT(strstr(out, "raw/new.yaml: notice [layout-raw-pending]"));
	/* one file of a fabric, as a pre-commit hook passes it */
	T_EQ_INT(run(cli_validate_main, partial), 0);
	T_ASSERT(strstr(out, "warning [ref-unresolved]"));
}

static void test_directory_of_fabrics(void)
{
	const char *args[] = { "validate", tmp("repo"), NULL };

	put("repo/site-a/managed/vpcs/v1.yaml", VPC_OK);
	put("repo/site-b/managed/vpcs/v1.yaml", VPC_OK); /* same name, another fabric: fine */
	put("repo/.github/workflows/ci.yml", "on: push\n");
	T_EQ_INT(run(cli_validate_main, args), 0);
	T_ASSERT(strstr(out, "2 files, 2 documents: 0 errors"));
}

static void test_ingest_dry_run(void)
{
	const char *args[] = { "ingest", "--dry-run", tmp("ing"), NULL };
	const char *json[] = { "ingest", "--dry-run", "--format", "json", tmp("ing"), NULL };
	const char *wet[] = { "ingest", tmp("ing"), NULL };
	const char *help[] = { "ingest", "-h", NULL };

	put("ing/raw/.gitkeep", "");
	put("ing/raw/wiring.yaml", "# from hhfab\n---\n"
				   "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s1\n"
				   "---\napiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: S2\n");
	put("ing/managed/.gitkeep", "");
	T_EQ_INT(run(cli_ingest_main, args), 0);
	T_ASSERT(strstr(out, "doc 1 (line 2) Server s1: created -> managed/servers/s1.yaml"));
	T_ASSERT(strstr(out, "doc 2 (line 7) Server S2: unmanaged -> unmanaged/wiring.doc2.yaml"));
	T_ASSERT(strstr(out, "delete raw/wiring.yaml"));
	T_EQ_INT(run(cli_ingest_main, json), 0);
	{
		json_error_t e;
		json_t *j = json_loads(out, 0, &e);
		json_t *arch;

		T_ASSERT(j);
		arch = json_array_get(json_object_get(j, "archive"), 0);
		/* git hash-object of the raw file */
		T_EQ_INT(strlen(json_string_value(json_object_get(arch, "blob"))), 40);
		T_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "summary"), "created")), 1);
		json_decref(j);
	}
	T_EQ_INT(run(cli_ingest_main, wet), 2);
	T_EQ_INT(run(cli_ingest_main, help), 0);
}

const struct unit_test unit_tests[] = {
	UNIT(test_usage),
	UNIT(test_files),
	UNIT(test_fabric_directory),
	UNIT(test_directory_of_fabrics),
	UNIT(test_ingest_dry_run),
	{ NULL, NULL },
};
