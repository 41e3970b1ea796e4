#!/usr/bin/env python3
"""ghemu: a GitHub emulator for hedgesync's tests and demo (Python 3 standard library + git).

It serves the REST calls hedgesync makes, over real HTTP on loopback, with
GitHub's status codes, error bodies and response shapes:

  App auth      GET /app, GET /app/installations, GET /repos/{o}/{r}/installation,
                POST /app/installations/{id}/access_tokens   (App JWT, RS256, checked
                against the App's public key with `openssl dgst -verify`)
  Contents      GET/PUT/DELETE /repos/{o}/{r}/contents/{path}
  Git Data      GET /repos/{o}/{r}/git/ref/heads/{b}, POST /git/refs,
                PATCH/DELETE /git/refs/heads/{b}, GET/POST /git/commits,
                GET/POST /git/trees, GET/POST /git/blobs
  Checks        POST/PATCH/GET /repos/{o}/{r}/check-runs[/{id}], GET .../annotations,
                GET /repos/{o}/{r}/commits/{ref}/check-runs
  Other         GET /repos/{o}/{r}, GET /repos/{o}/{r}/compare/{base}...{head},
                GET /repos/{o}/{r}/pulls/{n}[/files], GET /rate_limit,
                GET /app/hook/deliveries[/{id}], POST /app/hook/deliveries/{id}/attempts

Repositories are bare git repositories under STATE/repos/OWNER/NAME.git (see
gitstore.py); tests and the demo may `git clone` and `git push` them, and a
post-receive hook turns each push into a signed `push` webhook.

Everything a test needs to steer or observe is under /_admin/ (JSON): the App,
installations, repositories, commits, pull requests, faults (5xx, delays,
dropped connections, oversized bodies, a rate-limit window, a concurrent
writer), configuration (token lifetime and length, tree truncation limit,
rate limit, clock offset), the request log and the webhook deliveries.

    python3 tests/emulator/ghemu.py --port 0 --state-dir DIR [--port-file F]
        [--app-id N --public-key PEM] [--webhook-url URL --webhook-secret S]

The GitHubEmulator class below starts it as a subprocess and wraps /_admin/.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import math
import os
import queue
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gitstore import EMPTY_TREE, MODES, ZERO, GitError, Repo, iso_utc, valid_path  # noqa: E402

DOCS = "https://docs.github.com/rest"
API_VERSIONS = ("2022-11-28", "2026-03-10")
MAX_REQUEST_BODY = 200 * 1024 * 1024
BLOB_MAX = 100 * 1024 * 1024
CONTENTS_INLINE_MAX = 1024 * 1024
LOG_MAX = 200000
PERMISSIONS = {"checks": "write", "contents": "write", "metadata": "read",
               "pull_requests": "read"}
EVENTS = ["check_run", "check_suite", "installation", "installation_repositories",
          "pull_request", "push"]
DEFAULT_CONFIG = {
    "token_lifetime": 3600,      # seconds an installation token lives
    "token_length": 520,         # characters (GitHub's stateless tokens are ~520)
    "reject_tokens": False,      # every installation token answers 401
    "tree_limit": 100000,        # entries in one recursive tree listing
    "ratelimit_limit": 5000,     # requests per hour per installation / App
    "clock_offset": 0,           # seconds the emulator's clock is ahead
    "check_suite_on_push": True,  # a push also sends check_suite requested
    "seed": 1,                   # for fault rates
    "webhook_timeout": 10,       # seconds, as GitHub
}


class ApiError(Exception):
    def __init__(self, status, message, errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64_wrapped(data):
    """Base64 broken every 60 characters, as GitHub sends content."""
    s = base64.b64encode(data).decode()
    return "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60))


def want(cond, status, message):
    if not cond:
        raise ApiError(status, message)


# --------------------------------------------------------------------------
# the emulator's state and behaviour
# --------------------------------------------------------------------------

class Emulator:
    def __init__(self, state_dir, host="127.0.0.1"):
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(os.path.join(self.state_dir, "repos"), exist_ok=True)
        self.host = host
        self.port = 0
        self.lock = threading.RLock()
        self.config = dict(DEFAULT_CONFIG)
        self.app = None            # id, slug, client_id, name, public_key_pem
        self.webhook = {"url": None, "secret": None}
        self.installations = {}    # id -> {id, account, repositories: [..] | None}
        self.repos = {}            # "owner/name" lower -> meta dict
        self.tokens = {}           # token -> {installation, expires}
        self.check_runs = {}       # id -> run dict (with "annotations", "repo")
        self.check_suites = {}     # (repo, head_sha) -> suite id
        self.pulls = {}            # repo key -> {number: pr}
        self.deliveries = []
        self.log = []
        self.seq = 0
        self.ids = {"repo": 1000, "check_run": 5000, "check_suite": 7000,
                    "delivery": 90000, "pull": 3000, "user": 100, "manifest": 0, "app": 0}
        self.faults = []
        self.ratelimit_window = None  # {until, mode, match}
        self.writers = []             # concurrent writer specs
        self.rl = {}                  # auth key -> {used, reset}
        self.jwt_ok = {}              # verified JWT -> True (signature only)
        self.manifests = {}           # manifest-flow code -> the App it made
        self.rng = random.Random(self.config["seed"])
        self.outbox = queue.Queue()
        self.dirty = False
        self.stopping = False
        self._load()

    # ---- time, ids, persistence ----
    def now(self):
        return time.time() + float(self.config.get("clock_offset") or 0)

    def next_id(self, kind):
        with self.lock:
            self.ids[kind] += 1
            return self.ids[kind]

    @property
    def api(self):
        return "http://%s:%d" % (self.host, self.port)

    def _state_file(self):
        return os.path.join(self.state_dir, "state.json")

    def _load(self):
        try:
            with open(self._state_file()) as f:
                s = json.load(f)
        except (OSError, ValueError):
            return
        self.config.update(s.get("config", {}))
        self.app = s.get("app")
        self.webhook = s.get("webhook", self.webhook)
        self.installations = {int(k): v for k, v in s.get("installations", {}).items()}
        self.repos = s.get("repos", {})
        self.check_runs = {int(k): v for k, v in s.get("check_runs", {}).items()}
        self.pulls = {k: {int(n): p for n, p in v.items()}
                      for k, v in s.get("pulls", {}).items()}
        self.deliveries = s.get("deliveries", [])
        self.ids.update(s.get("ids", {}))

    def save(self):
        with self.lock:
            s = {"config": self.config, "app": self.app, "webhook": self.webhook,
                 "installations": self.installations, "repos": self.repos,
                 "check_runs": self.check_runs, "pulls": self.pulls,
                 "deliveries": self.deliveries[-1000:], "ids": self.ids}
            data = json.dumps(s)
            self.dirty = False
        tmp = self._state_file() + ".tmp"
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, self._state_file())

    def touch(self):
        self.dirty = True

    def saver(self):
        while not self.stopping:
            time.sleep(0.5)
            if self.dirty:
                try:
                    self.save()
                except Exception:
                    traceback.print_exc()

    # ---- objects shaped like GitHub's ----
    def user(self, login, kind="User"):
        uid = (int(hashlib.sha1(login.encode()).hexdigest()[:6], 16) % 900000) + 1000
        return {"login": login, "id": uid, "node_id": "U_%d" % uid,
                "avatar_url": "%s/_avatars/%s" % (self.api, login), "gravatar_id": "",
                "url": "%s/users/%s" % (self.api, login),
                "html_url": "%s/%s" % (self.api, login), "type": kind, "site_admin": False}

    def bot(self):
        slug = self.app["slug"] if self.app else "app"
        return self.user(slug + "[bot]", "Bot")

    def repo_obj(self, meta):
        full = meta["full_name"]
        o = {"id": meta["id"], "node_id": "R_%d" % meta["id"], "name": meta["name"],
             "full_name": full, "private": True, "owner": self.user(meta["owner"]),
             "html_url": "%s/%s" % (self.api, full), "description": None, "fork": False,
             "url": "%s/repos/%s" % (self.api, full),
             "git_url": "file://" + meta["path"], "clone_url": "file://" + meta["path"],
             "created_at": meta["created_at"], "updated_at": meta["created_at"],
             "pushed_at": meta.get("pushed_at", meta["created_at"]),
             "default_branch": meta["default_branch"], "visibility": "private",
             "archived": False, "disabled": False}
        return o

    def installation_obj(self, inst):
        acct = inst["account"]
        return {"id": inst["id"], "account": self.user(acct, "Organization"),
                "repository_selection": "all" if inst["repositories"] is None else "selected",
                "access_tokens_url": "%s/app/installations/%d/access_tokens" % (
                    self.api, inst["id"]),
                "repositories_url": "%s/installation/repositories" % self.api,
                "html_url": "%s/organizations/%s/settings/installations/%d" % (
                    self.api, acct, inst["id"]),
                "app_id": self.app["id"] if self.app else None,
                "app_slug": self.app["slug"] if self.app else None,
                "target_id": self.user(acct)["id"], "target_type": "Organization",
                "permissions": PERMISSIONS, "events": EVENTS,
                "created_at": inst["created_at"], "updated_at": inst["created_at"],
                "single_file_name": None, "suspended_at": None}

    def app_obj(self):
        a = self.app
        return {"id": a["id"], "slug": a["slug"], "node_id": "A_%d" % a["id"],
                "client_id": a["client_id"], "owner": self.user(a.get("owner", "hedgehog")),
                "name": a["name"], "description": "", "external_url": self.api,
                "html_url": "%s/apps/%s" % (self.api, a["slug"]),
                "created_at": a["created_at"], "updated_at": a["created_at"],
                "permissions": PERMISSIONS, "events": EVENTS, "installations_count":
                len(self.installations)}

    def git_commit_obj(self, meta, c):
        full = meta["full_name"]
        return {"sha": c["sha"], "node_id": "C_" + c["sha"],
                "url": "%s/repos/%s/git/commits/%s" % (self.api, full, c["sha"]),
                "html_url": "%s/%s/commit/%s" % (self.api, full, c["sha"]),
                "author": {k: c["author"][k] for k in ("name", "email", "date")},
                "committer": {k: c["committer"][k] for k in ("name", "email", "date")},
                "tree": {"sha": c["tree"],
                         "url": "%s/repos/%s/git/trees/%s" % (self.api, full, c["tree"])},
                "message": c["message"],
                "parents": [{"sha": p, "url": "%s/repos/%s/git/commits/%s" % (
                    self.api, full, p), "html_url": "%s/%s/commit/%s" % (
                    self.api, full, p)} for p in c["parents"]],
                "verification": {"verified": False, "reason": "unsigned",
                                 "signature": None, "payload": None, "verified_at": None}}

    def rest_commit_obj(self, meta, repo, sha):
        c = repo.read_commit(sha)
        full = meta["full_name"]
        return {"sha": sha, "node_id": "C_" + sha,
                "commit": {"author": {k: c["author"][k] for k in ("name", "email", "date")},
                           "committer": {k: c["committer"][k]
                                         for k in ("name", "email", "date")},
                           "message": c["message"],
                           "tree": {"sha": c["tree"], "url": "%s/repos/%s/git/trees/%s" % (
                               self.api, full, c["tree"])},
                           "url": "%s/repos/%s/git/commits/%s" % (self.api, full, sha),
                           "comment_count": 0},
                "url": "%s/repos/%s/commits/%s" % (self.api, full, sha),
                "html_url": "%s/%s/commit/%s" % (self.api, full, sha),
                "author": None, "committer": None,
                "parents": [{"sha": p, "url": "%s/repos/%s/commits/%s" % (
                    self.api, full, p)} for p in c["parents"]]}

    def content_obj(self, meta, entry, path, ref, with_content=None):
        full = meta["full_name"]
        typ = {"tree": "dir", "blob": "file", "commit": "submodule"}[entry["type"]]
        if entry["mode"] == "120000":
            typ = "symlink"
        name = path.rsplit("/", 1)[-1] if path else ""
        qref = urllib.parse.quote(ref, safe="")
        self_url = "%s/repos/%s/contents/%s?ref=%s" % (self.api, full,
                                                       urllib.parse.quote(path), qref)
        git_url = "%s/repos/%s/git/%ss/%s" % (self.api, full, entry["type"], entry["sha"])
        html_url = "%s/%s/%s/%s/%s" % (self.api, full, "tree" if typ == "dir" else "blob",
                                       ref, path)
        o = {"type": typ, "size": entry["size"] or 0, "name": name, "path": path,
             "sha": entry["sha"], "url": self_url, "git_url": git_url, "html_url": html_url,
             "download_url": ("%s/_raw/%s/%s/%s" % (self.api, full, ref, path)
                              if typ == "file" else None),
             "_links": {"self": self_url, "git": git_url, "html": html_url}}
        if with_content is not None:
            if typ == "symlink":
                o["target"] = with_content.decode("utf-8", "replace")
            if len(with_content) > CONTENTS_INLINE_MAX:
                o["encoding"], o["content"] = "none", ""
            else:
                o["encoding"], o["content"] = "base64", b64_wrapped(with_content)
        return o

    # ---- repositories ----
    def repo(self, owner, name):
        meta = self.repos.get(("%s/%s" % (owner, name)).lower())
        if not meta:
            raise ApiError(404, "Not Found")
        return meta, Repo(meta["path"])

    def installation_for(self, full):
        for inst in self.installations.values():
            if inst["repositories"] is None:
                if inst["account"].lower() == full.split("/")[0].lower():
                    return inst
            elif full.lower() in [r.lower() for r in inst["repositories"]]:
                return inst
        return None

    def create_repo(self, owner, name, default_branch="main", files=None,
                    message="Initial commit", installation_id=None):
        full = "%s/%s" % (owner, name)
        want(valid_path(full) and full.count("/") == 1, 422, "bad repository name")
        key = full.lower()
        path = os.path.join(self.state_dir, "repos", owner, name + ".git")
        with self.lock:
            if key in self.repos:
                raise ApiError(422, "Repository creation failed.",
                               [{"resource": "Repository", "code": "custom",
                                 "field": "name", "message": "name already exists"}])
            if os.path.exists(path):
                shutil.rmtree(path)
            repo = Repo.init(path, default_branch)
            meta = {"id": self.next_id("repo"), "owner": owner, "name": name,
                    "full_name": full, "path": path, "default_branch": default_branch,
                    "created_at": iso_utc(self.now())}
            self.repos[key] = meta
            if installation_id is not None:
                inst = self.installations.get(int(installation_id))
                want(inst is not None, 404, "no such installation")
                if inst["repositories"] is not None and full not in inst["repositories"]:
                    inst["repositories"].append(full)
            self.touch()
        self.install_hook(meta)
        if files:
            self.commit_files(meta, default_branch, files, message,
                              {"name": "Repo Owner", "email": "owner@example.com"},
                              notify=False)
        return meta

    def install_hook(self, meta):
        hook = os.path.join(meta["path"], "hooks", "post-receive")
        with open(os.path.join(meta["path"], "ghemu-url"), "w") as f:
            f.write(self.api + "\n")
        with open(hook, "w") as f:
            f.write(HOOK_SCRIPT.replace("@REPO@", meta["full_name"]))
        os.chmod(hook, 0o755)

    def commit_files(self, meta, branch, files, message, author, notify=True,
                     sender=None):
        """Commit {path: text|bytes|None} on top of branch (created if missing)."""
        repo = Repo(meta["path"])
        for _ in range(20):
            old = repo.head(branch)
            # a new branch starts from the default branch, as on GitHub
            start = old or repo.head(meta["default_branch"])
            base = repo.tree_of(start) if start else None
            changes = {}
            for p, v in files.items():
                want(valid_path(p), 422, "bad path %r" % p)
                if v is None:
                    changes[p] = None
                else:
                    data = v.encode() if isinstance(v, str) else v
                    changes[p] = ("100644", "blob", repo.write_blob(data))
            try:
                tree = repo.edit_tree(base, changes)
            except GitError as e:
                raise ApiError(422, str(e))
            who = dict(author)
            who.setdefault("date", iso_utc(self.now()))
            new = repo.commit_tree(tree, [start] if start else [], message, who, who)
            if repo.update_ref(branch, new, old):
                if notify:
                    self.ref_moved(meta, branch, old, new,
                                   sender or self.user(meta["owner"]))
                return new
        raise ApiError(409, "branch kept moving")

    # ---- webhooks ----
    def queue_delivery(self, event, action, payload, installation_id=None,
                       repository_id=None, guid=None, redelivery=False):
        with self.lock:
            rec = {"id": self.next_id("delivery"), "guid": guid or str(uuid.uuid4()),
                   "delivered_at": None, "redelivery": redelivery, "duration": None,
                   "status": "pending", "status_code": 0, "event": event, "action": action,
                   "installation_id": installation_id, "repository_id": repository_id,
                   "throttled_at": None, "url": self.webhook.get("url"),
                   "request": {"headers": {}, "payload": payload},
                   "response": {"headers": {}, "payload": None}}
            self.deliveries.append(rec)
            if len(self.deliveries) > 5000:
                del self.deliveries[:1000]
            self.touch()
        self.outbox.put(rec)
        return rec

    def deliverer(self):
        while not self.stopping:
            try:
                rec = self.outbox.get(timeout=0.2)
            except queue.Empty:
                continue
            self.deliver(rec)

    def deliver(self, rec):
        url, secret = self.webhook.get("url"), self.webhook.get("secret") or ""
        body = json.dumps(rec["request"]["payload"]).encode()
        headers = {
            "Accept": "*/*", "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/ghemu",
            "X-GitHub-Event": rec["event"], "X-GitHub-Delivery": rec["guid"],
            "X-GitHub-Hook-ID": "424242",
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-GitHub-Hook-Installation-Target-ID": str(self.app["id"] if self.app else 0),
            "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body,
                                                  hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body,
                                                        hashlib.sha256).hexdigest(),
        }
        t0 = time.monotonic()
        status, code, resp_headers, resp_body = "", 0, {}, None
        if not url:
            status = "No webhook URL configured"
        else:
            # http.client keeps the header names as GitHub spells them
            u = urllib.parse.urlsplit(url)
            conn = None
            try:
                cls = http.client.HTTPSConnection if u.scheme == "https" else \
                    http.client.HTTPConnection
                conn = cls(u.hostname, u.port, timeout=self.config["webhook_timeout"])
                conn.request("POST", (u.path or "/") + ("?" + u.query if u.query else ""),
                             body=body, headers=headers)
                r = conn.getresponse()
                code = r.status
                resp_headers = dict(r.getheaders())
                resp_body = r.read(65536).decode("utf-8", "replace")
                status = "OK" if 200 <= code < 300 else "Invalid HTTP Response: %d" % code
            except socket.timeout:
                status = "timed out"
            except Exception as e:
                status = "failed to connect to host: %s" % e
            finally:
                if conn:
                    conn.close()
        with self.lock:
            rec["delivered_at"] = iso_utc(self.now())
            rec["duration"] = round(time.monotonic() - t0, 3)
            rec["status"], rec["status_code"] = status, code
            rec["request"]["headers"] = headers
            rec["response"] = {"headers": resp_headers, "payload": resp_body}
            self.touch()

    def delivery_summary(self, rec):
        return {k: rec[k] for k in ("id", "guid", "delivered_at", "redelivery", "duration",
                                    "status", "status_code", "event", "action",
                                    "installation_id", "repository_id", "throttled_at")}

    def push_commit_obj(self, meta, repo, sha, distinct=True):
        c = repo.read_commit(sha)
        added, removed, modified = repo.commit_files(sha)
        off = c["author"]["offset"]
        ts = iso_utc(c["author"]["epoch"]).replace("Z", "%s:%s" % (off[:3], off[3:]))
        return {"id": sha, "tree_id": c["tree"], "distinct": distinct,
                "message": c["message"].rstrip("\n"), "timestamp": ts,
                "url": "%s/%s/commit/%s" % (self.api, meta["full_name"], sha),
                "author": {"name": c["author"]["name"], "email": c["author"]["email"],
                           "username": c["author"]["name"]},
                "committer": {"name": c["committer"]["name"],
                              "email": c["committer"]["email"],
                              "username": c["committer"]["name"]},
                "added": added, "removed": removed, "modified": modified}

    def ref_moved(self, meta, branch, old, new, sender, pusher=None):
        """A branch moved (API or git push): send push, check_suite, synchronize."""
        old, new = old or ZERO, new or ZERO
        repo = Repo(meta["path"])
        inst = self.installation_for(meta["full_name"])
        with self.lock:
            meta["pushed_at"] = iso_utc(self.now())
        created, deleted = old == ZERO, new == ZERO
        commits = []
        if not deleted:
            if created:
                others = ["^refs/heads/" + b for b in repo.branches() if b != branch]
                shas = repo.rev_list([new] + others, 2048)
            else:
                shas = repo.rev_list(["%s..%s" % (old, new)], 2048)
            commits = [self.push_commit_obj(meta, repo, s) for s in shas]
        forced = not created and not deleted and not repo.is_ancestor(old, new)
        head = None
        if not deleted:
            head = next((c for c in commits if c["id"] == new), None) or \
                self.push_commit_obj(meta, repo, new, distinct=False)
        pusher = pusher or {"name": sender["login"], "email": None}
        repo_o = self.repo_obj(meta)
        payload = {"ref": "refs/heads/" + branch, "before": old, "after": new,
                   "repository": repo_o, "pusher": pusher, "sender": sender,
                   "created": created, "deleted": deleted, "forced": forced,
                   "base_ref": None,
                   "compare": "%s/%s/compare/%s...%s" % (self.api, meta["full_name"],
                                                         old[:12], new[:12]),
                   "commits": commits, "head_commit": head}
        if inst:
            payload["installation"] = {"id": inst["id"], "node_id": "I_%d" % inst["id"]}
        iid = inst["id"] if inst else None
        self.queue_delivery("push", None, payload, iid, meta["id"])
        if deleted:
            return
        with self.lock:
            prs = [p for p in self.pulls.get(meta["full_name"].lower(), {}).values()
                   if p["state"] == "open" and p["head"]["ref"] == branch]
            for pr in prs:
                pr["head"]["sha"] = new
                pr["updated_at"] = iso_utc(self.now())
            self.touch()
        if self.config["check_suite_on_push"]:
            self.send_check_suite(meta, branch, old, new, prs, sender)
        for pr in prs:
            self.send_pull_request(meta, pr, "synchronize", sender, before=old, after=new)

    def suite_id(self, meta, sha):
        with self.lock:
            key = "%s@%s" % (meta["full_name"].lower(), sha)
            if key not in self.check_suites:
                self.check_suites[key] = self.next_id("check_suite")
            return self.check_suites[key]

    def pr_min(self, meta, pr):
        r = {"id": meta["id"], "url": "%s/repos/%s" % (self.api, meta["full_name"]),
             "name": meta["name"]}
        return {"url": "%s/repos/%s/pulls/%d" % (self.api, meta["full_name"], pr["number"]),
                "id": pr["id"], "number": pr["number"],
                "head": {"ref": pr["head"]["ref"], "sha": pr["head"]["sha"], "repo": r},
                "base": {"ref": pr["base"]["ref"], "sha": pr["base"]["sha"], "repo": r}}

    def send_check_suite(self, meta, branch, before, after, prs, sender):
        inst = self.installation_for(meta["full_name"])
        sid = self.suite_id(meta, after)
        repo = Repo(meta["path"])
        c = repo.read_commit(after)
        suite = {"id": sid, "node_id": "CS_%d" % sid, "head_branch": branch,
                 "head_sha": after, "status": "queued", "conclusion": None,
                 "url": "%s/repos/%s/check-suites/%d" % (self.api, meta["full_name"], sid),
                 "before": before, "after": after,
                 "pull_requests": [self.pr_min(meta, p) for p in prs],
                 "app": self.app_obj() if self.app else None,
                 "created_at": iso_utc(self.now()), "updated_at": iso_utc(self.now()),
                 "latest_check_runs_count": 0,
                 "check_runs_url": "%s/repos/%s/check-suites/%d/check-runs" % (
                     self.api, meta["full_name"], sid),
                 "head_commit": {"id": after, "tree_id": c["tree"],
                                 "message": c["message"].rstrip("\n"),
                                 "timestamp": c["committer"]["date"],
                                 "author": {"name": c["author"]["name"],
                                            "email": c["author"]["email"]},
                                 "committer": {"name": c["committer"]["name"],
                                               "email": c["committer"]["email"]}}}
        payload = {"action": "requested", "check_suite": suite,
                   "repository": self.repo_obj(meta), "sender": sender}
        if inst:
            payload["installation"] = {"id": inst["id"], "node_id": "I_%d" % inst["id"]}
        self.queue_delivery("check_suite", "requested", payload,
                            inst["id"] if inst else None, meta["id"])

    def send_pull_request(self, meta, pr, action, sender, before=None, after=None):
        inst = self.installation_for(meta["full_name"])
        payload = {"action": action, "number": pr["number"], "pull_request": pr,
                   "repository": self.repo_obj(meta), "sender": sender}
        if action == "synchronize":
            payload["before"], payload["after"] = before, after
        if inst:
            payload["installation"] = {"id": inst["id"], "node_id": "I_%d" % inst["id"]}
        self.queue_delivery("pull_request", action, payload,
                            inst["id"] if inst else None, meta["id"])

    def pr_obj(self, meta, number, head, base, title, body, user, repo):
        full = meta["full_name"]
        head_sha, base_sha = repo.head(head), repo.head(base)
        want(head_sha and base_sha, 422, "head or base branch does not exist")
        ro = self.repo_obj(meta)
        u = self.user(user)
        now = iso_utc(self.now())
        return {"url": "%s/repos/%s/pulls/%d" % (self.api, full, number),
                "id": 800000 + number, "node_id": "PR_%d" % number,
                "html_url": "%s/%s/pull/%d" % (self.api, full, number),
                "number": number, "state": "open", "locked": False, "title": title,
                "user": u, "body": body, "created_at": now, "updated_at": now,
                "closed_at": None, "merged_at": None, "merge_commit_sha": None,
                "draft": False, "merged": False,
                "head": {"label": "%s:%s" % (meta["owner"], head), "ref": head,
                         "sha": head_sha, "user": self.user(meta["owner"]), "repo": ro},
                "base": {"label": "%s:%s" % (meta["owner"], base), "ref": base,
                         "sha": base_sha, "user": self.user(meta["owner"]), "repo": ro},
                "author_association": "MEMBER"}

    # ---- faults ----
    def concurrent_write(self, meta, branch, on):
        """Run a configured concurrent writer, if one matches, before our write."""
        with self.lock:
            spec = None
            for w in self.writers:
                if w["repo"].lower() == meta["full_name"].lower() and \
                        w.get("branch", meta["default_branch"]) == branch and \
                        w.get("on", "ref_update") in (on, "any_write") and w["count"] > 0:
                    w["count"] -= 1
                    spec = dict(w)
                    break
        if not spec:
            return None
        n = spec.get("n", 0)
        path = spec.get("path", "concurrent/writer-%d.txt" % n)
        content = spec.get("content", "written by the concurrent writer\n")
        return self.commit_files(meta, branch, {path: content},
                                 spec.get("message", "Concurrent change to %s" % path),
                                 {"name": "Concurrent Writer",
                                  "email": "writer@example.com"},
                                 sender=self.user("concurrent-writer"))


HOOK_SCRIPT = r'''#!/usr/bin/env python3
# post-receive hook installed by ghemu: report the ref updates of a git push.
import json, os, sys, urllib.request
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
updates = [l.split() for l in sys.stdin.read().splitlines() if l.strip()]
try:
    with open(os.path.join(here, "ghemu-url")) as f:
        url = f.read().strip()
    body = json.dumps({"repo": "@REPO@", "updates": updates,
                       "pusher": os.environ.get("GHEMU_PUSHER", "git-pusher")}).encode()
    req = urllib.request.Request(url + "/_admin/post-receive", data=body,
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()
except Exception as e:
    print("ghemu hook: could not report the push: %s" % e, file=sys.stderr)
'''


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

ROUTES = []


def route(method, pattern):
    def deco(fn):
        ROUTES.append((method, re.compile("^" + pattern + "$"), fn))
        return fn
    return deco


R = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


class Ctx:
    """One API request as the handlers see it."""

    def __init__(self, emu, method, path, query, headers, body, entry):
        self.emu, self.method, self.path, self.query = emu, method, path, query
        self.headers, self.raw, self.entry = headers, body, entry
        self.auth = None           # "app" | "installation"
        self.installation = None
        self.resp_headers = {}
        self._json = None

    def json(self):
        if self._json is None:
            if not self.raw:
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.raw)
                except ValueError:
                    raise ApiError(400, "Problems parsing JSON")
            if not isinstance(self._json, dict):
                raise ApiError(400, "Problems parsing JSON")
        return self._json

    def q(self, key, default=None):
        v = self.query.get(key)
        return v[0] if v else default

    def need_app(self):
        want(self.auth == "app", 401 if self.auth is None else 403,
             "A JSON web token could not be decoded" if self.auth is None else
             "Resource not accessible by integration")

    def need_installation(self, meta=None):
        if self.auth != "installation":
            raise ApiError(401 if self.auth is None else 403,
                           "Requires authentication" if self.auth is None else
                           "Resource not accessible by integration")
        if meta is not None:
            inst = self.emu.installation_for(meta["full_name"])
            if not inst or inst["id"] != self.installation:
                raise ApiError(404, "Not Found")

    def repo(self, owner, name):
        meta, repo = self.emu.repo(owner, name)
        self.need_installation(meta)
        return meta, repo


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("ghemu: " + (fmt % args) + "\n")

    def date_time_string(self, timestamp=None):
        return super().date_time_string(self.server.emu.now())

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ---- plumbing ----
    def send(self, status, obj=None, headers=None, raw=None):
        body = raw if raw is not None else (b"" if obj is None and status in (204, 304)
                                            else json.dumps(obj, indent=None).encode())
        entry = getattr(self, "entry", None)
        if entry is not None:
            # logged before the answer leaves, so a client that has its answer
            # finds it in the log (with the time all work was over)
            with self.server.emu.lock:
                entry["status"], entry["resp_bytes"] = status, len(body)
                entry["done"] = time.monotonic()
        self.send_response(status)
        hdrs = {"Content-Type": "application/json; charset=utf-8",
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Request-Id": uuid.uuid4().hex[:16].upper()}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        return len(body)

    def dispatch(self, method):
        emu = self.server.emu
        t0 = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_REQUEST_BODY:
            self.close_connection = True
            self.send(413, {"message": "Payload too large"})
            return
        body = self.rfile.read(length) if length else b""
        if path.startswith("/_admin/"):
            try:
                status, obj = admin(emu, method, path, query, body)
            except ApiError as e:
                status, obj = e.status, {"message": e.message}
            except Exception as e:
                traceback.print_exc()
                status, obj = 500, {"message": "ghemu admin error: %s" % e}
            self.send(status, obj)
            return
        entry = self.entry = emu_log_start(emu, method, url, self.headers, body, t0)
        status, size = 0, 0
        try:
            status, size = self.api(emu, method, path, query, body, entry)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.entry = None
            emu_log_end(emu, entry, status, size, t0)

    def api(self, emu, method, path, query, body, entry):
        key = "%s %s" % (method, path)
        late = None  # a status fault answered after the work was done
        # faults first: they stand in for what GitHub's edge does
        for rule in take_faults(emu, key):
            kind = rule["kind"]
            entry["fault"] = kind
            if kind == "status" and rule.get("after"):
                late = rule
                continue
            if kind == "delay":
                time.sleep(rule.get("ms", 100) / 1000.0)
                entry["fault"] = None
                continue
            if kind == "drop":
                with emu.lock:
                    entry["status"], entry["done"] = 0, time.monotonic()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return 0, 0
            if kind == "status":
                st = int(rule.get("status", 502))
                msg = {502: "Server Error", 503: "Service Unavailable",
                       500: "Internal Server Error"}.get(st, "Server Error")
                msg = rule.get("message") or msg
                self.close_connection = bool(rule.get("close"))
                return st, self.send(st, {"message": msg, "documentation_url": DOCS})
            if kind == "huge":
                return 200, self.send_huge(int(rule.get("bytes", 1 << 30)), entry,
                                           bool(rule.get("chunked", True)))
        ctx = Ctx(emu, method, path, query, self.headers, body, entry)
        hdrs = {}
        try:
            ver = self.headers.get("X-GitHub-Api-Version")
            if ver and ver not in API_VERSIONS:
                raise ApiError(400, "Unsupported 'X-GitHub-Api-Version': %s" % ver)
            authenticate(emu, ctx)
            hdrs.update(rate_limit(emu, ctx, key))
            fn, args = find_route(method, path)
            status, obj = fn(ctx, **args)
            hdrs.update(ctx.resp_headers)
        except ApiError as e:
            hdrs.update(e.headers)
            hdrs.update(ctx.resp_headers)
            status = e.status
            obj = {"message": e.message, "documentation_url": DOCS, "status": str(status)}
            if e.errors:
                obj["errors"] = e.errors
        except GitError as e:
            status, obj = 422, {"message": str(e), "documentation_url": DOCS,
                                "status": "422"}
        except Exception as e:
            traceback.print_exc()
            status, obj = 500, {"message": "ghemu error: %s" % e}
        if late:
            # the change was made, the answer is lost on the way back
            st = int(late.get("status", 502))
            return st, self.send(st, {"message": late.get("message") or "Server Error",
                                      "documentation_url": DOCS})
        if isinstance(obj, RawBody):
            hdrs["Content-Type"] = obj.content_type
            return status, self.send(status, headers=hdrs, raw=obj.data)
        if method == "GET" and status == 200:
            data = json.dumps(obj, indent=None).encode()
            etag = 'W/"%s"' % hashlib.sha256(data).hexdigest()
            hdrs["ETag"] = etag
            inm = self.headers.get("If-None-Match")
            if inm and etag in [t.strip() for t in inm.split(",")]:
                entry["not_modified"] = True
                refund_rate_limit(emu, ctx)
                return 304, self.send(304, None, hdrs)
            return status, self.send(status, headers=hdrs, raw=data)
        return status, self.send(status, obj, hdrs)

    def send_huge(self, n, entry, chunked):
        """Answer with an endless-looking body; count what the client took."""
        with self.server.emu.lock:
            entry["status"], entry["done"] = 200, time.monotonic()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        chunk = b'{"pad":"' + b"x" * 65536
        sent = 0
        self.close_connection = True
        try:
            while sent < n:
                part = chunk[:min(len(chunk), n - sent)]
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                else:
                    self.wfile.write(part)
                sent += len(part)
                entry["huge_sent"] = sent
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            entry["huge_aborted"] = True
        entry["huge_sent"] = sent
        return sent


class RawBody:
    def __init__(self, data, content_type):
        self.data, self.content_type = data, content_type


def find_route(method, path):
    allowed = False
    for m, rx, fn in ROUTES:
        mo = rx.match(path)
        if mo:
            if m == method:
                return fn, mo.groupdict()
            allowed = True
    raise ApiError(404 if not allowed else 404, "Not Found")


def emu_log_start(emu, method, url, headers, body, t0):
    with emu.lock:
        emu.seq += 1
        entry = {"seq": emu.seq, "time": time.time(), "start": t0, "end": None,
                 "method": method, "path": urllib.parse.unquote(url.path),
                 "query": url.query, "status": None, "auth": None, "installation": None,
                 "user_agent": headers.get("User-Agent"), "accept": headers.get("Accept"),
                 "api_version": headers.get("X-GitHub-Api-Version"),
                 "if_none_match": headers.get("If-None-Match"),
                 "req_bytes": len(body), "resp_bytes": 0, "fault": None, "ms": None}
        if body and len(body) <= 256 * 1024:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                entry["body"] = None
        emu.log.append(entry)
        if len(emu.log) > LOG_MAX:
            del emu.log[:LOG_MAX // 10]
    return entry


def emu_log_end(emu, entry, status, size, t0):
    with emu.lock:
        if entry["status"] is None:
            entry["status"] = status
        if not entry["resp_bytes"]:
            entry["resp_bytes"] = size
        entry["end"] = time.monotonic()
        entry["ms"] = round((entry["end"] - t0) * 1000, 2)


def take_faults(emu, key):
    out = []
    with emu.lock:
        for rule in emu.faults:
            if rule.get("count") is not None and rule["count"] <= 0:
                continue
            if rule.get("match") and not re.search(rule["match"], key):
                continue
            if rule.get("rate") is not None and emu.rng.random() >= rule["rate"]:
                continue
            if rule.get("count") is not None:
                rule["count"] -= 1
            out.append(dict(rule))
            if rule["kind"] != "delay":
                break
    return out


# ---- authentication ----

def verify_signature(emu, signing_input, sig):
    pem = emu.app and emu.app.get("public_key_pem")
    if not pem:
        return False
    with tempfile.TemporaryDirectory() as d:
        kf, sf = os.path.join(d, "k.pem"), os.path.join(d, "s.bin")
        with open(kf, "w") as f:
            f.write(pem)
        with open(sf, "wb") as f:
            f.write(sig)
        p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", kf, "-signature", sf],
                           input=signing_input, capture_output=True, timeout=30)
        return p.returncode == 0


def check_jwt(emu, ctx, token):
    parts = token.split(".")
    try:
        want(len(parts) == 3, 401, "A JSON web token could not be decoded")
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except (ValueError, TypeError):
        raise ApiError(401, "A JSON web token could not be decoded")
    want(isinstance(header, dict) and isinstance(claims, dict), 401,
         "A JSON web token could not be decoded")
    want(header.get("alg") == "RS256", 401,
         "'alg' must be RS256 for a GitHub App JSON web token")
    now = int(emu.now())
    iat, exp, iss = claims.get("iat"), claims.get("exp"), claims.get("iss")
    ctx.entry["jwt"] = {"iat": iat, "exp": exp, "iss": iss, "alg": header.get("alg"),
                        "typ": header.get("typ"), "server_now": now}
    with emu.lock:
        ok = emu.jwt_ok.get(token)
    if not ok:
        ok = verify_signature(emu, (parts[0] + "." + parts[1]).encode(), sig)
        if ok:
            with emu.lock:
                if len(emu.jwt_ok) > 10000:
                    emu.jwt_ok.clear()
                emu.jwt_ok[token] = True
    want(ok, 401, "A JSON web token could not be decoded")
    app = emu.app
    want(app is not None and str(iss) in (str(app["id"]), str(app["client_id"])), 401,
         "Integration not found")
    want(isinstance(iat, int) and iat <= now + 1, 401,
         "'Issued at' claim ('iat') must be an Integer representing the time that "
         "the assertion was issued")
    want(isinstance(exp, (int, float)) and exp > now, 401,
         "'Expiration time' claim ('exp') must be a numeric value representing the "
         "future time at which the assertion expires")
    want(exp <= now + 600 + 1 and exp - iat <= 660, 401,
         "'Expiration time' claim ('exp') is too far in the future")
    ctx.auth = "app"


def authenticate(emu, ctx):
    h = ctx.headers.get("Authorization")
    if not h:
        return
    scheme, _, cred = h.partition(" ")
    cred = cred.strip()
    want(scheme.lower() in ("bearer", "token") and cred, 401, "Bad credentials")
    if cred.startswith("eyJ") and cred.count(".") == 2:
        check_jwt(emu, ctx, cred)
        return
    with emu.lock:
        tok = emu.tokens.get(cred)
    ctx.entry["token_len"] = len(cred)
    if not tok or tok["expires"] <= emu.now() or emu.config["reject_tokens"]:
        raise ApiError(401, "Bad credentials")
    ctx.auth = "installation"
    ctx.installation = tok["installation"]
    ctx.entry["auth"] = "installation"
    ctx.entry["installation"] = tok["installation"]


def rate_limit(emu, ctx, key):
    if ctx.auth == "app":
        ctx.entry["auth"] = "app"
    who = "app" if ctx.auth == "app" else "inst:%s" % ctx.installation \
        if ctx.auth else "ip"
    now = emu.now()
    limit = int(emu.config["ratelimit_limit"])
    with emu.lock:
        rl = emu.rl.get(who)
        if not rl or rl["reset"] <= now:
            rl = emu.rl[who] = {"used": 0, "reset": int(now) + 3600}
        win = emu.ratelimit_window
        if win and win["until"] > now and (not win.get("match") or
                                           re.search(win["match"], key)):
            reset = int(math.ceil(win["until"]))
            mode = win.get("mode", "primary")
            ctx.entry["fault"] = "ratelimit"
            if mode == "primary":
                raise ApiError(403, "API rate limit exceeded for installation ID %s." % (
                    ctx.installation,), headers={
                    "x-ratelimit-limit": limit, "x-ratelimit-remaining": 0,
                    "x-ratelimit-used": limit, "x-ratelimit-reset": reset,
                    "x-ratelimit-resource": "core"})
            retry = max(1, int(math.ceil(win["until"] - now)))
            raise ApiError(429 if mode == "429" else 403,
                           "You have exceeded a secondary rate limit. Please wait a few "
                           "minutes before you try again.",
                           headers={"retry-after": retry})
        if rl["used"] >= limit:
            ctx.entry["fault"] = "ratelimit"
            raise ApiError(403, "API rate limit exceeded for installation ID %s." % (
                ctx.installation,), headers={
                "x-ratelimit-limit": limit, "x-ratelimit-remaining": 0,
                "x-ratelimit-used": rl["used"], "x-ratelimit-reset": rl["reset"],
                "x-ratelimit-resource": "core"})
        rl["used"] += 1
        ctx.rl = rl
        return {"x-ratelimit-limit": limit, "x-ratelimit-remaining": limit - rl["used"],
                "x-ratelimit-used": rl["used"], "x-ratelimit-reset": rl["reset"],
                "x-ratelimit-resource": "core"}


def refund_rate_limit(emu, ctx):
    """A 304 does not count against the primary rate limit."""
    rl = getattr(ctx, "rl", None)
    if rl:
        with emu.lock:
            rl["used"] = max(0, rl["used"] - 1)


def paginate(ctx, items, default=30):
    try:
        per = max(1, min(100, int(ctx.q("per_page", default))))
        page = max(1, int(ctx.q("page", 1)))
    except ValueError:
        raise ApiError(422, "Invalid pagination")
    last = max(1, (len(items) + per - 1) // per)
    links = []
    base = ctx.emu.api + urllib.parse.quote(ctx.path)
    if page < last:
        links.append('<%s?per_page=%d&page=%d>; rel="next"' % (base, per, page + 1))
        links.append('<%s?per_page=%d&page=%d>; rel="last"' % (base, per, last))
    if page > 1:
        links.append('<%s?per_page=%d&page=%d>; rel="prev"' % (base, per, page - 1))
        links.append('<%s?per_page=%d&page=1>; rel="first"' % (base, per))
    if links:
        ctx.resp_headers["Link"] = ", ".join(links)
    return items[(page - 1) * per: page * per]


# --------------------------------------------------------------------------
# API routes
# --------------------------------------------------------------------------

def make_token(emu):
    n = max(40, int(emu.config["token_length"]))
    if n < 100:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "ghs_" + "".join(secrets.choice(alphabet) for _ in range(n - 4))
    # the stateless format: ghs_APPID_<jwt-like, two dots>
    head = "ghs_%s_" % (emu.app["id"] if emu.app else 0)
    body = base64.urlsafe_b64encode(secrets.token_bytes(n)).decode().rstrip("=")
    body = body.replace("-", "A").replace("_", "B")
    rest = n - len(head)
    a, b = rest // 5, rest // 5 * 3
    s = body[:rest]
    return head + s[:a] + "." + s[a + 1:b] + "." + s[b + 1:rest]


def person(ctx, b, key):
    p = b.get(key)
    if p is None:
        return None
    want(isinstance(p, dict), 422, "Invalid request.\n\n%s is not an object." % key)
    for f in ("name", "email"):
        want(isinstance(p.get(f), str) and p[f], 422,
             'Invalid request.\n\n"%s" wasn\'t supplied.' % f)
    out = {"name": p["name"], "email": p["email"]}
    if p.get("date"):
        want(isinstance(p["date"], str), 422, "Invalid request.\n\ndate is not a string.")
        out["date"] = p["date"]
    return out


def bot_person(emu):
    slug = emu.app["slug"] if emu.app else "app"
    return {"name": "%s[bot]" % slug,
            "email": "%s+%s[bot]@users.noreply.github.com" % (
                emu.app["id"] if emu.app else 0, slug)}


def ref_obj(emu, meta, ref, sha):
    full = meta["full_name"]
    return {"ref": ref, "node_id": "REF_" + hashlib.sha1(ref.encode()).hexdigest()[:12],
            "url": "%s/repos/%s/git/%s" % (emu.api, full, ref),
            "object": {"sha": sha, "type": "commit",
                       "url": "%s/repos/%s/git/commits/%s" % (emu.api, full, sha)}}


def branch_of(ref):
    if ref.startswith("refs/"):
        ref = ref[5:]
    want(ref.startswith("heads/") and valid_path(ref[6:]), 404, "Not Found")
    return ref[6:]


@route("GET", r"/app")
def r_app(ctx):
    ctx.need_app()
    return 200, ctx.emu.app_obj()


# ---- the App manifest flow: the "new App" page and the code's conversion ----

@route("POST", r"(?:/organizations/(?P<org>[^/]+))?/settings/apps/new")
def r_new_app_page(ctx, org=None):
    """A person submits a manifest to GitHub's page and presses "Create":
    the App is made and the browser sent to the manifest's redirect_url."""
    emu = ctx.emu
    form = urllib.parse.parse_qs((ctx.raw or b"").decode())
    try:
        m = json.loads(form["manifest"][0])
    except (KeyError, ValueError):
        raise ApiError(422, "the form has no manifest")
    want(isinstance(m, dict) and isinstance(m.get("url"), str), 422, "manifest url missing")
    want(isinstance((m.get("hook_attributes") or {}).get("url"), str), 422,
         "hook_attributes.url missing")
    want(isinstance(m.get("redirect_url"), str), 422, "redirect_url missing")
    key, pub = make_app_key(emu.state_dir, name="manifest-app-%d" % emu.next_id("manifest"))
    with open(key) as f:
        pem = f.read()
    os.unlink(key)
    code = "mc" + uuid.uuid4().hex
    app_id = 100000 + emu.next_id("app")
    slug = re.sub(r"[^a-z0-9-]", "-", (m.get("name") or "app").lower())
    with emu.lock:
        emu.manifests[code] = {
            "id": app_id, "slug": slug, "name": m.get("name") or slug, "pem": pem,
            "public_key_pem": pub, "webhook_secret": uuid.uuid4().hex + uuid.uuid4().hex,
            "client_id": "Iv1.%016x" % app_id, "client_secret": uuid.uuid4().hex,
            "owner": org or "octocat", "manifest": m, "created": emu.now()}
    q = {"code": code}
    state = ctx.query.get("state", [None])[0] if isinstance(ctx.query, dict) else None
    if state:
        q["state"] = state
    sep = "&" if "?" in m["redirect_url"] else "?"
    ctx.resp_headers["Location"] = m["redirect_url"] + sep + urllib.parse.urlencode(q)
    return 302, {"message": "Found"}


@route("POST", r"/app-manifests/(?P<code>[^/]+)/conversions")
def r_manifest_conversion(ctx, code):
    emu = ctx.emu
    with emu.lock:
        a = emu.manifests.pop(code, None)
    want(a and emu.now() - a["created"] < 3600, 404, "Not Found")
    m = a["manifest"]
    with emu.lock:
        emu.app = {"id": a["id"], "slug": a["slug"], "name": a["name"],
                   "client_id": a["client_id"], "owner": a["owner"],
                   "public_key_pem": a["public_key_pem"], "created_at": iso_utc(emu.now()),
                   "permissions": m.get("default_permissions"), "events": m.get("default_events")}
        emu.jwt_ok.clear()
        emu.webhook = {"url": m["hook_attributes"]["url"], "secret": a["webhook_secret"]}
        emu.touch()
    out = dict(emu.app_obj(), pem=a["pem"], webhook_secret=a["webhook_secret"],
               client_secret=a["client_secret"])
    out["permissions"] = m.get("default_permissions") or {}
    out["events"] = m.get("default_events") or []
    return 201, out


@route("GET", r"/app/installations")
def r_installations(ctx):
    ctx.need_app()
    items = [ctx.emu.installation_obj(i) for i in sorted(ctx.emu.installations.values(),
                                                         key=lambda i: i["id"])]
    return 200, paginate(ctx, items)


@route("GET", r"/app/installations/(?P<iid>\d+)")
def r_installation(ctx, iid):
    ctx.need_app()
    inst = ctx.emu.installations.get(int(iid))
    want(inst, 404, "Not Found")
    return 200, ctx.emu.installation_obj(inst)


@route("POST", r"/app/installations/(?P<iid>\d+)/access_tokens")
def r_access_token(ctx, iid):
    ctx.need_app()
    emu = ctx.emu
    inst = emu.installations.get(int(iid))
    want(inst, 404, "Not Found")
    ctx.json()
    tok = make_token(emu)
    exp = emu.now() + float(emu.config["token_lifetime"])
    with emu.lock:
        emu.tokens[tok] = {"installation": inst["id"], "expires": exp}
    ctx.entry["minted"] = inst["id"]
    out = {"token": tok, "expires_at": iso_utc(exp), "permissions": PERMISSIONS,
           "repository_selection": "all" if inst["repositories"] is None else "selected"}
    if inst["repositories"] is not None:
        out["repositories"] = [emu.repo_obj(emu.repos[r.lower()])
                               for r in inst["repositories"] if r.lower() in emu.repos]
    return 201, out


@route("GET", R + r"/installation")
def r_repo_installation(ctx, owner, name):
    ctx.need_app()
    meta, _ = ctx.emu.repo(owner, name)
    inst = ctx.emu.installation_for(meta["full_name"])
    want(inst, 404, "Not Found")
    return 200, ctx.emu.installation_obj(inst)


@route("GET", r"/rate_limit")
def r_rate_limit(ctx):
    emu = ctx.emu
    who = "app" if ctx.auth == "app" else "inst:%s" % ctx.installation
    rl = emu.rl.get(who, {"used": 0, "reset": int(emu.now()) + 3600})
    limit = int(emu.config["ratelimit_limit"])
    core = {"limit": limit, "used": rl["used"], "remaining": limit - rl["used"],
            "reset": rl["reset"]}
    return 200, {"resources": {"core": core}, "rate": core}


@route("GET", R)
def r_repo(ctx, owner, name):
    meta, _ = ctx.repo(owner, name)
    return 200, ctx.emu.repo_obj(meta)


# ---- contents ----

@route("GET", R + r"/contents(?:/(?P<path>.*))?")
def r_get_contents(ctx, owner, name, path=None):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    path = (path or "").strip("/")
    ref = ctx.q("ref") or meta["default_branch"]
    sha = repo.resolve(ref)
    want(sha, 404, "No commit found for the ref %s" % ref)
    e = repo.find(sha, path)
    want(e, 404, "Not Found")
    if e["type"] == "tree":
        items = [emu.content_obj(meta, x, (path + "/" if path else "") + x["path"], ref)
                 for x in repo.ls_tree(e["sha"])]
        return 200, items[:1000]
    data = repo.read_blob(e["sha"]) if e["type"] == "blob" else b""
    if e["type"] == "blob" and len(data) > BLOB_MAX:
        raise ApiError(403, "This API returns blobs up to 100 MB in size. The requested "
                            "blob is too large to fetch via the API, but you can use "
                            "the Git Data API to request blobs up to 100 MB in size.")
    if "application/vnd.github.raw" in (ctx.headers.get("Accept") or ""):
        return 200, RawBody(data, "application/vnd.github.raw")
    return 200, emu.content_obj(meta, e, path, ref,
                                with_content=data if e["type"] == "blob" else None)


def contents_write(ctx, owner, name, path, delete):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    want(path and valid_path(path), 422, "path contains a malformed path component")
    want(isinstance(b.get("message"), str), 422,
         'Invalid request.\n\n"message" wasn\'t supplied.')
    data = None
    if not delete:
        want(isinstance(b.get("content"), str), 422,
             'Invalid request.\n\n"content" wasn\'t supplied.')
        try:
            data = base64.b64decode("".join(b["content"].split()), validate=True)
        except ValueError:
            raise ApiError(422, "content is not valid Base64")
    author, committer = person(ctx, b, "author"), person(ctx, b, "committer")
    branch = b.get("branch") or meta["default_branch"]
    want(isinstance(branch, str), 422, "Invalid request.\n\nbranch is not a string.")
    emu.concurrent_write(meta, branch, "contents_write")
    head = repo.head(branch)
    want(head, 404, "Branch %s not found" % branch)
    cur = repo.find(head, path)
    want(not cur or cur["type"] == "blob", 422, "%s is a directory" % path)
    sha = b.get("sha")
    if delete or cur:
        want(isinstance(sha, str), 422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if delete:
        want(cur, 404, "Not Found")
    if cur:
        want(cur["sha"] == sha, 409, "%s does not match %s" % (path, sha))
    change, blob = None, None
    if not delete:
        blob = repo.write_blob(data)
        change = (cur["mode"] if cur else "100644", "blob", blob)
    tree = repo.edit_tree(repo.tree_of(head), {path: change})
    now = iso_utc(emu.now())
    committer = committer or dict(bot_person(emu))
    author = author or dict(committer)
    author.setdefault("date", now)
    committer.setdefault("date", now)
    new = repo.commit_tree(tree, [head], b["message"], author, committer)
    if not repo.update_ref(branch, new, head):
        raise ApiError(409, "%s is at %s but expected %s" % (branch, repo.head(branch), head))
    emu.ref_moved(meta, branch, head, new, emu.bot())
    c = emu.git_commit_obj(meta, repo.read_commit(new))
    c.pop("node_id", None)
    c["node_id"] = "C_" + new
    content = None
    if not delete:
        content = emu.content_obj(meta, {"mode": change[0], "type": "blob", "sha": blob,
                                         "size": len(data)}, path, branch)
    return (201 if not delete and not cur else 200), {"content": content, "commit": c}


@route("PUT", R + r"/contents/(?P<path>.+)")
def r_put_contents(ctx, owner, name, path):
    return contents_write(ctx, owner, name, path, False)


@route("DELETE", R + r"/contents/(?P<path>.+)")
def r_delete_contents(ctx, owner, name, path):
    return contents_write(ctx, owner, name, path, True)


# ---- git data ----

@route("GET", R + r"/git/ref/(?P<ref>.+)")
def r_get_ref(ctx, owner, name, ref):
    meta, repo = ctx.repo(owner, name)
    branch = branch_of(ref)
    sha = repo.head(branch)
    want(sha, 404, "Not Found")
    return 200, ref_obj(ctx.emu, meta, "refs/heads/" + branch, sha)


@route("GET", R + r"/git/refs/(?P<ref>.+)")
def r_get_refs(ctx, owner, name, ref):
    return r_get_ref(ctx, owner, name, ref)


@route("POST", R + r"/git/refs")
def r_create_ref(ctx, owner, name):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    ref, sha = b.get("ref"), b.get("sha")
    want(isinstance(ref, str) and ref.startswith("refs/") and ref.count("/") >= 2, 422,
         "Reference name must be fully qualified (e.g. refs/heads/main)")
    want(isinstance(sha, str), 422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    branch = branch_of(ref)
    want(repo.object_type(sha) == "commit", 422, "Object does not exist")
    want(repo.update_ref(branch, sha, None), 422, "Reference already exists")
    emu.ref_moved(meta, branch, None, sha, emu.bot())
    return 201, ref_obj(emu, meta, ref, sha)


@route("PATCH", R + r"/git/refs/(?P<ref>.+)")
def r_update_ref(ctx, owner, name, ref):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    sha, force = b.get("sha"), b.get("force", False)
    want(isinstance(sha, str), 422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    want(isinstance(force, bool), 422, "Invalid request.\n\nforce is not a boolean.")
    branch = branch_of(ref)
    writer = emu.concurrent_write(meta, branch, "ref_update")
    if writer:
        ctx.entry["concurrent_write"] = writer
    old = repo.head(branch)
    want(old, 422, "Reference does not exist")
    want(repo.object_type(sha) == "commit", 422, "Object does not exist")
    if not force and not repo.is_ancestor(old, sha):
        raise ApiError(422, "Update is not a fast forward")
    if not repo.update_ref(branch, sha, old):
        raise ApiError(422, "Update is not a fast forward")
    if old != sha:
        emu.ref_moved(meta, branch, old, sha, emu.bot())
    return 200, ref_obj(emu, meta, "refs/heads/" + branch, sha)


@route("DELETE", R + r"/git/refs/(?P<ref>.+)")
def r_delete_ref(ctx, owner, name, ref):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    branch = branch_of(ref)
    old = repo.head(branch)
    want(old, 422, "Reference does not exist")
    want(repo.delete_ref(branch, old), 422, "Reference cannot be deleted")
    emu.ref_moved(meta, branch, old, None, emu.bot())
    return 204, None


@route("GET", R + r"/git/commits/(?P<sha>[0-9a-f]{40})")
def r_get_commit(ctx, owner, name, sha):
    meta, repo = ctx.repo(owner, name)
    want(repo.object_type(sha) == "commit", 404, "Not Found")
    return 200, ctx.emu.git_commit_obj(meta, repo.read_commit(sha))


@route("POST", R + r"/git/commits")
def r_create_commit(ctx, owner, name):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    want(isinstance(b.get("message"), str), 422,
         'Invalid request.\n\n"message" wasn\'t supplied.')
    want(isinstance(b.get("tree"), str), 422, 'Invalid request.\n\n"tree" wasn\'t supplied.')
    want(repo.object_type(b["tree"]) == "tree", 422, "Tree SHA does not exist")
    parents = b.get("parents", [])
    want(isinstance(parents, list), 422, "Invalid request.\n\nparents is not an array.")
    for p in parents:
        want(isinstance(p, str) and repo.object_type(p) == "commit", 422,
             "Parent SHA does not exist or is not a commit object")
    now = iso_utc(emu.now())
    author, committer = person(ctx, b, "author"), person(ctx, b, "committer")
    committer = committer or dict(author or bot_person(emu))
    author = author or dict(committer)
    author.setdefault("date", now)
    committer.setdefault("date", now)
    try:
        sha = repo.commit_tree(b["tree"], parents, b["message"], author, committer)
    except ValueError:
        raise ApiError(422, "Invalid date")
    return 201, emu.git_commit_obj(meta, repo.read_commit(sha))


def tree_entry_obj(emu, full, e):
    o = {"path": e["path"], "mode": e["mode"], "type": e["type"], "sha": e["sha"]}
    if e["type"] == "blob":
        o["size"] = e["size"]
    o["url"] = "%s/repos/%s/git/%ss/%s" % (emu.api, full, e["type"], e["sha"]) \
        if e["type"] != "commit" else None
    return o


@route("GET", R + r"/git/trees/(?P<sha>.+)")
def r_get_tree(ctx, owner, name, sha):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    tree = repo.tree_of(sha) if re.fullmatch(r"[A-Za-z0-9._/]+", sha) else None
    want(tree, 404, "Not Found")
    recursive = "recursive" in ctx.query
    entries = repo.ls_tree(tree, recursive=recursive)
    limit = int(emu.config["tree_limit"])
    truncated = recursive and len(entries) > limit
    if truncated:
        entries = entries[:limit]
    return 200, {"sha": tree, "url": "%s/repos/%s/git/trees/%s" % (
        emu.api, meta["full_name"], tree),
        "tree": [tree_entry_obj(emu, meta["full_name"], e) for e in entries],
        "truncated": truncated}


@route("POST", R + r"/git/trees")
def r_create_tree(ctx, owner, name):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    items = b.get("tree")
    want(isinstance(items, list), 422, 'Invalid request.\n\n"tree" wasn\'t supplied.')
    base = b.get("base_tree")
    if base is not None:
        want(isinstance(base, str) and repo.object_type(base) == "tree", 422,
             "Invalid request.\n\nbase_tree is not a valid tree SHA.")
    changes = {}
    for it in items:
        want(isinstance(it, dict), 422, "Invalid request.\n\ntree entry is not an object.")
        p, mode, typ = it.get("path"), it.get("mode"), it.get("type")
        want(valid_path(p), 422, "tree.path contains a malformed path component")
        want(mode in MODES, 422, "Invalid request.\n\nFor 'properties/mode', %r is not "
             "one of [\"100644\", \"100755\", \"040000\", \"160000\", \"120000\"]." % mode)
        want(typ in ("blob", "tree", "commit") and MODES[mode] == typ, 422,
             "Invalid request.\n\ntree.type %r does not fit mode %r." % (typ, mode))
        has_content = "content" in it
        has_sha = "sha" in it
        want(has_content != has_sha or (has_sha and it["sha"] is None and not has_content),
             422, "Must supply either tree.sha or tree.content, not both" if has_content
             else "Must supply either tree.sha or tree.content")
        if has_content:
            want(isinstance(it["content"], str) and typ == "blob", 422,
                 "Invalid request.\n\ntree.content is not a string.")
            changes[p] = (mode, "blob", repo.write_blob(it["content"].encode()))
        elif it["sha"] is None:
            changes[p] = None
        else:
            s = it["sha"]
            want(isinstance(s, str), 422, "Invalid request.\n\ntree.sha is not a string.")
            if typ != "commit":
                want(repo.object_type(s) == typ, 422, "tree.sha %s is not a valid %s" % (
                    s, typ))
            changes[p] = (mode, typ, s)
    try:
        new = repo.edit_tree(base, changes)
    except GitError as e:
        raise ApiError(422, "GitRPC::BadObjectState: %s" % e)
    return 201, {"sha": new, "url": "%s/repos/%s/git/trees/%s" % (
        emu.api, meta["full_name"], new),
        "tree": [tree_entry_obj(emu, meta["full_name"], e) for e in repo.ls_tree(new)],
        "truncated": False}


@route("GET", R + r"/git/blobs/(?P<sha>[0-9a-f]{40})")
def r_get_blob(ctx, owner, name, sha):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    want(repo.object_type(sha) == "blob", 404, "Not Found")
    size = repo.object_size(sha)
    want(size <= BLOB_MAX, 403, "This API returns blobs up to 100 MB in size.")
    data = repo.read_blob(sha)
    if "application/vnd.github.raw" in (ctx.headers.get("Accept") or ""):
        return 200, RawBody(data, "application/vnd.github.raw")
    return 200, {"sha": sha, "node_id": "B_" + sha, "size": size,
                 "url": "%s/repos/%s/git/blobs/%s" % (emu.api, meta["full_name"], sha),
                 "content": b64_wrapped(data), "encoding": "base64"}


@route("POST", R + r"/git/blobs")
def r_create_blob(ctx, owner, name):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    want(isinstance(b.get("content"), str), 422,
         'Invalid request.\n\n"content" wasn\'t supplied.')
    enc = b.get("encoding", "utf-8")
    want(enc in ("utf-8", "base64"), 422, "Invalid request.\n\nencoding must be utf-8 "
         "or base64.")
    if enc == "base64":
        try:
            data = base64.b64decode("".join(b["content"].split()), validate=True)
        except ValueError:
            raise ApiError(422, "content is not valid Base64")
    else:
        data = b["content"].encode()
    sha = repo.write_blob(data)
    return 201, {"url": "%s/repos/%s/git/blobs/%s" % (emu.api, meta["full_name"], sha),
                 "sha": sha}


# ---- checks ----

LEVELS = ("notice", "warning", "failure")
STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success",
               "skipped", "timed_out")


def too_long(field, n):
    return ApiError(422, "Invalid request.\n\nFor 'properties/%s', it is too long "
                         "(maximum is %d characters)." % (field, n))


def check_output(out, creating):
    want(isinstance(out, dict), 422, "Invalid request.\n\noutput is not an object.")
    if creating:
        want(isinstance(out.get("title"), str), 422,
             'Invalid request.\n\n"title" wasn\'t supplied.')
    want(isinstance(out.get("summary"), str), 422,
         'Invalid request.\n\n"summary" wasn\'t supplied.')
    for k in ("summary", "text"):
        if out.get(k) is not None:
            want(isinstance(out[k], str), 422, "Invalid request.\n\n%s is not a string." % k)
            if len(out[k]) > 65535:
                raise too_long(k, 65535)
    anns = out.get("annotations", [])
    want(isinstance(anns, list), 422, "Invalid request.\n\nannotations is not an array.")
    if len(anns) > 50:
        raise ApiError(422, "Invalid request.\n\nFor 'properties/annotations', it has "
                            "too many items (maximum is 50).")
    for a in anns:
        want(isinstance(a, dict), 422, "Invalid request.\n\nannotation is not an object.")
        for k in ("path", "message", "annotation_level"):
            want(isinstance(a.get(k), str), 422,
                 'Invalid request.\n\n"%s" wasn\'t supplied.' % k)
        for k in ("start_line", "end_line"):
            want(isinstance(a.get(k), int) and a[k] >= 1, 422,
                 'Invalid request.\n\n"%s" wasn\'t supplied.' % k)
        want(a["end_line"] >= a["start_line"], 422, "end_line is before start_line")
        want(a["annotation_level"] in LEVELS, 422, "Invalid request.\n\nFor "
             "'properties/annotation_level', %r is not one of %s." % (
                 a["annotation_level"], list(LEVELS)))
        if len(a["message"].encode()) > 64 * 1024:
            raise too_long("message", 65536)
        if a.get("title") is not None and len(a["title"]) > 255:
            raise too_long("title", 255)
        if ("start_column" in a or "end_column" in a) and a["start_line"] != a["end_line"]:
            raise ApiError(422, "Invalid request.\n\nstart_column and end_column may only "
                                "be used when start_line and end_line are the same.")
    return anns


def run_obj(emu, run):
    meta = emu.repos[run["repo"]]
    full = meta["full_name"]
    o = {k: run[k] for k in ("id", "head_sha", "external_id", "details_url", "status",
                             "conclusion", "started_at", "completed_at", "name")}
    o.update({"node_id": "CR_%d" % run["id"],
              "url": "%s/repos/%s/check-runs/%d" % (emu.api, full, run["id"]),
              "html_url": "%s/%s/runs/%d" % (emu.api, full, run["id"]),
              "output": {"title": run["output"].get("title"),
                         "summary": run["output"].get("summary"),
                         "text": run["output"].get("text"),
                         "annotations_count": len(run["annotations"]),
                         "annotations_url": "%s/repos/%s/check-runs/%d/annotations" % (
                             emu.api, full, run["id"])},
              "check_suite": {"id": run["check_suite"]},
              "app": emu.app_obj() if emu.app else None, "pull_requests": []})
    return o


def apply_run(ctx, run, b, creating):
    emu = ctx.emu
    status, conclusion = b.get("status"), b.get("conclusion")
    if status is not None:
        want(status in STATUSES, 422, "Invalid request.\n\nFor 'properties/status', %r "
             "is not one of %s." % (status, list(STATUSES)))
    if conclusion is not None:
        want(conclusion in CONCLUSIONS, 422, "Invalid request.\n\nFor "
             "'properties/conclusion', %r is not one of %s." % (conclusion,
                                                                list(CONCLUSIONS)))
    want(not (status == "completed" and conclusion is None and run.get("conclusion") is None),
         422, "Invalid request.\n\n\"conclusion\" wasn't supplied.")
    anns = []
    if "output" in b:
        anns = check_output(b["output"], creating)
    acts = b.get("actions")
    if acts is not None:
        want(isinstance(acts, list) and len(acts) <= 3, 422,
             "Invalid request.\n\nactions has too many items (maximum is 3).")
        for a in acts:
            want(isinstance(a, dict) and isinstance(a.get("label"), str) and
                 len(a["label"]) <= 20 and isinstance(a.get("description"), str) and
                 len(a["description"]) <= 40 and isinstance(a.get("identifier"), str) and
                 len(a["identifier"]) <= 20, 422, "Invalid request.\n\nbad action.")
        run["actions"] = acts
    for k in ("details_url", "external_id", "started_at", "name"):
        if k in b:
            run[k] = b[k]
    if status is not None:
        run["status"] = status
    if conclusion is not None:
        run["conclusion"] = conclusion
        run["status"] = "completed"
        run["completed_at"] = b.get("completed_at") or iso_utc(emu.now())
    elif b.get("completed_at"):
        run["completed_at"] = b["completed_at"]
    if "output" in b:
        for k in ("title", "summary", "text"):
            if k in b["output"]:
                run["output"][k] = b["output"][k]
        for a in anns:
            a = dict(a)
            a.setdefault("start_column", None)
            a.setdefault("end_column", None)
            a.setdefault("title", None)
            a.setdefault("raw_details", None)
            a["blob_href"] = "%s/%s/blob/%s/%s" % (emu.api, emu.repos[run["repo"]][
                "full_name"], run["head_sha"], a["path"])
            run["annotations"].append(a)
    run["updates"] = run.get("updates", 0) + 1


@route("POST", R + r"/check-runs")
def r_create_check_run(ctx, owner, name):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    b = ctx.json()
    want(isinstance(b.get("name"), str) and b["name"], 422,
         'Invalid request.\n\n"name" wasn\'t supplied.')
    want(isinstance(b.get("head_sha"), str), 422,
         'Invalid request.\n\n"head_sha" wasn\'t supplied.')
    want(repo.object_type(b["head_sha"]) == "commit", 422,
         "No commit found for SHA: %s" % b["head_sha"])
    run = {"id": emu.next_id("check_run"), "repo": meta["full_name"].lower(),
           "head_sha": b["head_sha"], "name": b["name"], "external_id": None,
           "details_url": None, "status": "queued", "conclusion": None,
           "started_at": iso_utc(emu.now()), "completed_at": None, "output": {},
           "annotations": [], "actions": [], "check_suite": emu.suite_id(meta, b["head_sha"])}
    apply_run(ctx, run, b, True)
    with emu.lock:
        emu.check_runs[run["id"]] = run
        emu.touch()
    return 201, run_obj(emu, run)


def find_run(ctx, owner, name, rid):
    meta, _ = ctx.repo(owner, name)
    run = ctx.emu.check_runs.get(int(rid))
    want(run and run["repo"] == meta["full_name"].lower(), 404, "Not Found")
    return run


@route("PATCH", R + r"/check-runs/(?P<rid>\d+)")
def r_update_check_run(ctx, owner, name, rid):
    run = find_run(ctx, owner, name, rid)
    with ctx.emu.lock:
        apply_run(ctx, run, ctx.json(), False)
        ctx.emu.touch()
    return 200, run_obj(ctx.emu, run)


@route("GET", R + r"/check-runs/(?P<rid>\d+)")
def r_get_check_run(ctx, owner, name, rid):
    return 200, run_obj(ctx.emu, find_run(ctx, owner, name, rid))


@route("GET", R + r"/check-runs/(?P<rid>\d+)/annotations")
def r_annotations(ctx, owner, name, rid):
    run = find_run(ctx, owner, name, rid)
    keys = ("path", "start_line", "end_line", "start_column", "end_column",
            "annotation_level", "title", "message", "raw_details", "blob_href")
    return 200, paginate(ctx, [{k: a.get(k) for k in keys} for a in run["annotations"]])


@route("GET", R + r"/commits/(?P<ref>.+)/check-runs")
def r_commit_check_runs(ctx, owner, name, ref):
    meta, repo = ctx.repo(owner, name)
    sha = repo.resolve(ref)
    want(sha, 422, "No commit found for SHA: %s" % ref)
    runs = [run_obj(ctx.emu, r) for r in sorted(ctx.emu.check_runs.values(),
                                                  key=lambda r: -r["id"])
            if r["repo"] == meta["full_name"].lower() and r["head_sha"] == sha]
    if ctx.q("check_name"):
        runs = [r for r in runs if r["name"] == ctx.q("check_name")]
    return 200, {"total_count": len(runs), "check_runs": paginate(ctx, runs)}


# ---- compare and pulls ----

def file_objs(emu, meta, files, head):
    full = meta["full_name"]
    out = []
    for f in files:
        o = dict(f)
        o["changes"] = f["additions"] + f["deletions"]
        o["blob_url"] = "%s/%s/blob/%s/%s" % (emu.api, full, head, f["filename"])
        o["raw_url"] = "%s/%s/raw/%s/%s" % (emu.api, full, head, f["filename"])
        o["contents_url"] = "%s/repos/%s/contents/%s?ref=%s" % (emu.api, full,
                                                                 f["filename"], head)
        out.append(o)
    return out


@route("GET", R + r"/compare/(?P<spec>.+)")
def r_compare(ctx, owner, name, spec):
    emu = ctx.emu
    meta, repo = ctx.repo(owner, name)
    want("..." in spec, 404, "Not Found")
    base_ref, head_ref = spec.split("...", 1)
    base, head = repo.resolve(base_ref), repo.resolve(head_ref)
    want(base and head, 404, "Not Found")
    mb = repo.merge_base(base, head)
    want(mb, 404, "No common ancestor between %s and %s." % (base_ref, head_ref))
    ahead = repo.count(["%s..%s" % (mb, head)])
    behind = repo.count(["%s..%s" % (mb, base)])
    status = "identical" if base == head else "ahead" if behind == 0 else \
        "behind" if ahead == 0 else "diverged"
    commits = [emu.rest_commit_obj(meta, repo, s)
               for s in repo.rev_list(["%s..%s" % (mb, head)], 250)]
    files = file_objs(emu, meta, repo.diff(mb, head), head)[:300]
    full = meta["full_name"]
    return 200, {"url": "%s/repos/%s/compare/%s" % (emu.api, full, spec),
                 "html_url": "%s/%s/compare/%s" % (emu.api, full, spec),
                 "permalink_url": "%s/%s/compare/%s...%s" % (emu.api, full, base, head),
                 "diff_url": "%s/%s/compare/%s.diff" % (emu.api, full, spec),
                 "patch_url": "%s/%s/compare/%s.patch" % (emu.api, full, spec),
                 "base_commit": emu.rest_commit_obj(meta, repo, base),
                 "merge_base_commit": emu.rest_commit_obj(meta, repo, mb),
                 "status": status, "ahead_by": ahead, "behind_by": behind,
                 "total_commits": ahead, "commits": commits, "files": files}


def find_pull(ctx, owner, name, number):
    meta, repo = ctx.repo(owner, name)
    pr = ctx.emu.pulls.get(meta["full_name"].lower(), {}).get(int(number))
    want(pr, 404, "Not Found")
    return meta, repo, pr


@route("GET", R + r"/pulls/(?P<number>\d+)")
def r_pull(ctx, owner, name, number):
    return 200, find_pull(ctx, owner, name, number)[2]


@route("GET", R + r"/pulls/(?P<number>\d+)/files")
def r_pull_files(ctx, owner, name, number):
    meta, repo, pr = find_pull(ctx, owner, name, number)
    base = repo.head(pr["base"]["ref"]) or pr["base"]["sha"]
    head = pr["head"]["sha"]
    mb = repo.merge_base(base, head) or base
    files = file_objs(ctx.emu, meta, repo.diff(mb, head), head)[:3000]
    return 200, paginate(ctx, files)


# ---- deliveries ----

@route("GET", r"/app/hook/deliveries")
def r_deliveries(ctx):
    ctx.need_app()
    emu = ctx.emu
    try:
        per = max(1, min(100, int(ctx.q("per_page", 30))))
    except ValueError:
        raise ApiError(422, "Invalid per_page")
    cursor = ctx.q("cursor")
    with emu.lock:
        recs = sorted((r for r in emu.deliveries if r["delivered_at"]),
                      key=lambda r: -r["id"])
    if cursor:
        want(cursor.startswith("v1_") and cursor[3:].isdigit(), 422, "Invalid cursor")
        recs = [r for r in recs if r["id"] < int(cursor[3:])]
    page = recs[:per]
    if len(recs) > per:
        ctx.resp_headers["Link"] = '<%s/app/hook/deliveries?per_page=%d&cursor=v1_%d>; ' \
            'rel="next"' % (emu.api, per, page[-1]["id"])
    return 200, [emu.delivery_summary(r) for r in page]


@route("GET", r"/app/hook/deliveries/(?P<did>\d+)")
def r_delivery(ctx, did):
    ctx.need_app()
    rec = next((r for r in ctx.emu.deliveries if r["id"] == int(did)), None)
    want(rec, 404, "Not Found")
    o = ctx.emu.delivery_summary(rec)
    o["url"] = rec["url"]
    o["request"], o["response"] = rec["request"], rec["response"]
    return 200, o


@route("POST", r"/app/hook/deliveries/(?P<did>\d+)/attempts")
def r_redeliver(ctx, did):
    ctx.need_app()
    emu = ctx.emu
    rec = next((r for r in emu.deliveries if r["id"] == int(did)), None)
    want(rec, 404, "Not Found")
    emu.queue_delivery(rec["event"], rec["action"], rec["request"]["payload"],
                       rec["installation_id"], rec["repository_id"], guid=rec["guid"],
                       redelivery=True)
    return 202, {}


# --------------------------------------------------------------------------
# /_admin/: how tests and the demo steer the emulator
# --------------------------------------------------------------------------

def admin(emu, method, path, query, body):
    try:
        b = json.loads(body) if body else {}
    except ValueError:
        raise ApiError(400, "admin body is not JSON")
    q = {k: v[0] for k, v in query.items()}
    key = (method, path.rstrip("/"))

    if key == ("GET", "/_admin/health"):
        return 200, {"ok": True, "api": emu.api}
    if key == ("POST", "/_admin/app"):
        with emu.lock:
            pem = b.get("public_key_pem")
            want(pem and "PUBLIC KEY" in pem, 422, "public_key_pem is required")
            emu.app = {"id": int(b.get("app_id", 1)), "slug": b.get("slug", "hedgesync"),
                       "name": b.get("name", "hedgesync"),
                       "client_id": b.get("client_id", "Iv1.%016x" % int(b.get("app_id", 1))),
                       "owner": b.get("owner", "hedgehog"), "public_key_pem": pem,
                       "created_at": iso_utc(emu.now())}
            emu.jwt_ok.clear()
            if "webhook_url" in b or "webhook_secret" in b:
                emu.webhook = {"url": b.get("webhook_url"),
                               "secret": b.get("webhook_secret")}
            emu.touch()
        return 200, emu.app_obj()
    if key == ("POST", "/_admin/webhook"):
        with emu.lock:
            emu.webhook = {"url": b.get("url"), "secret": b.get("secret")}
            emu.touch()
        return 200, emu.webhook
    if key == ("POST", "/_admin/installations"):
        with emu.lock:
            iid = int(b["id"])
            repos = b.get("repositories")
            emu.installations[iid] = {"id": iid, "account": b["account"],
                                      "repositories": list(repos) if repos is not None
                                      else None, "created_at": iso_utc(emu.now())}
            emu.touch()
            return 200, emu.installation_obj(emu.installations[iid])
    if key == ("POST", "/_admin/repos"):
        meta = emu.create_repo(b["owner"], b["name"], b.get("default_branch", "main"),
                               b.get("files"), b.get("message", "Initial commit"),
                               b.get("installation_id"))
        return 201, dict(emu.repo_obj(meta), path=meta["path"])
    if key == ("GET", "/_admin/repos"):
        return 200, [dict(emu.repo_obj(m), path=m["path"]) for m in emu.repos.values()]
    if key == ("POST", "/_admin/commit"):
        owner, name = b["repo"].split("/", 1)
        meta, _ = emu.repo(owner, name)
        sender = emu.user(b["sender"]) if b.get("sender") else None
        sha = emu.commit_files(meta, b.get("branch", meta["default_branch"]), b["files"],
                               b.get("message", "Change files"),
                               b.get("author") or {"name": "A Human",
                                                   "email": "human@example.com"},
                               notify=b.get("notify", True), sender=sender)
        return 201, {"sha": sha}
    if key == ("POST", "/_admin/post-receive"):
        owner, name = b["repo"].split("/", 1)
        meta, _ = emu.repo(owner, name)
        who = emu.user(b.get("pusher") or "git-pusher")
        for old, new, ref in b.get("updates", []):
            if ref.startswith("refs/heads/"):
                emu.ref_moved(meta, ref[len("refs/heads/"):],
                              None if old == ZERO else old, None if new == ZERO else new,
                              who, pusher={"name": who["login"],
                                           "email": "%s@example.com" % who["login"]})
        return 200, {"ok": True}
    if key == ("GET", "/_admin/config"):
        return 200, emu.config
    if key == ("POST", "/_admin/config"):
        with emu.lock:
            for k, v in b.items():
                want(k in DEFAULT_CONFIG, 422, "unknown config key %s" % k)
                emu.config[k] = v
            if "seed" in b:
                emu.rng = random.Random(b["seed"])
            emu.touch()
        return 200, emu.config
    if key == ("POST", "/_admin/faults"):
        rules = b.get("rules", [])
        for r in rules:
            want(r.get("kind") in ("status", "drop", "delay", "huge"), 422,
                 "fault kind must be status, drop, delay or huge")
        with emu.lock:
            emu.faults = [dict(r) for r in rules]
        return 200, {"rules": emu.faults}
    if key == ("GET", "/_admin/faults"):
        return 200, {"rules": emu.faults, "ratelimit": emu.ratelimit_window,
                     "writers": emu.writers}
    if key == ("DELETE", "/_admin/faults"):
        with emu.lock:
            emu.faults, emu.ratelimit_window, emu.writers = [], None, []
        return 200, {"rules": []}
    if key == ("POST", "/_admin/ratelimit"):
        with emu.lock:
            emu.ratelimit_window = {"until": emu.now() + float(b.get("seconds", 3)),
                                    "mode": b.get("mode", "primary"),
                                    "match": b.get("match")}
        return 200, emu.ratelimit_window
    if key == ("POST", "/_admin/concurrent-writer"):
        with emu.lock:
            w = {"repo": b["repo"], "on": b.get("on", "ref_update"),
                 "count": int(b.get("count", 1)), "n": len(emu.writers)}
            for k in ("branch", "path", "content", "message"):
                if k in b:
                    w[k] = b[k]
            emu.writers.append(w)
        return 200, w
    if key == ("POST", "/_admin/revoke-tokens"):
        with emu.lock:
            iid = b.get("installation_id")
            for t in [t for t, v in emu.tokens.items()
                      if iid is None or v["installation"] == int(iid)]:
                del emu.tokens[t]
        return 200, {"ok": True}
    if key == ("GET", "/_admin/log"):
        since = int(q.get("since", 0))
        with emu.lock:
            return 200, [e for e in emu.log if e["seq"] > since]
    if key == ("DELETE", "/_admin/log"):
        with emu.lock:
            emu.log = []
            return 200, {"seq": emu.seq}
    if key == ("GET", "/_admin/deliveries"):
        since = int(q.get("since", 0))
        with emu.lock:
            return 200, [dict(r) for r in emu.deliveries if r["id"] > since]
    if key == ("POST", "/_admin/pulls"):
        owner, name = b["repo"].split("/", 1)
        meta, repo = emu.repo(owner, name)
        number = emu.next_id("pull") - 3000
        pr = emu.pr_obj(meta, number, b["head"], b.get("base", meta["default_branch"]),
                        b.get("title", "A change"), b.get("body"), b.get("user", "octocat"),
                        repo)
        with emu.lock:
            emu.pulls.setdefault(meta["full_name"].lower(), {})[number] = pr
            emu.touch()
        sender = emu.user(b.get("user", "octocat"))
        emu.send_pull_request(meta, pr, "opened", sender)
        emu.send_check_suite(meta, pr["head"]["ref"], ZERO, pr["head"]["sha"], [pr], sender)
        return 201, pr
    if key == ("POST", "/_admin/pulls/update"):
        owner, name = b["repo"].split("/", 1)
        meta, repo = emu.repo(owner, name)
        pr = emu.pulls.get(meta["full_name"].lower(), {}).get(int(b["number"]))
        want(pr, 404, "no such pull request")
        action = b.get("action", "synchronize")
        sender = emu.user(b.get("user", pr["user"]["login"]))
        before = pr["head"]["sha"]
        with emu.lock:
            pr["head"]["sha"] = repo.head(pr["head"]["ref"]) or before
            pr["base"]["sha"] = repo.head(pr["base"]["ref"]) or pr["base"]["sha"]
            pr["updated_at"] = iso_utc(emu.now())
            if action == "closed":
                pr["state"], pr["closed_at"] = "closed", pr["updated_at"]
            elif action == "reopened":
                pr["state"], pr["closed_at"] = "open", None
            emu.touch()
        emu.send_pull_request(meta, pr, action, sender, before=before,
                              after=pr["head"]["sha"])
        if action in ("synchronize", "reopened"):
            emu.send_check_suite(meta, pr["head"]["ref"], before, pr["head"]["sha"], [pr],
                                 sender)
        return 200, pr
    if key == ("POST", "/_admin/check-runs/action"):
        # a person clicks one of a check run's action buttons: GitHub sends
        # check_run requested_action to the App that made the run
        run = emu.check_runs.get(int(b["id"]))
        want(run, 404, "no such check run")
        want(any(a.get("identifier") == b["identifier"] for a in run.get("actions", [])), 422,
             "the check run has no action %r" % b["identifier"])
        meta = emu.repos[run["repo"]]
        repo = Repo(meta["path"])
        sender = emu.user(b.get("user", "octocat"))
        prs = [emu.pr_min(meta, p) for p in emu.pulls.get(run["repo"], {}).values()
               if p["state"] == "open" and p["head"]["sha"] == run["head_sha"]]
        branch = next((br for br in repo.branches() if repo.head(br) == run["head_sha"]), None)
        obj = run_obj(emu, run)
        obj["pull_requests"] = prs
        obj["check_suite"].update(head_branch=branch, head_sha=run["head_sha"])
        payload = {"action": "requested_action", "check_run": obj,
                   "requested_action": {"identifier": b["identifier"]},
                   "repository": emu.repo_obj(meta), "sender": sender}
        inst = emu.installation_for(meta["full_name"])
        if inst:
            payload["installation"] = {"id": inst["id"], "node_id": "I_%d" % inst["id"]}
        emu.queue_delivery("check_run", "requested_action", payload,
                           inst["id"] if inst else None, meta["id"])
        return 202, {"queued": True}
    if key == ("POST", "/_admin/pulls/merge"):
        # GitHub's merge button: a merge commit on the base branch (its push
        # webhook), then pull_request closed with merged true
        owner, name = b["repo"].split("/", 1)
        meta, repo = emu.repo(owner, name)
        pr = emu.pulls.get(meta["full_name"].lower(), {}).get(int(b["number"]))
        want(pr and pr["state"] == "open", 404 if not pr else 405,
             "no such pull request" if not pr else "Pull Request is not mergeable")
        sender = emu.user(b.get("user", pr["user"]["login"]))
        base_ref, head_sha = pr["base"]["ref"], repo.head(pr["head"]["ref"])
        for _ in range(20):
            old = repo.head(base_ref)
            tree = repo.merge_tree(old, head_sha)
            want(tree, 405, "Merge conflict")
            who = {"name": sender["login"], "email": "%s@example.com" % sender["login"],
                   "date": iso_utc(emu.now())}
            msg = "Merge pull request #%d from %s/%s\n\n%s" % (
                pr["number"], owner, pr["head"]["ref"], pr["title"])
            new = repo.commit_tree(tree, [old, head_sha], msg, who, who)
            if repo.update_ref(base_ref, new, old):
                break
        else:
            raise ApiError(409, "base branch kept moving")
        emu.ref_moved(meta, base_ref, old, new, sender)
        with emu.lock:
            now = iso_utc(emu.now())
            pr.update(state="closed", merged=True, merged_at=now, closed_at=now,
                      updated_at=now, merge_commit_sha=new)
            pr["head"]["sha"] = head_sha
            emu.touch()
        emu.send_pull_request(meta, pr, "closed", sender)
        return 200, {"sha": new, "merged": True, "message": "Pull Request successfully merged"}
    if key == ("GET", "/_admin/check-runs"):
        with emu.lock:
            runs = [dict(r) for r in emu.check_runs.values()
                    if not q.get("repo") or r["repo"] == q["repo"].lower()]
        return 200, runs
    if key == ("GET", "/_admin/tokens"):
        reveal = q.get("reveal") == "1"
        with emu.lock:
            return 200, [dict({"installation": v["installation"], "expires": v["expires"],
                               "length": len(t)}, **({"token": t} if reveal else {}))
                         for t, v in emu.tokens.items()]
    if key == ("POST", "/_admin/shutdown"):
        threading.Thread(target=emu.server.shutdown, daemon=True).start()
        return 200, {"ok": True}
    raise ApiError(404, "no admin route %s %s" % (method, path))


# --------------------------------------------------------------------------
# running it
# --------------------------------------------------------------------------

def serve(state_dir, host="127.0.0.1", port=0, port_file=None, verbose=False,
          app_id=None, public_key=None, webhook_url=None, webhook_secret=None):
    emu = Emulator(state_dir, host)
    srv = Server((host, port), Handler)
    srv.emu = emu
    srv.verbose = verbose
    emu.server = srv
    emu.port = srv.server_address[1]
    for meta in emu.repos.values():  # the port may have changed: re-point hooks
        if os.path.isdir(meta["path"]):
            emu.install_hook(meta)
    if app_id is not None and public_key:
        with open(public_key) as f:
            admin(emu, "POST", "/_admin/app", {}, json.dumps(
                {"app_id": app_id, "public_key_pem": f.read()}).encode())
    if webhook_url is not None:
        emu.webhook = {"url": webhook_url, "secret": webhook_secret}
    for target in (emu.deliverer, emu.saver):
        threading.Thread(target=target, daemon=True).start()

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % emu.port)
        os.replace(tmp, port_file)
    print("ghemu: listening on %s (state in %s)" % (emu.api, emu.state_dir), flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        emu.stopping = True
        # give queued deliveries a moment, then save
        deadline = time.monotonic() + 2
        while not emu.outbox.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        emu.save()
        srv.server_close()


class GitHubEmulator:
    """Start ghemu as a subprocess on a free loopback port and drive /_admin/.

        with GitHubEmulator() as gh:
            key, pub = make_app_key(tmpdir)
            gh.set_app(42, pub)
            gh.add_installation(7, "acme")
            gh.create_repo("acme", "fabric", installation_id=7, files={"a.yaml": "x: 1\\n"})
            ... point the code under test at gh.url ...
            gh.calls("PATCH", "/git/refs/")   # the request log
    """

    def __init__(self, state_dir=None, verbose=False):
        self._own_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="ghemu-")
        self.verbose = verbose
        self.proc = None
        self.url = None
        self.port = None

    # ---- lifecycle ----
    def start(self, timeout=15):
        port_file = os.path.join(self.state_dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [sys.executable, os.path.abspath(__file__), "--port", "0",
                "--state-dir", self.state_dir, "--port-file", port_file]
        if self.verbose:
            args.append("--verbose")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=None if self.verbose else subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError("ghemu exited at start: %s" % err)
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                self.url = "http://127.0.0.1:%d" % self.port
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("ghemu did not start within %ss" % timeout)

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- raw access ----
    def admin(self, method, path, obj=None, timeout=60):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError("ghemu %s %s: %d %s" % (method, path, e.code,
                                                       e.read().decode(errors="replace")))

    # ---- setup ----
    def set_app(self, app_id, public_key_pem, slug="hedgesync", client_id=None,
                webhook_url=None, webhook_secret=None):
        o = {"app_id": app_id, "public_key_pem": public_key_pem, "slug": slug}
        if client_id:
            o["client_id"] = client_id
        if webhook_url is not None:
            o["webhook_url"], o["webhook_secret"] = webhook_url, webhook_secret
        return self.admin("POST", "/_admin/app", o)

    def set_webhook(self, url, secret):
        return self.admin("POST", "/_admin/webhook", {"url": url, "secret": secret})

    def add_installation(self, installation_id, account, repositories=None):
        return self.admin("POST", "/_admin/installations", {
            "id": installation_id, "account": account, "repositories": repositories})

    def create_repo(self, owner, name, installation_id=None, default_branch="main",
                    files=None, message="Initial commit"):
        return self.admin("POST", "/_admin/repos", {
            "owner": owner, "name": name, "installation_id": installation_id,
            "default_branch": default_branch, "files": files, "message": message})

    def commit(self, repo, files, branch=None, message="Change files", author=None,
               notify=True, sender=None):
        o = {"repo": repo, "files": files, "message": message, "notify": notify}
        if branch:
            o["branch"] = branch
        if author:
            o["author"] = author
        if sender:
            o["sender"] = sender
        return self.admin("POST", "/_admin/commit", o)["sha"]

    def click_check_run_action(self, run_id, identifier, user="octocat"):
        """Press a check run's action button (sends check_run requested_action)."""
        return self.admin("POST", "/_admin/check-runs/action",
                          {"id": run_id, "identifier": identifier, "user": user})

    def merge_pull(self, repo, number, user=None):
        """Merge pull request number with a merge commit, as GitHub's button does."""
        o = {"repo": repo, "number": number}
        if user:
            o["user"] = user
        return self.admin("POST", "/_admin/pulls/merge", o)["sha"]

    def configure(self, **kw):
        return self.admin("POST", "/_admin/config", kw)

    # ---- git ----
    def repo_path(self, repo):
        owner, name = repo.split("/", 1)
        return os.path.join(self.state_dir, "repos", owner, name + ".git")

    def git(self, repo, *args):
        return Repo(self.repo_path(repo)).git(*args).decode()

    def head(self, repo, branch="main"):
        return Repo(self.repo_path(repo)).head(branch)

    # ---- faults ----
    def set_faults(self, *rules):
        """Rules: {"kind": "status"|"drop"|"delay"|"huge", "match": regex on
        "METHOD /path", "count": N, "rate": p, "status": 502, "message": text
        of the error body, "after": True (do the work, then answer the
        status), "ms": 100, "bytes": N, "chunked": True}."""
        return self.admin("POST", "/_admin/faults", {"rules": list(rules)})

    def clear_faults(self):
        return self.admin("DELETE", "/_admin/faults")

    def rate_limit_window(self, seconds, mode="primary", match=None):
        """mode: primary (403, remaining 0, reset), secondary (403 + retry-after), 429."""
        return self.admin("POST", "/_admin/ratelimit",
                          {"seconds": seconds, "mode": mode, "match": match})

    def concurrent_writer(self, repo, on="ref_update", branch=None, path=None,
                          content=None, count=1):
        """Before the next write of kind `on` (ref_update, contents_write,
        any_write) to repo's branch, commit path=content there as someone else."""
        o = {"repo": repo, "on": on, "count": count}
        for k, v in (("branch", branch), ("path", path), ("content", content)):
            if v is not None:
                o[k] = v
        return self.admin("POST", "/_admin/concurrent-writer", o)

    def revoke_tokens(self, installation_id=None):
        return self.admin("POST", "/_admin/revoke-tokens",
                          {"installation_id": installation_id})

    # ---- observing ----
    def log(self, since=0):
        return self.admin("GET", "/_admin/log?since=%d" % since)

    def clear_log(self):
        return self.admin("DELETE", "/_admin/log")["seq"]

    def calls(self, method=None, pattern=None, since=0):
        """Logged API requests, filtered by method and a regex on the path."""
        return [e for e in self.log(since)
                if (method is None or e["method"] == method) and
                (pattern is None or re.search(pattern, e["path"]))]

    def deliveries(self, since=0):
        return self.admin("GET", "/_admin/deliveries?since=%d" % since)

    def wait_deliveries(self, count, event=None, since=0, timeout=15):
        """Wait until `count` deliveries (of event) have been attempted."""
        deadline = time.monotonic() + timeout
        while True:
            ds = [d for d in self.deliveries(since)
                  if d["delivered_at"] and (event is None or d["event"] == event)]
            if len(ds) >= count or time.monotonic() > deadline:
                return ds
            time.sleep(0.05)

    def check_runs(self, repo=None):
        return self.admin("GET", "/_admin/check-runs" + ("?repo=" + repo if repo else ""))

    def open_pull_request(self, repo, head, base="main", title="A change", user="octocat"):
        return self.admin("POST", "/_admin/pulls", {"repo": repo, "head": head,
                                                   "base": base, "title": title,
                                                   "user": user})

    def update_pull_request(self, repo, number, action="synchronize"):
        return self.admin("POST", "/_admin/pulls/update",
                          {"repo": repo, "number": number, "action": action})


def make_app_key(directory, pkcs8=False, name="app-key"):
    """Generate an App key with openssl: (private key path, public key PEM)."""
    path = os.path.join(directory, name + (".p8.pem" if pkcs8 else ".pem"))
    args = ["openssl", "genrsa", "-out", path, "2048"]
    if not pkcs8:
        args.insert(2, "-traditional")
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    pub = subprocess.run(["openssl", "rsa", "-in", path, "-pubout"], check=True,
                         capture_output=True, timeout=60).stdout.decode()
    return path, pub


def main(argv=None):
    ap = argparse.ArgumentParser(description="GitHub emulator for hedgesync's tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: a free port")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--app-id", type=int)
    ap.add_argument("--public-key", help="the App's public key (PEM file)")
    ap.add_argument("--webhook-url")
    ap.add_argument("--webhook-secret")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    serve(a.state_dir, a.host, a.port, a.port_file, a.verbose, a.app_id, a.public_key,
          a.webhook_url, a.webhook_secret)


if __name__ == "__main__":
    main()
