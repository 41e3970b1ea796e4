"""The GitHub emulator itself (tests/emulator/ghemu.py), checked from Python.

Everything hedgesync's tests conclude rests on the emulator behaving like
GitHub; these tests check it does, with git, openssl and http.client only.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))

from ghemu import GitHubEmulator, make_app_key  # noqa: E402

APP = 31
INST = 5
SECRET = "hook-secret"
gh = None
tmp = None
KEY = OTHER = None
hooks = None
_n = [0]


class Hooks(http.server.BaseHTTPRequestHandler):
    """A webhook receiver: records what it gets; answers Hooks.code."""
    got = []
    code = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hooks.got.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                          "raw_names": list(self.headers.keys()), "body": body,
                          "json": json.loads(body)})
        self.send_response(Hooks.code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def setup_module():
    global gh, tmp, KEY, OTHER, hooks
    tmp = tempfile.mkdtemp(prefix="hs-ghemu-")
    KEY, pub = make_app_key(tmp)
    OTHER, _ = make_app_key(tmp, name="other")
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    gh = GitHubEmulator(os.path.join(tmp, "emu")).start()
    gh.set_app(APP, pub, webhook_url="http://127.0.0.1:%d/hook" % hooks.server_address[1],
               webhook_secret=SECRET)
    gh.add_installation(INST, "octo")


def teardown_module():
    if gh:
        gh.stop()
    if hooks:
        hooks.shutdown()
        hooks.server_close()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- helpers: a JWT signed with openssl, a tiny HTTP client ----

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(key=None, iat=None, exp=None, iss=APP, alg="RS256"):
    now = int(time.time())
    h = b64u(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    c = b64u(json.dumps({"iat": now - 60 if iat is None else iat,
                         "exp": now + 540 if exp is None else exp, "iss": iss}).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key or KEY],
                         input=(h + "." + c).encode(), capture_output=True,
                         check=True).stdout
    return h + "." + c + "." + b64u(sig)


def call(method, path, auth=None, body=None, headers=None):
    u = urllib.parse.urlsplit(gh.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = dict(headers or {})
    if auth:
        h["Authorization"] = auth
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None), {k.lower(): v for k, v in
                                                              r.getheaders()}
    finally:
        conn.close()


def token(inst=INST):
    st, t, _ = call("POST", "/app/installations/%d/access_tokens" % inst, "Bearer " + jwt())
    assert st == 201, t
    return "token " + t["token"]


def fresh(files=None):
    _n[0] += 1
    name = "r%d" % _n[0]
    gh.create_repo("octo", name, installation_id=INST,
                   files=files if files is not None else {"a.txt": "a\n"})
    return "octo/" + name


def git_hash(data):
    return subprocess.run(["git", "hash-object", "--stdin"], input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def reset():
    gh.clear_faults()
    gh.configure(token_lifetime=3600, token_length=520, reject_tokens=False,
                 tree_limit=100000, clock_offset=0, ratelimit_limit=5000)


# ---- git ----

def test_object_ids_are_gits_own():
    reset()
    repo = fresh()
    tok = token()
    st, blob, _ = call("POST", "/repos/%s/git/blobs" % repo, tok,
                       {"content": base64.b64encode(b"\x00bin\xff").decode(),
                        "encoding": "base64"})
    assert st == 201 and blob["sha"] == git_hash(b"\x00bin\xff")
    st, ref, _ = call("GET", "/repos/%s/git/ref/heads/main" % repo, tok)
    head = ref["object"]["sha"]
    st, c, _ = call("GET", "/repos/%s/git/commits/%s" % (repo, head), tok)
    st, tree, _ = call("POST", "/repos/%s/git/trees" % repo, tok, {
        "base_tree": c["tree"]["sha"],
        "tree": [{"path": "d/x.txt", "mode": "100644", "type": "blob", "content": "x\n"},
                 {"path": "bin", "mode": "100644", "type": "blob", "sha": blob["sha"]}]})
    assert st == 201
    out = gh.git(repo, "ls-tree", "-r", tree["sha"])
    assert git_hash(b"x\n") in out and blob["sha"] in out and "a.txt" in out
    st, nc, _ = call("POST", "/repos/%s/git/commits" % repo, tok, {
        "message": "m", "tree": tree["sha"], "parents": [head],
        "author": {"name": "A", "email": "a@x", "date": "2020-01-02T03:04:05Z"}})
    assert st == 201 and nc["tree"]["sha"] == tree["sha"]
    assert nc["parents"][0]["sha"] == head
    assert gh.git(repo, "cat-file", "-t", nc["sha"]).strip() == "commit"
    assert gh.git(repo, "log", "-1", "--format=%an %aI", nc["sha"]).strip() == \
        "A 2020-01-02T03:04:05+00:00"
    subprocess.run(["git", "--git-dir", gh.repo_path(repo), "fsck", "--strict"],
                   check=True, capture_output=True)


def test_ref_updates_are_compare_and_swap():
    reset()
    repo = fresh()
    tok = token()
    head = gh.head(repo)
    a = gh.git(repo, "commit-tree", "-p", head, "-m", "a",
               gh.git(repo, "rev-parse", head + "^{tree}").strip()).strip()
    b = gh.git(repo, "commit-tree", "-p", head, "-m", "b",
               gh.git(repo, "rev-parse", head + "^{tree}").strip()).strip()
    results = []

    def move(sha):
        results.append(call("PATCH", "/repos/%s/git/refs/heads/main" % repo, tok,
                            {"sha": sha, "force": False})[:2])
    ts = [threading.Thread(target=move, args=(s,)) for s in (a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    codes = sorted(r[0] for r in results)
    assert codes == [200, 422], results
    loser = [r[1] for r in results if r[0] == 422][0]
    assert loser["message"] == "Update is not a fast forward"
    assert loser["documentation_url"].startswith("https://docs.github.com/")
    assert gh.head(repo) in (a, b)
    # force moves it anyway
    other = b if gh.head(repo) == a else a
    st, _, _ = call("PATCH", "/repos/%s/git/refs/heads/main" % repo, tok,
                    {"sha": other, "force": True})
    assert st == 200 and gh.head(repo) == other


def test_contents_status_codes_and_bodies():
    reset()
    repo = fresh({"a.txt": "a\n"})
    tok = token()
    path = "/repos/%s/contents/a.txt" % repo
    st, f, _ = call("GET", path, tok)
    assert st == 200 and f["type"] == "file" and f["encoding"] == "base64"
    assert base64.b64decode(f["content"]) == b"a\n" and f["sha"] == git_hash(b"a\n")
    assert set(["name", "path", "sha", "size", "url", "git_url", "html_url", "download_url",
                "_links"]) <= set(f)
    put = {"message": "m", "content": base64.b64encode(b"b\n").decode()}
    st, e, _ = call("PUT", path, tok, put)
    assert st == 422 and e["message"] == 'Invalid request.\n\n"sha" wasn\'t supplied.'
    st, e, _ = call("PUT", path, tok, dict(put, sha="1" * 40))
    assert st == 409 and e["message"] == "a.txt does not match %s" % ("1" * 40)
    st, e, _ = call("PUT", path, tok, dict(put, sha=f["sha"], branch="nope"))
    assert st == 404
    st, ok, _ = call("PUT", path, tok, dict(put, sha=f["sha"]))
    assert st == 200 and ok["content"]["sha"] == git_hash(b"b\n")
    assert ok["commit"]["parents"][0]["sha"] != ok["commit"]["sha"]
    st, ok, _ = call("PUT", "/repos/%s/contents/new/c.txt" % repo, tok, dict(put, sha="0" * 40))
    assert st == 201   # a new path ignores sha
    st, e, _ = call("DELETE", path, tok, {"message": "rm"})
    assert st == 422
    st, _, _ = call("DELETE", path, tok, {"message": "rm", "sha": git_hash(b"b\n")})
    assert st == 200
    st, _, _ = call("GET", path, tok)
    assert st == 404
    st, d, _ = call("GET", "/repos/%s/contents/" % repo, tok)
    assert st == 200 and [x["path"] for x in d] == ["new"] and d[0]["type"] == "dir"
    st, e, _ = call("PUT", "/repos/%s/contents/x.txt" % repo, tok,
                    dict(put, author={"name": "only a name"}))
    assert st == 422


def test_git_data_errors():
    reset()
    repo = fresh({"a.txt": "a\n"})
    tok = token()
    head = gh.head(repo)
    tree = gh.git(repo, "rev-parse", head + "^{tree}").strip()
    st, e, _ = call("POST", "/repos/%s/git/trees" % repo, tok, {
        "base_tree": tree, "tree": [{"path": "gone.txt", "mode": "100644", "type": "blob",
                                     "sha": None}]})
    assert st == 422   # deleting what is not there
    st, e, _ = call("POST", "/repos/%s/git/trees" % repo, tok, {
        "tree": [{"path": "x", "mode": "100644", "type": "blob", "sha": "a" * 40,
                  "content": "x"}]})
    assert st == 422
    st, e, _ = call("GET", "/repos/%s/git/ref/heads/nope" % repo, tok)
    assert st == 404 and e["message"] == "Not Found"
    st, e, _ = call("POST", "/repos/%s/git/refs" % repo, tok,
                    {"ref": "refs/heads/main", "sha": head})
    assert st == 422 and e["message"] == "Reference already exists"
    st, e, _ = call("GET", "/repos/%s/git/blobs/%s" % (repo, "b" * 40), tok)
    assert st == 404


# ---- auth ----

def test_app_jwt_is_verified():
    reset()
    now = int(time.time())
    assert call("GET", "/app", "Bearer " + jwt())[0] == 200
    for bad in (jwt(key=OTHER),                     # not the App's key
                jwt(exp=now - 5),                    # expired
                jwt(exp=now + 3600),                 # more than 10 minutes ahead
                jwt(iat=now + 120),                  # issued in the future
                jwt(iss=999),                        # another App
                "eyJhbGciOiJub25lIn0.e30.x"):        # garbage
        st, e, _ = call("GET", "/app", "Bearer " + bad)
        assert st == 401, (bad, e)
    st, e, _ = call("GET", "/app", "Bearer " + jwt(iss="Iv1.%016x" % APP))
    assert st == 200   # the client id works as iss too
    log = gh.calls("GET", "^/app$")
    assert log[-1]["jwt"]["iss"] == "Iv1.%016x" % APP


def test_tokens_expire_and_can_be_revoked():
    reset()
    repo = fresh()
    gh.configure(token_lifetime=2, token_length=600)
    tok = token()
    assert len(tok) == len("token ") + 600
    st, t, _ = call("POST", "/app/installations/%d/access_tokens" % INST, "Bearer " + jwt())
    assert set(["token", "expires_at", "permissions", "repository_selection"]) <= set(t)
    assert t["token"].startswith("ghs_%d_" % APP) and t["token"].count(".") == 2
    assert call("GET", "/repos/%s" % repo, tok)[0] == 200
    time.sleep(2.2)
    st, e, _ = call("GET", "/repos/%s" % repo, tok)
    assert st == 401 and e["message"] == "Bad credentials"
    tok = token()
    gh.revoke_tokens()
    assert call("GET", "/repos/%s" % repo, tok)[0] == 401
    assert call("POST", "/app/installations/999/access_tokens", "Bearer " + jwt())[0] == 404
    # a token of another installation does not see the repository
    gh.add_installation(INST + 1, "someone-else")
    other = token(INST + 1)
    assert call("GET", "/repos/%s" % repo, other)[0] == 404
    reset()


def test_rate_limit_headers_and_limits():
    reset()
    repo = fresh()
    tok = token()
    st, _, h = call("GET", "/repos/%s/git/ref/heads/main" % repo, tok)
    assert st == 200 and h["x-ratelimit-limit"] == "5000"
    rem = int(h["x-ratelimit-remaining"])
    st, body, h2 = call("GET", "/repos/%s/git/ref/heads/main" % repo, tok,
                        headers={"If-None-Match": h["etag"]})
    assert st == 304 and body is None and h2["etag"] == h["etag"]
    st, _, h3 = call("GET", "/repos/%s" % repo, tok)
    assert int(h3["x-ratelimit-remaining"]) == rem - 1   # the 304 did not count
    used = int(h3["x-ratelimit-used"])
    gh.configure(ratelimit_limit=used + 1)
    assert call("GET", "/repos/%s" % repo, tok)[0] == 200
    st, e, h = call("GET", "/repos/%s" % repo, tok)
    assert st == 403 and h["x-ratelimit-remaining"] == "0"
    assert int(h["x-ratelimit-reset"]) > time.time() and "rate limit" in e["message"]
    gh.configure(ratelimit_limit=5000)
    gh.rate_limit_window(2, "secondary")
    st, e, h = call("GET", "/repos/%s" % repo, tok)
    assert st == 403 and "secondary rate limit" in e["message"] and h["retry-after"] in "12"
    gh.rate_limit_window(2, "429")
    assert call("GET", "/repos/%s" % repo, tok)[0] == 429
    gh.clear_faults()
    assert call("GET", "/repos/%s" % repo, tok)[0] == 200


# ---- faults and the log ----

def test_faults_and_request_log():
    reset()
    repo = fresh()
    tok = token()
    gh.set_faults({"kind": "status", "status": 503, "count": 2, "match": "^GET /repos/"})
    assert [call("GET", "/repos/%s" % repo, tok)[0] for _ in range(3)] == [503, 503, 200]
    gh.set_faults({"kind": "drop", "count": 1})
    try:
        call("GET", "/repos/%s" % repo, tok)
        dropped = False
    except (http.client.RemoteDisconnected, ConnectionError):
        dropped = True
    assert dropped
    gh.set_faults({"kind": "delay", "ms": 400, "count": 1})
    t0 = time.monotonic()
    assert call("GET", "/repos/%s" % repo, tok)[0] == 200
    assert time.monotonic() - t0 >= 0.38
    gh.configure(seed=7)
    gh.set_faults({"kind": "status", "status": 500, "rate": 0.5})
    codes = [call("GET", "/repos/%s" % repo, tok)[0] for _ in range(40)]
    assert 5 <= codes.count(500) <= 35 and codes.count(200) >= 5
    gh.clear_faults()
    s = gh.log()[-1]["seq"]
    call("GET", "/repos/%s/git/ref/heads/main" % repo, tok)
    call("GET", "/repos/%s/git/ref/heads/nope" % repo, tok)
    got = gh.calls("GET", "/git/ref/", since=s)
    assert [e["status"] for e in got] == [200, 404]
    assert got[0]["auth"] == "installation" and got[0]["installation"] == INST
    assert len(gh.calls(since=s)) == 2


def test_concurrent_writer_commits_between_read_and_write():
    reset()
    repo = fresh()
    tok = token()
    head = gh.head(repo)
    tree = gh.git(repo, "rev-parse", head + "^{tree}").strip()
    mine = gh.git(repo, "commit-tree", "-p", head, "-m", "mine", tree).strip()
    gh.concurrent_writer(repo, on="ref_update", path="w.txt", content="w\n")
    st, e, _ = call("PATCH", "/repos/%s/git/refs/heads/main" % repo, tok, {"sha": mine})
    assert st == 422 and e["message"] == "Update is not a fast forward"
    assert gh.git(repo, "show", "main:w.txt") == "w\n"
    assert gh.git(repo, "rev-parse", "main^").strip() == head


def test_tree_truncation():
    reset()
    repo = fresh({"d%d/f%d.txt" % (i % 4, i): "%d\n" % i for i in range(30)})
    tok = token()
    gh.configure(tree_limit=7)
    st, t, _ = call("GET", "/repos/%s/git/trees/main?recursive=1" % repo, tok)
    assert st == 200 and t["truncated"] is True and len(t["tree"]) == 7
    st, t, _ = call("GET", "/repos/%s/git/trees/main" % repo, tok)
    assert t["truncated"] is False and [e["path"] for e in t["tree"]] == \
        ["d0", "d1", "d2", "d3"]
    gh.configure(tree_limit=100000)
    st, t, _ = call("GET", "/repos/%s/git/trees/main?recursive=1" % repo, tok)
    assert not t["truncated"] and len(t["tree"]) == 34
    blob = [e for e in t["tree"] if e["type"] == "blob"][0]
    assert set(blob) == {"path", "mode", "type", "sha", "size", "url"}


def test_check_runs_validated_and_annotations_appended():
    reset()
    repo = fresh()
    tok = token()
    head = gh.head(repo)

    def ann(i):
        return {"path": "a.txt", "start_line": i + 1, "end_line": i + 1,
                "annotation_level": "warning", "message": "m%d" % i}
    body = {"name": "Hedgehog fabric", "head_sha": head, "status": "in_progress",
            "output": {"title": "t", "summary": "s", "annotations": [ann(i) for i in range(51)]}}
    assert call("POST", "/repos/%s/check-runs" % repo, tok, body)[0] == 422
    body["output"]["annotations"] = [ann(i) for i in range(50)]
    body["output"]["summary"] = "x" * 65536
    assert call("POST", "/repos/%s/check-runs" % repo, tok, body)[0] == 422
    body["output"]["summary"] = "x" * 65535
    st, run, _ = call("POST", "/repos/%s/check-runs" % repo, tok, body)
    assert st == 201 and run["output"]["annotations_count"] == 50
    assert run["status"] == "in_progress" and run["conclusion"] is None
    st, run, _ = call("PATCH", "/repos/%s/check-runs/%d" % (repo, run["id"]), tok, {
        "conclusion": "failure", "output": {"title": "t", "summary": "s",
                                            "annotations": [ann(i) for i in range(5)]}})
    assert st == 200 and run["output"]["annotations_count"] == 55
    assert run["status"] == "completed" and run["completed_at"]
    st, anns, h = call("GET", "/repos/%s/check-runs/%d/annotations?per_page=50" % (
        repo, run["id"]), tok)
    assert len(anns) == 50 and 'rel="next"' in h["link"]
    assert call("POST", "/repos/%s/check-runs" % repo, tok,
                {"name": "x", "head_sha": "f" * 40})[0] == 422
    st, lst, _ = call("GET", "/repos/%s/commits/main/check-runs" % repo, tok)
    assert lst["total_count"] == 1


# ---- webhooks ----

def wait_hooks(n, event=None, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [h for h in Hooks.got if event is None or
               h["headers"]["x-github-event"] == event]
        if len(got) >= n:
            return got
        time.sleep(0.05)
    raise AssertionError("only %d %s deliveries arrived" % (len(Hooks.got), event))


def check_signature(h):
    want = "sha256=" + hmac.new(SECRET.encode(), h["body"], hashlib.sha256).hexdigest()
    assert h["headers"]["x-hub-signature-256"] == want
    assert "X-Hub-Signature-256" in h["raw_names"] and "X-GitHub-Event" in h["raw_names"]


def test_push_webhook_for_an_api_commit():
    reset()
    repo = fresh({"a.txt": "a\n", "b.txt": "b\n"})
    Hooks.got, Hooks.code = [], 200
    tok = token()
    head = gh.head(repo)
    st, c, _ = call("GET", "/repos/%s/git/commits/%s" % (repo, head), tok)
    st, t, _ = call("POST", "/repos/%s/git/trees" % repo, tok, {
        "base_tree": c["tree"]["sha"],
        "tree": [{"path": "a.txt", "mode": "100644", "type": "blob", "content": "A\n"},
                 {"path": "b.txt", "mode": "100644", "type": "blob", "sha": None},
                 {"path": "n/c.txt", "mode": "100644", "type": "blob", "content": "c\n"}]})
    st, nc, _ = call("POST", "/repos/%s/git/commits" % repo, tok,
                     {"message": "three", "tree": t["sha"], "parents": [head]})
    call("PATCH", "/repos/%s/git/refs/heads/main" % repo, tok, {"sha": nc["sha"]})
    h = wait_hooks(1, "push")[0]
    check_signature(h)
    assert h["headers"]["user-agent"].startswith("GitHub-Hookshot/")
    assert h["headers"]["x-github-hook-installation-target-type"] == "integration"
    p = h["json"]
    assert p["ref"] == "refs/heads/main" and p["before"] == head and p["after"] == nc["sha"]
    assert not p["created"] and not p["deleted"] and not p["forced"]
    assert len(p["commits"]) == 1
    cm = p["commits"][0]
    assert cm["id"] == nc["sha"] and cm["added"] == ["n/c.txt"]
    assert cm["modified"] == ["a.txt"] and cm["removed"] == ["b.txt"]
    assert p["head_commit"]["id"] == nc["sha"]
    assert p["repository"]["full_name"] == repo and p["installation"]["id"] == INST
    assert p["sender"]["type"] == "Bot" and p["sender"]["login"].endswith("[bot]")
    suite = wait_hooks(1, "check_suite")[0]["json"]
    assert suite["action"] == "requested" and suite["check_suite"]["head_sha"] == nc["sha"]


def test_push_webhook_for_a_real_git_push():
    reset()
    repo = fresh({"a.txt": "a\n", "b.txt": "b\n"})
    Hooks.got = []
    work = os.path.join(tmp, "clone-%d" % _n[0])
    env = dict(os.environ, GIT_AUTHOR_NAME="Pat", GIT_AUTHOR_EMAIL="pat@example.com",
               GIT_COMMITTER_NAME="Pat", GIT_COMMITTER_EMAIL="pat@example.com",
               GHEMU_PUSHER="pat")

    def git(*args):
        return subprocess.run(["git", "-C", work] + list(args), check=True, env=env,
                              capture_output=True, timeout=60).stdout.decode()
    subprocess.run(["git", "clone", "-q", gh.repo_path(repo), work], check=True, env=env,
                   capture_output=True, timeout=60)
    before = git("rev-parse", "HEAD").strip()
    with open(os.path.join(work, "a.txt"), "w") as f:
        f.write("changed\n")
    os.makedirs(os.path.join(work, "raw"))
    with open(os.path.join(work, "raw", "new.yaml"), "w") as f:
        f.write("kind: VPC\n")
    git("rm", "-q", "b.txt")
    git("add", "-A")
    git("commit", "-q", "-m", "by hand")
    after = git("rev-parse", "HEAD").strip()
    git("push", "-q", "origin", "main")
    p = wait_hooks(1, "push")[0]["json"]
    assert p["before"] == before and p["after"] == after
    c = p["commits"][0]
    assert (c["added"], c["modified"], c["removed"]) == (["raw/new.yaml"], ["a.txt"], ["b.txt"])
    assert c["author"]["email"] == "pat@example.com" and p["pusher"]["name"] == "pat"
    # a new branch: created, its commits those not on other branches
    git("checkout", "-q", "-b", "topic")
    git("commit", "-q", "--allow-empty", "-m", "topic")
    git("push", "-q", "origin", "topic")
    p = wait_hooks(2, "push")[1]["json"]
    assert p["created"] and p["before"] == "0" * 40 and len(p["commits"]) == 1
    # a forced push
    git("reset", "-q", "--hard", after)
    git("commit", "-q", "--allow-empty", "-m", "other")
    git("push", "-q", "-f", "origin", "topic")
    p = wait_hooks(3, "push")[2]["json"]
    assert p["forced"]


def test_pull_request_events():
    reset()
    repo = fresh()
    Hooks.got = []
    gh.commit(repo, {"f.txt": "f\n"}, branch="feature", notify=False)
    pr = gh.open_pull_request(repo, "feature", title="Add f")
    got = wait_hooks(1, "pull_request")
    p = got[0]["json"]
    assert p["action"] == "opened" and p["number"] == pr["number"]
    assert p["pull_request"]["head"]["ref"] == "feature"
    assert p["pull_request"]["base"]["sha"] == gh.head(repo)
    cs = wait_hooks(1, "check_suite")[0]["json"]["check_suite"]
    assert cs["pull_requests"][0]["number"] == pr["number"]
    gh.commit(repo, {"g.txt": "g\n"}, branch="feature")
    sync = wait_hooks(2, "pull_request")[1]["json"]
    assert sync["action"] == "synchronize" and sync["after"] == gh.head(repo, "feature")
    tok = token()
    st, files, _ = call("GET", "/repos/%s/pulls/%d/files" % (repo, pr["number"]), tok)
    assert sorted(f["filename"] for f in files) == ["f.txt", "g.txt"]
    assert all(f["status"] == "added" for f in files)


def test_deliveries_api_and_redelivery():
    reset()
    repo = fresh()
    Hooks.got, Hooks.code = [], 500
    s = gh.deliveries()[-1]["id"] if gh.deliveries() else 0
    gh.commit(repo, {"x.txt": "x\n"})
    failed = gh.wait_deliveries(1, "push", since=s)[0]
    assert failed["status"] == "Invalid HTTP Response: 500" and failed["status_code"] == 500
    st, lst, h = call("GET", "/app/hook/deliveries?per_page=1", "Bearer " + jwt())
    assert st == 200 and len(lst) == 1 and 'rel="next"' in h["link"] and "cursor=" in h["link"]
    st, one, _ = call("GET", "/app/hook/deliveries/%d" % failed["id"], "Bearer " + jwt())
    assert one["guid"] == failed["guid"] and one["request"]["payload"]["ref"] == "refs/heads/main"
    Hooks.code = 200
    st, _, _ = call("POST", "/app/hook/deliveries/%d/attempts" % failed["id"],
                    "Bearer " + jwt())
    assert st == 202
    again = [d for d in gh.wait_deliveries(2, "push", since=s) if d["redelivery"]]
    assert again and again[0]["guid"] == failed["guid"] and again[0]["status"] == "OK"
    assert Hooks.got[-1]["headers"]["x-github-delivery"] == failed["guid"]
    assert call("GET", "/app/hook/deliveries", token())[0] == 403   # needs the JWT


def test_state_survives_a_restart():
    reset()
    d = os.path.join(tmp, "persist")
    key, pub = make_app_key(tmp, name="persist")
    with GitHubEmulator(d) as g:
        g.set_app(9, pub)
        g.add_installation(3, "keep")
        g.create_repo("keep", "it", installation_id=3, files={"k.txt": "k\n"})
        head = g.head("keep/it")
        time.sleep(0.7)   # the state file is written within half a second
    with GitHubEmulator(d) as g:
        assert g.head("keep/it") == head
        repos = g.admin("GET", "/_admin/repos")
        assert [r["full_name"] for r in repos] == ["keep/it"]
        # hooks point at the new port
        with open(os.path.join(g.repo_path("keep/it"), "ghemu-url")) as f:
            assert f.read().strip() == g.url
