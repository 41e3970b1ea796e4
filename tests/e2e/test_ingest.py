"""Fabric onboarding and raw/ ingestion end to end: nginx + hedgesync + the
GitHub emulator (bare git repositories) + real `git push`."""
import json
import os
import subprocess
import sys
import tempfile
import time

from harness import TOP, GitHubStack, wait_for


CORPUS = os.path.join(TOP, "tests", "data", "corpus")
INSTALLATION = 77
GH = S = None
_n = [0]


G = None


def setup_module():
    global G, GH, S
    G = GitHubStack(4242, INSTALLATION).start()
    GH, S = G.gh, G.stack


def teardown_module():
    G.stop()


def new_repo(files=None):
    _n[0] += 1
    name = f"fab{_n[0]}"
    GH.create_repo("acme", name, installation_id=INSTALLATION,
                   files=files or {"README.md": "fabric repo\n"})
    return f"acme/{name}"


def api(method, path, body=None):
    return G.api(method, path, body)


def git(repo, *args):
    return GH.git(repo, *args)


def log(repo):
    return [l for l in git(repo, "log", "--format=%H %an|%s", "main").splitlines() if l]


def ls(repo, ref="main"):
    out = git(repo, "ls-tree", "-r", "--name-only", ref)
    return sorted(out.split())


def show(repo, path, ref="main"):
    return git(repo, "show", f"{ref}:{path}")


def settle(repo, timeout=60):
    return G.settle(repo, timeout)


def push_files(repo, files, message="Add wiring", remove=()):
    """A person's git push: clone, change, commit, push."""
    work = tempfile.mkdtemp(dir=G.tmp)
    env = dict(os.environ, GIT_AUTHOR_NAME="Dana", GIT_AUTHOR_EMAIL="dana@example.com",
               GIT_COMMITTER_NAME="Dana", GIT_COMMITTER_EMAIL="dana@example.com",
               GHEMU_PUSHER="dana")

    def g(*a):
        return subprocess.run(["git", "-C", work] + list(a), check=True, env=env,
                              capture_output=True, timeout=60).stdout.decode()
    subprocess.run(["git", "clone", "-q", GH.repo_path(repo), work], check=True, env=env,
                   capture_output=True, timeout=60)
    for path, content in files.items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
    for path in remove:
        g("rm", "-q", path)
    g("add", "-A")
    g("commit", "-q", "-m", message)
    g("push", "-q", "origin", "main")
    return g("rev-parse", "HEAD").strip()


def register(repo, name, directory="network/dc1"):
    status, body = api("POST", "/fabrics", {"name": name, "repository": repo,
                                            "directory": directory})
    assert status == 201, body
    return body


def read_corpus(name):
    with open(os.path.join(CORPUS, name)) as f:
        return f.read()


def test_register_onboards_in_one_commit_and_again_in_none():
    repo = new_repo({"README.md": "x\n", "network/dc1/loose.yaml": read_corpus(
        "demo-gitops_env-1_vpc-test.yaml")})
    before = len(log(repo))
    body = register(repo, "dc1", "/network/dc1/")
    assert body["directory"] == "network/dc1" and body["branch"] == "main"
    assert body["installation_id"] == INSTALLATION
    settle(repo)
    commits = log(repo)
    files = ls(repo)
    assert "network/dc1/.hnp/manifest.yaml" in files
    assert "network/dc1/.hnp/archive-log.yaml" in files
    assert "network/dc1/managed/.gitkeep" in files and "network/dc1/unmanaged/.gitkeep" in files
    assert "network/dc1/loose.yaml" not in files  # moved to raw/, then ingested
    assert any(f.startswith("network/dc1/managed/vpcs/") for f in files), files
    # one onboarding commit, one ingestion commit of the moved file
    assert len(commits) == before + 2, commits
    assert "Onboard fabric dc1" in commits[1] and "Hedgesync" not in commits[1].split("|")[0]
    added = GH.git(repo, "log", "--format=%H", "--diff-filter=A", "main", "--",
                   "network/dc1/.hnp/archive-log.yaml").split()
    assert GH.git(repo, "show", added[-1] + ":network/dc1/.hnp/archive-log.yaml") == \
        "version: 1\nentries: []\n"  # text, no stray NUL
    # forget and register again: state comes back, no commit is made
    state = S.query("SELECT kind, name, blob_sha FROM resources WHERE fabric = 'dc1' ORDER BY 1, 2")
    assert state
    assert api("DELETE", "/fabrics/dc1")[0] == 200
    assert S.query("SELECT count(*) FROM resources WHERE fabric = 'dc1'")[0][0] == 0
    register(repo, "dc1", "network/dc1")
    settle(repo)
    assert len(log(repo)) == before + 2
    assert S.query("SELECT kind, name, blob_sha FROM resources WHERE fabric = 'dc1'"
                   " ORDER BY 1, 2") == state


def test_registration_errors():
    repo = new_repo()
    cases = [
        ({"name": "Bad_Name", "repository": repo, "directory": "a"}, 422, "name"),
        ({"name": "ok", "repository": "noslash", "directory": "a"}, 422, "repository"),
        ({"name": "ok", "repository": repo, "directory": "a/../b"}, 422, "directory"),
        ({"name": "ok", "repository": repo, "directory": "a//b"}, 422, "directory"),
        ({"name": "ok", "repository": "acme/not-installed-here", "directory": "a"}, 422,
         "repository"),
    ]
    GH.create_repo("other", "x")  # exists, App not installed
    cases.append(({"name": "ok", "repository": "other/x", "directory": "a"}, 422, "repository"))
    for body, code, field in cases:
        status, resp = api("POST", "/fabrics", body)
        assert status == code, (body, status, resp)
        assert resp["error"]["details"]["field"] == field, resp
    register(repo, "outer", "sites")
    status, resp = api("POST", "/fabrics", {"name": "inner", "repository": repo,
                                            "directory": "sites/a"})
    assert status == 409 and "overlaps fabric outer" in resp["error"]["message"]
    status, resp = api("POST", "/fabrics", {"name": "outer", "repository": repo,
                                            "directory": "elsewhere"})
    assert status == 409
    assert api("GET", "/fabrics/nope")[0] == 404
    assert S.request("GET", "/api/v1/fabrics")[0] == 401
    names = [f["name"] for f in api("GET", "/fabrics")[1]["fabrics"]]
    assert "outer" in names and "inner" not in names
    settle(repo)


def test_lab_ci_wiring_becomes_51_managed_files_in_one_commit():
    repo = new_repo()
    register(repo, "labci", "fab")
    settle(repo)
    before = log(repo)
    wiring = read_corpus("lab-ci_env-ci-1_wiring.yaml")
    pushed = push_files(repo, {"fab/raw/wiring.yaml": wiring})
    head = settle(repo)
    after = log(repo)
    assert len(after) == len(before) + 2, after  # the push and exactly one ingestion
    assert after[1].startswith(pushed)
    sha, rest = after[0].split(" ", 1)
    assert "Hedgesync-Operation:" in git(repo, "show", "-s", "--format=%B", sha)
    author = git(repo, "show", "-s", "--format=%an", sha).strip()
    assert author != "Dana", author
    managed = [f for f in ls(repo) if f.startswith("fab/managed/") and f.endswith(".yaml")]
    assert len(managed) == 51, managed
    folders = {f.split("/")[2] for f in managed}
    assert folders == {"vlannamespaces", "ipv4namespaces", "switchgroups", "switches",
                       "servers", "connections", "externals", "externalattachments"}, folders
    assert [f for f in ls(repo) if f.startswith("fab/raw/")] == ["fab/raw/.gitkeep"]
    raw_blob = git(repo, "rev-parse", f"{pushed}:fab/raw/wiring.yaml").strip()
    assert raw_blob in show(repo, "fab/.hnp/archive-log.yaml")
    # every managed file is canonical: hedgesync validate finds nothing to fix
    one = show(repo, managed[0])
    assert one.startswith("apiVersion: wiring.githedgehog.com/v1beta1\nkind: ")
    assert S.query("SELECT count(*) FROM resources WHERE fabric = 'labci'")[0][0] == 51
    assert S.query("SELECT head FROM fabrics WHERE name = 'labci'")[0][0] == head
    # the same resources pushed again: no managed file changes
    push_files(repo, {"fab/raw/again.yaml": wiring})
    settle(repo)
    assert [f for f in ls(repo) if f.startswith("fab/managed/")] == \
        [f for f in ls(repo, sha) if f.startswith("fab/managed/")]
    diff = git(repo, "diff", "--name-only", sha, "main").split()
    assert not [d for d in diff if d.startswith("fab/managed/")], diff


def test_mixed_file_and_bad_inputs_go_to_unmanaged_with_reasons():
    repo = new_repo()
    register(repo, "mixed", "")
    settle(repo)
    mixed = read_corpus("demo-gitops_env-1_pre-demo.yaml").split("\n---\n")
    vpcs = [d for d in mixed if "kind: VPC\n" in d][:2]
    bad = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-name-too-long\nspec:\n  subnets: {}\n"
    foreign = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {}\n"
    files = {
        "raw/mixed.yaml": "\n---\n".join(vpcs + [bad, foreign]) + "\n",
        "raw/broken.yaml": "a: [unclosed\n",
        "raw/notes.txt": "not yaml at all\n",
        "raw/empty.yaml": "",
        "raw/sub/dir/deep.yaml": read_corpus("demo-gitops_env-1_vpc-test.yaml"),
        "raw/big.yaml": "# " + "x" * (2 * 1024 * 1024) + "\n",
    }
    push_files(repo, files)
    settle(repo)
    tree = ls(repo)
    raw_left = [f for f in tree if f.startswith("raw/") and f != "raw/.gitkeep"]
    assert raw_left == [], raw_left
    unmanaged = [f for f in tree if f.startswith("unmanaged/")]
    reasons = [f for f in unmanaged if f.endswith(".reasons.yaml")]
    assert len(reasons) >= 4, unmanaged
    text = "".join(show(repo, r) for r in reasons)
    assert "line" in text and "column" in text
    assert "name-too-long" in text
    vpcs_managed = [f for f in tree if f.startswith("managed/vpcs/")]
    assert len(vpcs_managed) >= 2, tree


def test_own_commits_cause_nothing_and_a_racing_push_is_kept():
    repo = new_repo()
    register(repo, "race", "r")
    settle(repo)
    n0 = len(log(repo))
    # a human commit lands between hedgesync's read and its write
    GH.concurrent_writer(repo, on="ref_update", path="r/HUMAN.md", content="mine\n")
    push_files(repo, {"r/raw/vpc.yaml": read_corpus("demo-gitops_env-1_vpc-test.yaml")})
    settle(repo)
    files = ls(repo)
    refused = [c for c in GH.calls("PATCH", repo + "/git/refs/") if c.get("status") == 422]
    assert refused, "the ingestion commit met the other writer (non-fast-forward)"
    assert "r/HUMAN.md" in files  # the other writer's change kept
    assert any(f.startswith("r/managed/vpcs/") for f in files)
    settle(repo)
    n1 = len(log(repo))
    time.sleep(1.5)
    assert len(log(repo)) == n1  # nothing more: hedgesync's own push made no commit
    assert n1 - n0 <= 4, log(repo)[: n1 - n0]


def test_ingest_endpoint_and_twenty_fabrics():
    repo = new_repo()
    vpc = read_corpus("demo-gitops_env-1_vpc-test.yaml")
    files = {f"f{i}/raw/v.yaml": vpc for i in range(20)}
    push_files(repo, files)
    for i in range(20):
        register(repo, f"many{i}", f"f{i}")
    settle(repo, timeout=120)
    for i in range(20):
        assert [f for f in ls(repo) if f.startswith(f"f{i}/raw/")] == [f"f{i}/raw/.gitkeep"]
        assert S.query("SELECT count(*) FROM resources WHERE fabric = ?", f"many{i}")[0][0] == 1
    status, body = api("POST", "/fabrics/many0/ingest")
    assert status == 202 and body["status"] == "queued"
    n = len(log(repo))
    settle(repo)
    assert len(log(repo)) == n  # nothing in raw/: no commit
    assert api("POST", "/fabrics/nope/ingest")[0] == 404


def test_a_pushed_manifest_registers_its_fabric():
    repo = new_repo()
    vpc = read_corpus("demo-gitops_env-1_vpc-test.yaml")
    push_files(repo, {"pods/p1/.hnp/manifest.yaml": "version: 1\nfabric: found-me\n",
                      "pods/p1/raw/vpc.yaml": vpc})
    settle(repo)
    status, body = api("GET", "/fabrics/found-me")
    assert status == 200, body
    assert body["directory"] == "pods/p1" and body["repository"] == repo
    assert body["resources"]["total"] == 1
    assert "pods/p1/raw/vpc.yaml" not in ls(repo)


def test_fabrics_command_line():
    repo = new_repo()
    out = json.loads(S.cli("fabrics", "add", "cli-fab", "--repository", repo,
                           "--directory", "/c/").stdout)
    assert out["directory"] == "c" and out["branch"] == "main"
    settle(repo)
    assert "c/.hnp/manifest.yaml" in ls(repo)  # the running service onboarded it
    listed = json.loads(S.cli("fabrics", "list").stdout)
    assert "cli-fab" in [f["name"] for f in listed]
    shown = json.loads(S.cli("fabrics", "show", "cli-fab").stdout)
    assert shown["repository"] == repo
    assert "queued as job" in S.cli("fabrics", "ingest", "cli-fab").stdout
    settle(repo)
    r = S.cli("fabrics", "add", "cli-fab", "--repository", repo, "--directory", "d", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr
    assert "removed" in S.cli("fabrics", "remove", "cli-fab").stdout
    assert S.cli("fabrics", "show", "cli-fab", check=False).returncode == 1


def test_a_changed_resource_updates_its_file():
    repo = new_repo()
    register(repo, "upd", "u")
    settle(repo)
    vpc = read_corpus("demo-gitops_env-1_vpc-test.yaml")
    push_files(repo, {"u/raw/v.yaml": vpc})
    settle(repo)
    managed = [f for f in ls(repo) if f.startswith("u/managed/vpcs/")]
    assert len(managed) == 1
    first = show(repo, managed[0])
    changed = vpc.replace("vlan: 1200", "vlan: 1777")
    assert changed != vpc, "the corpus VPC has vlan 1200"
    push_files(repo, {"u/raw/v2.yaml": changed})
    settle(repo)
    second = show(repo, managed[0])
    assert second != first and "1777" in second
    row = S.query("SELECT blob_sha, origin FROM resources WHERE fabric = 'upd'")
    assert row[0][0] == git(repo, "rev-parse", f"main:{managed[0]}").strip()
    assert row[0][1] == "ingestion"


def test_installation_event_discovers_manifests():
    repo = new_repo({"README.md": "x\n", "site/.hnp/manifest.yaml": "version: 1\nfabric: via-install\n"})
    status, body = S.webhook("installation_repositories", {
        "action": "added", "installation": {"id": INSTALLATION},
        "repositories_added": [{"full_name": repo, "name": repo.split("/")[1]}],
        "sender": {"login": "dana"}})
    assert status == 202, body
    settle(repo)
    status, body = api("GET", "/fabrics/via-install")
    assert status == 200 and body["directory"] == "site", body
    assert "site/raw/.gitkeep" in ls(repo)


def test_deliveries_missed_while_down_are_redelivered_once():
    repo = new_repo()
    register(repo, "redeliv", "rd")
    settle(repo)
    S.terminate()  # hedgesync is down; nginx answers 502 to GitHub
    vpc = read_corpus("demo-gitops_env-1_vpc-test.yaml")
    for i in range(3):
        push_files(repo, {f"rd/raw/v{i}.yaml": vpc.replace("vpc-test", f"vpc-{i}")})
    failed = [d for d in GH.deliveries() if d.get("event") == "push"
              and d.get("status_code") not in (200, 202)]
    assert len(failed) >= 3, failed
    guids = {d["guid"] for d in failed}
    S.env["HEDGESYNC_REDELIVER_SECONDS"] = "1"
    S.start_hedgesync()
    S.wait_healthy()
    wait_for(lambda: guids <= {r[0] for r in S.query("SELECT guid FROM deliveries")},
             timeout=30, what="redelivered pushes stored")
    settle(repo)
    stored = S.query("SELECT guid, count(*) FROM deliveries GROUP BY guid")
    assert all(n == 1 for _, n in stored)
    files = ls(repo)
    assert [f for f in files if f.startswith("rd/raw/")] == ["rd/raw/.gitkeep"]
    assert len([f for f in files if f.startswith("rd/managed/vpcs/")]) == 3
    time.sleep(2.5)  # more scans: nothing is asked again
    asks = S.query("SELECT max(asks) FROM redeliveries")[0][0]
    assert asks == 1, asks


def test_resource_api_pages_by_cursor_and_shows_deletions():
    repo = new_repo()
    register(repo, "pull", "p")
    settle(repo)
    push_files(repo, {"p/raw/w.yaml": read_corpus("lab-ci_env-ci-1_wiring.yaml")})
    settle(repo)
    seen, cursor = [], 0
    for _ in range(20):
        status, body = api("GET", f"/fabrics/pull/resources?since={cursor}&limit=20")
        assert status == 200, body
        seen += body["resources"]
        cursor = body["next"]
        if not body["more"]:
            break
    assert len(seen) == 51 and len({(r["kind"], r["name"]) for r in seen}) == 51
    assert [r["seq"] for r in seen] == sorted(r["seq"] for r in seen)
    status, body = api("GET", "/fabrics/pull/resources?kind=Switch")
    assert status == 200 and len(body["resources"]) == 6
    assert api("GET", "/fabrics/pull/resources?kind=Gateway")[0] == 422
    assert api("GET", "/fabrics/pull/resources?limit=0")[0] == 400
    one = [r for r in seen if r["kind"] == "Switch"][0]
    status, body = api("GET", f"/fabrics/pull/resources/switches/{one['name']}")
    assert status == 200, body
    path = body["path"]
    assert body["yaml"] == show(repo, "p/" + path)  # the same bytes as the managed file
    assert body["blob_sha"] == git(repo, "rev-parse", f"main:p/{path}").strip()
    assert body["findings"] == [] and body["valid"] is True
    assert api("GET", "/fabrics/pull/resources/VPC/nope")[0] == 404
    status, st = api("GET", "/fabrics/pull/status")
    assert status == 200 and st["resources"]["total"] == 51 and st["head"] == GH.head(repo)
    assert st["jobs"]["pending"] == 0
    # a person deletes a managed file: the next page shows a tombstone
    push_files(repo, {}, message="Remove a switch", remove=[f"p/{path}"])
    settle(repo)  # the push rebuilt the fabric's state from managed/
    status, body = api("GET", f"/fabrics/pull/resources?since={cursor}")
    assert [(r["kind"], r["name"], r["deleted"]) for r in body["resources"]] == \
        [("Switch", one["name"], True)]
    assert api("GET", f"/fabrics/pull/resources/Switch/{one['name']}")[0] == 404
