"""Start the real stack for end-to-end tests: nginx on a free loopback port in
front of `hedgesync serve` on a unix socket, with a fresh sqlite file and a
freshly generated App key.  Nothing here imitates hedgesync: requests go
through nginx to the binary that `make` built.

    with Stack() as s:
        status, body = s.webhook("push", {...})
"""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", "build")
BINARY = os.path.join(TOP, BUILD, "hedgesync")
SECRET = "It's a Secret to Everybody"
# Every stack's log is kept here with the secrets it was given, for the
# suite-wide search of test_zz_secrets.py (run.py empties it first).
SUITE_LOGS = os.path.join(TOP, BUILD, "test-logs")
SECRET_KEYS = ("WEBHOOK_SECRET", "WEBHOOK_SECRET_PREVIOUS", "NETBOX_WEBHOOK_SECRET",
               "NETBOX_TOKEN", "PRIVATE_KEY")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gen_key(path, pkcs1=True):
    """An RSA key for the App, PKCS#1 (as GitHub hands them out) or PKCS#8."""
    args = ["openssl", "genrsa", "-out", path, "2048"]
    if pkcs1:
        args.insert(2, "-traditional")
    subprocess.run(args, check=True, capture_output=True)
    return path


def sign(body, secret=SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def render_nginx(prefix, port, upstream, webhook_path="/api/github/webhooks", workers=1):
    with open(os.path.join(TOP, "nginx", "dev.conf.in")) as f:
        conf = f.read()
    user = "user root root;" if os.geteuid() == 0 else ""
    for k, v in {
        "@USER@": user, "@PREFIX@": prefix, "@PORT@": str(port),
        "@UPSTREAM@": upstream, "@WEBHOOK_PATH@": webhook_path,
        "@FASTCGI_PARAMS@": "/etc/nginx/fastcgi_params", "@WORKERS@": str(workers),
    }.items():
        conf = conf.replace(k, v)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def wait_for(pred, timeout=10.0, step=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Stack:
    """nginx + hedgesync on loopback with a temporary database."""

    def __init__(self, env=None, keep=False, threads=8, workers=4, args=(), unset=()):
        self.dir = tempfile.mkdtemp(prefix="hs-e2e-")
        self.keep = keep
        self.port = free_port()
        self.sock = os.path.join(self.dir, "hedgesync.sock")
        self.db_path = os.path.join(self.dir, "hedgesync.db")
        self.record = os.path.join(self.dir, "record.txt")
        self.log_path = os.path.join(self.dir, "hedgesync.log")
        self.key = gen_key(os.path.join(self.dir, "app.pem"))
        self.env = dict(os.environ)
        self.env.update({
            "APP_ID": "12345",
            "PRIVATE_KEY_PATH": self.key,
            "WEBHOOK_SECRET": SECRET,
            "HEDGESYNC_DB": self.db_path,
            "HEDGESYNC_LISTEN": "unix:" + self.sock,
            "HEDGESYNC_THREADS": str(threads),
            "HEDGESYNC_WORKERS": str(workers),
            "HEDGESYNC_API_TOKENS": "test-token",
            "HEDGESYNC_TEST_HANDLERS": "1",
            "HEDGESYNC_TEST_RECORD": self.record,
            "HEDGESYNC_LEASE_SECONDS": "2",
            "HEDGESYNC_RETRY_BASE_MS": "50",
            # GitHub on loopback only: a port nothing listens on, unless a
            # test starts the emulator and says where it is
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "HEDGESYNC_REDELIVER_SECONDS": "0",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
        })
        if env:
            self.env.update(env)
        for k in unset:
            self.env.pop(k, None)
        self.args = list(args)
        self.proc = None
        self.nginx = None
        self.log = None
        self.extra_secrets = []  # e.g. installation tokens the emulator issued

    # -- processes --------------------------------------------------------
    def start(self):
        self.start_hedgesync()
        self.start_nginx()
        self.wait_healthy()
        return self

    def start_hedgesync(self):
        self.log = open(self.log_path, "ab")
        cmd = [BINARY, "serve"] + self.args
        if os.environ.get("HS_VALGRIND"):
            cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite"] + cmd
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                 what="hedgesync socket")
        if self.proc.poll() is not None:
            raise AssertionError("hedgesync exited: " + self.read_log()[-2000:])

    def start_nginx(self):
        prefix = os.path.join(self.dir, "nginx")
        os.makedirs(prefix, exist_ok=True)
        conf = render_nginx(prefix, self.port, "unix:" + self.sock,
                            self.env.get("WEBHOOK_PATH", "/api/github/webhooks"))
        self.nginx = subprocess.Popen(["nginx", "-p", prefix, "-c", conf, "-e",
                                       os.path.join(prefix, "error.log")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._port_open, what="nginx port")

    def _port_open(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def wait_healthy(self, timeout=10):
        def ok():
            try:
                return self.request("GET", "/healthz")[0] == 200
            except OSError:
                return False
        wait_for(ok, timeout=timeout, what="/healthz")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self):
        if self.proc and self.proc.poll() is None:
            self.kill9()
        self.start_hedgesync()
        self.wait_healthy()

    def terminate(self, timeout=30):
        """SIGTERM; returns hedgesync's exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self):
        bad = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                bad = "did not stop within 30 s of SIGTERM"
        if self.proc and self.proc.returncode not in (0, -signal.SIGKILL) and not bad:
            # a sanitizer report, or a crash: the test run must not pass
            bad = f"exited with status {self.proc.returncode}"
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        if self.log:
            self.log.close()
        self.keep_for_secret_scan()
        log_tail = self.read_log()[-4000:] if bad and os.path.exists(self.log_path) else ""
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        if bad:
            raise AssertionError(f"hedgesync {bad}:\n{log_tail}")

    def secrets(self):
        """Every secret this stack was given: settings, API tokens, the App
        key (each line of its body), and what the emulator issued."""
        out = [self.env[k] for k in SECRET_KEYS if self.env.get(k)]
        out += [t for t in self.env.get("HEDGESYNC_API_TOKENS", "").split(",") if t]
        keys = [self.env.get("PRIVATE_KEY_PATH"), os.path.join(self.dir, "app-private-key.pem")]
        creds = os.path.join(self.dir, "app-credentials.env")  # written by serve --setup
        if os.path.exists(creds):
            with open(creds) as f:
                out += [line.split("=", 1)[1].strip() for line in f
                        if line.startswith("WEBHOOK_SECRET=")]
        for key in keys:
            if key and os.path.exists(key):
                with open(key) as f:
                    out += [line.strip() for line in f if len(line.strip()) >= 40
                            and not line.startswith("-----")]
        return out + list(self.extra_secrets)

    def keep_for_secret_scan(self):
        if not os.path.exists(self.log_path):
            return
        os.makedirs(SUITE_LOGS, exist_ok=True)
        name = os.path.basename(self.dir)
        shutil.copy(self.log_path, os.path.join(SUITE_LOGS, name + ".log"))
        with open(os.path.join(SUITE_LOGS, name + ".secrets.json"), "w") as f:
            json.dump(self.secrets(), f)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    # -- HTTP -------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data, dict(resp.getheaders())
        finally:
            conn.close()

    def webhook(self, event, payload, guid=None, secret=SECRET, signature=None,
                headers=None, raw=None):
        """POST a signed delivery; returns (status, parsed JSON body or raw)."""
        body = raw if raw is not None else json.dumps(payload).encode()
        h = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test",
             "X-GitHub-Event": event, "X-GitHub-Delivery": guid or str(uuid.uuid4())}
        if signature is not False:
            h["X-Hub-Signature-256"] = signature if signature is not None else sign(body, secret)
        if headers:
            h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}
        status, data, _ = self.request("POST", self.env["WEBHOOK_PATH"]
                                       if "WEBHOOK_PATH" in self.env
                                       else "/api/github/webhooks", body, h)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    # -- database and records ---------------------------------------------
    def query(self, sql, *args):
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def records(self):
        """(runs, effects): lists of delivery guids from the test handler."""
        runs, effects = [], []
        if os.path.exists(self.record):
            with open(self.record) as f:
                for line in f:
                    parts = line.split()
                    if parts and parts[0] == "run":
                        runs.append(parts[1])
                    elif parts and parts[0] == "effect":
                        effects.append(parts[1])
        return runs, effects

    def cli(self, *args, check=True):
        r = subprocess.run([BINARY, *args], env=self.env, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"hedgesync {' '.join(args)}: {r.returncode} {r.stderr}")
        return r


def test_payload(repo="acme/fabric", branch="main", **extra):
    """A payload for the test-only event, shaped like GitHub's."""
    p = {"ref": "refs/heads/" + branch,
         "repository": {"full_name": repo, "name": repo.split("/")[1],
                        "owner": {"login": repo.split("/")[0]}},
         "installation": {"id": 42}}
    p.update(extra)
    return p


class GitHubStack:
    """The GitHub emulator of tests/emulator, and hedgesync behind nginx set up
    as its App with one installation: what every test that talks to GitHub
    starts from."""

    AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}

    def __init__(self, app_id, installation, account="acme", env=None):
        self.app_id, self.installation, self.account = app_id, installation, account
        self.extra_env = env or {}
        self.tmp = self.gh = self.stack = None

    def start(self):
        sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))
        from ghemu import GitHubEmulator, make_app_key
        self.tmp = tempfile.mkdtemp(prefix="hs-gh-")
        key, pub = make_app_key(self.tmp)
        self.gh = GitHubEmulator().start()
        # GitHub's 80 writes a minute would pace tests that make many small
        # fabrics; a test of the budget itself sets it back
        env = {"GITHUB_API_URL": self.gh.url, "PRIVATE_KEY_PATH": key,
               "APP_ID": str(self.app_id), "HEDGESYNC_TEST_HANDLERS": "0",
               "HEDGESYNC_WRITES_PER_MINUTE": "1000"}
        env.update(self.extra_env)
        self.stack = Stack(env=env).start()
        self.gh.set_app(self.app_id, pub,
                        webhook_url=f"http://127.0.0.1:{self.stack.port}/api/github/webhooks",
                        webhook_secret=self.stack.env["WEBHOOK_SECRET"])
        self.gh.add_installation(self.installation, self.account)
        return self

    def stop(self):
        try:
            try:
                self.stack.extra_secrets += [t["token"] for t in
                                             self.gh.admin("GET", "/_admin/tokens?reveal=1")]
            except Exception:
                pass  # the emulator is gone: no tokens to look for
            self.stack.stop()
        finally:
            self.gh.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def idle(self):
        return self.stack.query(
            "SELECT count(*) FROM jobs WHERE state IN ('queued','running')")[0][0] == 0

    def settle(self, repo, timeout=60):
        """Wait until hedgesync has no queued or running job and the branch is still."""
        last = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            wait_for(self.idle, timeout=timeout, what="jobs done")
            head = self.gh.head(repo)
            time.sleep(0.6)  # a webhook of hedgesync's own commit may be on its way
            if self.idle() and self.gh.head(repo) == head and head == last:
                return head
            last = head
        raise AssertionError("repository did not settle")

    def api(self, method, path, body=None):
        status, data, _ = self.stack.request(
            method, "/api/v1" + path, json.dumps(body).encode() if body is not None else None,
            self.AUTH)
        return status, json.loads(data) if data else None
