/* main.c: the hedgesync command line: one binary, one verb per job. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi/cli_validate.h"
#include "fcgi/config.h"
#include "fcgi/server.h"
#include "github/base/buf.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/app_auth.h"
#include "github/codec.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/http.h"
#include "sync/change.h"
#include "sync/fabric.h"
#include "sync/store.h"

struct cmd {
	const char *name;
	int (*fn)(const struct hs_config *cfg, int argc, char **argv);
	int needs_config; /* 1: load settings first; 2: and check all serve needs */
	const char *usage;
	const char *help;
};

static int cmd_serve(const struct hs_config *cfg, int argc, char **argv);
static int cmd_db(const struct hs_config *cfg, int argc, char **argv);
static int cmd_deliveries(const struct hs_config *cfg, int argc, char **argv);
static int cmd_version(const struct hs_config *cfg, int argc, char **argv);
static int cmd_validate(const struct hs_config *cfg, int argc, char **argv);
static int cmd_fabrics(const struct hs_config *cfg, int argc, char **argv);
static int cmd_ingest(const struct hs_config *cfg, int argc, char **argv);
static int cmd_operations(const struct hs_config *cfg, int argc, char **argv);
static int cmd_notifications(const struct hs_config *cfg, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "serve", cmd_serve, 2, "serve [--setup] [--config FILE]",
	  "Run the FastCGI service on HEDGESYNC_LISTEN until SIGTERM; with --setup and no App yet,\n"
	  "only the /setup page that registers it." },
	{ "db", cmd_db, 1, "db migrate [--config FILE]",
	  "Create the database or bring its schema up to date." },
	{ "deliveries", cmd_deliveries, 1,
	  "deliveries list [--failed] [--limit N] [--json] | deliveries retry ID",
	  "Show stored webhook deliveries; put a dead-lettered one back in the queue." },
	{ "fabrics", cmd_fabrics, 1,
	  "fabrics list | show NAME | add NAME --repository OWNER/REPO --directory DIR"
	  " [--branch B] | remove NAME | ingest NAME",
	  "Register, show and remove fabrics; queue an ingestion (the service runs it)." },
	{ "operations", cmd_operations, 1,
	  "operations list [--fabric NAME] [--state STATE] [--limit N] | operations show ID",
	  "Show change requests from NetBox and the API, and how each ended." },
	{ "notifications", cmd_notifications, 1,
	  "notifications list [--pending | --dead] [--limit N] | notifications retry ID|--all",
	  "Show the NetBox outbox; send dead-lettered notifications again." },
	{ "validate", cmd_validate, 0, "validate [--format text|github|json] PATH...",
	  "Check fabric YAML files or fabric directories offline; exit 1 on errors." },
	{ "ingest", cmd_ingest, 0, "ingest --dry-run DIR",
	  "Show what ingestion would do with a fabric directory's raw/." },
	{ "version", cmd_version, 0, "version", "Print the version." },
	{ NULL, NULL, 0, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hedgesync [--config FILE] <command> [options]\n\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->help);
	fprintf(f, "\nSettings come from the environment and --config FILE (KEY=VALUE\n"
		   "lines); see README.md.  'hedgesync COMMAND --help' shows a command's options.\n");
}

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

static int cmd_version(const struct hs_config *cfg, int argc, char **argv)
{
	(void)cfg;
	(void)argc;
	(void)argv;
	printf("hedgesync %s\n", HS_VERSION);
	return 0;
}

/* The offline tools need no settings: the engine alone. */
static int cmd_validate(const struct hs_config *cfg, int argc, char **argv)
{
	(void)cfg;
	return cli_validate_main(argc, argv);
}

static int cmd_ingest(const struct hs_config *cfg, int argc, char **argv)
{
	(void)cfg;
	return cli_ingest_main(argc, argv);
}

/* The command line as it was given, for the restart after /setup. */
static char **saved_argv;

static int cmd_serve(const struct hs_config *cfg, int argc, char **argv)
{
	int rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--setup")) {
			fprintf(stderr, "hedgesync serve: unexpected argument %s\n", argv[i]);
			return 2;
		}
	rc = server_run(cfg);
	if (rc == SERVER_RESTART) {
		/* the App was registered: start again, now with its credentials */
		hs_info("restarting with the new GitHub App");
		/* as it was started (argv[0]), else the running binary */
		if (strchr(saved_argv[0], '/'))
			execv(saved_argv[0], saved_argv);
		else
			execvp(saved_argv[0], saved_argv);
		execv("/proc/self/exe", saved_argv);
		hs_error("cannot restart: %s", strerror(errno));
		return 1;
	}
	return rc;
}

static int open_db(const struct hs_config *cfg, struct store **st)
{
	char err[HS_ERRBUF];

	if (store_open(cfg->db_path, st, err) || store_migrate(*st, err)) {
		fprintf(stderr, "hedgesync: %s\n", err);
		store_close(*st);
		*st = NULL;
		return 1;
	}
	return 0;
}

static int cmd_db(const struct hs_config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	int before = 0, after = 0;
	char err[HS_ERRBUF];

	if (argc != 2 || strcmp(argv[1], "migrate")) {
		fprintf(stderr, "usage: hedgesync db migrate\n");
		return 2;
	}
	if (store_open(cfg->db_path, &st, err)) {
		fprintf(stderr, "hedgesync: %s\n", err);
		return 1;
	}
	store_schema_version(st, &before);
	if (store_migrate(st, err)) {
		fprintf(stderr, "hedgesync: %s\n", err);
		store_close(st);
		return 1;
	}
	store_schema_version(st, &after);
	printf("%s: schema %d -> %d\n", cfg->db_path, before, after);
	store_close(st);
	return 0;
}

struct list_ctx {
	int json;
	json_t *arr;
};

static int print_delivery(const struct store_delivery_row *d, void *arg)
{
	struct list_ctx *c = arg;
	char when[21];

	gh_time_format(d->received_ms, when);
	if (c->json) {
		json_array_append_new(c->arr, json_pack(
			"{s:I, s:s, s:s, s:s?, s:s?, s:s, s:s, s:i, s:s?}",
			"id", (json_int_t)d->id, "guid", d->guid, "event", d->event,
			"action", d->action, "repository", d->repo, "received", when,
			"state", d->state, "attempts", d->attempts, "last_error", d->last_error));
		return 0;
	}
	printf("%-6lld %-36s %-22s %-28s %-8s %d %s\n", (long long)d->id, d->guid,
	       d->event, d->repo ? d->repo : "-", d->state, d->attempts,
	       d->last_error ? d->last_error : "");
	return 0;
}

static int cmd_deliveries(const struct hs_config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[HS_ERRBUF];
	int rc = 0;

	if (argc >= 2 && !strcmp(argv[1], "list")) {
		struct list_ctx c = { 0, NULL };
		int failed = 0, limit = 50;

		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--failed"))
				failed = 1;
			else if (!strcmp(argv[i], "--json"))
				c.json = 1;
			else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
				limit = atoi(argv[++i]);
			else {
				fprintf(stderr, "hedgesync deliveries list: unknown option %s\n", argv[i]);
				return 2;
			}
		}
		if (open_db(cfg, &st))
			return 1;
		if (c.json)
			c.arr = json_array();
		else
			printf("%-6s %-36s %-22s %-28s %-8s %s %s\n", "ID", "DELIVERY", "EVENT",
			       "REPOSITORY", "STATE", "N", "LAST ERROR");
		if (store_delivery_list(st, failed, limit, print_delivery, &c, err)) {
			fprintf(stderr, "hedgesync: %s\n", err);
			rc = 1;
		}
		if (c.json) {
			json_dumpf(c.arr, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(c.arr);
		}
	} else if (argc == 3 && !strcmp(argv[1], "retry")) {
		if (open_db(cfg, &st))
			return 1;
		if (store_delivery_retry(st, argv[2], err)) {
			fprintf(stderr, "hedgesync: %s\n", err);
			rc = 1;
		} else {
			printf("delivery %s queued again\n", argv[2]);
		}
	} else {
		fprintf(stderr, "usage: hedgesync deliveries list [--failed] [--limit N] [--json]"
			" | deliveries retry ID\n");
		return 2;
	}
	store_close(st);
	return rc;
}

static int print_fabric(const struct store_fabric *f, void *arg)
{
	json_array_append_new(arg, fabric_to_json(f));
	return 0;
}

static int fabrics_add(const struct hs_config *cfg, struct store *st, int argc, char **argv)
{
	struct fabric_input in = { 0 };
	struct gh_auth_opts ao = { 0 };
	struct gh_auth *auth = NULL;
	struct gh_client_opts o;
	struct gh_client *gh = NULL;
	json_t *out = NULL;
	char err[HS_ERRBUF];
	int rc = 1;

	in.name = argv[2];
	in.directory = "";
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--repository"))
			in.repository = argv[i + 1];
		else if (!strcmp(argv[i], "--directory"))
			in.directory = argv[i + 1];
		else if (!strcmp(argv[i], "--branch"))
			in.branch = argv[i + 1];
		else {
			fprintf(stderr, "hedgesync fabrics add: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!cfg->app_id || !cfg->private_key) {
		fprintf(stderr, "hedgesync fabrics add: APP_ID and the App's private key are needed\n");
		return 2;
	}
	ao.iss = cfg->app_id;
	ao.key_pem = cfg->private_key;
	ao.key_len = strlen(cfg->private_key);
	gh_client_opts_init(&o);
	o.base_url = cfg->github_api_url;
	if (gh_auth_new(&auth, &ao, err) == 0) {
		o.auth = auth;
		if (gh_client_new(&gh, &o, err) == 0 &&
		    fabric_register(st, gh, &in, &out, err) == HS_OK) {
			json_dumpf(out, stdout, JSON_INDENT(2));
			putchar('\n');
			rc = 0;
		}
	}
	if (rc)
		fprintf(stderr, "hedgesync: %s\n", err);
	json_decref(out);
	gh_client_free(gh);
	gh_auth_free(auth);
	return rc;
}

static int cmd_fabrics(const struct hs_config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[HS_ERRBUF];
	const char *verb = argc > 1 ? argv[1] : "";
	int rc = 0;

	if (!strcmp(verb, "list") || (!strcmp(verb, "show") && argc == 3)) {
		json_t *arr = json_array();

		if (open_db(cfg, &st))
			return 1;
		rc = store_fabric_each(st, argc == 3 ? argv[2] : NULL, NULL, NULL, NULL,
				       print_fabric, arr, err);
		if (rc) {
			fprintf(stderr, "hedgesync: %s\n", err);
			rc = 1;
		} else {
			json_dumpf(argc == 3 ? json_array_get(arr, 0) : arr, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		json_decref(arr);
	} else if (!strcmp(verb, "add") && argc >= 3) {
		if (open_db(cfg, &st))
			return 1;
		rc = fabrics_add(cfg, st, argc, argv);
	} else if ((!strcmp(verb, "remove") || !strcmp(verb, "ingest")) && argc == 3) {
		int64_t job = 0;

		if (open_db(cfg, &st))
			return 1;
		rc = !strcmp(verb, "remove") ? store_fabric_delete(st, argv[2], err)
					     : fabric_queue_ingest(st, argv[2], &job, err);
		if (rc) {
			fprintf(stderr, "hedgesync: %s\n", err);
			rc = 1;
		} else if (job) {
			printf("ingestion of %s queued as job %lld\n", argv[2], (long long)job);
		} else {
			printf("fabric %s removed (the repository is untouched)\n", argv[2]);
		}
	} else {
		fprintf(stderr, "usage: hedgesync fabrics list | show NAME | add NAME --repository"
			" OWNER/REPO --directory DIR [--branch B] | remove NAME | ingest NAME\n");
		return 2;
	}
	store_close(st);
	return rc;
}

static int print_op(const struct store_op *op, void *arg)
{
	char when[21];

	(void)arg;
	gh_time_format(op->created_ms, when);
	printf("%-24s %-16s %-9s %-6s %s %s\n", op->id, op->fabric, store_op_state_name(op->state),
	       op->source, when, op->author_name);
	return 0;
}

static int cmd_operations(const struct hs_config *cfg, int argc, char **argv)
{
	static const char *const usage_line =
		"usage: hedgesync operations list [--fabric NAME] [--state STATE] [--limit N]"
		" | operations show ID\n";
	struct store *st = NULL;
	char err[HS_ERRBUF] = "";
	const char *fabric = NULL, *state = NULL;
	int limit = 50, rc;

	if (argc == 3 && !strcmp(argv[1], "show")) {
		json_t *op = NULL;

		if (open_db(cfg, &st))
			return 1;
		rc = chg_op_json(st, argv[2], &op, err);
		if (rc) {
			fprintf(stderr, "hedgesync: %s\n", err);
		} else {
			json_dumpf(op, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		json_decref(op);
		store_close(st);
		return rc ? 1 : 0;
	}
	if (argc < 2 || strcmp(argv[1], "list")) {
		fputs(usage_line, stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--fabric")) {
			fabric = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--state")) {
			state = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--limit")) {
			limit = atoi(argv[++i]);
		} else {
			fputs(usage_line, stderr);
			return 2;
		}
	}
	if (state && strcmp(state, "queued") && strcmp(state, "committed") &&
	    strcmp(state, "noop") && strcmp(state, "conflict") && strcmp(state, "failed")) {
		fprintf(stderr, "hedgesync operations: --state is queued, committed, noop,"
			" conflict or failed\n");
		return 2;
	}
	if (open_db(cfg, &st))
		return 1;
	rc = store_op_list(st, fabric, state, limit, print_op, NULL, err);
	if (rc)
		fprintf(stderr, "hedgesync: %s\n", err);
	store_close(st);
	return rc ? 1 : 0;
}

static int print_note(const struct store_note *n, void *arg)
{
	char when[21];

	(void)arg;
	gh_time_format(n->created_ms, when);
	printf("%-8lld %-16s %-9s %-8s %s/%s %s %d %s\n", (long long)n->id, n->fabric, n->state,
	       n->action, n->kind, n->name, when, n->attempts, n->last_error ? n->last_error : "");
	return 0;
}

static int cmd_notifications(const struct hs_config *cfg, int argc, char **argv)
{
	static const char *const usage_line =
		"usage: hedgesync notifications list [--pending | --dead] [--limit N]"
		" | notifications retry ID|--all\n";
	struct store *st = NULL;
	char err[HS_ERRBUF] = "";
	const char *state = NULL;
	int limit = 50, rc, n = 0;

	if (argc == 3 && !strcmp(argv[1], "retry")) {
		char *end;
		long long id = strcmp(argv[2], "--all") ? strtoll(argv[2], &end, 10) : 0;

		if (strcmp(argv[2], "--all") && (*end || id <= 0)) {
			fputs(usage_line, stderr);
			return 2;
		}
		if (open_db(cfg, &st))
			return 1;
		rc = store_note_retry(st, id, hs_now_ms(), &n, err);
		if (rc)
			fprintf(stderr, "hedgesync: %s\n", err);
		else
			printf("%d notification%s queued again\n", n, n == 1 ? "" : "s");
		store_close(st);
		return rc ? 1 : 0;
	}
	if (argc < 2 || strcmp(argv[1], "list")) {
		fputs(usage_line, stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--pending") || !strcmp(argv[i], "--dead")) {
			state = argv[i] + 2;
		} else if (i + 1 < argc && !strcmp(argv[i], "--limit")) {
			limit = atoi(argv[++i]);
		} else {
			fputs(usage_line, stderr);
			return 2;
		}
	}
	if (open_db(cfg, &st))
		return 1;
	rc = store_note_list(st, state, limit, print_note, NULL, err);
	if (rc)
		fprintf(stderr, "hedgesync: %s\n", err);
	store_close(st);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct hs_config cfg;
	struct hs_buf msg = HS_BUF_INIT(64 * 1024);
	const char *config_file = NULL;
	const struct cmd *c;
	enum hs_log_level level = HS_LOG_INFO;
	enum hs_log_format format = HS_LOG_TEXT;
	int rc, n = 0;

	saved_argv = hs_calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++)
		saved_argv[i] = argv[i]; /* argv's strings live as long as the process */
	/* --config FILE may stand anywhere; take it out of argv. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "hedgesync: --config needs a file\n");
				return 2;
			}
			config_file = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			config_file = argv[i] + 9;
		} else {
			argv[++n] = argv[i];
		}
	}
	argc = n + 1;
	argv[argc] = NULL;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(NULL, 0, NULL);
	for (c = cmds; c->name && strcmp(c->name, argv[1]); c++)
		;
	if (!c->name) {
		fprintf(stderr, "hedgesync: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (wants_help(argc - 1, argv + 1)) {
		printf("usage: hedgesync %s\n\n%s\n", c->usage, c->help);
		return 0;
	}
	if (!c->needs_config)
		return c->fn(NULL, argc - 1, argv + 1);

	/* Every problem in one message: what cfg_load found and what serve
	 * cannot do without. */
	rc = cfg_load(&cfg, config_file, &msg);
	if (c->needs_config == 2) {
		int setup = 0;

		for (int i = 2; i < argc; i++)
			setup |= !strcmp(argv[i], "--setup");
		if (cfg_check_serve(&cfg, setup, &msg))
			rc = HS_EINVAL;
	}
	if (rc) {
		fprintf(stderr, "hedgesync: cannot start, the configuration is invalid:\n%s",
			hs_buf_str(&msg));
		hs_buf_release(&msg);
		cfg_release(&cfg);
		return 2;
	}
	hs_buf_release(&msg);
	hs_log_parse_level(cfg.log_level, &level);
	hs_log_parse_format(cfg.log_format, &format);
	hs_log_setup(level, format);
	rc = c->fn(&cfg, argc - 1, argv + 1);
	cfg_release(&cfg);
	return rc;
}
