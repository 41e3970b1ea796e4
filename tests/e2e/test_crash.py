"""Crash proof: the same mixed workload (people's pushes, raw/ drops, NetBox
webhooks and REST change sets) run twice, once undisturbed and once while
hedgesync is killed with SIGKILL at random moments and started again each
time.  Afterwards the two repositories hold the same files, the two resource
states are the same, what NetBox was told adds up to that state, and no
operation was committed twice.

HEDGESYNC_CRASH_EVENTS sets the workload's size (make check: 120; make soak:
1000); HEDGESYNC_CRASH_SEED its seed.

Both runs share one installation, and at 400 events or more they spend more
than GitHub's 5,000 calls an hour for an installation: hedgesync then waits
for the limit's reset, as it must, which is not what this proof measures.
The emulator is given the 15,000 an hour of an Enterprise Cloud
installation instead, and the calls of each run are reported."""
import os
import random
import re
import sys
import threading
import time

from harness import TOP, GitHubStack, wait_for

sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))
from nbstandin import NetBoxStandIn, object_data  # noqa: E402

EVENTS = int(os.environ.get("HEDGESYNC_CRASH_EVENTS", "120"))
SEED = int(os.environ.get("HEDGESYNC_CRASH_SEED", "20261202"))
INSTALLATION = 66
NB_SECRET = "crash-netbox-secret"
G = GH = S = NB = None

BASE_FILES = {
    "managed/ipv4namespaces/default.yaml":
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: IPv4Namespace\nmetadata:\n"
        "  name: default\n  namespace: default\nspec:\n  subnets:\n  - 10.0.0.0/8\n",
    "managed/vlannamespaces/default.yaml":
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: VLANNamespace\nmetadata:\n"
        "  name: default\n  namespace: default\nspec:\n  ranges:\n  - from: 1000\n"
        "    to: 2999\n",
}


def setup_module():
    global G, GH, S, NB
    NB = NetBoxStandIn(NB_SECRET).start()
    G = GitHubStack(7171, INSTALLATION, env={
        "NETBOX_WEBHOOK_SECRET": NB_SECRET, "NETBOX_URL": NB.url, "NETBOX_TOKEN": "t0ken-crash",
        "HEDGESYNC_REDELIVER_SECONDS": "1", "HEDGESYNC_LEASE_SECONDS": "2"}).start()
    GH, S = G.gh, G.stack
    GH.configure(ratelimit_limit=15000)


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
    return ("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n"
            f"  name: {name}\nspec:\n  subnets:\n    default:\n"
            f"      subnet: {subnet}\n      vlan: {vlan}\n")


def workload(n, seed):
    """A list of events, the same for both runs.  Every VLAN and subnet is
    unique, and NetBox, people and raw/ touch different resources, so every
    operation is valid and commits whatever the interleaving."""
    rnd = random.Random(seed)
    events, created = [], []
    for i in range(n):
        vlan = 1000 + i
        r = rnd.random()
        if r < 0.35:
            k = rnd.randrange(20)
            events.append(("git", f"g-{k}", f"10.100.{k}.0/24", vlan))
        elif r < 0.50:
            # a new resource each time: drops that pile up while hedgesync is
            # down are ingested together, and two versions of one resource in
            # one batch would (rightly) be quarantined as ambiguous
            events.append(("raw", f"r-{i}", f"10.{120 + i // 250}.{i % 250}.0/24", vlan))
        elif r < 0.60 and len(created) > 10:
            j = created.pop(rnd.randrange(len(created) - 5))
            events.append(("delete", j, None, None))
        else:
            name = f"nb-{i}"
            created.append(name)
            via = "webhook" if rnd.random() < 0.5 else "api"
            events.append((via, name, f"10.{110 + i // 250}.{i % 250}.0/24", vlan))
    return events


def retrying(fn, what, timeout=120):
    """Call fn until it answers (hedgesync may be down, being restarted)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            st, out = fn()
            if st not in (502, 503, 504):
                return st, out
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: hedgesync never answered")
        time.sleep(0.1)


def run(fabric, repo, events):
    """Play events against fabric; returns every operation id accepted, by name."""
    url = lambda: f"http://127.0.0.1:{S.port}/api/netbox/webhooks"  # noqa: E731
    ops = {}
    for i, (kind, name, subnet, vlan) in enumerate(events):
        if kind == "git":
            GH.commit(repo, {f"managed/vpcs/{name}.yaml": vpc_yaml(name, subnet, vlan)},
                      message=f"event {i}: {name}")
        elif kind == "raw":
            GH.commit(repo, {f"raw/drop-{i}.yaml": vpc_yaml(name, subnet, vlan)},
                      message=f"event {i}: drop {name}")
        elif kind == "webhook":
            body = NB.body("4.7", "created", "vpc",
                           object_data(fabric, name, vpc(name, subnet, vlan)["spec"]),
                           user="nina")
            st, out = retrying(lambda: NB.send(url(), body), f"event {i}")
            assert st in (200, 202), (i, st, out)
            ops.setdefault(name, []).append(out["operation_id"])
        elif kind == "api":
            st, out = retrying(lambda: G.api("POST", f"/fabrics/{fabric}/changes", {
                "changes": [{"op": "apply", "resource": vpc(name, subnet, vlan)}],
                "author": {"name": "Api User", "email": "api@example.com"}}), f"event {i}")
            assert st == 202, (i, st, out)
            ops.setdefault(name, []).append(out["operation_id"])
        else:  # delete what an earlier event created, once that is committed
            for op_id in ops[name]:
                wait_for(lambda: retrying(lambda: G.api("GET", f"/operations/{op_id}"),
                                          "operation")[1]["state"] != "queued",
                         timeout=600, step=0.2, what=f"operation {op_id}")
            st, out = retrying(lambda: G.api("POST", f"/fabrics/{fabric}/changes", {
                "changes": [{"op": "delete", "resource": {"kind": "VPC",
                                                          "metadata": {"name": name}}}],
                "author": {"name": "Api User", "email": "api@example.com"}}), f"event {i}")
            assert st == 202, (i, st, out)
            ops.setdefault(name, []).append(out["operation_id"])
    return ops


def finish(fabric, repo, ops):
    for name, ids in ops.items():
        for op_id in ids:
            wait_for(lambda: G.api("GET", f"/operations/{op_id}")[1]["state"] != "queued",
                     timeout=180 + EVENTS, step=0.2, what=f"operation {op_id}")
    # a push job, its check run and a NetBox commit each take a moment: the
    # work behind a long workload takes minutes to drain
    try:
        G.settle(repo, timeout=180 + EVENTS)
    except AssertionError:
        raise AssertionError("the work did not drain: " + repr(S.query(
            "SELECT id, kind, state, attempts, ordering_key, last_error, run_after_ms,"
            " lease_owner, lease_until_ms, created_ms"
            " FROM jobs WHERE state IN ('queued', 'running') ORDER BY id LIMIT 20")))
    wait_for(lambda: G.api("GET", f"/fabrics/{fabric}/status")[1]["outbox"]["pending"] == 0,
             timeout=120 + EVENTS, what="NetBox told everything")
    files = {}
    for line in GH.git(repo, "ls-tree", "-r", "main").splitlines():
        meta, path = line.split("\t")
        if not path.startswith(".hnp/"):
            files[path] = meta.split()[2]
    st, out = G.api("GET", f"/fabrics/{fabric}/resources?since=0&limit=1000")
    state = {(r["kind"], r["name"]): (r["path"], r["blob_sha"], r["valid"])
             for r in out["resources"] if not r.get("deleted")}
    told = {}
    for rec in sorted((r["body"] for r in NB.received() if r["body"] and
                       r["body"]["fabric"] == fabric), key=lambda b: b["change_id"]):
        key = (rec["kind"], rec["name"])
        if rec["action"] == "deleted":
            told.pop(key, None)
        else:
            told[key] = (rec["path"], rec["blob_sha"], True)
    return files, state, told


def trailers(repo):
    seen = {}
    log = GH.git(repo, "log", "--format=%H%x1f%B%x1e", "main")
    for c in log.split("\x1e"):
        if "\x1f" not in c:
            continue
        sha, msg = c.strip().split("\x1f", 1)
        for op_id in re.findall(r"Hedgesync-Operation: (op-[0-9a-f]+)", msg):
            seen.setdefault(op_id, []).append(sha)
    return seen


def onboard(name):
    GH.create_repo("acme", name, installation_id=INSTALLATION,
                   files=dict(BASE_FILES, **{"README.md": "crash\n"}))
    st, out = G.api("POST", "/fabrics", {"name": name, "repository": f"acme/{name}"})
    assert st == 201, out
    G.settle(f"acme/{name}")
    return f"acme/{name}"


def calls_of(repo):
    return len(GH.calls(pattern=f"^/repos/{repo}/"))


def test_kill9_at_random_moments_changes_nothing_but_the_timing():
    events = workload(EVENTS, SEED)
    kinds = {k: sum(1 for e in events if e[0] == k) for k in
             ("git", "raw", "webhook", "api", "delete")}
    # undisturbed
    calm = onboard("calm")
    t0 = time.monotonic()
    calm_ops = run("calm", calm, events)
    calm_result = finish("calm", calm, calm_ops)
    t_calm = time.monotonic() - t0
    # the same, killed again and again
    crash = onboard("crash")
    stop, kills = threading.Event(), [0]
    rnd = random.Random(SEED + 1)

    def killer():
        # often enough that jobs die in every phase; a job leased by a killed
        # process runs again once its lease (2 s) ends, so some intervals
        # must be longer than that for the work to get anywhere
        while not stop.wait(rnd.uniform(0.3, 4.0)):
            S.kill9()
            kills[0] += 1
            S.restart()
    t = threading.Thread(target=killer, daemon=True)
    t0 = time.monotonic()
    t.start()
    try:
        crash_ops = run("crash", crash, events)
        # keep killing while the work goes on, not only while it arrives
        for ids in crash_ops.values():
            for op_id in ids:
                wait_for(lambda: retrying(lambda: G.api("GET", f"/operations/{op_id}"),
                                          "operation")[1]["state"] != "queued",
                         timeout=300, step=0.2, what=f"operation {op_id}")
        wait_for(lambda: kills[0] >= 3 or not t.is_alive(), timeout=120, step=0.2,
                 what="three kills")
    finally:
        stop.set()
        t.join()
    crash_result = finish("crash", crash, crash_ops)
    t_crash = time.monotonic() - t0
    print(f"# {EVENTS} events {kinds}: undisturbed {t_calm:.1f} s, {calls_of(calm)} GitHub "
          f"calls; with {kills[0]} kill -9 {t_crash:.1f} s, {calls_of(crash)} calls")
    assert kills[0] >= 3, kills
    for (name, got), want in zip((("files", crash_result[0]), ("state", crash_result[1]),
                                  ("told NetBox", crash_result[2])), calm_result):
        missing = set(want.items()) - set(got.items())
        extra = set(got.items()) - set(want.items())
        if missing or extra:
            names = {os.path.splitext(os.path.basename(k[0] if isinstance(k, tuple) else k))[0]
                     for k, _ in list(missing) + list(extra)}
            names |= {k[1] for k, _ in list(missing) + list(extra) if isinstance(k, tuple)}
            seen = trailers(crash)
            why = {n: [(G.api("GET", f"/operations/{o}")[1], seen.get(o))
                       for o in crash_ops.get(n, [])] for n in names}
        assert not missing and not extra, (name, sorted(missing)[:5], sorted(extra)[:5], why)
    assert calm_result[1] == calm_result[2]  # NetBox's picture is the state
    assert not [p for p in crash_result[0] if p.startswith(("raw/", "unmanaged/"))
                and not p.endswith(".gitkeep")]
    for ops, repo in ((calm_ops, calm), (crash_ops, crash)):
        seen = trailers(repo)
        for name, ids in ops.items():
            for op_id in ids:
                st, op = G.api("GET", f"/operations/{op_id}")
                assert op["state"] in ("committed", "noop"), op
                assert len(seen.get(op_id, [])) == (op["state"] == "committed"), (op, seen.get(op_id))
