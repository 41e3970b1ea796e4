"""Webhook intake end to end: nginx -> hedgesync serve -> sqlite -> workers."""
import json
import os
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

from harness import (BINARY, SECRET, Stack, sign, test_payload, wait_for)

S = None


def setup_module():
    global S
    S = Stack().start()


def teardown_module():
    S.stop()


def deliveries(guid=None):
    if guid:
        return S.query("SELECT count(*) FROM deliveries WHERE guid = ?", guid)[0][0]
    return S.query("SELECT count(*) FROM deliveries")[0][0]


def jobs_for(guid):
    return S.query("SELECT j.state FROM jobs j JOIN deliveries d ON d.id = j.delivery_id"
                   " WHERE d.guid = ?", guid)


def wait_done(guid, timeout=15):
    wait_for(lambda: jobs_for(guid) == [("done",)], timeout=timeout,
             what=f"job of {guid} done")


def test_github_documented_vector_through_nginx():
    # GitHub's example: secret "It's a Secret to Everybody", body "Hello, World!"
    assert sign(b"Hello, World!") == \
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    guid = str(uuid.uuid4())
    status, body = S.webhook("ping", None, guid=guid, raw=b"Hello, World!",
                             signature="sha256=757107ea0eb2509fc211221cce984b8a37570b6d"
                                       "7586c22c46f4379c8b043e17")
    # the signature is right, so it gets past 401; the body is not JSON: 400
    assert status == 400 and body["error"]["code"] == "invalid_json", body
    assert deliveries(guid) == 0


def test_valid_signature_queues_one_job():
    guid = str(uuid.uuid4())
    status, body = S.webhook("hedgesync_test", test_payload(), guid=guid)
    assert status == 202, body
    assert body["status"] == "queued" and body["delivery"] == guid
    assert deliveries(guid) == 1
    assert len(jobs_for(guid)) == 1
    wait_done(guid)
    runs, effects = S.records()
    assert effects.count(guid) == 1 and runs.count(guid) == 1


def test_ping_and_ignored_events_answer_200_and_are_recorded():
    g1, g2 = str(uuid.uuid4()), str(uuid.uuid4())
    status, body = S.webhook("ping", {"zen": "Keep it logically awesome.", "hook_id": 1},
                             guid=g1)
    assert status == 200 and body["status"] == "pong"
    status, body = S.webhook("star", test_payload(action="created"), guid=g2)
    assert status == 200 and body["status"] == "ignored"
    assert deliveries(g1) == 1 and deliveries(g2) == 1
    assert jobs_for(g1) == [] and jobs_for(g2) == []


def test_bad_signatures_are_refused_and_store_nothing():
    before = deliveries()
    body = json.dumps(test_payload()).encode()
    cases = {
        "tampered body": dict(raw=body + b" ", signature=sign(body)),
        "wrong secret": dict(raw=body, secret="not the secret"),
        "missing header": dict(raw=body, signature=False),
        "sha1 only": dict(raw=body, signature=False,
                          headers={"X-Hub-Signature": "sha1=0123456789abcdef0123456789abcdef01234567"}),
        "garbage": dict(raw=body, signature="sha256=nothex"),
        "empty": dict(raw=body, signature=""),
    }
    for name, kw in cases.items():
        status, resp = S.webhook("hedgesync_test", None, **kw)
        assert status == 401, (name, status, resp)
        assert resp["error"]["code"] == "bad_signature", name
    assert deliveries() == before


def test_duplicate_delivery_is_processed_once():
    guid = str(uuid.uuid4())
    s1, b1 = S.webhook("hedgesync_test", test_payload(), guid=guid)
    s2, b2 = S.webhook("hedgesync_test", test_payload(), guid=guid)
    assert (s1, b1["status"]) == (202, "queued")
    assert (s2, b2["status"]) == (200, "duplicate")
    wait_done(guid)
    time.sleep(0.3)
    runs, effects = S.records()
    assert runs.count(guid) == 1 and effects.count(guid) == 1
    assert deliveries(guid) == 1


def test_concurrent_duplicates_store_one():
    guid = str(uuid.uuid4())
    body = json.dumps(test_payload()).encode()
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: S.webhook("hedgesync_test", None, guid=guid, raw=body),
                              range(16)))
    codes = sorted(r[0] for r in results)
    assert codes.count(202) == 1 and codes.count(200) == 15, codes
    wait_done(guid)
    assert S.records()[1].count(guid) == 1


def test_missing_headers_and_invalid_json_are_400():
    before = deliveries()
    body = json.dumps(test_payload()).encode()
    status, resp = S.webhook("hedgesync_test", None, raw=body,
                             headers={"X-GitHub-Event": None})
    assert status == 400 and resp["error"]["code"] == "missing_header"
    status, resp = S.webhook("hedgesync_test", None, raw=body,
                             headers={"X-GitHub-Delivery": None})
    assert status == 400 and resp["error"]["code"] == "missing_header"
    status, resp = S.webhook("hedgesync_test", None, raw=body,
                             headers={"X-GitHub-Delivery": "../../etc/passwd"})
    assert status == 400
    for raw in (b"{not json", b"", b"[1,2,3]", b"\xff\xfe{}", b'{"a": 1} trailing'):
        status, resp = S.webhook("hedgesync_test", None, raw=raw)
        assert status == 400 and resp["error"]["code"] == "invalid_json", (raw, resp)
    assert deliveries() == before


def test_form_encoded_payload_is_accepted():
    guid = str(uuid.uuid4())
    payload = json.dumps(test_payload(note="a b+c&d"))
    raw = ("payload=" + urllib.parse.quote_plus(payload)).encode()
    status, resp = S.webhook("hedgesync_test", None, guid=guid, raw=raw,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 202, resp
    stored = S.query("SELECT body FROM deliveries WHERE guid = ?", guid)[0][0]
    assert stored == raw  # the raw body, as signed


def test_body_over_25_mb_is_413_and_service_stays_up():
    before = deliveries()
    big = b'{"x":"' + b"a" * (26 * 1024 * 1024) + b'"}'
    status, resp = S.webhook("hedgesync_test", None, raw=big)
    assert status == 413, status
    assert resp["error"]["code"] == "too_large"
    assert S.request("GET", "/healthz")[0] == 200
    assert deliveries() == before


def fcgi_request(sock_path, params, body=b""):
    """A FastCGI request straight to hedgesync's socket, bypassing nginx."""
    def rec(t, content):
        return struct.pack(">BBHHBx", 1, t, 1, len(content), 0) + content

    def nv(k, v):
        k, v = k.encode(), v.encode()
        enc = lambda n: bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
        return enc(len(k)) + enc(len(v)) + k + v

    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock_path)
    data = rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, b"".join(nv(k, v) for k, v in params.items()))
    data += rec(4, b"")
    for i in range(0, len(body), 65535):
        data += rec(5, body[i:i + 65535])
    s.sendall(data + rec(5, b""))
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    # collect FCGI_STDOUT records
    stdout, i = b"", 0
    while i + 8 <= len(out):
        _, t, _, clen, plen = struct.unpack(">BBHHB", out[i:i + 7])
        if t == 6:
            stdout += out[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    return stdout.decode(errors="replace")


def test_hedgesync_enforces_the_cap_without_nginx():
    before = deliveries()
    out = fcgi_request(S.sock, {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/github/webhooks",
                                "CONTENT_LENGTH": str(26 * 1024 * 1024),
                                "CONTENT_TYPE": "application/json"})
    assert out.startswith("Status: 413"), out[:200]
    assert deliveries() == before
    out = fcgi_request(S.sock, {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/healthz"})
    assert out.startswith("Status: 200"), out[:200]


def test_routes_404_and_405():
    status, body, _ = S.request("GET", "/no/such/path")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    status, body, headers = S.request("GET", "/api/github/webhooks")
    assert status == 405 and headers.get("Allow") == "POST"
    status, body, headers = S.request("POST", "/healthz", b"{}")
    assert status == 405 and headers.get("Allow") == "GET, HEAD"
    status, body, _ = S.request("GET", "/api/v1/fabrics")
    assert status == 401
    status, body, _ = S.request("GET", "/api/v1/nothing", headers={"Authorization": "Bearer test-token"})
    assert status == 404
    status, body, _ = S.request("GET", "/api/v1/nothing", headers={"Authorization": "Bearer test-tokem"})
    assert status == 401


def test_metrics_show_deliveries_queue_and_latency():
    status, body, headers = S.request("GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    for needle in ('hedgesync_webhook_deliveries_total{event="hedgesync_test",outcome="queued"}',
                   'hedgesync_webhook_deliveries_total{event="none",outcome="unauthorized"}',
                   'hedgesync_webhook_deliveries_total{event="hedgesync_test",outcome="duplicate"}',
                   'hedgesync_jobs{state="queued"}',
                   'hedgesync_job_attempts_total{kind="test.record"}',
                   'hedgesync_job_latency_seconds_bucket{kind="test.record",le="+Inf"}',
                   'hedgesync_build_info{version='):
        assert needle in text, needle


def test_jobs_of_one_branch_run_in_order_one_at_a_time():
    repo = "acme/ordered-" + uuid.uuid4().hex[:6]
    guids = [str(uuid.uuid4()) for _ in range(20)]
    for g in guids:
        assert S.webhook("hedgesync_test", test_payload(repo=repo, sleep_ms=10), guid=g)[0] == 202
    for g in guids:
        wait_done(g)
    with open(S.record) as f:
        lines = [ln.split()[:2] for ln in f if ln.split()[1] in guids]
    # strictly run A, effect A, run B, effect B ... in arrival order
    expect = []
    for g in guids:
        expect += [["run", g], ["effect", g]]
    assert lines == expect


def test_failures_retry_then_dead_letter_then_manual_retry():
    flag = os.path.join(S.dir, "fail-" + uuid.uuid4().hex)
    open(flag, "w").close()
    guid = str(uuid.uuid4())
    repo = "acme/failing-" + uuid.uuid4().hex[:6]
    assert S.webhook("hedgesync_test", test_payload(repo=repo, fail_while_exists=flag),
                     guid=guid)[0] == 202
    # HEDGESYNC_JOB_ATTEMPTS defaults to 8; retries start at 50 ms here and double
    wait_for(lambda: jobs_for(guid) == [("dead",)], timeout=90, what="dead letter")
    runs, effects = S.records()
    assert runs.count(guid) == 8 and effects.count(guid) == 0
    out = S.cli("deliveries", "list", "--failed", "--json").stdout
    listed = [d for d in json.loads(out) if d["guid"] == guid]
    assert listed and listed[0]["state"] == "dead" and listed[0]["attempts"] == 8
    assert "fail while" in listed[0]["last_error"]
    metrics = S.request("GET", "/metrics")[1].decode()
    assert 'hedgesync_jobs{state="dead"} 1' in metrics
    # a newer job of the same branch is not blocked by the dead one
    g2 = str(uuid.uuid4())
    assert S.webhook("hedgesync_test", test_payload(repo=repo), guid=g2)[0] == 202
    wait_done(g2)
    os.unlink(flag)
    r = S.cli("deliveries", "retry", guid)
    assert "queued again" in r.stdout
    wait_done(guid)
    assert S.records()[1].count(guid) == 1
    assert S.cli("deliveries", "retry", guid, check=False).returncode == 1


def test_secret_rotation_accepts_previous_secret():
    with Stack(env={"WEBHOOK_SECRET": "new-secret", "WEBHOOK_SECRET_PREVIOUS": SECRET}) as s:
        assert s.webhook("ping", {"zen": "z"}, secret="new-secret")[0] == 200
        assert s.webhook("ping", {"zen": "z"}, secret=SECRET)[0] == 200
        assert s.webhook("ping", {"zen": "z"}, secret="third")[0] == 401


def test_1000_deliveries_from_8_clients_none_lost():
    with Stack(workers=4) as s:
        guids = [str(uuid.uuid4()) for _ in range(1000)]
        repos = [f"acme/r{i % 16}" for i in range(1000)]

        def post(i):
            return s.webhook("hedgesync_test", test_payload(repo=repos[i]), guid=guids[i])[0]

        with ThreadPoolExecutor(8) as ex:
            codes = list(ex.map(post, range(1000)))
        assert codes.count(202) == 1000, {c: codes.count(c) for c in set(codes)}
        assert s.query("SELECT count(*) FROM deliveries")[0][0] == 1000
        assert s.query("SELECT count(*) FROM jobs")[0][0] == 1000
        wait_for(lambda: s.query("SELECT count(*) FROM jobs WHERE state = 'done'")[0][0] == 1000,
                 timeout=120, what="1000 jobs done")
        runs, effects = s.records()
        assert sorted(effects) == sorted(guids)


def test_kill_9_with_200_pending_each_handled_exactly_once():
    with Stack(workers=4) as s:
        guids = [str(uuid.uuid4()) for _ in range(200)]
        for i, g in enumerate(guids):
            p = test_payload(repo=f"acme/k{i % 8}", sleep_ms=100)
            assert s.webhook("hedgesync_test", p, guid=g)[0] == 202
        # some are done, some running, most pending: kill without warning
        wait_for(lambda: len(s.records()[0]) >= 4, what="jobs running")
        pending = s.query("SELECT count(*) FROM jobs WHERE state != 'done'")[0][0]
        s.kill9()
        assert pending > 100, pending
        s.restart()
        wait_for(lambda: s.query("SELECT count(*) FROM jobs WHERE state = 'done'")[0][0] == 200,
                 timeout=120, what="all 200 done after restart")
        runs, effects = s.records()
        assert sorted(effects) == sorted(guids), "each effect exactly once"
        rerun = [g for g in set(runs) if runs.count(g) > 1]
        # only jobs in flight at the kill run twice: at most one per worker
        assert len(rerun) <= 4, rerun


def test_sigterm_finishes_running_jobs_and_exits_0():
    with Stack(workers=2) as s:
        g = str(uuid.uuid4())
        assert s.webhook("hedgesync_test", test_payload(sleep_ms=1500), guid=g)[0] == 202
        wait_for(lambda: g in s.records()[0], what="job started")
        t0 = time.monotonic()
        assert s.terminate() == 0
        assert time.monotonic() - t0 < 15
        assert s.records()[1].count(g) == 1  # finished, not abandoned
        assert s.query("SELECT state FROM jobs")[0][0] == "done"
        assert "stopped" in s.read_log()


def test_logs_carry_delivery_ids_and_never_the_secret():
    log = S.read_log()
    lines = [json.loads(l) for l in log.splitlines() if l.startswith("{")]
    assert lines and all("ts" in l and "level" in l and "msg" in l for l in lines)
    assert any("delivery" in l for l in lines)
    for secret in (SECRET, "test-token", "BEGIN RSA PRIVATE KEY"):
        assert secret not in log


def test_serve_names_every_bad_setting_and_exits_2():
    env = {k: v for k, v in os.environ.items()
           if k not in ("APP_ID", "WEBHOOK_SECRET", "PRIVATE_KEY", "PRIVATE_KEY_PATH")}
    env.update({"HEDGESYNC_WORKERS": "zero", "LOG_FORMAT": "xml",
                "HEDGESYNC_LISTEN": "ftp://x", "GITHUB_API_URL": "api.github.com"})
    r = subprocess.run([BINARY, "serve"], env=env, capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    for name in ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "HEDGESYNC_WORKERS",
                 "LOG_FORMAT", "HEDGESYNC_LISTEN", "GITHUB_API_URL"):
        assert name in r.stderr, (name, r.stderr)
