/* ghdrive.c: drive github/ against a GitHub (the emulator) one JSON command per line.
 *
 *   ghdrive --url URL --app-id ID --key PEM [--installation N] [--repo OWNER/NAME]
 *           [--max-attempts N] [--backoff-ms N] [--max-response BYTES]
 *           [--ratelimit-max-wait S] [--ratelimit-default S] [--token-margin S]
 *           [--etag-entries N] [--timeout-ms N] [--interval-ms N]
 *
 * Reads commands such as {"op":"commit","branch":"main","changes":[...]} from
 * standard input and answers each with one JSON line on standard output:
 * {"rc":"OK"|"ENOTFOUND"|..., "err":"...", ...results}.  The end-to-end tests
 * (tests/e2e/test_github_client.py) and scripts/bench-github-calls talk to it
 * through a pipe, changing the emulator between commands.  The state that
 * lasts between commands (token cache, ETag cache, keep-alive connection) is
 * exactly what a hedgesync worker thread keeps.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/app_auth.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/checks.h"
#include "github/codec.h"
#include "github/contents.h"
#include "github/deliveries.h"
#include "github/gh.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/repolock.h"
#include "github/repos.h"

/* ---- an in-memory blob cache, as the store would provide one ---- */

struct mem_blob {
	char sha[41];
	char *data;
	size_t len;
};

struct mem_cache {
	pthread_mutex_t mu;
	struct mem_blob *v;
	size_t n, alloc;
	int hits, puts;
};

static int cache_get(void *ctx, const char *sha, char **data, size_t *len)
{
	struct mem_cache *m = ctx;
	int rc = GH_ENOTFOUND;

	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++) {
		if (!strcmp(m->v[i].sha, sha)) {
			*data = hs_malloc(m->v[i].len + 1);
			memcpy(*data, m->v[i].data, m->v[i].len);
			(*data)[m->v[i].len] = '\0';
			*len = m->v[i].len;
			m->hits++;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int cache_put(void *ctx, const char *sha, const char *data, size_t len)
{
	struct mem_cache *m = ctx;

	pthread_mutex_lock(&m->mu);
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? 2 * m->alloc : 16;
		m->v = hs_realloc(m->v, m->alloc * sizeof(*m->v));
	}
	snprintf(m->v[m->n].sha, sizeof(m->v[m->n].sha), "%s", sha);
	m->v[m->n].data = hs_malloc(len + 1);
	memcpy(m->v[m->n].data, data, len);
	m->v[m->n].len = len;
	m->n++;
	m->puts++;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

/* ---- the driver ---- */

struct drive {
	struct gh_client_opts opts;
	struct gh_auth *auth;
	struct gh_repolock *locks;
	struct mem_cache cache;
	struct gh_blob_cache blobs;
	struct gh_client *c;     /* the main thread's client */
	struct gh_repo repo;
	char owner[128], name[128];
};

static const char *code_name(int rc)
{
	switch (rc) {
	case GH_OK: return "OK";
	case GH_ENOTFOUND: return "ENOTFOUND";
	case GH_ECONFLICT: return "ECONFLICT";
	case GH_ENOTFF: return "ENOTFF";
	case GH_EUNAUTH: return "EUNAUTH";
	case GH_ERATELIMIT: return "ERATELIMIT";
	case GH_ETOOBIG: return "ETOOBIG";
	case GH_EBADRESP: return "EBADRESP";
	case GH_ENET: return "ENET";
	case GH_EINVAL: return "EINVAL";
	}
	return "EOTHER";
}

static const char *str(json_t *cmd, const char *key, const char *def)
{
	json_t *v = json_object_get(cmd, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

static long long num(json_t *cmd, const char *key, long long def)
{
	json_t *v = json_object_get(cmd, key);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

static json_t *person_of(json_t *cmd, const char *key, struct gh_person *p)
{
	json_t *o = json_object_get(cmd, key);

	if (!json_is_object(o))
		return NULL;
	p->name = str(o, "name", NULL);
	p->email = str(o, "email", NULL);
	p->date = str(o, "date", NULL);
	return o;
}

/* Build a change set from "changes" and/or "files": N generated files. */
static int fill_changes(json_t *cmd, struct gh_changeset *cs)
{
	json_t *arr = json_object_get(cmd, "changes"), *e;
	long long n = num(cmd, "files", 0);
	const char *prefix = str(cmd, "prefix", "gen/");
	const char *salt = str(cmd, "salt", "");
	size_t i;

	json_array_foreach(arr, i, e) {
		const char *path = str(e, "path", NULL);
		const char *b64 = str(e, "content_b64", NULL);
		int rc;

		if (!path)
			return GH_EINVAL;
		if (json_is_true(json_object_get(e, "delete"))) {
			rc = gh_changeset_delete(cs, path);
		} else if (b64) {
			char *data;
			size_t len;

			rc = gh_b64_decode(b64, strlen(b64), GH_BLOB_MAX, &data, &len);
			if (!rc) {
				rc = gh_changeset_put(cs, path, data, len, (uint32_t)num(e, "mode", 0));
				free(data);
			}
		} else {
			const char *content = str(e, "content", "");

			rc = gh_changeset_put(cs, path, content, strlen(content),
					      (uint32_t)num(e, "mode", 0));
		}
		if (rc)
			return rc;
	}
	for (long long k = 0; k < n; k++) {
		char path[512], content[512];
		int rc;

		snprintf(path, sizeof(path), "%s%03lld/file-%05lld.yaml", prefix, k / 100, k);
		snprintf(content, sizeof(content), "kind: Example\nindex: %lld\nsalt: \"%s\"\n",
			 k, salt);
		rc = gh_changeset_put(cs, path, content, strlen(content), 0);
		if (rc)
			return rc;
	}
	return GH_OK;
}

struct replan_log {
	json_t *heads;
	const char *mode; /* "keep": same changes on the new head */
};

static int replan(void *payload, const char *head, struct gh_changeset *cs, char *err)
{
	struct replan_log *l = payload;

	(void)err;
	json_array_append_new(l->heads, json_string(head));
	if (!strcmp(l->mode, "drop"))
		gh_changeset_clear(cs);
	return GH_OK;
}

static uint64_t requests_of(struct gh_client *c)
{
	struct gh_client_stats st;

	gh_client_stats(c, &st);
	return st.requests;
}

static json_t *run_op(struct drive *d, struct gh_client *c, json_t *cmd);

struct par {
	struct drive *d;
	json_t *cmd;
	json_t *out;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	struct gh_client *c = NULL;
	char err[HS_ERRBUF] = "";
	int rc = gh_client_new(&c, &p->d->opts, err);

	if (rc)
		p->out = json_pack("{s:s, s:s}", "rc", code_name(rc), "err", err);
	else
		p->out = run_op(p->d, c, p->cmd);
	gh_client_free(c);
	return NULL;
}

static json_t *op_parallel(struct drive *d, json_t *cmd)
{
	json_t *ops = json_object_get(cmd, "ops"), *res = json_array();
	size_t n = json_array_size(ops);
	struct par *ps = hs_calloc(n + 1, sizeof(*ps));
	pthread_t *ts = hs_calloc(n + 1, sizeof(*ts));

	for (size_t i = 0; i < n; i++) {
		ps[i].d = d;
		ps[i].cmd = json_array_get(ops, i);
		pthread_create(&ts[i], NULL, par_main, &ps[i]);
	}
	for (size_t i = 0; i < n; i++) {
		pthread_join(ts[i], NULL);
		json_array_append_new(res, ps[i].out);
	}
	free(ps);
	free(ts);
	return json_pack("{s:s, s:o, s:I}", "rc", "OK", "results", res,
			 "mints", (json_int_t)gh_auth_mint_count(d->auth));
}

static json_t *run_op(struct drive *d, struct gh_client *c, json_t *cmd)
{
	const char *op = str(cmd, "op", "");
	char err[HS_ERRBUF] = "";
	json_t *out = json_object();
	uint64_t before = requests_of(c);
	struct gh_repo r = d->repo;
	int rc = GH_OK;

	if (str(cmd, "owner", NULL))
		r.owner = str(cmd, "owner", NULL);
	if (str(cmd, "name", NULL))
		r.name = str(cmd, "name", NULL);
	r.installation_id = num(cmd, "installation", r.installation_id);

	if (!strcmp(op, "app") || !strcmp(op, "raw")) {
		struct gh_request rq;
		struct gh_response rs;
		const char *auth = str(cmd, "auth", !strcmp(op, "app") ? "app" : "installation");

		memset(&rq, 0, sizeof(rq));
		rq.method = str(cmd, "method", "GET");
		rq.path = str(cmd, "path", "/app");
		rq.body = str(cmd, "body", NULL);
		rq.body_len = rq.body ? strlen(rq.body) : 0;
		rq.auth = !strcmp(auth, "app") ? GH_AUTH_APP :
			  !strcmp(auth, "none") ? GH_AUTH_NONE : GH_AUTH_INSTALLATION;
		rq.installation_id = r.installation_id;
		rq.max_response = (size_t)num(cmd, "max_response", 0);
		gh_response_init(&rs);
		rc = gh_request(c, &rq, &rs, err);
		if (!rc)
			rc = gh_status_error(&rq, &rs, err);
		json_object_set_new(out, "status", json_integer(rs.status));
		json_object_set_new(out, "body_len", json_integer((json_int_t)rs.body.len));
		json_object_set_new(out, "from_cache", json_boolean(rs.from_cache));
		if (rs.link_next)
			json_object_set_new(out, "next", json_string(rs.link_next));
		gh_response_release(&rs);
	} else if (!strcmp(op, "installation")) {
		int64_t id = 0;

		rc = gh_repos_installation(c, r.owner, r.name, &id, err);
		json_object_set_new(out, "id", json_integer(id));
	} else if (!strcmp(op, "getref")) {
		gh_sha sha;

		rc = gh_git_get_ref(c, &r, str(cmd, "branch", "main"), sha, err);
		if (!rc)
			json_object_set_new(out, "sha", json_string(sha));
	} else if (!strcmp(op, "commit")) {
		struct gh_changeset cs;
		struct gh_commit_result res;
		struct gh_commit_opts o;
		struct gh_person author, committer;
		struct replan_log l = { json_array(), str(cmd, "replan", "keep") };

		gh_changeset_init(&cs);
		memset(&o, 0, sizeof(o));
		o.branch = str(cmd, "branch", "main");
		o.message = str(cmd, "message", "Change files");
		o.author = person_of(cmd, "author", &author) ? &author : NULL;
		o.committer = person_of(cmd, "committer", &committer) ? &committer : NULL;
		o.max_attempts = (int)num(cmd, "max_attempts", 0);
		o.replan = strcmp(l.mode, "none") ? replan : NULL;
		o.payload = &l;
		rc = fill_changes(cmd, &cs);
		if (!rc)
			rc = gh_git_commit(c, &r, &o, &cs, &res, err);
		if (!rc) {
			json_object_set_new(out, "commit", json_string(res.commit));
			json_object_set_new(out, "tree", json_string(res.tree));
			json_object_set_new(out, "parent", json_string(res.parent));
			json_object_set_new(out, "attempts", json_integer(res.attempts));
			json_object_set_new(out, "noop", json_boolean(res.noop));
		}
		json_object_set_new(out, "replanned_on", l.heads);
		gh_changeset_release(&cs);
	} else if (!strcmp(op, "put") || !strcmp(op, "delete")) {
		struct gh_contents_write w;
		struct gh_file_commit fc;
		struct gh_person author;

		memset(&w, 0, sizeof(w));
		w.path = str(cmd, "path", NULL);
		w.branch = str(cmd, "branch", NULL);
		w.message = str(cmd, "message", "Update a file");
		w.data = str(cmd, "content", "");
		w.len = strlen(w.data);
		w.sha = str(cmd, "sha", NULL);
		w.author = person_of(cmd, "author", &author) ? &author : NULL;
		rc = !strcmp(op, "put") ? gh_contents_put(c, &r, &w, &fc, err)
					: gh_contents_delete(c, &r, &w, &fc, err);
		if (!rc) {
			json_object_set_new(out, "content_sha", json_string(fc.content_sha));
			json_object_set_new(out, "commit", json_string(fc.commit_sha));
			json_object_set_new(out, "created", json_boolean(fc.created));
		}
	} else if (!strcmp(op, "get")) {
		struct gh_content *x = NULL;

		rc = gh_contents_get(c, &r, str(cmd, "path", ""), str(cmd, "ref", NULL), &x, err);
		if (!rc) {
			json_object_set_new(out, "type", json_integer(x->type));
			json_object_set_new(out, "sha", json_string(x->sha));
			if (x->data) {
				json_object_set_new(out, "len", json_integer((json_int_t)x->len));
				if (gh_utf8_text(x->data, x->len))
					json_object_set_new(out, "content", json_stringn(x->data, x->len));
			}
			if (x->type == GH_CONTENT_DIR) {
				json_t *names = json_array();

				for (size_t i = 0; i < x->n_entries; i++)
					json_array_append_new(names, json_string(x->entries[i].path));
				json_object_set_new(out, "entries", names);
			}
		}
		gh_content_free(x);
	} else if (!strcmp(op, "tree")) {
		struct gh_tree t;
		gh_sha sha;
		const char *s = str(cmd, "sha", NULL);

		gh_tree_init(&t);
		if (!s) {
			struct gh_commit cm;

			rc = gh_git_get_ref(c, &r, str(cmd, "ref", "main"), sha, err);
			if (!rc)
				rc = gh_git_get_commit(c, &r, sha, &cm, err);
			if (!rc) {
				memcpy(sha, cm.tree, sizeof(gh_sha));
				gh_commit_release(&cm);
			}
			s = sha;
		}
		if (!rc)
			rc = gh_git_get_tree(c, &r, s, json_is_true(json_object_get(cmd, "recursive")),
					     &t, err);
		if (!rc) {
			json_t *es = json_array();

			for (size_t i = 0; i < t.n; i++) {
				char mode[8];

				snprintf(mode, sizeof(mode), "%06o", (unsigned)t.v[i].mode);
				json_array_append_new(es, json_pack("[s, s, s, s]", mode,
					t.v[i].type == GH_OBJ_BLOB ? "blob" :
					t.v[i].type == GH_OBJ_TREE ? "tree" : "commit",
					t.v[i].sha, t.v[i].path));
			}
			json_object_set_new(out, "entries", es);
			json_object_set_new(out, "requests", json_integer(t.requests));
		}
		gh_tree_release(&t);
	} else if (!strcmp(op, "blob")) {
		char *data = NULL;
		size_t len = 0;
		gh_sha got;

		rc = gh_git_get_blob(c, &r, str(cmd, "sha", ""), (size_t)num(cmd, "max", 0),
				     &data, &len, err);
		if (!rc) {
			gh_git_blob_sha(data, len, got);
			json_object_set_new(out, "len", json_integer((json_int_t)len));
			json_object_set_new(out, "sha", json_string(got));
		}
		json_object_set_new(out, "cache_hits", json_integer(d->cache.hits));
		free(data);
	} else if (!strcmp(op, "check") || !strcmp(op, "check_update")) {
		long long n = num(cmd, "annotations", 0), slen = num(cmd, "summary_len", 0);
		struct gh_annotation *anns = hs_calloc((size_t)n + 1, sizeof(*anns));
		struct gh_check_action act = { "Fix layout", "Commit the moves and formatting",
					       "fix_layout" };
		struct gh_check_run run;
		char *summary = NULL;
		int64_t id = num(cmd, "id", 0);
		int calls = 0;

		for (long long i = 0; i < n; i++) {
			anns[i].path = "managed/vpcs/vpc-1.yaml";
			anns[i].start_line = (int)i + 1;
			anns[i].end_line = (int)i + 1;
			anns[i].start_column = 1;
			anns[i].end_column = 4;
			anns[i].level = i % 3 == 0 ? GH_ANN_FAILURE : GH_ANN_WARNING;
			anns[i].message = "finding";
			anns[i].title = "HH001";
		}
		if (slen) {
			summary = hs_malloc((size_t)slen + 1);
			memset(summary, 's', (size_t)slen);
			summary[slen] = '\0';
		}
		memset(&run, 0, sizeof(run));
		run.name = str(cmd, "check_name", "Hedgehog fabric");
		run.head_sha = str(cmd, "head_sha", NULL);
		run.status = str(cmd, "status", NULL);
		run.conclusion = str(cmd, "conclusion", NULL);
		run.title = str(cmd, "title", "Fabric validation");
		run.summary = summary ? summary : str(cmd, "summary", "All good");
		run.text = str(cmd, "text", NULL);
		run.annotations = anns;
		run.n_annotations = (size_t)n;
		run.actions = &act;
		run.n_actions = (size_t)num(cmd, "actions", 0);
		if (!strcmp(op, "check"))
			rc = gh_checks_create(c, &r, &run, &id, &calls, err);
		else
			rc = gh_checks_update(c, &r, id, &run, &calls, err);
		json_object_set_new(out, "id", json_integer(id));
		json_object_set_new(out, "api_calls", json_integer(calls));
		free(summary);
		free(anns);
	} else if (!strcmp(op, "compare")) {
		struct gh_compare cmp;

		rc = gh_repos_compare(c, &r, str(cmd, "base", ""), str(cmd, "head", ""), &cmp, err);
		if (!rc) {
			json_t *fs = json_array();

			for (size_t i = 0; i < cmp.files.n; i++)
				json_array_append_new(fs, json_pack("[s, s]", cmp.files.v[i].status,
								    cmp.files.v[i].filename));
			json_object_set_new(out, "status", json_string(cmp.status));
			json_object_set_new(out, "ahead_by", json_integer(cmp.ahead_by));
			json_object_set_new(out, "behind_by", json_integer(cmp.behind_by));
			json_object_set_new(out, "merge_base", json_string(cmp.merge_base));
			json_object_set_new(out, "files", fs);
			gh_compare_release(&cmp);
		}
	} else if (!strcmp(op, "pullfiles")) {
		struct gh_file_list fl;

		rc = gh_pulls_list_files(c, &r, num(cmd, "number", 0), &fl, err);
		if (!rc) {
			json_t *fs = json_array();

			for (size_t i = 0; i < fl.n; i++)
				json_array_append_new(fs, json_pack("[s, s, s]", fl.v[i].status,
								    fl.v[i].filename, fl.v[i].sha));
			json_object_set_new(out, "files", fs);
			json_object_set_new(out, "truncated", json_boolean(fl.truncated));
			gh_file_list_release(&fl);
		}
	} else if (!strcmp(op, "deliveries")) {
		struct gh_delivery_list dl;

		rc = gh_deliveries_list(c, num(cmd, "since_ms", 0), (size_t)num(cmd, "max", 0),
					&dl, err);
		if (!rc) {
			json_t *ds = json_array();

			for (size_t i = 0; i < dl.n; i++)
				json_array_append_new(ds, json_pack(
					"{s:I, s:s, s:s, s:s, s:s, s:i, s:b, s:I}", "id",
					(json_int_t)dl.v[i].id, "guid", dl.v[i].guid, "event",
					dl.v[i].event, "action", dl.v[i].action, "status",
					dl.v[i].status, "status_code", (int)dl.v[i].status_code,
					"redelivery", dl.v[i].redelivery, "installation_id",
					(json_int_t)dl.v[i].installation_id));
			json_object_set_new(out, "deliveries", ds);
			gh_delivery_list_release(&dl);
		}
	} else if (!strcmp(op, "redeliver")) {
		rc = gh_deliveries_redeliver(c, num(cmd, "id", 0), err);
	} else if (!strcmp(op, "sleep")) {
		hs_sleep_ms(num(cmd, "ms", 0));
	} else if (!strcmp(op, "set")) {
		if (num(cmd, "max_response", -1) >= 0)
			gh_client_set_max_response(c, (size_t)num(cmd, "max_response", 0));
	} else if (!strcmp(op, "jwt")) {
		int64_t iat, exp;
		char *jwt = NULL;

		gh_auth_jwt_times(d->auth, &iat, &exp);
		rc = gh_auth_jwt(d->auth, &jwt, err);
		json_object_set_new(out, "iat", json_integer(iat));
		json_object_set_new(out, "exp", json_integer(exp));
		json_object_set_new(out, "now", json_integer(hs_now_ms() / 1000));
		json_object_set_new(out, "skew", json_integer(gh_auth_skew(d->auth)));
		free(jwt);
	} else if (!strcmp(op, "parallel")) {
		json_decref(out);
		return op_parallel(d, cmd);
	} else {
		rc = GH_EINVAL;
		snprintf(err, sizeof(err), "unknown op '%s'", op);
	}
	{
		struct gh_client_stats st;

		gh_client_stats(c, &st);
		json_object_set_new(out, "rc", json_string(code_name(rc)));
		json_object_set_new(out, "err", json_string(rc ? err : ""));
		json_object_set_new(out, "requests",
				    json_integer((json_int_t)(requests_of(c) - before)));
		json_object_set_new(out, "mints", json_integer((json_int_t)gh_auth_mint_count(d->auth)));
		json_object_set_new(out, "etag_hits", json_integer((json_int_t)st.etag_hits));
		json_object_set_new(out, "retries", json_integer((json_int_t)st.retries));
		json_object_set_new(out, "ratelimit_waits",
				    json_integer((json_int_t)st.ratelimit_waits));
		json_object_set_new(out, "token_refreshes",
				    json_integer((json_int_t)st.token_refreshes));
	}
	return out;
}

static void usage(void)
{
	fprintf(stderr, "usage: ghdrive --url URL --app-id ID --key PEM [--installation N] "
		"[--repo OWNER/NAME] [options]  (JSON commands on stdin)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "app-id", required_argument, NULL, 'a' },
		{ "key", required_argument, NULL, 'k' },
		{ "installation", required_argument, NULL, 'i' },
		{ "repo", required_argument, NULL, 'r' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "backoff-ms", required_argument, NULL, 'b' },
		{ "max-response", required_argument, NULL, 'x' },
		{ "ratelimit-max-wait", required_argument, NULL, 'w' },
		{ "ratelimit-default", required_argument, NULL, 'D' },
		{ "token-margin", required_argument, NULL, 't' },
		{ "etag-entries", required_argument, NULL, 'e' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "interval-ms", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct drive d;
	struct gh_auth_opts ao;
	const char *url = NULL, *app_id = NULL, *key_path = NULL, *repo = "acme/fabric";
	char err[HS_ERRBUF] = "", *pem = NULL, *line = NULL;
	size_t line_cap = 0;
	size_t pem_len = 0;
	int ch, interval = 0, rc;

	memset(&d, 0, sizeof(d));
	memset(&ao, 0, sizeof(ao));
	gh_client_opts_init(&d.opts);
	d.repo.installation_id = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'a': app_id = optarg; break;
		case 'k': key_path = optarg; break;
		case 'i': d.repo.installation_id = strtoll(optarg, NULL, 10); break;
		case 'r': repo = optarg; break;
		case 'm': d.opts.max_attempts = atoi(optarg); break;
		case 'b': d.opts.backoff_base_ms = atoi(optarg); break;
		case 'x': d.opts.max_response = (size_t)strtoull(optarg, NULL, 10); break;
		case 'w': d.opts.ratelimit_max_wait_s = atoi(optarg); break;
		case 'D': d.opts.ratelimit_default_s = atoi(optarg); break;
		case 't': ao.token_margin_s = atoi(optarg); break;
		case 'e': d.opts.etag_entries = atoi(optarg); break;
		case 'T': d.opts.timeout_ms = atol(optarg); break;
		case 'I': interval = atoi(optarg); break;
		default: usage();
		}
	}
	if (!url || !app_id || !key_path)
		usage();
	if (sscanf(repo, "%127[^/]/%127s", d.owner, d.name) != 2)
		usage();
	d.repo.owner = d.owner;
	d.repo.name = d.name;
	hs_log_setup(getenv("GHDRIVE_DEBUG") ? HS_LOG_DEBUG : HS_LOG_ERROR, HS_LOG_TEXT);

	rc = gh_auth_read_key(key_path, &pem, &pem_len, err);
	if (rc) {
		fprintf(stderr, "ghdrive: %s\n", err);
		return 2;
	}
	ao.iss = app_id;
	ao.key_pem = pem;
	ao.key_len = pem_len;
	rc = gh_auth_new(&d.auth, &ao, err);
	free(pem);
	if (rc) {
		fprintf(stderr, "ghdrive: %s\n", err);
		return 2;
	}
	d.locks = gh_repolock_new(interval);
	pthread_mutex_init(&d.cache.mu, NULL);
	d.blobs.ctx = &d.cache;
	d.blobs.get = cache_get;
	d.blobs.put = cache_put;
	d.opts.base_url = url;
	d.opts.auth = d.auth;
	d.opts.locks = d.locks;
	d.opts.blobs = &d.blobs;
	rc = gh_client_new(&d.c, &d.opts, err);
	if (rc) {
		fprintf(stderr, "ghdrive: %s\n", err);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (getline(&line, &line_cap, stdin) > 0) {
		json_error_t je;
		json_t *cmd = json_loads(line, 0, &je), *res;
		char *text;

		if (!json_is_object(cmd)) {
			printf("{\"rc\":\"EINVAL\",\"err\":\"bad command: %s\"}\n", je.text);
			json_decref(cmd);
			continue;
		}
		if (!strcmp(str(cmd, "op", ""), "quit")) {
			json_decref(cmd);
			break;
		}
		res = run_op(&d, d.c, cmd);
		text = json_dumps(res, JSON_COMPACT);
		printf("%s\n", text);
		free(text);
		json_decref(res);
		json_decref(cmd);
	}
	free(line);
	gh_client_free(d.c);
	gh_repolock_free(d.locks);
	gh_auth_free(d.auth);
	for (size_t i = 0; i < d.cache.n; i++)
		free(d.cache.v[i].data);
	free(d.cache.v);
	pthread_mutex_destroy(&d.cache.mu);
	return 0;
}
