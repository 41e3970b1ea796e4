/* t-store.c: schema, deliveries and the job queue's claim rules. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "sync/blobcache.h"
#include "sync/queue.h"
#include "sync/store.h"
#include "tests/unit/unit.h"

static struct store *fresh(const char *name)
{
	char path[512], err[HS_ERRBUF];
	struct store *s = NULL;

	snprintf(path, sizeof(path), "%s/%s.db", unit_tmpdir(), name);
	remove(path);
	T_EQ_INT(store_open(path, &s, err), HS_OK);
	T_EQ_INT(store_migrate(s, err), HS_OK);
	return s;
}

static int64_t add(struct store *s, const char *guid, const char *key)
{
	struct store_delivery_in d = { guid, "push", NULL, "acme/x", 7, "{}", 2, "test.record", key };
	int64_t job = 0;
	char err[HS_ERRBUF];

	T_EQ_INT(store_delivery_add(s, &d, &job, err), HS_OK);
	T_ASSERT(job > 0);
	return job;
}

static struct store_job *claim(struct store *s, const char *owner, int64_t now)
{
	struct store_job *j = NULL;
	char err[HS_ERRBUF];
	int rc = store_job_claim(s, owner, now, 1000, &j, err);

	T_ASSERT(rc == HS_OK || rc == HS_ENOTFOUND);
	return j;
}

static void test_migrate_is_idempotent_and_refuses_newer(void)
{
	struct store *s = fresh("migrate");
	char err[HS_ERRBUF];
	int v = -1;

	T_EQ_INT(store_schema_version(s, &v), HS_OK);
	T_EQ_INT(v, store_schema_latest());
	T_EQ_INT(store_migrate(s, err), HS_OK);
	T_EQ_INT(store_schema_version(s, &v), HS_OK);
	T_EQ_INT(v, store_schema_latest());
	store_close(s);
	{
		char path[512], sql[64];
		sqlite3 *db;

		snprintf(path, sizeof(path), "%s/migrate.db", unit_tmpdir());
		T_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_latest() + 1);
		T_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		T_EQ_INT(store_open(path, &s, err), HS_OK);
		T_EQ_INT(store_migrate(s, err), HS_EINVAL);
		T_ASSERT(strstr(err, "newer"));
		store_close(s);
	}
	store_close(NULL);
}

static void test_duplicate_guid_conflicts_and_writes_nothing(void)
{
	struct store *s = fresh("dup");
	struct store_delivery_in d = { "g-1", "push", NULL, "acme/x", 0, "{}", 2, "test.record", "k" };
	struct store_queue_stats st;
	char err[HS_ERRBUF];
	int exists = 0;

	add(s, "g-1", "k");
	T_EQ_INT(store_delivery_add(s, &d, NULL, err), HS_ECONFLICT);
	T_ASSERT(strstr(err, "already stored"));
	T_EQ_INT(store_queue_stats(s, &st), HS_OK);
	T_EQ_INT(st.deliveries, 1);
	T_EQ_INT(st.queued, 1);
	T_EQ_INT(store_delivery_exists(s, "g-1", &exists), HS_OK);
	T_ASSERT(exists);
	/* an ignored delivery has no job */
	d.guid = "g-2";
	d.job_kind = NULL;
	T_EQ_INT(store_delivery_add(s, &d, NULL, err), HS_OK);
	T_EQ_INT(store_queue_stats(s, &st), HS_OK);
	T_EQ_INT(st.deliveries, 2);
	T_EQ_INT(st.queued, 1);
	store_close(s);
}

static void test_one_key_in_order_other_keys_in_parallel(void)
{
	struct store *s = fresh("order");
	struct store_job *a, *b, *c, *none;
	char err[HS_ERRBUF];
	int64_t a1 = add(s, "a1", "repo@main");
	int64_t a2 = add(s, "a2", "repo@main");
	int64_t b1 = add(s, "b1", "repo@dev");

	a = claim(s, "w1", 5000000000000LL);
	T_ASSERT(a && a->id == a1);
	T_EQ_STR(a->guid, "a1");
	T_EQ_STR(a->payload, "{}");
	b = claim(s, "w2", 5000000000000LL);
	T_ASSERT(b && b->id == b1); /* a2 waits behind a1 */
	none = claim(s, "w3", 5000000000000LL);
	T_ASSERT(none == NULL);
	T_EQ_INT(store_job_done(s, a1, "w1", 5, err), HS_OK);
	c = claim(s, "w3", 5000000000000LL);
	T_ASSERT(c && c->id == a2);
	store_job_free(a);
	store_job_free(b);
	store_job_free(c);
	store_job_free(NULL);
	store_close(s);
}

/*
 * Many branches at once, against a model: every claim must return the
 * lowest-id due head over all ordering keys, never a job whose key already
 * has one running, and a key whose head waits for its retry holds back only
 * that key.  Claims run with up to three jobs held, finished in turn.
 */
#define MK_KEYS 7
#define MK_JOBS 140

static void test_claim_heads_across_many_keys(void)
{
	struct store *s = fresh("many-keys");
	int64_t id[MK_JOBS], t = 6000000000000LL;
	int key_of[MK_JOBS], done[MK_JOBS] = { 0 }, running[MK_KEYS] = { 0 };
	struct store_job *held[3] = { NULL, NULL, NULL };
	char guid[32], key[32], err[HS_ERRBUF];
	unsigned seed = 12345;
	int finished = 0, failed_once = 0;

	for (int i = 0; i < MK_JOBS; i++) {
		seed = seed * 1103515245u + 12345u;
		key_of[i] = (int)((seed >> 16) % MK_KEYS);
		snprintf(guid, sizeof(guid), "g%d", i);
		snprintf(key, sizeof(key), "acme/r%d@main", key_of[i]);
		id[i] = add(s, guid, key);
	}
	while (finished < MK_JOBS) {
		int slot = -1, expect = -1;

		for (int h = 0; h < 3; h++)
			if (!held[h])
				slot = h;
		if (slot >= 0) {
			/* The model's answer: the lowest id that heads its key and
			 * whose key has nothing running. */
			int seen[MK_KEYS] = { 0 };

			for (int i = 0; i < MK_JOBS && expect < 0; i++) {
				if (done[i] || seen[key_of[i]])
					continue;
				seen[key_of[i]] = 1;
				if (!running[key_of[i]])
					expect = i;
			}
			held[slot] = claim(s, "w", t);
			if (expect < 0) {
				T_ASSERT(held[slot] == NULL);
			} else {
				T_ASSERT(held[slot] && held[slot]->id == id[expect]);
				running[key_of[expect]] = 1;
				continue;
			}
		}
		/* Finish the oldest held job; the first one fails once with a
		 * retry far ahead, which must block its key and nothing else. */
		for (int h = 0; h < 3; h++) {
			int i;

			if (!held[h])
				continue;
			for (i = 0; id[i] != held[h]->id; i++)
				;
			if (!failed_once) {
				failed_once = 1;
				T_EQ_INT(store_job_fail(s, id[i], "w", t + 1000000, "later", err), HS_OK);
				running[key_of[i]] = 1; /* blocked until the retry is due */
				store_job_free(held[h]);
				held[h] = NULL;
				break;
			}
			T_EQ_INT(store_job_done(s, id[i], "w", 1, err), HS_OK);
			done[i] = 1;
			running[key_of[i]] = 0;
			finished++;
			store_job_free(held[h]);
			held[h] = NULL;
			break;
		}
		if (!held[0] && !held[1] && !held[2] && finished < MK_JOBS) {
			/* Everything left is behind the retry: let it come due. */
			int left = 0;

			for (int i = 0; i < MK_JOBS; i++)
				if (!done[i] && running[key_of[i]])
					left++;
			if (left && t < 6000000000000LL + 1000000) {
				t += 1000000;
				for (int k = 0; k < MK_KEYS; k++)
					running[k] = 0;
			}
		}
	}
	T_ASSERT(failed_once);
	T_ASSERT(claim(s, "w", t + 10000000) == NULL);
	store_close(s);
}

static void test_expired_lease_is_reclaimed_and_old_owner_loses(void)
{
	struct store *s = fresh("lease");
	struct store_job *j, *again;
	char err[HS_ERRBUF];
	int64_t id = add(s, "l1", "k");
	int64_t t = 2000000000000LL;

	j = claim(s, "dead-worker", t);
	T_ASSERT(j && j->attempts == 1);
	T_ASSERT(claim(s, "w2", t + 999) == NULL);   /* lease still live */
	T_EQ_INT(store_job_renew(s, id, "dead-worker", t + 1500), HS_OK);
	T_ASSERT(claim(s, "w2", t + 1200) == NULL);  /* renewed */
	again = claim(s, "w2", t + 1501);
	T_ASSERT(again && again->id == id && again->attempts == 2);
	T_EQ_INT(store_job_done(s, id, "dead-worker", 1, err), HS_ECONFLICT);
	T_EQ_INT(store_job_done(s, id, "w2", 1, err), HS_OK);
	store_job_free(j);
	store_job_free(again);
	store_close(s);
}

static void test_fail_retry_dead_and_manual_retry(void)
{
	struct store *s = fresh("fail");
	struct store_job *j;
	struct store_queue_stats st;
	char err[HS_ERRBUF];
	int64_t id = add(s, "f1", "k"), t = 3000000000000LL;

	j = claim(s, "w", t);
	T_EQ_INT(store_job_fail(s, id, "w", t + 500, "boom", err), HS_OK);
	store_job_free(j);
	T_ASSERT(claim(s, "w", t + 499) == NULL); /* not due yet */
	j = claim(s, "w", t + 500);
	T_ASSERT(j && j->attempts == 2);
	T_EQ_INT(store_job_fail(s, id, "w", 0, "boom again", err), HS_OK); /* dead */
	store_job_free(j);
	T_ASSERT(claim(s, "w", t + 100000) == NULL);
	T_EQ_INT(store_queue_stats(s, &st), HS_OK);
	T_EQ_INT(st.dead, 1);
	/* a dead job does not block later jobs of its key */
	add(s, "f2", "k");
	j = claim(s, "w", t + 100000);
	T_ASSERT(j && strcmp(j->guid, "f2") == 0);
	T_EQ_INT(store_job_done(s, j->id, "w", 1, err), HS_OK);
	store_job_free(j);
	T_EQ_INT(store_delivery_retry(s, "nope", err), HS_ENOTFOUND);
	T_EQ_INT(store_delivery_retry(s, "f1", err), HS_OK);
	T_EQ_INT(store_delivery_retry(s, "f1", err), HS_ENOTFOUND); /* no longer dead */
	j = claim(s, "w", 9000000000000LL);
	T_ASSERT(j && j->id == id && j->attempts == 1);
	store_job_free(j);
	store_close(s);
}

static void test_release_does_not_count_an_attempt(void)
{
	struct store *s = fresh("release");
	struct store_job *j;
	int64_t id = add(s, "r1", "k"), t = 4000000000000LL;

	j = claim(s, "w", t);
	T_EQ_INT(store_job_release(s, id, "w"), HS_OK);
	store_job_free(j);
	j = claim(s, "w2", t + 1);
	T_ASSERT(j && j->attempts == 1);
	store_job_free(j);
	store_close(s);
}

static void test_backoff_grows_and_is_capped(void)
{
	struct queue_opts o = { NULL, 1, 1000, 8, 1000, 60000 };
	unsigned seed = 1;
	int d1 = queue_backoff_ms(&o, 1, &seed), d3 = queue_backoff_ms(&o, 3, &seed);
	int d20 = queue_backoff_ms(&o, 20, &seed);

	T_ASSERT(d1 >= 750 && d1 <= 1250);
	T_ASSERT(d3 >= 3000 && d3 <= 5000);
	T_ASSERT(d20 >= 45000 && d20 <= 75000);
}

static void test_blob_cache_round_trip(void)
{
	struct store *s = fresh("blobs");
	struct gh_blob_cache c;
	char *data = NULL;
	size_t len = 0;
	static const char bin[] = { 'a', 0, 'b', '\n' };

	blobcache_init(&c, s);
	T_EQ_INT(c.get(c.ctx, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", &data, &len), GH_ENOTFOUND);
	T_ASSERT(data == NULL);
	T_EQ_INT(c.put(c.ctx, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", bin, sizeof(bin)), GH_OK);
	T_EQ_INT(c.put(c.ctx, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "other", 5), GH_OK);
	T_EQ_INT(c.get(c.ctx, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", &data, &len), GH_OK);
	T_EQ_INT(len, sizeof(bin)); /* the first copy stays: blobs never change */
	T_ASSERT(memcmp(data, bin, sizeof(bin)) == 0);
	free(data);
	store_close(s);
}

static int collect_op(const struct store_op *op, void *arg)
{
	char *ids = arg;

	strcat(ids, op->id);
	strcat(ids, op->attempt_ms ? "* " : " ");
	return 0;
}

/* Operations: stored with their job in one transaction, a NetBox body's
 * digest stored once, opened oldest first, finished once, writes known. */
static void test_operations(void)
{
	struct store *s = fresh("ops");
	struct store_fabric f = { "fab", "acme", "x", "main", "", 7, 0, NULL };
	struct store_op op = { .fabric = "fab", .source = "netbox", .author_name = "alice",
			       .author_email = "alice@netbox.invalid", .changes = "[]" };
	const char *wpath[] = { "managed/vpcs/v.yaml" };
	const char *wblob[] = { "0123456789012345678901234567890123456789" };
	struct store_op_done d = { .id = "op-1", .state = STORE_OP_COMMITTED,
				   .commit_sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				   .write_path = wpath, .write_blob = wblob, .n_writes = 1 };
	struct store_op_counts c;
	char err[HS_ERRBUF], existing[64] = "", ids[256] = "", who[64] = "";
	int64_t job = 0;

	T_EQ_INT(store_fabric_add(s, &f, err), HS_OK);
	op.id = "op-1";
	op.dedup = "digest-1";
	T_EQ_INT(store_op_add(s, &op, "netbox.change", "acme/x@main", "{}", existing, &job, err),
		 HS_OK);
	T_ASSERT(job > 0);
	op.id = "op-2";
	T_EQ_INT(store_op_add(s, &op, "netbox.change", "acme/x@main", "{}", existing, &job, err),
		 HS_ECONFLICT);
	T_EQ_STR(existing, "op-1");
	op.dedup = NULL;
	T_EQ_INT(store_op_add(s, &op, "netbox.change", "acme/x@main", "{}", existing, NULL, err),
		 HS_OK);
	T_EQ_INT(store_op_open(s, "fab", 10, collect_op, ids, err), HS_OK);
	T_EQ_STR(ids, "op-1 op-2 ");
	T_EQ_INT(store_op_attempt(s, "fab", &d, 1, 1000, err), HS_OK);
	ids[0] = '\0';
	T_EQ_INT(store_op_open(s, "fab", 1, collect_op, ids, err), HS_OK);
	T_EQ_STR(ids, "op-1* ");
	T_EQ_INT(store_op_writer(s, "fab", wpath[0], wblob[0], who), HS_OK);
	T_EQ_STR(who, "op-1");
	T_EQ_INT(store_op_writer(s, "fab", wpath[0], "ffffffffffffffffffffffffffffffffffffffff",
				 who), HS_ENOTFOUND);
	T_EQ_INT(store_op_finish(s, "fab", &d, 1, 2000, err), HS_OK);
	d.state = STORE_OP_CONFLICT; /* a second finish changes nothing */
	T_EQ_INT(store_op_finish(s, "fab", &d, 1, 3000, err), HS_OK);
	T_EQ_INT(store_op_counts(s, "fab", &c), HS_OK);
	T_EQ_INT((int)c.queued, 1);
	T_EQ_INT((int)c.conflicts, 0);
	ids[0] = '\0';
	T_EQ_INT(store_op_get(s, "op-1", collect_op, ids, err), HS_OK);
	T_EQ_INT(store_op_get(s, "op-9", collect_op, ids, err), HS_ENOTFOUND);
	/* removing the fabric removes its operations */
	T_EQ_INT(store_fabric_delete(s, "fab", err), HS_OK);
	T_EQ_INT(store_op_get(s, "op-2", collect_op, ids, err), HS_ENOTFOUND);
	store_close(s);
}

struct notes_seen {
	char text[1024];
	int64_t first_id;
};

static int collect_note(const struct store_note *n, void *arg)
{
	struct notes_seen *ns = arg;
	size_t len = strlen(ns->text);

	if (!ns->first_id)
		ns->first_id = n->id;
	snprintf(ns->text + len, sizeof(ns->text) - len, "%s:%s:%s:%s ", n->fabric, n->action,
		 n->name, n->state);
	return 0;
}

static void replace(struct store *s, const char *fabric, const char *head,
		    const char *const *names, const char *const *blobs, size_t n)
{
	struct store_resource r[8];
	char err[HS_ERRBUF];

	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		r[i].kind = "VPC";
		r[i].name = names[i];
		r[i].path = names[i];
		r[i].blob_sha = blobs[i];
		r[i].spec = "{\"kind\":\"VPC\"}";
		r[i].findings = "[]";
		r[i].valid = 1;
		r[i].origin = "git";
	}
	T_EQ_INT(store_resources_replace(s, fabric, head, r, n, err), HS_OK);
}

/* The outbox: one notification per change of the state while notifying is
 * on, sent in order per fabric, retried, dead-lettered, retried by hand. */
static void test_outbox(void)
{
	struct store *s = fresh("outbox");
	struct store_fabric f1 = { "f1", "acme", "x", "main", "a", 7, 0, NULL };
	struct store_fabric f2 = { "f2", "acme", "x", "main", "b", 7, 0, NULL };
	const char *ab[] = { "a", "b" }, *b[] = { "b" }, *c[] = { "c" };
	const char *s11[] = { "1111111111111111111111111111111111111111",
			      "2222222222222222222222222222222222222222" };
	const char *s2[] = { "3333333333333333333333333333333333333333" };
	struct notes_seen ns = { "", 0 };
	struct store_note_counts nc;
	char err[HS_ERRBUF];
	int64_t next = -1;
	int n = 0;

	T_EQ_INT(store_fabric_add(s, &f1, err), HS_OK);
	T_EQ_INT(store_fabric_add(s, &f2, err), HS_OK);
	replace(s, "f1", "h0", ab, s11, 2);        /* off: nothing queued */
	T_EQ_INT(store_note_next(s, 0, collect_note, &ns, &next, err), HS_ENOTFOUND);
	T_EQ_INT((int)next, 0);
	T_EQ_INT(store_notify_enable(s, 1, err), HS_OK);
	replace(s, "f1", "h1", ab, s11, 2);        /* the same: no change, nothing */
	T_EQ_INT(store_note_next(s, 0, collect_note, &ns, NULL, err), HS_ENOTFOUND);
	replace(s, "f1", "h2", b, s2, 1);          /* a deleted, b changed */
	replace(s, "f2", "h2", c, s2, 1);          /* c created in another fabric */
	T_EQ_INT(store_note_list(s, NULL, 10, collect_note, &ns, err), HS_OK);
	T_EQ_STR(ns.text, "f2:created:c:pending f1:deleted:a:pending f1:updated:b:pending ");
	/* f1's first change fails: f1 waits, f2 goes on */
	memset(&ns, 0, sizeof(ns));
	T_EQ_INT(store_note_next(s, 1000, collect_note, &ns, NULL, err), HS_OK);
	T_EQ_STR(ns.text, "f1:updated:b:pending ");
	T_EQ_INT(store_note_failed(s, ns.first_id, 5000, 0, "NetBox answered 503", err), HS_OK);
	memset(&ns, 0, sizeof(ns));
	T_EQ_INT(store_note_next(s, 1000, collect_note, &ns, NULL, err), HS_OK);
	T_EQ_STR(ns.text, "f2:created:c:pending ");
	T_EQ_INT(store_note_delivered(s, ns.first_id, 1000, err), HS_OK);
	memset(&ns, 0, sizeof(ns));
	T_EQ_INT(store_note_next(s, 1000, collect_note, &ns, &next, err), HS_ENOTFOUND);
	T_EQ_INT((int)next, 5000);
	T_EQ_INT(store_note_next(s, 5000, collect_note, &ns, NULL, err), HS_OK);
	T_EQ_STR(ns.text, "f1:updated:b:pending ");
	T_EQ_INT(store_note_failed(s, ns.first_id, 0, 1, "NetBox answered 503", err), HS_OK);
	T_EQ_INT(store_note_counts(s, NULL, &nc), HS_OK);
	T_EQ_INT((int)nc.pending, 1);
	T_EQ_INT((int)nc.dead, 1);
	T_EQ_INT(store_note_counts(s, "f2", &nc), HS_OK);
	T_EQ_INT((int)(nc.pending + nc.dead), 0);
	/* the dead one no longer holds f1 back: its next change goes */
	memset(&ns, 0, sizeof(ns));
	T_EQ_INT(store_note_next(s, 5000, collect_note, &ns, NULL, err), HS_OK);
	T_EQ_STR(ns.text, "f1:deleted:a:pending ");
	T_EQ_INT(store_note_retry(s, 0, 6000, &n, err), HS_OK);
	T_EQ_INT(n, 1);
	T_EQ_INT(store_note_retry(s, 12345, 6000, &n, err), HS_ENOTFOUND);
	T_EQ_INT(store_note_purge(s, 2000, err), HS_OK); /* the delivered one */
	memset(&ns, 0, sizeof(ns));
	T_EQ_INT(store_note_list(s, "delivered", 10, collect_note, &ns, err), HS_OK);
	T_EQ_STR(ns.text, "");
	store_close(s);
}

const struct unit_test unit_tests[] = {
	UNIT(test_outbox),
	UNIT(test_operations),
	UNIT(test_blob_cache_round_trip),
	UNIT(test_migrate_is_idempotent_and_refuses_newer),
	UNIT(test_duplicate_guid_conflicts_and_writes_nothing),
	UNIT(test_one_key_in_order_other_keys_in_parallel),
	UNIT(test_claim_heads_across_many_keys),
	UNIT(test_expired_lease_is_reclaimed_and_old_owner_loses),
	UNIT(test_fail_retry_dead_and_manual_retry),
	UNIT(test_release_does_not_count_an_attempt),
	UNIT(test_backoff_grows_and_is_capped),
	{ NULL, NULL },
};
