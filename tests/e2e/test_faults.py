"""Fault proof: GitHub answering 5xx to one call in ten, and to one write in
twenty after doing it, slow calls, a secondary rate-limit window, and people
committing between hedgesync's reads and writes, while NetBox edits, pushes
and raw/ drops keep coming.  Every operation ends committed, noop or
conflict, what was committed is in Git, nothing a person wrote is lost, and
NetBox is told everything.

HEDGESYNC_FAULT_EVENTS sets the workload's size (make check: 60; make soak:
600)."""
import os
import random
import re
import sys
import time

import yaml

from harness import TOP, GitHubStack, wait_for

sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))
from nbstandin import NetBoxStandIn, object_data  # noqa: E402

EVENTS = int(os.environ.get("HEDGESYNC_FAULT_EVENTS", "60"))
SEED = int(os.environ.get("HEDGESYNC_FAULT_SEED", "4242"))
INSTALLATION = 55
NB_SECRET = "faults-netbox-secret"
G = GH = S = NB = None


def setup_module():
    global G, GH, S, NB
    NB = NetBoxStandIn(NB_SECRET).start()
    G = GitHubStack(7272, INSTALLATION, env={
        "NETBOX_WEBHOOK_SECRET": NB_SECRET, "NETBOX_URL": NB.url,
        "NETBOX_TOKEN": "t0ken-faults"}).start()
    GH, S = G.gh, G.stack


def teardown_module():
    try:
        G.stop()
    finally:
        NB.stop()


def vpc(name, subnet, vlan):
    return {"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"subnets": {"default": {"subnet": subnet, "vlan": vlan}}}}


def vpc_yaml(name, subnet, vlan):
    return yaml.safe_dump(vpc(name, subnet, vlan), sort_keys=False)


def net(category, i):
    """A /24 no other event of the workload uses (up to 1000 events)."""
    return f"10.{60 + 4 * category + i // 250}.{i % 250}.0/24"


def faults_on():
    GH.set_faults(
        # a write in twenty is done but its answer lost (a 502 on the way back)
        {"kind": "status", "status": 502, "rate": 0.05, "after": True,
         "match": r"^(POST|PUT|PATCH|DELETE) /repos/"},
        # one call in ten fails
        {"kind": "status", "status": 502, "rate": 0.1, "match": r"^(GET|POST|PUT|PATCH) /repos/"},
        {"kind": "delay", "ms": 150, "rate": 0.2, "match": r"^(GET|POST|PUT|PATCH) /repos/"})


def test_every_operation_ends_committed_noop_or_conflict_and_nothing_is_lost():
    rnd = random.Random(SEED)
    GH.create_repo("acme", "faults", installation_id=INSTALLATION,
                   files={"README.md": "faults\n"})
    repo = "acme/faults"
    st, out = G.api("POST", "/fabrics", {"name": "faults", "repository": repo})
    assert st == 201, out
    G.settle(repo)
    faults_on()
    url = f"http://127.0.0.1:{S.port}/api/netbox/webhooks"
    ops, people, raws, window = [], {}, [], False
    for i in range(EVENTS):
        vlan = 1000 + i
        r = rnd.random()
        if i == EVENTS // 2 and not window:
            GH.rate_limit_window(3, mode="secondary")  # every call waits it out
            window = True
        if r < 0.25:  # a person edits a file of their own
            name = f"p-{rnd.randrange(8)}"
            people[name] = (f"10.50.{int(name[2:])}.0/24", vlan)  # p-0..p-7: fixed
            GH.commit(repo, {f"managed/vpcs/{name}.yaml": vpc_yaml(name, *people[name])},
                      message=f"person {i}")
        elif r < 0.35:  # a drop into raw/
            name = f"r-{i}"
            raws.append(name)
            GH.commit(repo, {f"raw/{name}.yaml": vpc_yaml(name, net(0, i), vlan)},
                      message=f"drop {i}")
        elif r < 0.45:  # a person commits between hedgesync's read and write
            name = f"w-{i}"
            people[name] = (net(1, i), vlan)
            GH.concurrent_writer(repo, on="any_write", path=f"managed/vpcs/{name}.yaml",
                                 content=vpc_yaml(name, *people[name]))
        elif r < 0.55:  # NetBox and a person change the same VPC from one base
            name = f"c-{i}"
            st, out = G.api("POST", "/fabrics/faults/changes?wait=60", {
                "changes": [{"op": "apply", "resource": vpc(name, net(2, i), vlan)}],
                "author": {"name": "Setup", "email": "setup@example.com"}})
            assert out["state"] in ("committed", "conflict", "noop"), out
            ops.append(out["id"])
            wait_for(lambda: G.api("GET", f"/fabrics/faults/resources/VPC/{name}")[0] == 200,
                     timeout=60, what=f"{name} in the state")
            base = G.api("GET", f"/fabrics/faults/resources/VPC/{name}")[1]["blob_sha"]
            path = f"managed/vpcs/{name}.yaml"
            # VLANs: events use 1000+i, Git's edit 2000+i, NetBox's 3000+i (all unique)
            GH.commit(repo, {path: vpc_yaml(name, net(2, i), vlan + 1000)},
                      message=f"person changes {name}")
            st, out = G.api("POST", "/fabrics/faults/changes", {
                "changes": [{"op": "apply", "base_sha": base,
                             "resource": vpc(name, net(2, i), vlan + 2000)}],
                "author": {"name": "Nb User", "email": "nb@example.com"}})
            assert st == 202, out
            ops.append(out["operation_id"])
            people[name] = (net(2, i), vlan + 1000)  # the conflict keeps Git's
        else:  # NetBox creates a VPC
            name = f"n-{i}"
            body = NB.body("4.7", "created", "vpc", object_data(
                "faults", name, vpc(name, net(3, i), vlan)["spec"]), user="nina")
            st, out = NB.send(url, body)
            assert st == 202, out
            ops.append(out["operation_id"])
    # everything decided
    states = {}
    for op_id in ops:
        st, op = G.api("GET", f"/operations/{op_id}?wait=60")
        wait_for(lambda: G.api("GET", f"/operations/{op_id}")[1]["state"] != "queued",
                 timeout=180 + EVENTS, step=0.3, what=f"operation {op_id}")
        st, op = G.api("GET", f"/operations/{op_id}")
        states[op_id] = op
    GH.clear_faults()
    G.settle(repo, timeout=180 + EVENTS)
    log = GH.calls()
    print(f"# {EVENTS} events, {len(ops)} operations: " + ", ".join(
        f"{s} {sum(1 for o in states.values() if o['state'] == s)}"
        for s in ("committed", "noop", "conflict", "failed")) +
        f"; {sum(1 for e in log if e.get('fault'))} faulted calls of {len(log)}")
    assert all(o["state"] in ("committed", "noop", "conflict") for o in states.values()), \
        [o for o in states.values() if o["state"] not in ("committed", "noop", "conflict")]
    files = set(GH.git(repo, "ls-tree", "-r", "--name-only", "main").split())
    # what NetBox created is in Git, once
    seen = {}
    for c in GH.git(repo, "log", "--format=%H%x1f%B%x1e", "main").split("\x1e"):
        for op_id in re.findall(r"Hedgesync-Operation: (op-[0-9a-f]+)", c):
            seen.setdefault(op_id, []).append(c.split("\x1f")[0].strip())
    for op_id, op in states.items():
        assert len(seen.get(op_id, [])) == (op["state"] == "committed"), (op, seen.get(op_id))
        if op["state"] == "committed":
            for ch in op["changes"]:
                assert ch["path"] in files, (op, ch)
    # nothing a person wrote was lost
    for name, (subnet, vlan) in people.items():
        doc = yaml.safe_load(GH.git(repo, "show", f"main:managed/vpcs/{name}.yaml"))
        assert doc["spec"]["subnets"]["default"] == {"subnet": subnet, "vlan": vlan}, name
    # every drop was ingested
    assert not [f for f in files if f.startswith("raw/") and not f.endswith(".gitkeep")]
    assert all(f"managed/vpcs/{n}.yaml" in files for n in raws)
    # NetBox was told the final state
    wait_for(lambda: G.api("GET", "/fabrics/faults/status")[1]["outbox"]["pending"] == 0,
             timeout=120, what="outbox empty")
    st, status = G.api("GET", "/fabrics/faults/status")
    assert status["outbox"]["dead"] == 0 and status["jobs"]["dead"] == 0, status
    told = {}
    for b in sorted((r["body"] for r in NB.received() if r["body"]), key=lambda b: b["change_id"]):
        told[b["name"]] = None if b["action"] == "deleted" else b["blob_sha"]
    st, res = G.api("GET", "/fabrics/faults/resources?since=0&limit=1000")
    state = {r["name"]: r["blob_sha"] for r in res["resources"] if not r.get("deleted")}
    assert {k: v for k, v in told.items() if v} == state
