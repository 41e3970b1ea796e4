"""GitHub -> NetBox end to end: pushes and merged pull requests become the
fabric's resource state and reach a NetBox stand-in from the durable outbox,
in order, through outages; forced pushes, new branches and resync."""
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

import yaml

from harness import TOP, GitHubStack, wait_for

sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))
from nbstandin import NetBoxStandIn  # noqa: E402

INSTALLATION = 77
NB_TOKEN = "nb-api-token-for-tests"
G = GH = S = NB = None
_n = [0]


def setup_module():
    global G, GH, S, NB
    NB = NetBoxStandIn("unused").start()
    G = GitHubStack(6161, INSTALLATION, env={
        "NETBOX_URL": NB.url, "NETBOX_TOKEN": NB_TOKEN,
        "NETBOX_NOTIFY_PATH": "/api/plugins/hedgehog/gitops/events/"}).start()
    GH, S = G.gh, G.stack


def teardown_module():
    try:
        G.stop()
    finally:
        NB.stop()


def vpc_yaml(name, third, vlan):
    return ("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n"
            f"  name: {name}\n  namespace: default\nspec:\n  subnets:\n    default:\n"
            f"      subnet: 10.{third}.1.0/24\n      vlan: {vlan}\n")


def new_fabric(files=None, branch=None):
    """A repository with an onboarded fabric at its root."""
    _n[0] += 1
    name = f"rc{_n[0]}"
    GH.create_repo("acme", name, installation_id=INSTALLATION,
                   files=dict({"README.md": "fabric\n"}, **(files or {})))
    repo = f"acme/{name}"
    body = {"name": name, "repository": repo}
    if branch:
        body["branch"] = branch
    st, out = G.api("POST", "/fabrics", body)
    assert st == 201, out
    G.settle(repo)
    return repo, name


def notes(fabric):
    """What NetBox accepted for fabric, in the order it accepted it."""
    return [r["body"] for r in NB.received() if r["body"] and r["body"]["fabric"] == fabric]


def wait_notes(fabric, n, timeout=30):
    return wait_for(lambda: len(notes(fabric)) >= n and notes(fabric), timeout=timeout,
                    what=f"{n} notifications for {fabric}")


def state(fabric):
    st, out = G.api("GET", f"/fabrics/{fabric}/resources?since=0&limit=1000")
    assert st == 200, out
    return {(r["kind"], r["name"]): r for r in out["resources"] if not r.get("deleted")}


def blob(repo, path, ref="main"):
    return GH.git(repo, "rev-parse", f"{ref}:{path}").strip()


def git_push(repo, files, remove=(), branch="main", force_from=None, message="Edit"):
    """A person's git push into the emulator's bare repository (its hook sends
    the webhook).  force_from: reset to that commit first and push --force."""
    work = tempfile.mkdtemp(dir=G.tmp)
    env = dict(os.environ, GIT_AUTHOR_NAME="Dana", GIT_AUTHOR_EMAIL="dana@example.com",
               GIT_COMMITTER_NAME="Dana", GIT_COMMITTER_EMAIL="dana@example.com",
               GHEMU_PUSHER="dana")

    def g(*a):
        return subprocess.run(["git", "-C", work] + list(a), check=True, env=env,
                              capture_output=True, timeout=60).stdout.decode()
    subprocess.run(["git", "clone", "-q", GH.repo_path(repo), work], check=True, env=env,
                   capture_output=True, timeout=60)
    if branch != "main":
        g("checkout", "-q", "-B", branch)
    if force_from:
        g("reset", "-q", "--hard", force_from)
    for path, content in files.items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)
    for path in remove:
        g("rm", "-q", path)
    g("add", "-A")
    g("commit", "-q", "-m", message)
    g("push", "-q", "-f" if force_from else "-q", "origin", f"HEAD:refs/heads/{branch}")
    return g("rev-parse", "HEAD").strip()


def test_merged_pull_request_reaches_netbox_in_order():
    files = {f"managed/vpcs/v{i}.yaml": vpc_yaml(f"v{i}", 30 + i, 1000 + i) for i in range(4)}
    repo, fab = new_fabric()
    GH.commit(repo, files, message="Four VPCs")
    G.settle(repo)
    first = wait_notes(fab, 4)
    assert [(n["action"], n["name"], n["origin"]) for n in first] == \
        [("created", f"v{i}", "git") for i in range(4)], first
    # a pull request changes three and deletes one; then it is merged
    change = {f"managed/vpcs/v{i}.yaml": vpc_yaml(f"v{i}", 30 + i, 1100 + i) for i in range(3)}
    change["managed/vpcs/v3.yaml"] = None
    GH.commit(repo, change, branch="change", message="Move three VLANs, drop v3")
    pr = GH.open_pull_request(repo, "change")
    G.settle(repo)
    assert len(notes(fab)) == 4  # nothing merged yet: nothing for NetBox
    merge = GH.merge_pull(repo, pr["number"])
    G.settle(repo)
    got = wait_notes(fab, 8)[4:]
    assert [(n["action"], n["name"]) for n in got] == \
        [("updated", "v0"), ("updated", "v1"), ("updated", "v2"), ("deleted", "v3")], got
    assert all(n["origin"] == "git" and n["commit"] == merge for n in got), got
    ids = [n["change_id"] for n in first + got]
    assert ids == sorted(ids) and len(set(ids)) == 8, ids
    assert got[0]["spec"] == {"subnets": {"default": {"subnet": "10.30.1.0/24", "vlan": 1100}}}
    assert got[0]["blob_sha"] == blob(repo, "managed/vpcs/v0.yaml")
    assert got[0]["path"] == "managed/vpcs/v0.yaml" and got[0]["kind"] == "VPC"
    r = [x for x in NB.received() if x["body"] and x["body"]["fabric"] == fab]
    assert all(x["authorization"] == f"Token {NB_TOKEN}" for x in r)
    assert all(x["path"] == "/api/plugins/hedgehog/gitops/events/" for x in r)
    s = state(fab)
    assert sorted(n for _, n in s) == ["v0", "v1", "v2"]
    for i in range(3):
        assert s[("VPC", f"v{i}")]["blob_sha"] == blob(repo, f"managed/vpcs/v{i}.yaml")
        st, one = G.api("GET", f"/fabrics/{fab}/resources/VPC/v{i}")
        assert one["spec"]["spec"]["subnets"]["default"]["vlan"] == 1100 + i, one
    st, status = G.api("GET", f"/fabrics/{fab}/status")
    assert status["outbox"] == {"pending": 0, "dead": 0}, status


def metric(name, labels):
    st, data, _ = S.request("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.split()[-1])
    return None


def test_netbox_down_for_a_while_gets_every_change_in_order():
    repo, fab = new_fabric()
    NB.fail_for(503, 4.0)
    for i in range(5):  # five pushes while NetBox answers 503
        GH.commit(repo, {f"managed/vpcs/d{i}.yaml": vpc_yaml(f"d{i}", 40 + i, 1200 + i)},
                  message=f"VPC d{i}")
    G.settle(repo)
    pending = metric("hedgesync_netbox_outbox", 'state="pending"')
    failed = [r for r in NB.received(accepted_only=False)
              if r["status"] == 503 and r["body"] and r["body"]["fabric"] == fab]
    got = wait_notes(fab, 5, timeout=60)
    assert [n["name"] for n in got] == [f"d{i}" for i in range(5)], got
    assert len({n["change_id"] for n in got}) == 5
    assert failed, "NetBox was never asked while it was down"
    assert pending and pending >= 1, pending  # the backlog showed in /metrics
    wait_for(lambda: metric("hedgesync_netbox_outbox", 'state="pending"') == 0,
             what="empty outbox")
    # nobody was told anything out of order: each fabric's first acceptance ascends
    assert [n["change_id"] for n in got] == sorted(n["change_id"] for n in got)


def test_dead_letter_after_the_give_up_window_and_retry():
    nb2 = NetBoxStandIn("unused").start()
    g = GitHubStack(6162, INSTALLATION + 1, env={
        "NETBOX_URL": nb2.url, "NETBOX_TOKEN": NB_TOKEN,
        "HEDGESYNC_NOTIFY_GIVE_UP_SECONDS": "2"}).start()
    try:
        nb2.fail_for(503, 3600)
        g.gh.create_repo("acme", "dead", installation_id=INSTALLATION + 1,
                         files={"managed/vpcs/x1.yaml": vpc_yaml("x1", 50, 1301)})
        st, out = g.api("POST", "/fabrics", {"name": "dead", "repository": "acme/dead"})
        assert st == 201, out
        g.settle("acme/dead")
        wait_for(lambda: g.stack.query("SELECT count(*) FROM outbox WHERE state='dead'")[0][0]
                 == 1, timeout=30, what="dead letter")
        st, data, _ = g.stack.request("GET", "/metrics")
        assert 'hedgesync_netbox_outbox{state="dead"} 1' in data.decode()
        listed = g.stack.cli("notifications", "list", "--dead").stdout
        assert "VPC/x1" in listed and "NetBox answered 503" in listed, listed
        nb2.fail_for(200, 0)
        assert "1 notification queued again" in g.stack.cli("notifications", "retry",
                                                              "--all").stdout
        wait_for(lambda: [r["body"]["name"] for r in nb2.received()] == ["x1"], timeout=30,
                 what="delivery after retry")
        assert g.stack.cli("notifications", "retry", "999", check=False).returncode == 1
    finally:
        g.stop()
        nb2.stop()


def test_forced_push_rewriting_history_leaves_the_new_head_state():
    repo, fab = new_fabric()
    a = git_push(repo, {"managed/vpcs/f1.yaml": vpc_yaml("f1", 60, 1401),
                        "managed/vpcs/f2.yaml": vpc_yaml("f2", 61, 1402)}, message="A")
    G.settle(repo)
    git_push(repo, {"managed/vpcs/f1.yaml": vpc_yaml("f1", 60, 1411),
                    "managed/vpcs/f3.yaml": vpc_yaml("f3", 62, 1403)}, message="B")
    G.settle(repo)
    assert sorted(n for _, n in state(fab)) == ["f1", "f2", "f3"]
    # rewrite: back to A, then drop f2 and add f4
    git_push(repo, {"managed/vpcs/f4.yaml": vpc_yaml("f4", 63, 1404)},
             remove=["managed/vpcs/f2.yaml"], force_from=a, message="C (rewritten)")
    G.settle(repo)
    push = [d for d in GH.deliveries() if d.get("event") == "push"][-1]
    assert push["request"]["payload"]["forced"] is True
    s = state(fab)
    assert sorted(n for _, n in s) == ["f1", "f4"]
    head_files = GH.git(repo, "ls-tree", "-r", "--name-only", "main").split()
    for (_, n), r in s.items():
        assert r["blob_sha"] == blob(repo, f"managed/vpcs/{n}.yaml")
        assert f"managed/vpcs/{n}.yaml" in head_files
    assert yaml.safe_load(GH.git(repo, "show", "main:managed/vpcs/f1.yaml"))["spec"][
        "subnets"]["default"]["vlan"] == 1401
    got = wait_notes(fab, 8)
    assert [(n["action"], n["name"]) for n in got[-4:]] == \
        [("updated", "f1"), ("created", "f4"), ("deleted", "f2"), ("deleted", "f3")], got


def test_a_new_branch_registered_as_fabric_branch_builds_its_state():
    _n[0] += 1
    name = f"rc{_n[0]}"
    GH.create_repo("acme", name, installation_id=INSTALLATION, files={"README.md": "x\n"})
    repo = f"acme/{name}"
    git_push(repo, {"fab/managed/vpcs/s1.yaml": vpc_yaml("s1", 70, 1501),
                    "fab/managed/vpcs/s2.yaml": vpc_yaml("s2", 71, 1502)},
             branch="staging", message="Staging fabric")
    push = [d for d in GH.deliveries() if d.get("event") == "push"][-1]
    assert push["request"]["payload"]["created"] is True
    st, out = G.api("POST", "/fabrics", {"name": name, "repository": repo,
                                         "branch": "staging", "directory": "fab"})
    assert st == 201, out
    G.settle(repo)
    s = state(name)
    assert sorted(n for _, n in s) == ["s1", "s2"]
    assert s[("VPC", "s1")]["blob_sha"] == blob(repo, "fab/managed/vpcs/s1.yaml", "staging")
    assert s[("VPC", "s1")]["path"] == "managed/vpcs/s1.yaml"


def test_resync_after_50_pushes_equals_the_incremental_state():
    repo, fab = new_fabric()
    for k in range(50):
        files = {f"managed/vpcs/r{k % 7}.yaml": vpc_yaml(f"r{k % 7}", 80 + k % 7, 1600 + k)}
        if k % 9 == 8:
            gone = f"managed/vpcs/r{(k + 3) % 7}.yaml"
            if gone in GH.git(repo, "ls-tree", "-r", "--name-only", "main").split():
                files[gone] = None
        if k == 20:  # one broken file: invalid resources are state too
            files["managed/vpcs/bad.yaml"] = vpc_yaml("bad-name-too-long", 99, 1999)
        GH.commit(repo, files, message=f"push {k}")
    G.settle(repo, timeout=120)
    before = state(fab)
    n_notes = len(notes(fab))
    assert ("VPC", "bad-name-too-long") in before
    assert before[("VPC", "bad-name-too-long")]["valid"] is False
    # damage the stored state: resync must read Git again, not trust it
    with sqlite3.connect(S.db_path, timeout=10) as db:
        db.execute("UPDATE resources SET spec = '{}', valid = 0 WHERE fabric = ? AND name = 'r1'",
                   (fab,))
    conn_state = state(fab)
    assert conn_state[("VPC", "r1")]["spec"] == {}
    st, out = G.api("POST", f"/fabrics/{fab}/resync")
    assert st == 202, out
    G.settle(repo)
    after = state(fab)
    assert sorted(after) == sorted(before)
    for k in before:
        assert after[k] == before[k], (k, before[k], after[k])
    time.sleep(0.5)
    assert len(notes(fab)) == n_notes  # nothing changed, so NetBox hears nothing
    st, out = G.api("POST", "/fabrics/nosuch/resync")
    assert st == 404, out


def test_a_netbox_edit_comes_back_with_origin_netbox_and_its_operation():
    repo, fab = new_fabric()
    res = {"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
           "metadata": {"name": "nbv", "namespace": "default"},
           "spec": {"subnets": {"default": {"subnet": "10.90.1.0/24", "vlan": 1700}}}}
    st, op = G.api("POST", f"/fabrics/{fab}/changes?wait=30",
                   {"changes": [{"op": "apply", "resource": res}],
                    "author": {"name": "Nia", "email": "nia@example.com"}})
    assert op["state"] == "committed", op
    G.settle(repo)
    got = wait_notes(fab, 1)
    assert got[-1]["origin"] == "netbox" and got[-1]["operation"] == op["id"], got
    assert got[-1]["commit"] == op["commit"]["sha"]


def test_a_push_lost_while_hedgesync_was_down_is_caught_up_at_start():
    """Redelivery is off in this stack: the catch-up at start alone must find
    that the branch moved past the state."""
    repo, fab = new_fabric()
    S.kill9()
    GH.commit(repo, {"managed/vpcs/lost.yaml": vpc_yaml("lost", 91, 1801),
                     "raw/more.yaml": vpc_yaml("found", 92, 1802)}, message="While down")
    failed = [d for d in GH.deliveries() if d.get("event") == "push"][-1]
    assert failed["status_code"] != 202, failed  # nobody answered
    S.restart()
    G.settle(repo)
    assert sorted(n for _, n in state(fab)) == ["found", "lost"], \
        S.query("SELECT id, kind, state, last_error FROM jobs ORDER BY id DESC LIMIT 6")
    assert "raw/more.yaml" not in GH.git(repo, "ls-tree", "-r", "--name-only", "main").split()
    got = wait_notes(fab, 2)
    assert sorted((n["name"], n["origin"]) for n in got) == [("found", "ingestion"),
                                                            ("lost", "git")], got
