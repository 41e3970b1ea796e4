"""github/ against the GitHub emulator, over real HTTP on loopback.

The C side is tests/drivers/ghdrive.c, which calls github/ as a hedgesync
worker thread does; the emulator (tests/emulator/ghemu.py) is GitHub, backed
by bare git repositories; its request log is what these tests count.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import http.server

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))

from ghemu import GitHubEmulator, make_app_key  # noqa: E402
from drive import Drive  # noqa: E402

APP = 4242
INST = 77
gh = None
tmp = None
KEY = KEY8 = STRANGER = None
_n = [0]


def setup_module():
    global gh, tmp, KEY, KEY8, STRANGER
    tmp = tempfile.mkdtemp(prefix="hs-ghclient-")
    KEY, pub = make_app_key(tmp)                    # PKCS#1, as GitHub hands them out
    KEY8 = os.path.join(tmp, "app-key.p8.pem")     # the same key as PKCS#8
    subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", KEY, "-out", KEY8],
                   check=True, capture_output=True, timeout=60)
    STRANGER, _ = make_app_key(tmp, name="stranger")
    gh = GitHubEmulator(os.path.join(tmp, "emu")).start()
    gh.set_app(APP, pub)
    gh.add_installation(INST, "acme")


def teardown_module():
    if gh:
        gh.stop()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


def reset():
    gh.clear_faults()
    gh.configure(token_lifetime=3600, token_length=520, reject_tokens=False,
                 tree_limit=100000, clock_offset=0, ratelimit_limit=5000)


def fresh(files=None):
    """A new repository of installation INST; its full name."""
    _n[0] += 1
    name = "repo%d" % _n[0]
    gh.create_repo("acme", name, installation_id=INST,
                   files=files if files is not None else {"README.md": "hello\n"})
    return "acme/" + name


def drive(repo="acme/fabric", key=None, **opts):
    # the ETag cache is off unless a test is about it: retried GETs then
    # show as 200, not 304, in the request log
    opts.setdefault("etag_entries", -1)
    return Drive(gh, key or KEY, APP, INST, repo=repo, **opts)


def seq():
    log = gh.log()
    return log[-1]["seq"] if log else 0


def statuses(entries):
    return [e["status"] for e in entries]


# ---- App auth ----

def test_app_jwt_claims_and_headers():
    reset()
    fresh()
    with drive() as d:
        d.ok("app")
    e = gh.calls("GET", "^/app$")[-1]
    assert e["status"] == 200
    j = e["jwt"]
    now = int(time.time())
    assert j["alg"] == "RS256" and str(j["iss"]) == str(APP)
    assert now - 70 <= j["iat"] <= now - 50, j           # 60 s in the past
    assert 0 < j["exp"] - now <= 600, j                   # under 10 minutes
    assert e["user_agent"].startswith("hedgesync/")
    assert e["accept"] == "application/vnd.github+json"
    assert e["api_version"] == "2022-11-28"


def test_pkcs8_key_and_installation_lookup():
    reset()
    repo = fresh()
    owner, name = repo.split("/")
    with drive(key=KEY8) as d:
        r = d.ok("installation", owner=owner, name=name)
    assert r["id"] == INST
    assert gh.calls("GET", "^/repos/%s/installation$" % repo)[-1]["auth"] == "app"
    with drive(key=STRANGER) as d:
        r = d("app")
    assert r["rc"] == "EUNAUTH", r   # signed with a key that is not the App's


def test_long_token_used_and_cached():
    reset()
    gh.configure(token_length=1000)
    repo = fresh()
    s = seq()
    with drive(repo) as d:
        for _ in range(3):
            d.ok("getref", branch="main")
    mints = gh.calls("POST", "access_tokens$", since=s)
    refs = gh.calls("GET", "/git/ref/", since=s)
    assert len(mints) == 1 and mints[0]["auth"] == "app"
    assert len(refs) == 3 and all(e["token_len"] == 1000 for e in refs)
    assert all(e["installation"] == INST for e in refs)


def test_token_renewed_when_it_expires_mid_run():
    reset()
    gh.configure(token_lifetime=4)   # renewed at half its life: after 2 s
    repo = fresh()
    s = seq()
    with drive(repo) as d:
        d.ok("getref", branch="main")
        d.ok("getref", branch="main")
        d.ok("sleep", ms=2600)
        d.ok("getref", branch="main")
    log = gh.log(s)
    assert len([e for e in log if e["path"].endswith("access_tokens")]) == 2
    assert 401 not in statuses(log)   # renewed before GitHub refused it


def test_401_retried_once_with_a_fresh_token():
    reset()
    repo = fresh()
    with drive(repo) as d:
        d.ok("getref", branch="main")
        gh.revoke_tokens()
        s = seq()
        r = d.ok("getref", branch="main")
        log = gh.log(s)
        assert [(e["method"], e["status"]) for e in log] == [
            ("GET", 401), ("POST", 201), ("GET", 200)], log
        assert r["token_refreshes"] == 1
        # a token that keeps failing is renewed once, not forever
        gh.configure(reject_tokens=True)
        s = seq()
        r = d("getref", branch="main")
        assert r["rc"] == "EUNAUTH", r
        assert [(e["method"], e["status"]) for e in gh.log(s)] == [
            ("GET", 401), ("POST", 201), ("GET", 401)]


def test_jwt_clock_skew_corrected_once():
    reset()
    gh.configure(clock_offset=3600)   # GitHub's clock an hour ahead of ours
    s = seq()
    with drive() as d:
        d.ok("app")
        r = d.ok("jwt")
    assert statuses(gh.calls("GET", "^/app$", since=s)) == [401, 200]
    assert 3590 <= r["skew"] <= 3610, r
    gh.configure(clock_offset=0)


# ---- retries ----

def test_5xx_then_success():
    reset()
    repo = fresh()
    with drive(repo) as d:
        d.ok("getref", branch="main")   # token first
        gh.set_faults({"kind": "status", "status": 502, "count": 2, "match": "/git/ref/"})
        s = seq()
        r = d.ok("getref", branch="main")
    assert statuses(gh.calls("GET", "/git/ref/", since=s)) == [502, 502, 200]
    assert r["retries"] == 2


def test_5xx_gives_up_after_max_attempts():
    reset()
    repo = fresh()
    with drive(repo, max_attempts=3) as d:
        d.ok("getref", branch="main")
        gh.set_faults({"kind": "status", "status": 503, "match": "/git/ref/"})
        s = seq()
        r = d("getref", branch="main")
    assert r["rc"] == "ENET", r
    assert statuses(gh.calls("GET", "/git/ref/", since=s)) == [503, 503, 503]


def test_dropped_connection_and_timeout_retried():
    reset()
    repo = fresh()
    with drive(repo, timeout_ms=700) as d:
        d.ok("getref", branch="main")
        gh.set_faults({"kind": "drop", "count": 1, "match": "/git/ref/"})
        s = seq()
        d.ok("getref", branch="main")
        assert statuses(gh.calls("GET", "/git/ref/", since=s)) == [0, 200]
        gh.set_faults({"kind": "delay", "ms": 1500, "count": 1, "match": "/git/ref/"})
        s = seq()
        r = d.ok("getref", branch="main")
        assert len(gh.calls("GET", "/git/ref/", since=s)) == 2   # timed out, then fine
        assert r["retries"] >= 1


def test_rate_limit_window_waited_out():
    reset()
    repo = fresh()
    with drive(repo) as d:
        d.ok("getref", branch="main")
        gh.rate_limit_window(2, "primary", match="/git/ref/")
        s = seq()
        t0 = time.monotonic()
        r = d.ok("getref", branch="main")
        took = time.monotonic() - t0
    log = gh.calls("GET", "/git/ref/", since=s)
    assert statuses(log) == [403, 200], log
    assert 1.5 <= took <= 8, took     # until x-ratelimit-reset, not a minute
    assert r["ratelimit_waits"] == 1


def test_secondary_rate_limit_honours_retry_after():
    reset()
    repo = fresh()
    with drive(repo) as d:
        d.ok("getref", branch="main")
        gh.rate_limit_window(2, "429", match="/git/ref/")
        s = seq()
        t0 = time.monotonic()
        d.ok("getref", branch="main")
        took = time.monotonic() - t0
    assert statuses(gh.calls("GET", "/git/ref/", since=s)) == [429, 200]
    assert 1.5 <= took <= 8, took


def test_rate_limit_longer_than_allowed_is_an_error():
    reset()
    repo = fresh()
    with drive(repo, ratelimit_max_wait=3) as d:
        d.ok("getref", branch="main")
        gh.rate_limit_window(120, "primary", match="/git/ref/")
        t0 = time.monotonic()
        r = d("getref", branch="main")
        assert r["rc"] == "ERATELIMIT", r
        assert time.monotonic() - t0 < 5
    gh.clear_faults()


def test_forbidden_is_not_a_rate_limit():
    reset()
    fresh()
    s = seq()
    with drive() as d:
        r = d("raw", path="/app", auth="installation")
    assert r["rc"] == "EUNAUTH" and r["status"] == 403, r
    assert len(gh.calls("GET", "^/app$", since=s)) == 1


def test_links_off_the_api_host_refused():
    reset()
    with drive() as d:
        r = d("raw", path="http://203.0.113.9/repos/x/y", auth="installation")
    assert r["rc"] == "EINVAL", r


# ---- commits ----

def test_three_file_change_set_is_exactly_one_commit():
    reset()
    repo = fresh({"a.yaml": "a: 1\n", "b.yaml": "b: 1\n", "c.yaml": "c: 1\n"})
    before = gh.head(repo)
    with drive(repo) as d:
        d.ok("getref", branch="main")
        s = seq()
        r = d.ok("commit", message="Three files", changes=[
            {"path": "a.yaml", "content": "a: 2\n"},
            {"path": "managed/vpcs/vpc-1.yaml", "content": "kind: VPC\n"},
            {"path": "c.yaml", "delete": True}],
            author={"name": "Net Engineer", "email": "ne@example.com"})
    assert r["attempts"] == 1 and not r["noop"]
    assert gh.git(repo, "rev-list", "%s..main" % before).split() == [r["commit"]]
    assert gh.git(repo, "rev-parse", "main^").strip() == before
    listing = gh.git(repo, "ls-tree", "-r", "main").splitlines()
    paths = {line.split("\t")[1]: line.split()[2] for line in listing}
    assert sorted(paths) == ["a.yaml", "b.yaml", "managed/vpcs/vpc-1.yaml"]
    blob = subprocess.run(["git", "hash-object", "--stdin"], input=b"a: 2\n",
                          capture_output=True, check=True).stdout.decode().strip()
    assert paths["a.yaml"] == blob
    assert gh.git(repo, "show", "main:managed/vpcs/vpc-1.yaml") == "kind: VPC\n"
    assert gh.git(repo, "log", "-1", "--format=%an <%ae>|%s", "main").strip() == \
        "Net Engineer <ne@example.com>|Three files"
    calls = [(e["method"], e["path"].split("/", 5)[-1]) for e in gh.log(s)]
    assert [m for m, _ in calls] == ["GET", "GET", "POST", "POST", "PATCH"], calls
    patch = gh.calls("PATCH", "/git/refs/heads/main", since=s)[0]
    assert patch["body"] == {"sha": r["commit"], "force": False}
    tree = gh.calls("POST", "/git/trees$", since=s)[0]["body"]
    assert tree["base_tree"] and {"path": "c.yaml", "mode": "100644", "type": "blob",
                                  "sha": None} in tree["tree"]


def test_commit_costs_the_same_calls_for_any_size():
    reset()
    repo = fresh()
    costs = {}
    with drive(repo) as d:
        d.ok("getref", branch="main")
        for n in (1, 10, 1000):
            s = seq()
            d.ok("commit", files=n, prefix="n%d/" % n, message="%d files" % n)
            costs[n] = len(gh.log(s))
    assert costs[1] == costs[10] == costs[1000] == 5, costs
    assert int(gh.git(repo, "ls-tree", "-r", "main", "--name-only").count("\n")) == 1012


def test_unchanged_content_makes_no_commit():
    reset()
    repo = fresh({"a.yaml": "a: 1\n"})
    before = gh.head(repo)
    s = seq()
    with drive(repo) as d:
        r = d.ok("commit", changes=[{"path": "a.yaml", "content": "a: 1\n"}])
    assert r["noop"] and r["commit"] == before
    assert gh.head(repo) == before
    assert [e["method"] for e in gh.calls(pattern="^/repos/%s/" % repo, since=s)] == \
        ["GET", "GET", "POST"]   # ref, commit, tree: the same tree, so no commit


def test_binary_content_goes_up_as_a_blob():
    reset()
    repo = fresh()
    with drive(repo) as d:
        s = seq()
        d.ok("commit", changes=[{"path": "bin/data", "content_b64": "AAEC/w=="}])
    assert len(gh.calls("POST", "/git/blobs$", since=s)) == 1
    data = subprocess.run(["git", "--git-dir", gh.repo_path(repo), "cat-file", "blob",
                           "main:bin/data"], capture_output=True, check=True).stdout
    assert data == b"\x00\x01\x02\xff"


def test_concurrent_writer_replanned_and_kept():
    reset()
    repo = fresh({"a.yaml": "a: 1\n"})
    before = gh.head(repo)
    gh.concurrent_writer(repo, on="ref_update", path="theirs.yaml", content="theirs: 1\n")
    with drive(repo) as d:
        s = seq()
        r = d.ok("commit", changes=[{"path": "ours.yaml", "content": "ours: 1\n"}])
    theirs = gh.calls("PATCH", "/git/refs/", since=s)[0]["concurrent_write"]
    assert statuses(gh.calls("PATCH", "/git/refs/", since=s)) == [422, 200]
    assert r["attempts"] == 2 and r["replanned_on"] == [theirs], r
    assert gh.head(repo) == r["commit"]
    assert gh.git(repo, "rev-parse", "main^").strip() == theirs
    assert gh.git(repo, "rev-parse", "main^^").strip() == before
    files = gh.git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == ["a.yaml", "ours.yaml", "theirs.yaml"]
    assert gh.git(repo, "show", "main:theirs.yaml") == "theirs: 1\n"


def test_not_fast_forward_without_replan_writes_nothing():
    reset()
    repo = fresh()
    gh.concurrent_writer(repo, on="ref_update", path="theirs.yaml", content="x\n")
    with drive(repo) as d:
        r = d("commit", replan="none", changes=[{"path": "ours.yaml", "content": "y\n"}])
    assert r["rc"] == "ENOTFF", r
    assert "ours.yaml" not in gh.git(repo, "ls-tree", "-r", "--name-only", "main")


def test_branch_that_keeps_moving_gives_up():
    reset()
    repo = fresh()
    gh.concurrent_writer(repo, on="ref_update", path="theirs.yaml", content="x\n", count=10)
    with drive(repo) as d:
        s = seq()
        r = d("commit", max_attempts=3, changes=[{"path": "o.yaml", "content": "y\n"}])
    assert r["rc"] == "ENOTFF", r
    assert statuses(gh.calls("PATCH", "/git/refs/", since=s)) == [422, 422, 422]
    gh.clear_faults()


# ---- contents ----

def test_contents_put_with_stale_sha_conflicts_and_writes_nothing():
    reset()
    repo = fresh({"a.yaml": "a: 1\n"})
    with drive(repo) as d:
        first = d.ok("get", path="a.yaml")
        r = d.ok("put", path="a.yaml", content="a: 2\n", sha=first["sha"], message="edit",
                 author={"name": "GUI User", "email": "gui@example.com"})
        assert not r["created"]
        head = gh.head(repo)
        assert gh.git(repo, "log", "-1", "--format=%an", "main").strip() == "GUI User"
        stale = d("put", path="a.yaml", content="a: 3\n", sha=first["sha"])
        assert stale["rc"] == "ECONFLICT", stale
        assert gh.head(repo) == head
        assert gh.git(repo, "show", "main:a.yaml") == "a: 2\n"
        # an existing file with no sha: the same conflict (GitHub's 422)
        assert d("put", path="a.yaml", content="a: 4\n")["rc"] == "ECONFLICT"
        assert d("delete", path="a.yaml", sha=first["sha"])["rc"] == "ECONFLICT"
        assert gh.head(repo) == head
        created = d.ok("put", path="new/b.yaml", content="b: 1\n")
        assert created["created"]
        d.ok("delete", path="a.yaml", sha=r["content_sha"])
    assert gh.git(repo, "ls-tree", "-r", "--name-only", "main").split() == ["new/b.yaml"]
    assert statuses(gh.calls("PUT", "/repos/%s/contents/" % repo)) == [200, 409, 422, 201]


def test_contents_put_after_a_concurrent_edit_conflicts():
    reset()
    repo = fresh({"a.yaml": "a: 1\n"})
    with drive(repo) as d:
        sha = d.ok("get", path="a.yaml")["sha"]
        gh.concurrent_writer(repo, on="contents_write", path="a.yaml", content="theirs\n")
        r = d("put", path="a.yaml", content="ours\n", sha=sha)
    assert r["rc"] == "ECONFLICT", r
    assert gh.git(repo, "show", "main:a.yaml") == "theirs\n"


def test_contents_get_directory_and_large_file():
    reset()
    big = "x" * (1536 * 1024)
    repo = fresh({"dir/a.yaml": "a\n", "dir/b.yaml": "b\n", "big.txt": big})
    with drive(repo) as d:
        r = d.ok("get", path="dir")
        assert r["entries"] == ["dir/a.yaml", "dir/b.yaml"]
        s = seq()
        r = d.ok("get", path="big.txt")
    assert r["len"] == len(big)
    assert [e["path"].rsplit("/", 2)[-2] for e in gh.log(s)] == ["contents", "blobs"]


# ---- checks ----

def test_check_run_with_130_annotations_takes_three_calls():
    reset()
    repo = fresh()
    head = gh.head(repo)
    with drive(repo) as d:
        d.ok("getref", branch="main")
        s = seq()
        r = d.ok("check", head_sha=head, annotations=130, status="completed",
                 conclusion="failure", actions=1)
    assert r["api_calls"] == 3
    calls = gh.log(s)
    assert [e["method"] for e in calls] == ["POST", "PATCH", "PATCH"]
    bodies = [e["body"] for e in calls]
    assert [len(b["output"]["annotations"]) for b in bodies] == [50, 50, 30]
    assert bodies[0]["status"] == "in_progress" and "conclusion" not in bodies[0]
    assert bodies[0]["actions"][0]["identifier"] == "fix_layout"
    assert bodies[2]["conclusion"] == "failure"
    run = [x for x in gh.check_runs(repo) if x["id"] == r["id"]][0]
    assert len(run["annotations"]) == 130
    assert run["status"] == "completed" and run["conclusion"] == "failure"


def test_check_run_summary_capped():
    reset()
    repo = fresh()
    with drive(repo) as d:
        r = d.ok("check", head_sha=gh.head(repo), summary_len=70000, conclusion="success")
    run = [x for x in gh.check_runs(repo) if x["id"] == r["id"]][0]
    assert len(run["output"]["summary"]) <= 65535
    assert run["output"]["summary"].endswith("_(truncated: too long for GitHub)_")


# ---- trees, blobs, caps ----

def test_truncated_tree_walked_completely():
    reset()
    files = {"d%d/e%d/f%d.yaml" % (i % 3, i % 5, i): "%d\n" % i for i in range(60)}
    repo = fresh(files)
    gh.configure(tree_limit=10)
    with drive(repo) as d:
        r = d.ok("tree", recursive=True)
    gh.configure(tree_limit=100000)
    want = set()
    for line in gh.git(repo, "ls-tree", "-r", "-t", "main").splitlines():
        meta, path = line.split("\t")
        mode, typ, sha = meta.split()
        want.add((mode, typ, sha, path))
    got = {tuple(e) for e in r["entries"]}
    assert got == want and len(r["entries"]) == len(want)
    assert r["requests"] > 1


def test_response_over_the_cap_refused():
    reset()
    repo = fresh({"big.txt": "y" * (2 * 1024 * 1024)})
    blob = gh.git(repo, "rev-parse", "main:big.txt").strip()
    with drive(repo, max_response=1000000) as d:
        r = d("blob", sha=blob, max=1000000)
        assert r["rc"] == "ETOOBIG", r
        r = d("raw", path="/repos/%s/git/blobs/%s" % (repo, blob))
        assert r["rc"] == "ETOOBIG", r   # the client's own cap
        # an endless body is cut off, not buffered
        gh.set_faults({"kind": "huge", "bytes": 1 << 30, "count": 1, "match": "/git/ref/"})
        s = seq()
        t0 = time.monotonic()
        r = d("getref", branch="main")
        assert r["rc"] == "ETOOBIG", r
        assert time.monotonic() - t0 < 10
    time.sleep(0.3)
    e = gh.calls("GET", "/git/ref/", since=s)[0]
    assert e["huge_sent"] < 32 * 1024 * 1024, e["huge_sent"]


def test_blob_cache_spares_a_call():
    reset()
    repo = fresh({"a.yaml": "cached\n"})
    blob = gh.git(repo, "rev-parse", "main:a.yaml").strip()
    with drive(repo) as d:
        d.ok("blob", sha=blob)
        r = d.ok("blob", sha=blob)
    assert r["cache_hits"] == 1 and r["sha"] == blob
    assert len(gh.calls("GET", "/git/blobs/%s" % blob)) == 1


def test_etag_conditional_get():
    reset()
    repo = fresh()
    with drive(repo, etag_entries=64) as d:
        a = d.ok("getref", branch="main")
        s = seq()
        b = d.ok("getref", branch="main")
        e = gh.calls("GET", "/git/ref/", since=s)[0]
        assert e["status"] == 304 and e["if_none_match"]
        assert a["sha"] == b["sha"] and b["etag_hits"] == 1
        gh.commit(repo, {"x.yaml": "x\n"})
        c = d.ok("getref", branch="main")
    assert c["sha"] == gh.head(repo) != a["sha"]


# ---- compare, pull files, deliveries ----

def test_compare_and_paginated_pull_request_files():
    reset()
    repo = fresh()
    base = gh.head(repo)
    gh.commit(repo, {"f/%03d.yaml" % i: "%d\n" % i for i in range(250)}, branch="feature")
    pr = gh.open_pull_request(repo, "feature")
    with drive(repo) as d:
        s = seq()
        r = d.ok("pullfiles", number=pr["number"])
        assert len(r["files"]) == 250 and not r["truncated"]
        assert all(f[0] == "added" for f in r["files"])
        assert len(gh.calls("GET", "/pulls/%d/files" % pr["number"], since=s)) == 3
        c = d.ok("compare", base=base, head="feature")
    assert c["status"] == "ahead" and c["ahead_by"] == 1 and c["behind_by"] == 0
    assert c["merge_base"] == base and len(c["files"]) == 250


class _Receiver(http.server.BaseHTTPRequestHandler):
    got = []
    code = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append((dict(self.headers), body))
        self.send_response(_Receiver.code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def test_deliveries_listed_and_redelivered():
    reset()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        _Receiver.got, _Receiver.code = [], 500
        gh.set_webhook("http://127.0.0.1:%d/hook" % srv.server_address[1], "s3cret")
        repo = fresh()
        d0 = gh.deliveries()[-1]["id"] if gh.deliveries() else 0
        gh.commit(repo, {"x.yaml": "x\n"})
        push = gh.wait_deliveries(1, event="push", since=d0)[0]
        assert push["status"] == "Invalid HTTP Response: 500"
        with drive(repo) as d:
            r = d.ok("deliveries")
            mine = [x for x in r["deliveries"] if x["guid"] == push["guid"]]
            assert mine and mine[0]["status"] != "OK" and mine[0]["event"] == "push"
            assert mine[0]["status_code"] == 500
            _Receiver.code = 200
            d.ok("redeliver", id=mine[0]["id"])
        again = gh.wait_deliveries(1, event="push", since=push["id"])
        again = [x for x in again if x["guid"] == push["guid"]][0]
        assert again["redelivery"] and again["status"] == "OK"
        assert _Receiver.got[-1][0]["X-GitHub-Delivery"] == push["guid"]
        assert _Receiver.got[-1][0]["X-GitHub-Event"] == "push"
    finally:
        gh.set_webhook(None, None)
        srv.shutdown()
        srv.server_close()


# ---- threads ----

def test_threads_share_one_token_and_serialize_writes():
    reset()
    repo = fresh()
    s = seq()
    with drive(repo) as d:
        r = d.ok("parallel", ops=[{"op": "put", "path": "t/%d.yaml" % i, "content": "%d\n" % i}
                                  for i in range(4)])
    assert [x["rc"] for x in r["results"]] == ["OK"] * 4, r
    assert len(gh.calls("POST", "access_tokens$", since=s)) == 1
    puts = sorted(gh.calls("PUT", "/contents/", since=s), key=lambda e: e["start"])
    assert statuses(puts) == [201] * 4
    for a, b in zip(puts, puts[1:]):
        assert b["start"] >= a["done"], "content-creating calls overlapped"
    assert len(gh.git(repo, "ls-tree", "-r", "--name-only", "main", "t").split()) == 4
