/* t-config.c: settings from a file and the environment, and their checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/config.h"
#include "github/base/err.h"
#include "tests/unit/unit.h"

static const char *const all_keys[] = {
	"APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "WEBHOOK_PATH",
	"GHE_HOST", "GHE_PROTOCOL", "GITHUB_API_URL", "HEDGESYNC_DB", "HEDGESYNC_LISTEN",
	"HEDGESYNC_WORKERS", "HEDGESYNC_THREADS", "HEDGESYNC_API_TOKENS", "NETBOX_URL",
	"NETBOX_TOKEN", "LOG_LEVEL", "LOG_FORMAT", "WEBHOOK_SECRET_PREVIOUS",
	"HEDGESYNC_CREDENTIALS", "HEDGESYNC_PUBLIC_URL", NULL,
};

static void clear_env(void)
{
	for (size_t i = 0; all_keys[i]; i++)
		unsetenv(all_keys[i]);
}

static char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	f = fopen(path, "w");
	T_ASSERT(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static const char *key_path(void)
{
	static char path[512];
	char cmd[700];

	if (!path[0]) {
		snprintf(path, sizeof(path), "%s/app.pem", unit_tmpdir());
		snprintf(cmd, sizeof(cmd), "openssl genrsa -traditional -out %s 2048 2>/dev/null", path);
		T_ASSERT(system(cmd) == 0);
	}
	return path;
}

static void test_defaults(void)
{
	struct hs_config c;
	struct hs_buf msg = HS_BUF_INIT(4096);

	clear_env();
	T_EQ_INT(cfg_load(&c, NULL, &msg), HS_OK);
	T_EQ_STR(c.webhook_path, "/api/github/webhooks");
	T_EQ_STR(c.github_api_url, "https://api.github.com");
	T_EQ_STR(c.db_path, "./var/hedgesync.db");
	T_EQ_INT(c.workers, 4);
	T_EQ_STR(c.log_format, "text");
	/* serve needs the App's id, key and secret */
	T_EQ_INT(cfg_check_serve(&c, 0, &msg), HS_EINVAL);
	T_ASSERT(strstr(hs_buf_str(&msg), "APP_ID"));
	T_ASSERT(strstr(hs_buf_str(&msg), "PRIVATE_KEY"));
	T_ASSERT(strstr(hs_buf_str(&msg), "WEBHOOK_SECRET"));
	cfg_release(&c);
	hs_buf_release(&msg);
}

static void test_file_and_environment(void)
{
	struct hs_config c;
	struct hs_buf msg = HS_BUF_INIT(4096);
	char text[1024];

	clear_env();
	snprintf(text, sizeof(text),
		 "# comment\n\nAPP_ID=123\nexport WEBHOOK_SECRET=\"from file\"\n"
		 "PRIVATE_KEY_PATH=%s\nHEDGESYNC_WORKERS=3\nGHE_HOST=ghe.example.com\n"
		 "HEDGESYNC_API_TOKENS=a, b,c\n", key_path());
	setenv("WEBHOOK_SECRET", "from env", 1);
	T_EQ_INT(cfg_load(&c, write_file("ok.env", text), &msg), HS_OK);
	T_EQ_STR(c.app_id, "123");
	T_EQ_STR(c.webhook_secret, "from env"); /* the environment wins */
	T_EQ_INT(c.workers, 3);
	T_EQ_STR(c.github_api_url, "https://ghe.example.com/api/v3");
	T_EQ_STR(c.api_tokens[0], "a");
	T_EQ_STR(c.api_tokens[2], "c");
	T_ASSERT(c.api_tokens[3] == NULL);
	T_ASSERT(strstr(c.private_key, "BEGIN RSA PRIVATE KEY"));
	T_EQ_INT(cfg_check_serve(&c, 0, &msg), HS_OK);
	cfg_release(&c);
	hs_buf_release(&msg);
	clear_env();
}

static void test_every_problem_named(void)
{
	struct hs_config c;
	struct hs_buf msg = HS_BUF_INIT(4096);
	const char *m;

	clear_env();
	T_EQ_INT(cfg_load(&c, write_file("bad.env",
		"APP_ID=12ab\nTYPO_KEY=1\nHEDGESYNC_WORKERS=99\nLOG_LEVEL=loud\nno equals sign\n"
		"HEDGESYNC_LISTEN=tcp:host:99999\nPRIVATE_KEY=not a key\nGITHUB_API_URL=ftp://x\n"),
		&msg), HS_EINVAL);
	cfg_check_serve(&c, 0, &msg);
	m = hs_buf_str(&msg);
	T_ASSERT(strstr(m, "unknown setting TYPO_KEY"));
	T_ASSERT(strstr(m, "bad.env:5: expected KEY=VALUE"));
	T_ASSERT(strstr(m, "HEDGESYNC_WORKERS must be"));
	T_ASSERT(strstr(m, "LOG_LEVEL must be"));
	T_ASSERT(strstr(m, "HEDGESYNC_LISTEN"));
	T_ASSERT(strstr(m, "APP_ID must be"));
	T_ASSERT(strstr(m, "PRIVATE_KEY"));
	T_ASSERT(strstr(m, "GITHUB_API_URL"));
	T_ASSERT(strstr(m, "WEBHOOK_SECRET is required"));
	cfg_release(&c);
	hs_buf_release(&msg);
}

static void test_private_key_forms(void)
{
	struct hs_config c;
	struct hs_buf msg = HS_BUF_INIT(1 << 16);
	char cmd[1200], *escaped;
	FILE *f;
	char pem[4096];
	size_t n;

	clear_env();
	/* PKCS#8, inline with literal \n escapes as some deployments pass it */
	snprintf(cmd, sizeof(cmd), "openssl pkcs8 -topk8 -nocrypt -in %s", key_path());
	f = popen(cmd, "r");
	T_ASSERT(f);
	n = fread(pem, 1, sizeof(pem) - 1, f);
	pclose(f);
	pem[n] = '\0';
	T_ASSERT(strstr(pem, "BEGIN PRIVATE KEY"));
	escaped = calloc(1, 2 * n + 1);
	for (size_t i = 0, j = 0; i < n; i++) {
		if (pem[i] == '\n') {
			escaped[j++] = '\\';
			escaped[j++] = 'n';
		} else {
			escaped[j++] = pem[i];
		}
	}
	setenv("APP_ID", "1", 1);
	setenv("WEBHOOK_SECRET", "s", 1);
	setenv("PRIVATE_KEY", escaped, 1);
	T_EQ_INT(cfg_load(&c, NULL, &msg), HS_OK);
	T_EQ_INT(cfg_check_serve(&c, 0, &msg), HS_OK);
	cfg_release(&c);
	free(escaped);
	/* not RSA: refused */
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm ed25519 -out %s/ed.pem 2>/dev/null",
		 unit_tmpdir());
	T_ASSERT(system(cmd) == 0);
	unsetenv("PRIVATE_KEY");
	snprintf(cmd, sizeof(cmd), "%s/ed.pem", unit_tmpdir());
	setenv("PRIVATE_KEY_PATH", cmd, 1);
	hs_buf_reset(&msg);
	T_EQ_INT(cfg_load(&c, NULL, &msg), HS_OK);
	T_EQ_INT(cfg_check_serve(&c, 0, &msg), HS_EINVAL);
	T_ASSERT(strstr(hs_buf_str(&msg), "not an RSA key"));
	cfg_release(&c);
	hs_buf_release(&msg);
	clear_env();
}

static void test_listen_specs(void)
{
	int is_unix;
	const char *addr;

	T_EQ_INT(cfg_parse_listen("unix:/run/h.sock", &is_unix, &addr), HS_OK);
	T_ASSERT(is_unix);
	T_EQ_STR(addr, "/run/h.sock");
	T_EQ_INT(cfg_parse_listen("tcp:127.0.0.1:9000", &is_unix, &addr), HS_OK);
	T_ASSERT(!is_unix);
	T_EQ_STR(addr, "127.0.0.1:9000");
	T_EQ_INT(cfg_parse_listen("unix:", &is_unix, &addr), HS_EINVAL);
	T_EQ_INT(cfg_parse_listen("tcp::80", &is_unix, &addr), HS_EINVAL);
	T_EQ_INT(cfg_parse_listen("tcp:h:0", &is_unix, &addr), HS_EINVAL);
	T_EQ_INT(cfg_parse_listen("tcp:h:80x", &is_unix, &addr), HS_EINVAL);
	T_EQ_INT(cfg_parse_listen("/run/h.sock", &is_unix, &addr), HS_EINVAL);
}

/* What serve --setup stored is read under the file and the environment;
 * --setup with no App at all starts in setup mode, a half App is an error. */
static void test_credentials_file_and_setup_mode(void)
{
	struct hs_config c;
	struct hs_buf msg = HS_BUF_INIT(4096);
	char creds[600], file[600], text[1200];

	clear_env();
	snprintf(creds, sizeof(creds), "%s", write_file("creds.env", ""));
	snprintf(text, sizeof(text), "APP_ID=77\nWEBHOOK_SECRET=from-creds\nPRIVATE_KEY_PATH=%s\n",
		 key_path());
	write_file("creds.env", text);
	snprintf(text, sizeof(text), "HEDGESYNC_CREDENTIALS=%s\nWEBHOOK_SECRET=from-file\n", creds);
	snprintf(file, sizeof(file), "%s", write_file("cfg-creds.env", text));
	T_EQ_INT(cfg_load(&c, file, &msg), HS_OK);
	T_EQ_STR(c.app_id, "77");
	T_EQ_STR(c.webhook_secret, "from-file"); /* the file wins over the credentials */
	T_EQ_INT(cfg_check_serve(&c, 1, &msg), HS_OK);
	T_EQ_INT(c.setup, 0);                    /* there is an App: no setup */
	cfg_release(&c);
	setenv("APP_ID", "78", 1);               /* and the environment over both */
	T_EQ_INT(cfg_load(&c, file, &msg), HS_OK);
	T_EQ_STR(c.app_id, "78");
	cfg_release(&c);
	clear_env();
	/* credentials and no configuration file at all (a restart after setup) */
	setenv("HEDGESYNC_CREDENTIALS", creds, 1);
	T_EQ_INT(cfg_load(&c, NULL, &msg), HS_OK);
	T_EQ_STR(c.app_id, "77");
	T_EQ_STR(c.webhook_secret, "from-creds");
	cfg_release(&c);
	clear_env();
	/* default place: beside the database */
	setenv("HEDGESYNC_DB", "/nonexistent/dir/h.db", 1);
	T_EQ_INT(cfg_load(&c, NULL, &msg), HS_OK);
	T_EQ_STR(c.credentials_path, "/nonexistent/dir/app-credentials.env");
	T_EQ_INT(cfg_check_serve(&c, 1, &msg), HS_OK);
	T_EQ_INT(c.setup, 1);
	cfg_release(&c);
	hs_buf_reset(&msg);
	setenv("WEBHOOK_SECRET", "half", 1);     /* half an App is no reason for setup */
	T_EQ_INT(cfg_load(&c, NULL, &msg), HS_OK);
	T_EQ_INT(cfg_check_serve(&c, 1, &msg), HS_EINVAL);
	T_EQ_INT(c.setup, 0);
	T_ASSERT(strstr(hs_buf_str(&msg), "APP_ID"));
	cfg_release(&c);
	clear_env();
	hs_buf_release(&msg);
}

const struct unit_test unit_tests[] = {
	UNIT(test_credentials_file_and_setup_mode),
	UNIT(test_defaults),
	UNIT(test_file_and_environment),
	UNIT(test_every_problem_named),
	UNIT(test_private_key_forms),
	UNIT(test_listen_specs),
	{ NULL, NULL },
};
