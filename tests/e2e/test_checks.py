"""The "Hedgehog fabric" check run end to end: nginx + hedgesync + the GitHub
emulator opening pull requests (pull_request and check_suite webhooks)."""
import json
import os
import subprocess
import sys
import tempfile
import time

from harness import TOP, GitHubStack, wait_for


AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}
INSTALLATION = 78
NAME = "Hedgehog fabric"
GH = S = None
_n = [0]


G = None


def setup_module():
    global G, GH, S
    G = GitHubStack(4243, INSTALLATION).start()
    GH, S = G.gh, G.stack


def teardown_module():
    G.stop()


def vpc(name, octet, vlan):
    return ("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n"
            f"  name: {name}\n  namespace: default\nspec:\n  subnets:\n    default:\n"
            f"      subnet: 10.0.{octet}.0/24\n      vlan: {vlan}\n")


def attachment(name, connection, subnet="vpc-1/default"):
    return ("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n"
            f"  name: {name}\n  namespace: default\nspec:\n  connection: {connection}\n"
            f"  subnet: {subnet}\n")


def settle(repo, timeout=60):
    return G.settle(repo, timeout)


def fabric_repo(managed, readme="fabric repo\n"):
    """A repository with fabric "fab" in fab/, registered and onboarded."""
    _n[0] += 1
    repo = f"acme/chk{_n[0]}"
    files = {"README.md": readme}
    files.update({"fab/" + k: v for k, v in managed.items()})
    GH.create_repo("acme", repo.split("/")[1], installation_id=INSTALLATION, files=files)
    status, data, _ = S.request("POST", "/api/v1/fabrics", json.dumps(
        {"name": f"chk{_n[0]}", "repository": repo, "directory": "fab"}).encode(), AUTH)
    assert status == 201, data
    settle(repo)
    return repo


def runs_on(repo, sha):
    return sorted([r for r in GH.check_runs(repo) if r["head_sha"] == sha and r["name"] == NAME],
                  key=lambda r: r["id"])


def open_pr(repo, files, branch="feature"):
    GH.commit(repo, files, branch=branch, message="Change the fabric")
    pr = GH.open_pull_request(repo, branch)
    settle(repo)
    runs = runs_on(repo, pr["head"]["sha"])
    assert len(runs) == 1, runs
    assert runs[0]["status"] == "completed"
    return pr, runs[0]


BASE = {"managed/vpcs/vpc-1.yaml": vpc("vpc-1", 1, 1001)}


def test_vpc_in_the_servers_folder_fails_at_its_line_with_a_fix_button():
    repo = fabric_repo(BASE)
    pr, run = open_pr(repo, {"fab/managed/servers/vpc-3.yaml": vpc("vpc-3", 3, 1003)})
    assert run["conclusion"] == "failure"
    anns = [a for a in run["annotations"] if a["path"] == "fab/managed/servers/vpc-3.yaml"]
    assert len(anns) == 1, run["annotations"]
    a = anns[0]
    assert a["title"] == "layout-wrong-folder"
    assert (a["start_line"], a["start_column"]) == (2, 7)
    assert a["annotation_level"] == "failure"
    assert "managed/vpcs/" in a["message"]
    assert [x["identifier"] for x in run["actions"]] == ["fix-layout"]
    summary = run["output"]["summary"]
    assert "layout-wrong-folder" in summary and "| VPC | 2 |" in summary
    assert "Fix layout" in summary


def test_attachment_to_a_missing_connection_fails_on_its_file():
    repo = fabric_repo(BASE)
    pr, run = open_pr(repo, {"fab/managed/vpcattachments/att-1.yaml":
                             attachment("att-1", "server-01--unbundled--leaf-01")})
    assert run["conclusion"] == "failure"
    anns = run["annotations"]
    assert [(a["path"], a["title"], a["start_line"], a["start_column"]) for a in anns] == [
        ("fab/managed/vpcattachments/att-1.yaml", "ref-unresolved", 7, 15)]
    assert "server-01--unbundled--leaf-01" in anns[0]["message"]
    assert run["actions"] == []
    assert "1 error introduced by this change" in run["output"]["summary"]


def test_readme_only_change_succeeds_without_reading_a_blob():
    repo = fabric_repo(BASE)
    GH.commit(repo, {"README.md": "a better readme\n"}, branch="docs")
    settle(repo)  # the push of a new branch looks for fabric manifests
    GH.clear_log()
    pr = GH.open_pull_request(repo, "docs")
    settle(repo)
    runs = runs_on(repo, pr["head"]["sha"])
    assert len(runs) == 1 and runs[0]["conclusion"] == "success"
    assert runs[0]["output"]["title"] == "No fabric touched"
    assert GH.calls("GET", r"/git/blobs/") == []
    assert GH.calls("GET", r"/git/trees/") == []


def test_error_already_on_the_base_is_listed_and_does_not_fail():
    broken = dict(BASE)
    broken["managed/vpcattachments/att-old.yaml"] = attachment("att-old", "gone-connection")
    repo = fabric_repo(broken)
    pr, run = open_pr(repo, {"fab/managed/vpcs/vpc-2.yaml": vpc("vpc-2", 2, 1002)})
    assert run["conclusion"] == "success", run["output"]
    summary = run["output"]["summary"]
    assert "already on the base" in summary
    assert "att-old.yaml" in summary and "ref-unresolved" in summary
    assert [a["title"] for a in run["annotations"]] == ["ref-unresolved"]
    assert "already on the base branch" in run["annotations"][0]["message"]


def test_120_findings_arrive_as_120_annotations_in_3_calls():
    repo = fabric_repo(BASE)
    GH.commit(repo, {f"fab/managed/vpcattachments/att-{i:03d}.yaml":
                     attachment(f"att-{i:03d}", f"missing-{i:03d}") for i in range(120)},
              branch="many")
    GH.clear_log()
    pr = GH.open_pull_request(repo, "many")
    settle(repo)
    runs = runs_on(repo, pr["head"]["sha"])
    assert len(runs) == 1
    run = runs[0]
    assert run["conclusion"] == "failure"
    assert len(run["annotations"]) == 120
    assert {a["title"] for a in run["annotations"]} == {"ref-unresolved"}
    assert len(GH.calls("POST", r"/check-runs$")) == 1
    assert len(GH.calls("PATCH", r"/check-runs/%d$" % run["id"])) == 3


def test_rerequest_makes_a_fresh_run_with_the_same_result():
    repo = fabric_repo(BASE)
    pr, first = open_pr(repo, {"fab/managed/vpcattachments/att-1.yaml":
                               attachment("att-1", "nowhere")})
    sha = pr["head"]["sha"]
    payload = {"action": "rerequested", "repository": {"full_name": repo},
               "installation": {"id": INSTALLATION},
               "check_run": {"id": first["id"], "name": NAME, "head_sha": sha,
                             "check_suite": {"head_branch": "feature", "head_sha": sha,
                                             "pull_requests": [{
                                                 "number": pr["number"],
                                                 "head": {"ref": "feature", "sha": sha},
                                                 "base": {"ref": "main",
                                                          "sha": pr["base"]["sha"]}}]}}}
    status, _ = S.webhook("check_run", payload)
    assert status == 202
    settle(repo)
    runs = runs_on(repo, sha)
    assert len(runs) == 2
    again = runs[1]
    assert again["id"] != first["id"] and again["conclusion"] == first["conclusion"] == "failure"
    key = [(a["path"], a["title"], a["start_line"]) for a in first["annotations"]]
    assert [(a["path"], a["title"], a["start_line"]) for a in again["annotations"]] == key
    # the same delivery again (a crash re-run or a repeat) makes no third run
    status, _ = S.webhook("check_suite", {
        "action": "requested", "repository": {"full_name": repo},
        "installation": {"id": INSTALLATION},
        "check_suite": {"head_branch": "feature", "head_sha": sha,
                        "pull_requests": payload["check_run"]["check_suite"]["pull_requests"]}})
    settle(repo)
    assert len(runs_on(repo, sha)) == 2


def test_push_to_the_fabric_branch_is_checked_on_the_pushed_commit():
    repo = fabric_repo(BASE)
    sha = GH.commit(repo, {"fab/managed/vpcattachments/att-9.yaml": attachment("att-9", "none")})
    settle(repo)
    runs = runs_on(repo, sha)
    assert len(runs) == 1 and runs[0]["conclusion"] == "failure"
    assert [a["path"] for a in runs[0]["annotations"]] == [
        "fab/managed/vpcattachments/att-9.yaml"]


def test_fix_layout_button_commits_the_moves_to_the_pr_branch_once():
    repo = fabric_repo(BASE)
    multi = vpc("vpc-4", 4, 1004) + "---\n" + vpc("vpc-5", 5, 1005)
    pr, run = open_pr(repo, {"fab/managed/servers/vpc-3.yaml": vpc("vpc-3", 3, 1003),
                             "fab/managed/vpcs/both.yaml": multi})
    assert run["conclusion"] == "failure"
    assert [a["identifier"] for a in run["actions"]] == ["fix-layout"]
    before = GH.head(repo, "feature")
    pulls = [{"number": pr["number"], "head": {"ref": "feature", "sha": before},
              "base": {"ref": "main", "sha": pr["base"]["sha"]}}]
    payload = {"action": "requested_action", "repository": {"full_name": repo},
               "installation": {"id": INSTALLATION},
               "requested_action": {"identifier": "fix-layout"},
               "check_run": {"id": run["id"], "name": NAME, "head_sha": before,
                             "pull_requests": pulls,
                             "check_suite": {"head_branch": "feature", "head_sha": before}}}
    status, _ = S.webhook("check_run", payload)
    assert status == 202
    settle(repo)
    after = GH.head(repo, "feature")
    assert after != before
    assert GH.git(repo, "rev-parse", after + "^").strip() == before  # one commit
    files = sorted(GH.git(repo, "ls-tree", "-r", "--name-only", after).split())
    managed = [f for f in files if f.startswith("fab/managed/") and not f.endswith(".gitkeep")]
    assert managed == ["fab/managed/vpcs/vpc-1.yaml", "fab/managed/vpcs/vpc-3.yaml",
                       "fab/managed/vpcs/vpc-4.yaml", "fab/managed/vpcs/vpc-5.yaml"]
    assert GH.git(repo, "show", after + ":fab/managed/vpcs/vpc-3.yaml") == vpc("vpc-3", 3, 1003)
    runs = runs_on(repo, after)
    assert len(runs) == 1 and runs[0]["conclusion"] == "success", runs
    assert runs[0]["actions"] == []
    # the same delivery again finds nothing left to fix: no second commit
    status, _ = S.webhook("check_run", payload)
    settle(repo)
    assert GH.head(repo, "feature") == after


def test_raw_files_get_an_ingestion_preview_and_do_not_fail():
    repo = fabric_repo(BASE)
    pr, run = open_pr(repo, {"fab/raw/new.yaml": vpc("vpc-7", 7, 1007)})
    assert run["conclusion"] == "success", run["output"]
    summary = run["output"]["summary"]
    assert "will ingest the 1 file waiting in `raw/`" in summary
    assert "1 resource created" in summary and "vpc-7" in summary
    assert [a["title"] for a in run["annotations"]] == ["layout-raw-pending"]


def test_pull_request_from_a_fork_gets_no_button_and_says_why():
    repo = fabric_repo(BASE)
    pr, _ = open_pr(repo, {"fab/managed/servers/vpc-3.yaml": vpc("vpc-3", 3, 1003)})
    sha = GH.commit(repo, {"fab/managed/servers/vpc-8.yaml": vpc("vpc-8", 8, 1008)},
                    branch="feature", notify=False)
    body = dict(pr)
    body["head"] = dict(pr["head"], sha=sha, repo=dict(pr["head"]["repo"], id=424242,
                                                        full_name="someone/fork"))
    status, _ = S.webhook("pull_request", {"action": "synchronize", "number": pr["number"],
                                           "pull_request": body,
                                           "repository": {"full_name": repo},
                                           "installation": {"id": INSTALLATION}})
    assert status == 202
    settle(repo)
    runs = runs_on(repo, sha)
    assert len(runs) == 1 and runs[0]["conclusion"] == "failure"
    assert runs[0]["actions"] == []
    assert "comes from a fork" in runs[0]["output"]["summary"]


def test_a_cold_run_reads_new_blobs_in_parallel_once():
    repo = fabric_repo(BASE)
    files = {f"fab/managed/vpcs/p-{i}.yaml": vpc(f"p-{i}", 100 + i, 1100 + i) for i in range(40)}
    since = GH.clear_log()
    pr, run = open_pr(repo, files, branch="many")
    assert run["conclusion"] == "success", run["output"]["title"]
    blobs = [c for c in GH.log(since) if c["method"] == "GET" and "/git/blobs/" in c["path"]]
    assert len(blobs) >= 40, len(blobs)
    # at some moment several blob reads were in flight, never more than 8
    edges = sorted([(c["start"], 1) for c in blobs] + [(c["end"], -1) for c in blobs])
    inflight = peak = 0
    for _, d in edges:
        inflight += d
        peak = max(peak, inflight)
    assert 1 < peak <= 8, peak
    # and each was read once: the check of the push that follows finds them cached
    paths = [c["path"] for c in blobs]
    assert len(paths) == len(set(paths)), "a blob was read twice"
