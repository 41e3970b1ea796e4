/* store.c: sqlite schema, migrations, deliveries and the job queue. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/store.h"

#define BUSY_TIMEOUT_MS 10000

/* Statements prepared once per connection. */
enum stmt_id {
	ST_BLOB_GET,
	ST_BLOB_PUT,
	ST_DELIVERY_INSERT_IGNORE,
	ST_JOB_INSERT,
	ST_JOB_PEEK,
	ST_JOB_CLAIM,
	ST_JOB_RENEW,
	ST_JOB_DONE,
	ST_JOB_FAIL,
	ST_JOB_RELEASE,
	ST_DELIVERY_STATE,
	ST_DELIVERY_EXISTS,
	ST_COUNT
};

/*
 * The head of each ordering key is its unfinished job with the lowest id.
 * A head runs when it is due and nobody holds a live lease on it; later
 * jobs of the same key wait, so one repository branch sees its jobs in
 * arrival order, one at a time.
 *
 * The claim holds the write lock, so it must not read every open job:
 * "keys" walks the distinct open ordering keys by seeking jobs_open
 * (a loose index scan), and each key's head is one more seek.  The cost
 * grows with the number of busy branches, not with the backlog.
 */
#define OPEN_KEYS_CTE \
	"WITH RECURSIVE keys(k) AS (" \
	"  SELECT min(ordering_key) FROM jobs INDEXED BY jobs_open" \
	"   WHERE state IN ('queued', 'running')" \
	"  UNION ALL" \
	"  SELECT (SELECT min(ordering_key) FROM jobs INDEXED BY jobs_open" \
	"          WHERE state IN ('queued', 'running') AND ordering_key > keys.k)" \
	"   FROM keys WHERE keys.k IS NOT NULL)"
#define RUNNABLE_HEAD \
	"SELECT j.id FROM keys JOIN jobs j ON j.id =" \
	"   (SELECT min(h.id) FROM jobs h INDEXED BY jobs_open" \
	"     WHERE h.state IN ('queued', 'running') AND h.ordering_key = keys.k)" \
	"  WHERE (j.state = 'queued' AND j.run_after_ms <= ?2)" \
	"     OR (j.state = 'running' AND j.lease_until_ms < ?2)" \
	"  ORDER BY j.id LIMIT 1"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BLOB_GET] = "SELECT data FROM blobs WHERE sha = ?1",
	[ST_BLOB_PUT] = "INSERT OR IGNORE INTO blobs(sha, data, stored_ms) VALUES (?1, ?2, ?3)",
	[ST_DELIVERY_INSERT_IGNORE] =
		"INSERT OR IGNORE INTO deliveries(guid, event, action, repo, installation_id,"
		" received_ms, state, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_JOB_INSERT] =
		"INSERT INTO jobs(delivery_id, kind, ordering_key, payload, state,"
		" run_after_ms, created_ms) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5)",
	/* The same question without the write lock: most wake-ups of an idle
	 * worker find nothing runnable and need not take the lock to learn it. */
	[ST_JOB_PEEK] = OPEN_KEYS_CTE RUNNABLE_HEAD,
	[ST_JOB_CLAIM] =
		OPEN_KEYS_CTE
		"UPDATE jobs SET state = 'running', lease_owner = ?1, lease_until_ms = ?3,"
		" attempts = attempts + 1, started_ms = ?2"
		" WHERE id = (" RUNNABLE_HEAD ")"
		" RETURNING id, delivery_id, kind, ordering_key, payload, attempts, created_ms",
	[ST_JOB_RENEW] =
		"UPDATE jobs SET lease_until_ms = ?3 WHERE id = ?1 AND lease_owner = ?2"
		" AND state = 'running'",
	[ST_JOB_DONE] =
		"UPDATE jobs SET state = 'done', finished_ms = ?3, duration_ms = ?4,"
		" lease_owner = NULL, lease_until_ms = NULL, last_error = NULL"
		" WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
	[ST_JOB_FAIL] =
		"UPDATE jobs SET state = CASE WHEN ?3 = 0 THEN 'dead' ELSE 'queued' END,"
		" run_after_ms = ?3, last_error = ?4, lease_owner = NULL,"
		" lease_until_ms = NULL, finished_ms = CASE WHEN ?3 = 0 THEN ?5 END"
		" WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
	[ST_JOB_RELEASE] =
		"UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0),"
		" lease_owner = NULL, lease_until_ms = NULL"
		" WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
	[ST_DELIVERY_STATE] =
		"SELECT guid, event, action FROM deliveries WHERE id = ?1",
	[ST_DELIVERY_EXISTS] =
		"SELECT count(*) FROM deliveries WHERE guid = ?1",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	int64_t busy_since_ms; /* when the current wait for the write lock began */
};

/*
 * Waiting for the write lock.  sqlite's own busy handler sleeps in growing
 * steps up to 100 ms, so under steady writing (intake's group commit and the
 * workers' claims) a waiter keeps waking after the lock was taken again and
 * its wait grows into a long tail.  The connections of this process instead
 * wait for the end of any of their write transactions (the WAL hook runs
 * after a commit released the lock, the rollback hook at a rollback), and
 * look again at least every BUSY_POLL_MS for writers in other processes (the
 * CLI) and for checkpoints.  This is a process-wide fact about the database
 * file, not request state.
 */
#define BUSY_POLL_MS 2

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t writer_done = PTHREAD_COND_INITIALIZER;
static uint64_t writer_generation;

static void writer_finished(void)
{
	pthread_mutex_lock(&writer_lock);
	writer_generation++;
	pthread_cond_broadcast(&writer_done);
	pthread_mutex_unlock(&writer_lock);
}

/* Installing a WAL hook replaces sqlite's automatic checkpoint, so this
 * one also does what that did: a passive checkpoint past 1000 pages. */
#define CHECKPOINT_PAGES 1000

static int wal_committed(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)arg;
	writer_finished();
	if (pages >= CHECKPOINT_PAGES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static void rolled_back(void *arg)
{
	(void)arg;
	writer_finished();
}

static int busy_wait(void *arg, int count)
{
	struct store *s = arg;
	int64_t now = hs_now_ms();
	struct timespec until;
	uint64_t gen;

	if (count == 0)
		s->busy_since_ms = now;
	else if (now - s->busy_since_ms >= BUSY_TIMEOUT_MS)
		return 0; /* SQLITE_BUSY to the caller */
	hs_deadline_ms(&until, CLOCK_REALTIME, BUSY_POLL_MS);
	pthread_mutex_lock(&writer_lock);
	gen = writer_generation;
	while (gen == writer_generation &&
	       pthread_cond_timedwait(&writer_done, &writer_lock, &until) == 0)
		;
	pthread_mutex_unlock(&writer_lock);
	return 1;
}

/* Forward migrations; migrations[i] takes the schema from version i to i+1. */
/* The wall clock in milliseconds, in SQL (sqlite 3.40 has no unixepoch('subsec')). */
#define NOW_MS_SQL "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

static const char *const migrations[] = {
	/* 1: deliveries and the job queue */
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  guid TEXT NOT NULL UNIQUE,"
	"  event TEXT NOT NULL,"
	"  action TEXT,"
	"  repo TEXT,"
	"  installation_id INTEGER NOT NULL DEFAULT 0,"
	"  received_ms INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"           /* queued or ignored at intake */
	"  body BLOB NOT NULL"
	");"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY,"
	"  delivery_id INTEGER REFERENCES deliveries(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  ordering_key TEXT NOT NULL,"
	"  payload BLOB,"                  /* for jobs no delivery carries */
	"  state TEXT NOT NULL CHECK (state IN ('queued','running','done','dead')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  run_after_ms INTEGER NOT NULL,"
	"  lease_owner TEXT,"
	"  lease_until_ms INTEGER,"
	"  last_error TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  started_ms INTEGER,"
	"  finished_ms INTEGER,"
	"  duration_ms INTEGER"
	");"
	"CREATE INDEX jobs_open ON jobs(ordering_key, id) WHERE state IN ('queued','running');"
	"CREATE INDEX jobs_state ON jobs(state);"
	"CREATE INDEX jobs_delivery ON jobs(delivery_id);",
	/* 2: git blobs by sha; a blob never changes, so entries never go stale */
	"CREATE TABLE blobs ("
	"  sha TEXT PRIMARY KEY,"
	"  data BLOB NOT NULL,"
	"  stored_ms INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 3: fabrics and their resource state */
	"CREATE TABLE fabrics ("
	"  name TEXT PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  repo TEXT NOT NULL,"
	"  branch TEXT NOT NULL,"
	"  directory TEXT NOT NULL,"
	"  installation_id INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  head TEXT"                      /* commit the resource state was built from */
	");"
	"CREATE UNIQUE INDEX fabrics_place ON fabrics(owner, repo, branch, directory);"
	"CREATE TABLE resources ("
	"  fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  blob_sha TEXT NOT NULL,"
	"  commit_sha TEXT NOT NULL,"
	"  spec TEXT NOT NULL,"            /* the whole resource as JSON */
	"  valid INTEGER NOT NULL,"
	"  findings TEXT NOT NULL,"        /* JSON array */
	"  origin TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  PRIMARY KEY (fabric, kind, name)"
	");",
	/* 4: redeliveries hedgesync asked GitHub for */
	"CREATE TABLE redeliveries ("
	"  guid TEXT PRIMARY KEY,"
	"  asks INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 5: tombstones, so cursors over the resource state see deletions */
	"ALTER TABLE resources ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE resources ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;"
	"CREATE INDEX resources_seq ON resources(fabric, seq);",
	/* 6: change requests from NetBox and the API, and what they wrote */
	"CREATE TABLE operations ("
	"  id TEXT PRIMARY KEY,"
	"  fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,"
	"  source TEXT NOT NULL,"          /* api or netbox */
	"  dedup TEXT UNIQUE,"             /* digest of a NetBox body, NULL for the API */
	"  author_name TEXT NOT NULL,"
	"  author_email TEXT NOT NULL,"
	"  message TEXT,"
	"  changes TEXT NOT NULL,"         /* JSON array */
	"  state TEXT NOT NULL CHECK (state IN ('queued','committed','noop','conflict','failed')),"
	"  result TEXT,"                   /* JSON: conflicts, error */
	"  commit_sha TEXT,"
	"  attempt_ms INTEGER,"            /* a write was tried: look for it before another */
	"  created_ms INTEGER NOT NULL,"
	"  finished_ms INTEGER"
	");"
	"CREATE INDEX operations_open ON operations(fabric, created_ms) WHERE state = 'queued';"
	"CREATE TABLE op_writes ("
	"  fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  blob_sha TEXT NOT NULL,"
	"  op_id TEXT NOT NULL,"
	"  PRIMARY KEY (fabric, path, blob_sha)"
	") WITHOUT ROWID;"
	"ALTER TABLE resources ADD COLUMN operation TEXT;",
	/* 7: the NetBox outbox, filled by the resource state itself: a change
	 * of a resource (its sequence number moves) is a notification, in the
	 * same transaction, while notifying is on */
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," /* the change id: never reused */
	"  fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  action TEXT NOT NULL CHECK (action IN ('created','updated','deleted')),"
	"  kind TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL,"
	"  blob_sha TEXT, commit_sha TEXT, origin TEXT, operation TEXT, spec TEXT,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"   CHECK (state IN ('pending','delivered','dead')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_ms INTEGER NOT NULL DEFAULT 0,"
	"  since_ms INTEGER NOT NULL,"           /* the give-up window starts here */
	"  created_ms INTEGER NOT NULL,"
	"  delivered_ms INTEGER,"
	"  last_error TEXT"
	");"
	"CREATE INDEX outbox_pending ON outbox(fabric, id) WHERE state = 'pending';"
	"CREATE INDEX outbox_done ON outbox(delivered_ms) WHERE state = 'delivered';"
	"CREATE TRIGGER resources_outbox_new AFTER INSERT ON resources"
	" WHEN (SELECT value FROM settings WHERE key = 'notify') = '1' BEGIN"
	"  INSERT INTO outbox(fabric, seq, action, kind, name, path, blob_sha, commit_sha,"
	"   origin, operation, spec, since_ms, created_ms)"
	"  VALUES (new.fabric, new.seq, 'created', new.kind, new.name, new.path, new.blob_sha,"
	"   new.commit_sha, new.origin, new.operation, new.spec, " NOW_MS_SQL ", " NOW_MS_SQL ");"
	" END;"
	"CREATE TRIGGER resources_outbox_change AFTER UPDATE OF seq ON resources"
	" WHEN new.seq <> old.seq"
	"  AND (SELECT value FROM settings WHERE key = 'notify') = '1' BEGIN"
	"  INSERT INTO outbox(fabric, seq, action, kind, name, path, blob_sha, commit_sha,"
	"   origin, operation, spec, since_ms, created_ms)"
	"  VALUES (new.fabric, new.seq, CASE WHEN new.deleted THEN 'deleted'"
	"   WHEN old.deleted THEN 'created' ELSE 'updated' END, new.kind, new.name, new.path,"
	"   new.blob_sha, new.commit_sha, new.origin, new.operation, new.spec,"
	"   " NOW_MS_SQL ", " NOW_MS_SQL ");"
	" END;",
	/* 8: the next sequence number is max(seq) over every fabric; without
	 * an index of its own that is a scan per stored resource */
	"CREATE INDEX resources_seq_global ON resources(seq);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(*migrations)))

static int db_error(struct store *s, char *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);

	hs_seterr(err, "%s: %s", what, sqlite3_errmsg(s->db));
	if ((code & 0xff) == SQLITE_CONSTRAINT)
		return HS_ECONFLICT;
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
		return HS_ERETRY;
	return HS_EDB;
}

static int exec(struct store *s, const char *sql, char *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		hs_seterr(err, "%s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return HS_EDB;
	}
	return HS_OK;
}

/* The prepared statement `id`, reset and unbound, ready to bind. */
static sqlite3_stmt *stmt(struct store *s, enum stmt_id id, char *err)
{
	sqlite3_stmt *st = s->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &st, NULL) != SQLITE_OK) {
			db_error(s, err, "prepare");
			return NULL;
		}
		s->stmt[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int store_open(const char *path, struct store **out, char *err)
{
	struct store *s = hs_calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		hs_seterr(err, "cannot open database %s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		rc = HS_EDB;
		goto fail;
	}
	sqlite3_busy_handler(s->db, busy_wait, s);
	sqlite3_wal_hook(s->db, wal_committed, NULL);
	sqlite3_rollback_hook(s->db, rolled_back, NULL);
	/* WAL: readers do not block the writer.  synchronous=FULL: a delivery
	 * answered 202 survives a power loss, not only a crash. */
	rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;", err);
	if (rc)
		goto fail;
	*out = s;
	return HS_OK;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

int store_schema_latest(void)
{
	return N_MIGRATIONS;
}

int store_schema_version(struct store *s, int *version)
{
	sqlite3_stmt *st;
	int rc = HS_EDB;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return HS_EDB;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = HS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_migrate(struct store *s, char *err)
{
	int version, rc;
	char sql[64];

	rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	/* Read the version inside the write lock: two processes starting at
	 * once must not both run the same step. */
	if (store_schema_version(s, &version)) {
		rc = db_error(s, err, "read schema version");
		goto rollback;
	}
	if (version > N_MIGRATIONS) {
		hs_seterr(err, "database schema %d is newer than this hedgesync (%d)",
			  version, N_MIGRATIONS);
		rc = HS_EINVAL;
		goto rollback;
	}
	for (; version < N_MIGRATIONS; version++) {
		rc = exec(s, migrations[version], err);
		if (rc)
			goto rollback;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		rc = exec(s, sql, err);
		if (rc)
			goto rollback;
	}
	return exec(s, "COMMIT", err);
rollback:
	exec(s, "ROLLBACK", NULL);
	return rc;
}

int store_delivery_add(struct store *s, const struct store_delivery_in *d,
		       int64_t *job_id, char *err)
{
	int result;
	int64_t job;
	int rc = store_delivery_add_batch(s, d, 1, &result, &job, err);

	if (job_id)
		*job_id = rc ? 0 : job;
	if (rc)
		return rc;
	if (result == HS_ECONFLICT) {
		hs_seterr(err, "delivery %s is already stored", d->guid);
		return HS_ECONFLICT;
	}
	return HS_OK;
}

int store_delivery_add_batch(struct store *s, const struct store_delivery_in *d,
			     size_t n, int *result, int64_t *job_id, char *err)
{
	sqlite3_stmt *st = NULL;
	int64_t now = hs_now_ms();
	int rc;

	rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return db_error(s, err, "begin");
	for (size_t i = 0; i < n; i++) {
		int64_t delivery;

		result[i] = HS_OK;
		job_id[i] = 0;
		st = stmt(s, ST_DELIVERY_INSERT_IGNORE, err);
		if (!st) {
			rc = HS_EDB;
			goto rollback;
		}
		bind_text(st, 1, d[i].guid);
		bind_text(st, 2, d[i].event);
		bind_text(st, 3, d[i].action);
		bind_text(st, 4, d[i].repo);
		sqlite3_bind_int64(st, 5, d[i].installation_id);
		sqlite3_bind_int64(st, 6, now);
		bind_text(st, 7, d[i].job_kind ? "queued" : "ignored");
		sqlite3_bind_blob64(st, 8, d[i].len ? d[i].body : "", d[i].len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_error(s, err, "store delivery");
			goto rollback;
		}
		sqlite3_reset(st);
		if (sqlite3_changes(s->db) == 0) {
			result[i] = HS_ECONFLICT; /* stored before: not again */
			continue;
		}
		delivery = sqlite3_last_insert_rowid(s->db);
		if (!d[i].job_kind)
			continue;
		st = stmt(s, ST_JOB_INSERT, err);
		if (!st) {
			rc = HS_EDB;
			goto rollback;
		}
		sqlite3_bind_int64(st, 1, delivery);
		bind_text(st, 2, d[i].job_kind);
		bind_text(st, 3, d[i].ordering_key ? d[i].ordering_key : "");
		sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, now);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_error(s, err, "store job");
			goto rollback;
		}
		sqlite3_reset(st);
		job_id[i] = sqlite3_last_insert_rowid(s->db);
	}
	st = NULL;
	rc = exec(s, "COMMIT", err);
	if (rc)
		goto rollback;
	return HS_OK;
rollback:
	if (st)
		sqlite3_reset(st);
	exec(s, "ROLLBACK", NULL);
	return rc;
}

int store_job_add(struct store *s, const char *kind, const char *ordering_key,
		  const void *payload, size_t len, int64_t *job_id, char *err)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_INSERT, err);
	int rc = HS_OK;

	if (!st)
		return HS_EDB;
	sqlite3_bind_null(st, 1);
	bind_text(st, 2, kind);
	bind_text(st, 3, ordering_key ? ordering_key : "");
	sqlite3_bind_blob64(st, 4, len ? payload : "", len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, hs_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, "store job");
	else if (job_id)
		*job_id = sqlite3_last_insert_rowid(s->db);
	sqlite3_reset(st);
	return rc;
}

void store_job_free(struct store_job *j)
{
	if (!j)
		return;
	free(j->kind);
	free(j->ordering_key);
	free(j->guid);
	free(j->event);
	free(j->action);
	free(j->payload);
	free(j);
}

static char *column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? hs_strdup((const char *)t) : NULL;
}

/* Fill in the delivery a job was made from: its guid, event and body. */
static int load_delivery(struct store *s, struct store_job *j, char *err)
{
	sqlite3_stmt *st;
	int rc = HS_OK;

	st = stmt(s, ST_DELIVERY_STATE, err);
	if (!st)
		return HS_EDB;
	sqlite3_bind_int64(st, 1, j->delivery_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_error(s, err, "load delivery");
		goto out;
	}
	j->guid = column_dup(st, 0);
	j->event = column_dup(st, 1);
	j->action = column_dup(st, 2);
out:
	sqlite3_reset(st);
	if (rc)
		return rc;
	/* The body can be large: read it through the blob API, without a copy
	 * into the statement's own buffers. */
	{
		sqlite3_blob *blob = NULL;
		int n;

		if (sqlite3_blob_open(s->db, "main", "deliveries", "body", j->delivery_id, 0,
				      &blob) != SQLITE_OK)
			return db_error(s, err, "open delivery body");
		n = sqlite3_blob_bytes(blob);
		free(j->payload);
		j->payload = hs_malloc((size_t)n + 1);
		if (sqlite3_blob_read(blob, j->payload, n, 0) != SQLITE_OK) {
			rc = db_error(s, err, "read delivery body");
			sqlite3_blob_close(blob);
			return rc;
		}
		j->payload[n] = '\0';
		j->payload_len = (size_t)n;
		sqlite3_blob_close(blob);
	}
	return HS_OK;
}

/*
 * Job bookkeeping (claim, lease, finish) commits with synchronous=NORMAL: in
 * WAL mode that is still atomic and survives a crash of the process, and
 * the next full-sync commit (the next delivery stored) makes it durable
 * with its own fsync, since the WAL is synced as a whole.  A power loss can
 * forget only the latest claims and finishes, and then the job runs again,
 * which every handler allows.  What hedgesync answers for (a delivery's
 * 202, an operation's 202, a handler's own writes) stays synchronous=FULL.
 */
static void job_bookkeeping(struct store *s, int on)
{
	/* Not a cached statement: sqlite applies "PRAGMA synchronous" while
	 * compiling it, so a prepared one only works by being re-compiled on
	 * each run; exec says what happens. */
	exec(s, on ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", NULL);
}

/* Is a job runnable at now_ms?  A read, without the write lock. */
static int job_runnable(struct store *s, int64_t now_ms, char *err)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_PEEK, err);
	int step;

	if (!st)
		return HS_EDB;
	sqlite3_bind_int64(st, 2, now_ms);
	step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step == SQLITE_ROW)
		return HS_OK;
	if (step == SQLITE_DONE)
		return HS_ENOTFOUND;
	return db_error(s, err, "look for a job");
}

int store_job_claim(struct store *s, const char *owner, int64_t now_ms,
		    int64_t lease_ms, struct store_job **job, char *err)
{
	sqlite3_stmt *st = NULL;
	struct store_job *j = NULL;
	int rc, step;

	*job = NULL;
	rc = job_runnable(s, now_ms, err);
	if (rc)
		return rc;
	job_bookkeeping(s, 1);
	rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc) {
		rc = db_error(s, err, "begin");
		goto rollback;
	}
	st = stmt(s, ST_JOB_CLAIM, err);
	if (!st) {
		rc = HS_EDB;
		goto rollback;
	}
	bind_text(st, 1, owner);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, now_ms + lease_ms);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = HS_ENOTFOUND;
		goto rollback;
	}
	if (step != SQLITE_ROW) {
		rc = db_error(s, err, "claim job");
		goto rollback;
	}
	j = hs_calloc(1, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	j->delivery_id = sqlite3_column_int64(st, 1);
	j->kind = column_dup(st, 2);
	j->ordering_key = column_dup(st, 3);
	{
		int n = sqlite3_column_bytes(st, 4);
		const void *p = sqlite3_column_blob(st, 4);

		j->payload = hs_malloc((size_t)n + 1);
		if (n)
			memcpy(j->payload, p, (size_t)n);
		j->payload[n] = '\0';
		j->payload_len = (size_t)n;
	}
	j->attempts = sqlite3_column_int(st, 5);
	j->created_ms = sqlite3_column_int64(st, 6);
	/* RETURNING rows are all produced by the first step; finish it. */
	while (sqlite3_step(st) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	st = NULL;
	if (j->delivery_id) {
		rc = load_delivery(s, j, err);
		if (rc)
			goto rollback;
	}
	rc = exec(s, "COMMIT", err);
	if (rc)
		goto rollback;
	job_bookkeeping(s, 0);
	*job = j;
	return HS_OK;
rollback:
	if (st)
		sqlite3_reset(st);
	exec(s, "ROLLBACK", NULL);
	job_bookkeeping(s, 0);
	store_job_free(j);
	return rc;
}

/* One bookkeeping UPDATE of a job this owner holds. */
static int run_update(struct store *s, sqlite3_stmt *st, char *err, const char *what)
{
	int rc = HS_OK;

	job_bookkeeping(s, 1);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, what);
	else if (sqlite3_changes(s->db) == 0) {
		hs_seterr(err, "%s: lease lost", what);
		rc = HS_ECONFLICT;
	}
	sqlite3_reset(st);
	job_bookkeeping(s, 0);
	return rc;
}

int store_job_renew(struct store *s, int64_t id, const char *owner, int64_t until_ms)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_RENEW, NULL);

	if (!st)
		return HS_EDB;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, owner);
	sqlite3_bind_int64(st, 3, until_ms);
	return run_update(s, st, NULL, "renew lease");
}

int store_job_done(struct store *s, int64_t id, const char *owner,
		   int64_t duration_ms, char *err)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_DONE, err);

	if (!st)
		return HS_EDB;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, owner);
	sqlite3_bind_int64(st, 3, hs_now_ms());
	sqlite3_bind_int64(st, 4, duration_ms);
	return run_update(s, st, err, "finish job");
}

int store_job_fail(struct store *s, int64_t id, const char *owner,
		   int64_t run_after_ms, const char *error, char *err)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_FAIL, err);

	if (!st)
		return HS_EDB;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, owner);
	sqlite3_bind_int64(st, 3, run_after_ms);
	bind_text(st, 4, error);
	sqlite3_bind_int64(st, 5, hs_now_ms());
	return run_update(s, st, err, "fail job");
}

int store_job_release(struct store *s, int64_t id, const char *owner)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_RELEASE, NULL);

	if (!st)
		return HS_EDB;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, owner);
	return run_update(s, st, NULL, "release job");
}

int store_delivery_exists(struct store *s, const char *guid, int *exists)
{
	sqlite3_stmt *st = stmt(s, ST_DELIVERY_EXISTS, NULL);
	int rc = HS_EDB;

	if (!st)
		return HS_EDB;
	bind_text(st, 1, guid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*exists = sqlite3_column_int(st, 0) > 0;
		rc = HS_OK;
	}
	sqlite3_reset(st);
	return rc;
}

int store_delivery_list(struct store *s, int failed_only, int limit,
			store_delivery_fn fn, void *ctx, char *err)
{
	static const char sql[] =
		"SELECT d.id, d.guid, d.event, d.action, d.repo, d.received_ms,"
		" coalesce(j.state, d.state), coalesce(j.attempts, 0), coalesce(j.id, 0),"
		" j.last_error"
		" FROM deliveries d LEFT JOIN jobs j ON j.delivery_id = d.id"
		" WHERE (?1 = 0 OR j.state = 'dead')"
		" ORDER BY d.id DESC LIMIT ?2";
	sqlite3_stmt *st;
	int rc = HS_OK, step;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "list deliveries");
	sqlite3_bind_int(st, 1, failed_only);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_delivery_row r = {
			.id = sqlite3_column_int64(st, 0),
			.guid = (const char *)sqlite3_column_text(st, 1),
			.event = (const char *)sqlite3_column_text(st, 2),
			.action = (const char *)sqlite3_column_text(st, 3),
			.repo = (const char *)sqlite3_column_text(st, 4),
			.received_ms = sqlite3_column_int64(st, 5),
			.state = (const char *)sqlite3_column_text(st, 6),
			.attempts = sqlite3_column_int(st, 7),
			.job_id = sqlite3_column_int64(st, 8),
			.last_error = (const char *)sqlite3_column_text(st, 9),
		};

		rc = fn(&r, ctx);
		if (rc)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(s, err, "list deliveries");
	sqlite3_finalize(st);
	return rc;
}

int store_delivery_retry(struct store *s, const char *id, char *err)
{
	static const char sql[] =
		"UPDATE jobs SET state = 'queued', attempts = 0, run_after_ms = ?2,"
		" last_error = NULL, finished_ms = NULL"
		" WHERE state = 'dead' AND delivery_id = (SELECT id FROM deliveries"
		"  WHERE guid = ?1 OR CAST(id AS TEXT) = ?1)";
	sqlite3_stmt *st;
	int rc = HS_OK;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "retry delivery");
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, hs_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, "retry delivery");
	else if (sqlite3_changes(s->db) == 0) {
		hs_seterr(err, "no dead-lettered delivery %s", id);
		rc = HS_ENOTFOUND;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_queue_stats(struct store *s, struct store_queue_stats *stats)
{
	static const char sql[] =
		"SELECT state, count(*) FROM jobs GROUP BY state"
		" UNION ALL SELECT 'deliveries', count(*) FROM deliveries";
	sqlite3_stmt *st;
	int step;

	memset(stats, 0, sizeof(*stats));
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return HS_EDB;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);

		if (!k)
			continue;
		if (!strcmp(k, "queued"))
			stats->queued = n;
		else if (!strcmp(k, "running"))
			stats->running = n;
		else if (!strcmp(k, "dead"))
			stats->dead = n;
		else if (!strcmp(k, "done"))
			stats->done = n;
		else if (!strcmp(k, "deliveries"))
			stats->deliveries = n;
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? HS_OK : HS_EDB;
}

int store_blob_has(struct store *s, const char *sha)
{
	sqlite3_stmt *st;
	int has = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM blobs WHERE sha = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	bind_text(st, 1, sha);
	has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return has;
}

int store_blob_get(struct store *s, const char *sha, char **data, size_t *len)
{
	sqlite3_stmt *st = stmt(s, ST_BLOB_GET, NULL);
	int rc = HS_ENOTFOUND, step;

	*data = NULL;
	*len = 0;
	if (!st)
		return HS_EDB;
	bind_text(st, 1, sha);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);

		*data = hs_malloc((size_t)n + 1);
		if (n)
			memcpy(*data, p, (size_t)n);
		(*data)[n] = '\0';
		*len = (size_t)n;
		rc = HS_OK;
	} else if (step != SQLITE_DONE) {
		rc = HS_EDB;
	}
	sqlite3_reset(st);
	return rc;
}

int store_blob_put(struct store *s, const char *sha, const void *data, size_t len)
{
	sqlite3_stmt *st = stmt(s, ST_BLOB_PUT, NULL);
	int rc = HS_OK;

	if (!st)
		return HS_EDB;
	bind_text(st, 1, sha);
	sqlite3_bind_blob64(st, 2, len ? data : "", len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, hs_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = HS_EDB;
	sqlite3_reset(st);
	return rc;
}

/* ---- fabrics ---------------------------------------------------------- */

static void fabric_from_row(sqlite3_stmt *st, struct store_fabric *f)
{
	f->name = (const char *)sqlite3_column_text(st, 0);
	f->owner = (const char *)sqlite3_column_text(st, 1);
	f->repo = (const char *)sqlite3_column_text(st, 2);
	f->branch = (const char *)sqlite3_column_text(st, 3);
	f->directory = (const char *)sqlite3_column_text(st, 4);
	f->installation_id = sqlite3_column_int64(st, 5);
	f->created_ms = sqlite3_column_int64(st, 6);
	f->head = (const char *)sqlite3_column_text(st, 7);
}

#define FABRIC_COLUMNS "name, owner, repo, branch, directory, installation_id, created_ms, head"

int store_fabric_add(struct store *s, const struct store_fabric *f, char *err)
{
	static const char sql[] =
		"INSERT INTO fabrics(" FABRIC_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)";
	sqlite3_stmt *st;
	int rc = HS_OK;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "add fabric");
	bind_text(st, 1, f->name);
	bind_text(st, 2, f->owner);
	bind_text(st, 3, f->repo);
	bind_text(st, 4, f->branch);
	bind_text(st, 5, f->directory);
	sqlite3_bind_int64(st, 6, f->installation_id);
	sqlite3_bind_int64(st, 7, hs_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, "add fabric");
	sqlite3_finalize(st);
	return rc;
}

int store_fabric_each(struct store *s, const char *name, const char *owner,
		      const char *repo, const char *branch, store_fabric_fn fn,
		      void *ctx, char *err)
{
	static const char sql[] =
		"SELECT " FABRIC_COLUMNS " FROM fabrics"
		" WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR owner = ?2)"
		" AND (?3 IS NULL OR repo = ?3) AND (?4 IS NULL OR branch = ?4)"
		" ORDER BY name";
	sqlite3_stmt *st;
	int rc = HS_OK, step, found = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "list fabrics");
	bind_text(st, 1, name);
	bind_text(st, 2, owner);
	bind_text(st, 3, repo);
	bind_text(st, 4, branch);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_fabric f;

		fabric_from_row(st, &f);
		found = 1;
		rc = fn(&f, ctx);
		if (rc)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(s, err, "list fabrics");
	sqlite3_finalize(st);
	if (rc == HS_OK && name && !found) {
		hs_seterr(err, "no fabric named %s", name);
		rc = HS_ENOTFOUND;
	}
	return rc;
}

int store_fabric_delete(struct store *s, const char *name, char *err)
{
	sqlite3_stmt *st;
	int rc = HS_OK;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM fabrics WHERE name = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(s, err, "remove fabric");
	bind_text(st, 1, name);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, "remove fabric");
	else if (sqlite3_changes(s->db) == 0) {
		hs_seterr(err, "no fabric named %s", name);
		rc = HS_ENOTFOUND;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Run one statement with text binds (NULL-terminated list); HS_OK or HS_EDB. */
static int run_sql(struct store *s, const char *sql, char *err, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	const char *v;
	int i = 1, rc = HS_OK;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "prepare");
	va_start(ap, err);
	while ((v = va_arg(ap, const char *)))
		bind_text(st, i++, v);
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, "update resources");
	sqlite3_finalize(st);
	return rc;
}

/*
 * The new state is compared with the stored one: a resource whose path and
 * blob are unchanged keeps its sequence number (its commit and findings are
 * refreshed); a new or changed one gets the next number; one that is gone
 * becomes a tombstone with the next number, so a puller reading "since"
 * its cursor sees deletions too.
 */
int store_resources_replace(struct store *s, const char *fabric, const char *head,
			    const struct store_resource *r, size_t n, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return db_error(s, err, "begin");
	/* everything not re-listed below is gone, unless listed again */
	rc = run_sql(s, "UPDATE resources SET listed = 0 WHERE fabric = ?1", err, fabric, NULL);
	if (rc)
		goto rollback;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO resources(fabric, kind, name, path, blob_sha, commit_sha,"
			       " spec, valid, findings, origin, seq, deleted, listed, operation)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
			       "  (SELECT coalesce(max(seq), 0) + 1 FROM resources), 0, 1, ?11)"
			       " ON CONFLICT(fabric, kind, name) DO UPDATE SET"
			       "  seq = CASE WHEN deleted = 0 AND path = excluded.path"
			       "   AND blob_sha = excluded.blob_sha THEN seq ELSE excluded.seq END,"
			       "  origin = CASE WHEN deleted = 0 AND blob_sha = excluded.blob_sha"
			       "   THEN origin ELSE excluded.origin END,"
			       "  operation = CASE WHEN deleted = 0 AND blob_sha = excluded.blob_sha"
			       "   THEN operation ELSE excluded.operation END,"
			       "  path = excluded.path, blob_sha = excluded.blob_sha,"
			       "  commit_sha = excluded.commit_sha, spec = excluded.spec,"
			       "  valid = excluded.valid, findings = excluded.findings,"
			       "  deleted = 0, listed = 1",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_error(s, err, "store resources");
		st = NULL;
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		bind_text(st, 1, fabric);
		bind_text(st, 2, r[i].kind);
		bind_text(st, 3, r[i].name);
		bind_text(st, 4, r[i].path);
		bind_text(st, 5, r[i].blob_sha);
		bind_text(st, 6, head);
		bind_text(st, 7, r[i].spec);
		sqlite3_bind_int(st, 8, r[i].valid);
		bind_text(st, 9, r[i].findings);
		bind_text(st, 10, r[i].origin);
		bind_text(st, 11, r[i].operation);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_error(s, err, "store resource");
			goto rollback;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	/* tombstones, one sequence number each, in a stable order */
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE resources SET deleted = 1, listed = 1, commit_sha = ?2,"
			       " seq = (SELECT coalesce(max(seq), 0) + 1 FROM resources)"
			       " WHERE rowid = (SELECT rowid FROM resources WHERE fabric = ?1"
			       "  AND listed = 0 AND deleted = 0 ORDER BY kind, name LIMIT 1)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_error(s, err, "delete resources");
		st = NULL;
		goto rollback;
	}
	for (;;) {
		sqlite3_reset(st);
		bind_text(st, 1, fabric);
		bind_text(st, 2, head);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_error(s, err, "delete resources");
			goto rollback;
		}
		if (sqlite3_changes(s->db) == 0)
			break;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = run_sql(s, "UPDATE resources SET listed = 1 WHERE fabric = ?1", err, fabric, NULL);
	if (!rc)
		rc = run_sql(s, "UPDATE fabrics SET head = ?2 WHERE name = ?1", err, fabric, head,
			     NULL);
	if (rc)
		goto rollback;
	return exec(s, "COMMIT", err);
rollback:
	sqlite3_finalize(st);
	exec(s, "ROLLBACK", NULL);
	return rc;
}

#define RESOURCE_COLUMNS "kind, name, path, blob_sha, commit_sha, spec, valid, findings," \
	" origin, seq, deleted, operation"

/* Step st (selecting RESOURCE_COLUMNS) and call fn for each row; finalizes st. */
static int walk_resources(struct store *s, sqlite3_stmt *st, store_resource_fn fn,
			  void *ctx, char *err)
{
	int rc = HS_OK, step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_resource r = {
			.kind = (const char *)sqlite3_column_text(st, 0),
			.name = (const char *)sqlite3_column_text(st, 1),
			.path = (const char *)sqlite3_column_text(st, 2),
			.blob_sha = (const char *)sqlite3_column_text(st, 3),
			.commit_sha = (const char *)sqlite3_column_text(st, 4),
			.spec = (const char *)sqlite3_column_text(st, 5),
			.valid = sqlite3_column_int(st, 6),
			.findings = (const char *)sqlite3_column_text(st, 7),
			.origin = (const char *)sqlite3_column_text(st, 8),
			.seq = sqlite3_column_int64(st, 9),
			.deleted = sqlite3_column_int(st, 10),
			.operation = (const char *)sqlite3_column_text(st, 11),
		};

		rc = fn(&r, ctx);
		if (rc)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(s, err, "list resources");
	sqlite3_finalize(st);
	return rc;
}

int store_resource_each(struct store *s, const char *fabric, store_resource_fn fn,
			void *ctx, char *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT " RESOURCE_COLUMNS " FROM resources WHERE fabric = ?1"
			       " AND deleted = 0 ORDER BY kind, name",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "list resources");
	bind_text(st, 1, fabric);
	return walk_resources(s, st, fn, ctx, err);
}

int store_redelivery_should_ask(struct store *s, const char *guid, int64_t now_ms,
				int64_t min_interval_ms, int max_asks, int *ask)
{
	sqlite3_stmt *st;
	int rc = HS_OK, step;

	*ask = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT (SELECT count(*) FROM deliveries WHERE guid = ?1),"
			       " (SELECT asks FROM redeliveries WHERE guid = ?1),"
			       " (SELECT last_ms FROM redeliveries WHERE guid = ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, NULL, "redeliveries");
	bind_text(st, 1, guid);
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = db_error(s, NULL, "redeliveries");
	} else if (sqlite3_column_int(st, 0) == 0) {
		int asks = sqlite3_column_int(st, 1);
		int64_t last = sqlite3_column_int64(st, 2);

		*ask = sqlite3_column_type(st, 1) == SQLITE_NULL ||
		       (asks < max_asks && now_ms - last >= min_interval_ms);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_redelivery_asked(struct store *s, const char *guid, int64_t now_ms)
{
	sqlite3_stmt *st;
	int rc = HS_OK;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO redeliveries(guid, asks, last_ms) VALUES (?1, 1, ?2)"
			       " ON CONFLICT(guid) DO UPDATE SET asks = asks + 1, last_ms = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, NULL, "redeliveries");
	bind_text(st, 1, guid);
	sqlite3_bind_int64(st, 2, now_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, NULL, "redeliveries");
	sqlite3_finalize(st);
	return rc;
}

int store_resource_changes(struct store *s, const char *fabric, const char *kind,
			   const char *name, int64_t since, int limit, store_resource_fn fn,
			   void *ctx, char *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT " RESOURCE_COLUMNS " FROM resources WHERE fabric = ?1 AND seq > ?2"
			       " AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR name = ?4)"
			       " ORDER BY seq LIMIT ?5",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "list resources");
	bind_text(st, 1, fabric);
	sqlite3_bind_int64(st, 2, since);
	bind_text(st, 3, kind);
	bind_text(st, 4, name);
	sqlite3_bind_int(st, 5, limit > 0 ? limit : -1);
	return walk_resources(s, st, fn, ctx, err);
}

int store_fabric_jobs(struct store *s, const char *fabric, struct store_fabric_jobs *out)
{
	sqlite3_stmt *st;
	int rc = HS_EDB;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(s->db,
			       "SELECT coalesce(sum(j.state IN ('queued','running')), 0),"
			       " coalesce(sum(j.state = 'dead'), 0) FROM jobs j, fabrics f"
			       " WHERE f.name = ?1 AND j.ordering_key = f.owner || '/' || f.repo"
			       " || '@' || f.branch",
			       -1, &st, NULL) != SQLITE_OK)
		return HS_EDB;
	bind_text(st, 1, fabric);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->pending = sqlite3_column_int64(st, 0);
		out->dead = sqlite3_column_int64(st, 1);
		rc = HS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- operations ------------------------------------------------------- */

static const char *const op_state_names[] = {
	[STORE_OP_QUEUED] = "queued",
	[STORE_OP_COMMITTED] = "committed",
	[STORE_OP_NOOP] = "noop",
	[STORE_OP_CONFLICT] = "conflict",
	[STORE_OP_FAILED] = "failed",
};

const char *store_op_state_name(enum store_op_state st)
{
	return (unsigned)st < sizeof(op_state_names) / sizeof(*op_state_names) ?
		op_state_names[st] : "unknown";
}

static enum store_op_state op_state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(op_state_names) / sizeof(*op_state_names); i++)
		if (s && !strcmp(s, op_state_names[i]))
			return (enum store_op_state)i;
	return STORE_OP_FAILED;
}

int store_op_add(struct store *s, const struct store_op *op, const char *job_kind,
		 const char *job_key, const char *job_payload, char *existing,
		 int64_t *job, char *err)
{
	sqlite3_stmt *st = NULL;
	int64_t now = hs_now_ms();
	int rc;

	rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return db_error(s, err, "begin");
	if (op->dedup) {
		if (sqlite3_prepare_v2(s->db, "SELECT id FROM operations WHERE dedup = ?1", -1, &st,
				       NULL) != SQLITE_OK) {
			rc = db_error(s, err, "find operation");
			st = NULL;
			goto rollback;
		}
		bind_text(st, 1, op->dedup);
		if (sqlite3_step(st) == SQLITE_ROW) {
			if (existing)
				snprintf(existing, 64, "%s", (const char *)sqlite3_column_text(st, 0));
			hs_seterr(err, "this change was received before");
			rc = HS_ECONFLICT;
			goto rollback;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO operations(id, fabric, source, dedup, author_name,"
			       " author_email, message, changes, state, created_ms)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_error(s, err, "store operation");
		st = NULL;
		goto rollback;
	}
	bind_text(st, 1, op->id);
	bind_text(st, 2, op->fabric);
	bind_text(st, 3, op->source);
	bind_text(st, 4, op->dedup);
	bind_text(st, 5, op->author_name);
	bind_text(st, 6, op->author_email);
	bind_text(st, 7, op->message);
	bind_text(st, 8, op->changes);
	sqlite3_bind_int64(st, 9, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_error(s, err, "store operation");
		goto rollback;
	}
	sqlite3_finalize(st);
	st = stmt(s, ST_JOB_INSERT, err);
	if (!st) {
		rc = HS_EDB;
		goto rollback;
	}
	sqlite3_bind_null(st, 1);
	bind_text(st, 2, job_kind);
	bind_text(st, 3, job_key);
	sqlite3_bind_blob(st, 4, job_payload, (int)strlen(job_payload), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_error(s, err, "store job");
		sqlite3_reset(st);
		st = NULL;
		goto rollback;
	}
	sqlite3_reset(st);
	st = NULL;
	if (job)
		*job = sqlite3_last_insert_rowid(s->db);
	return exec(s, "COMMIT", err);
rollback:
	sqlite3_finalize(st);
	exec(s, "ROLLBACK", NULL);
	return rc;
}

#define OP_COLUMNS "id, fabric, source, dedup, author_name, author_email, message, changes," \
	" state, result, commit_sha, coalesce(attempt_ms, 0), created_ms, coalesce(finished_ms, 0)"

static int walk_ops(struct store *s, sqlite3_stmt *st, store_op_fn fn, void *ctx,
		    int *found, char *err)
{
	int rc = HS_OK, step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_op op = {
			.id = (const char *)sqlite3_column_text(st, 0),
			.fabric = (const char *)sqlite3_column_text(st, 1),
			.source = (const char *)sqlite3_column_text(st, 2),
			.dedup = (const char *)sqlite3_column_text(st, 3),
			.author_name = (const char *)sqlite3_column_text(st, 4),
			.author_email = (const char *)sqlite3_column_text(st, 5),
			.message = (const char *)sqlite3_column_text(st, 6),
			.changes = (const char *)sqlite3_column_text(st, 7),
			.state = op_state_parse((const char *)sqlite3_column_text(st, 8)),
			.result = (const char *)sqlite3_column_text(st, 9),
			.commit_sha = (const char *)sqlite3_column_text(st, 10),
			.attempt_ms = sqlite3_column_int64(st, 11),
			.created_ms = sqlite3_column_int64(st, 12),
			.finished_ms = sqlite3_column_int64(st, 13),
		};

		if (found)
			(*found)++;
		rc = fn(&op, ctx);
		if (rc)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(s, err, "read operations");
	sqlite3_finalize(st);
	return rc;
}

int store_op_get(struct store *s, const char *id, store_op_fn fn, void *ctx, char *err)
{
	sqlite3_stmt *st;
	int found = 0, rc;

	if (sqlite3_prepare_v2(s->db, "SELECT " OP_COLUMNS " FROM operations WHERE id = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return db_error(s, err, "read operation");
	bind_text(st, 1, id);
	rc = walk_ops(s, st, fn, ctx, &found, err);
	if (!rc && !found) {
		hs_seterr(err, "no operation %s", id);
		rc = HS_ENOTFOUND;
	}
	return rc;
}

int store_op_list(struct store *s, const char *fabric, const char *state, int limit,
		  store_op_fn fn, void *ctx, char *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT " OP_COLUMNS " FROM operations WHERE (?1 IS NULL OR fabric = ?1)"
			       " AND (?2 IS NULL OR state = ?2) ORDER BY created_ms DESC, rowid DESC"
			       " LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "read operations");
	bind_text(st, 1, fabric);
	bind_text(st, 2, state);
	sqlite3_bind_int(st, 3, limit > 0 ? limit : -1);
	return walk_ops(s, st, fn, ctx, NULL, err);
}

int store_op_open(struct store *s, const char *fabric, int limit, store_op_fn fn,
		  void *ctx, char *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT " OP_COLUMNS " FROM operations WHERE fabric = ?1"
			       " AND state = 'queued' ORDER BY created_ms, rowid LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "read operations");
	bind_text(st, 1, fabric);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	return walk_ops(s, st, fn, ctx, NULL, err);
}

static int op_update(struct store *s, const char *fabric, const struct store_op_done *d,
		     size_t n, int64_t now_ms, int attempt, char *err)
{
	sqlite3_stmt *up = NULL, *wr = NULL;
	int rc;

	rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return db_error(s, err, "begin");
	if (sqlite3_prepare_v2(s->db, attempt ?
			       "UPDATE operations SET attempt_ms = coalesce(attempt_ms, ?5)"
			       " WHERE id = ?1 AND state = 'queued' AND ?2 IS NOT NULL" :
			       "UPDATE operations SET state = ?2, result = ?3, commit_sha = ?4,"
			       " finished_ms = ?5 WHERE id = ?1 AND state = 'queued'",
			       -1, &up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO op_writes(fabric, path, blob_sha, op_id)"
			       " VALUES (?1, ?2, ?3, ?4)",
			       -1, &wr, NULL) != SQLITE_OK) {
		rc = db_error(s, err, "finish operation");
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(up);
		bind_text(up, 1, d[i].id);
		bind_text(up, 2, store_op_state_name(d[i].state));
		bind_text(up, 3, d[i].result);
		bind_text(up, 4, d[i].commit_sha);
		sqlite3_bind_int64(up, 5, now_ms);
		if (sqlite3_step(up) != SQLITE_DONE) {
			rc = db_error(s, err, "finish operation");
			goto rollback;
		}
		for (size_t w = 0; w < d[i].n_writes; w++) {
			sqlite3_reset(wr);
			bind_text(wr, 1, fabric);
			bind_text(wr, 2, d[i].write_path[w]);
			bind_text(wr, 3, d[i].write_blob[w]);
			bind_text(wr, 4, d[i].id);
			if (sqlite3_step(wr) != SQLITE_DONE) {
				rc = db_error(s, err, "record write");
				goto rollback;
			}
		}
	}
	sqlite3_finalize(up);
	sqlite3_finalize(wr);
	return exec(s, "COMMIT", err);
rollback:
	sqlite3_finalize(up);
	sqlite3_finalize(wr);
	exec(s, "ROLLBACK", NULL);
	return rc;
}

int store_op_attempt(struct store *s, const char *fabric, const struct store_op_done *d,
		     size_t n, int64_t now_ms, char *err)
{
	return op_update(s, fabric, d, n, now_ms, 1, err);
}

int store_op_finish(struct store *s, const char *fabric, const struct store_op_done *d,
		    size_t n, int64_t now_ms, char *err)
{
	return op_update(s, fabric, d, n, now_ms, 0, err);
}

int store_op_writer(struct store *s, const char *fabric, const char *path,
		    const char *blob, char *op_id)
{
	sqlite3_stmt *st;
	int rc = HS_ENOTFOUND;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT op_id FROM op_writes WHERE fabric = ?1 AND path = ?2"
			       " AND blob_sha = ?3",
			       -1, &st, NULL) != SQLITE_OK)
		return HS_EDB;
	bind_text(st, 1, fabric);
	bind_text(st, 2, path);
	bind_text(st, 3, blob);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(op_id, 64, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = HS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* One row of n integer sums for fabric (NULL: all) into out[0..n). */
static int count_row(struct store *s, const char *sql, const char *fabric, int64_t *out,
		     int n)
{
	sqlite3_stmt *st;
	int rc = HS_EDB;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return HS_EDB;
	bind_text(st, 1, fabric);
	if (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			out[i] = sqlite3_column_int64(st, i);
		rc = HS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_op_counts(struct store *s, const char *fabric, struct store_op_counts *out)
{
	int64_t v[3] = { 0, 0, 0 };
	int rc = count_row(s, "SELECT coalesce(sum(state = 'queued'), 0),"
			   " coalesce(sum(state = 'conflict'), 0),"
			   " coalesce(sum(state = 'failed'), 0)"
			   " FROM operations WHERE ?1 IS NULL OR fabric = ?1", fabric, v, 3);

	out->queued = v[0];
	out->conflicts = v[1];
	out->failed = v[2];
	return rc;
}

/* ---- the NetBox outbox ------------------------------------------------ */

int store_notify_enable(struct store *s, int on, char *err)
{
	return run_sql(s, "INSERT INTO settings(key, value) VALUES ('notify', ?1)"
		       " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		       err, on ? "1" : "0", NULL);
}

#define NOTE_COLUMNS "id, fabric, seq, action, kind, name, path, blob_sha, commit_sha, origin," \
	" operation, spec, state, attempts, next_ms, since_ms, created_ms," \
	" coalesce(delivered_ms, 0), last_error"

static int walk_notes(struct store *s, sqlite3_stmt *st, store_note_fn fn, void *ctx,
		      int *found, char *err)
{
	int rc = HS_OK, step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_note n = {
			.id = sqlite3_column_int64(st, 0),
			.fabric = (const char *)sqlite3_column_text(st, 1),
			.seq = sqlite3_column_int64(st, 2),
			.action = (const char *)sqlite3_column_text(st, 3),
			.kind = (const char *)sqlite3_column_text(st, 4),
			.name = (const char *)sqlite3_column_text(st, 5),
			.path = (const char *)sqlite3_column_text(st, 6),
			.blob_sha = (const char *)sqlite3_column_text(st, 7),
			.commit_sha = (const char *)sqlite3_column_text(st, 8),
			.origin = (const char *)sqlite3_column_text(st, 9),
			.operation = (const char *)sqlite3_column_text(st, 10),
			.spec = (const char *)sqlite3_column_text(st, 11),
			.state = (const char *)sqlite3_column_text(st, 12),
			.attempts = sqlite3_column_int(st, 13),
			.next_ms = sqlite3_column_int64(st, 14),
			.since_ms = sqlite3_column_int64(st, 15),
			.created_ms = sqlite3_column_int64(st, 16),
			.delivered_ms = sqlite3_column_int64(st, 17),
			.last_error = (const char *)sqlite3_column_text(st, 18),
		};

		if (found)
			(*found)++;
		rc = fn(&n, ctx);
		if (rc)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(s, err, "read notifications");
	sqlite3_finalize(st);
	return rc;
}

/* Each fabric's oldest pending notification. */
#define NOTE_HEADS "SELECT min(id) FROM outbox WHERE state = 'pending' GROUP BY fabric"

int store_note_next(struct store *s, int64_t now_ms, store_note_fn fn, void *ctx,
		    int64_t *next_ms, char *err)
{
	sqlite3_stmt *st;
	int found = 0, rc;

	if (next_ms)
		*next_ms = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT " NOTE_COLUMNS " FROM outbox WHERE id IN (" NOTE_HEADS ")"
			       " AND next_ms <= ?1 ORDER BY id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "read notifications");
	sqlite3_bind_int64(st, 1, now_ms);
	rc = walk_notes(s, st, fn, ctx, &found, err);
	if (rc || found)
		return rc;
	if (next_ms && sqlite3_prepare_v2(s->db,
					  "SELECT coalesce(min(next_ms), 0) FROM outbox WHERE id IN ("
					  NOTE_HEADS ")", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*next_ms = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return HS_ENOTFOUND;
}

/* Run sql with ?1 id, ?2 a, ?3 b, ?4 text; a statement may leave some unused
 * (binding an absent parameter is a no-op). */
static int note_update(struct store *s, const char *sql, int64_t id, int64_t a, int64_t b,
		       const char *text, char *err)
{
	sqlite3_stmt *st;
	int rc = HS_OK;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "update notification");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	bind_text(st, 4, text);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, err, "update notification");
	sqlite3_finalize(st);
	return rc;
}

int store_note_delivered(struct store *s, int64_t id, int64_t now_ms, char *err)
{
	return note_update(s, "UPDATE outbox SET state = 'delivered', delivered_ms = ?2,"
			   " attempts = attempts + 1, last_error = NULL"
			   " WHERE id = ?1 AND state = 'pending'", id, now_ms, 0, NULL, err);
}

int store_note_failed(struct store *s, int64_t id, int64_t next_ms, int dead,
		      const char *error, char *err)
{
	return note_update(s, "UPDATE outbox SET attempts = attempts + 1, next_ms = ?2,"
			   " state = CASE WHEN ?3 THEN 'dead' ELSE state END, last_error = ?4"
			   " WHERE id = ?1 AND state = 'pending'", id, next_ms, dead, error, err);
}

int store_note_list(struct store *s, const char *state, int limit, store_note_fn fn,
		    void *ctx, char *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT " NOTE_COLUMNS " FROM outbox WHERE (?1 IS NULL OR state = ?1)"
			       " ORDER BY id DESC LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "read notifications");
	bind_text(st, 1, state);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	return walk_notes(s, st, fn, ctx, NULL, err);
}

int store_note_retry(struct store *s, int64_t id, int64_t now_ms, int *n, char *err)
{
	int rc = note_update(s, "UPDATE outbox SET state = 'pending', next_ms = 0, since_ms = ?2,"
			     " attempts = 0, last_error = NULL"
			     " WHERE state = 'dead' AND (?1 = 0 OR id = ?1)", id, now_ms, 0, NULL, err);

	*n = rc ? 0 : sqlite3_changes(s->db);
	if (!rc && id && !*n) {
		hs_seterr(err, "no dead notification %lld", (long long)id);
		rc = HS_ENOTFOUND;
	}
	return rc;
}

int store_note_purge(struct store *s, int64_t before_ms, char *err)
{
	return note_update(s, "DELETE FROM outbox WHERE state = 'delivered' AND delivered_ms < ?2",
			   0, before_ms, 0, NULL, err);
}

int store_note_counts(struct store *s, const char *fabric, struct store_note_counts *out)
{
	int64_t v[3] = { 0, 0, 0 };
	int rc = count_row(s, "SELECT coalesce(sum(state = 'pending'), 0),"
			   " coalesce(sum(state = 'dead'), 0),"
			   " coalesce(min(CASE WHEN state = 'pending' THEN created_ms END), 0)"
			   " FROM outbox WHERE state <> 'delivered' AND (?1 IS NULL OR fabric = ?1)",
			   fabric, v, 3);

	out->pending = v[0];
	out->dead = v[1];
	out->oldest_pending_ms = v[2];
	return rc;
}
