"""A NetBox stand-in for hedgesync's tests.

Two halves, as NetBox has them:

* sending: NetBox event-rule webhooks, in the body shapes of NetBox 3.7, 4.4
  and 4.7 (see docs/NETBOX.md), signed the way NetBox signs them
  (X-Hook-Signature: lowercase hex HMAC-SHA512 of the exact body bytes);
* receiving: an HTTP server that records what hedgesync POSTs to NetBox and
  can answer with an error on demand.

    nb = NetBoxStandIn(secret).start()
    body = nb.body("4.7", "updated", "vpc", data, user="alice", prechange=old)
    status, answer = nb.send(url, body)
    nb.received()          # what hedgesync sent
    nb.fail(503, count=5)  # answer 503 to the next 5 requests
    nb.fail_for(503, 3.0)  # ... or to everything for 3 seconds
    nb.stop()
"""
import hashlib
import hmac
import http.client
import http.server
import json
import threading
import time
import urllib.parse
import uuid

APP = "netbox_hedgehog"


def object_data(fabric, name, spec, labels=None, namespace="default", fabric_id=1, oid=None,
                fabric_as="object"):
    """The REST representation NetBox sends in `data` for a Hedgehog CRD object."""
    if fabric_as == "object":
        fab = {"id": fabric_id, "url": f"http://netbox/api/plugins/hedgehog/fabrics/{fabric_id}/",
               "display": fabric, "name": fabric}
    elif fabric_as == "id":
        fab = fabric_id
    else:
        fab = fabric
    d = {"id": oid or 1, "url": "http://netbox/api/plugins/hedgehog/x/1/", "display": name,
         "fabric": fab, "name": name, "namespace": namespace, "spec": spec,
         "labels": labels or {}, "annotations": {}, "created": "2026-11-22T10:00:00Z",
         "last_updated": "2026-11-22T10:00:00Z"}
    return d


def snapshot(data):
    """A snapshot as NetBox keeps it: model fields, the fabric as its id."""
    if data is None:
        return None
    s = {k: v for k, v in data.items() if k not in ("url", "display")}
    if isinstance(s.get("fabric"), dict):
        s["fabric"] = s["fabric"]["id"]
    return s


def body(version, event, model, data, user="alice", prechange=None, app=APP):
    """A default (no template) webhook body of NetBox `version` ("3.7", "4.4", "4.7")."""
    rid = str(uuid.uuid4())
    b = {"event": event, "timestamp": "2026-11-22T10:00:00.%06d+00:00" % (time.time_ns() % 10**6)}
    major, minor = (int(x) for x in version.split(".")[:2])
    if (major, minor) <= (4, 4):
        b["model"] = model
    if (major, minor) >= (4, 4):
        b["object_type"] = f"{app}.{model}"
    if (major, minor) < (4, 7):
        b["username"] = user
        b["request_id"] = rid
    if (major, minor) >= (4, 6):
        b["request"] = {"id": rid, "method": "POST", "path": f"/plugins/hedgehog/{model}s/",
                        "user": user}
    b["data"] = data
    post = None if event == "deleted" else snapshot(data)
    b["snapshots"] = {"prechange": snapshot(prechange), "postchange": post}
    return b


def sign(secret, raw):
    return hmac.new(secret.encode(), raw, hashlib.sha512).hexdigest()


class NetBoxStandIn:
    def __init__(self, secret):
        self.secret = secret
        self._lock = threading.Lock()
        self._received = []
        self._fail = []  # statuses to answer with, next first
        self._fail_until = (200, 0.0)  # (status, monotonic deadline)
        self._server = None
        self.url = None

    # ---- sending ----
    @staticmethod
    def body(*a, **kw):
        return body(*a, **kw)

    def send(self, url, b, secret=None, signature=None, raw=None, timeout=30):
        """POST a webhook body to url (http://host:port/path?query). Returns
        (status, parsed JSON or None)."""
        raw = raw if raw is not None else json.dumps(b).encode()
        sig = signature if signature is not None else sign(secret or self.secret, raw)
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if sig:
            headers["X-Hook-Signature"] = sig
        c.request("POST", u.path + ("?" + u.query if u.query else ""), raw, headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, None

    # ---- receiving ----
    def start(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                with owner._lock:
                    if owner._fail:
                        status = owner._fail.pop(0)
                    elif time.monotonic() < owner._fail_until[1]:
                        status = owner._fail_until[0]
                    else:
                        status = 200
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        parsed = None
                    owner._received.append({"path": self.path, "status": status,
                                            "authorization": self.headers.get("Authorization"),
                                            "body": parsed, "at": time.time()})
                out = b'{"ok": true}' if status < 300 else b'{"detail": "unavailable"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def fail(self, status, count=1):
        with self._lock:
            self._fail.extend([status] * count)

    def fail_for(self, status, seconds):
        """Answer status to everything for the next `seconds`."""
        with self._lock:
            self._fail_until = (status, time.monotonic() + seconds)

    def received(self, accepted_only=True):
        with self._lock:
            return [r for r in self._received if not accepted_only or r["status"] < 300]
