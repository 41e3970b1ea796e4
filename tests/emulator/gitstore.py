"""gitstore: the emulator's repositories, real bare git repositories driven by plumbing.

Every object id is git's own: blobs are written as git loose objects
(zlib of "blob <len>\\0<data>", named by its SHA-1) and trees and commits
are made by `git mktree` and `git commit-tree`.  Branch updates are
compare-and-swap through `git update-ref REF NEW OLD`, so two writers
racing for a branch behave as they do on GitHub: one wins, one is told
its update is not a fast forward.
"""
import datetime
import hashlib
import os
import subprocess
import tempfile
import zlib

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MODES = {"100644": "blob", "100755": "blob", "120000": "blob",
         "040000": "tree", "160000": "commit"}

_GIT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
_GIT_ENV.update({"GIT_CONFIG_NOSYSTEM": "1", "HOME": os.environ.get("HOME", "/tmp"),
                 "LC_ALL": "C"})


class GitError(Exception):
    pass


def iso_utc(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    """ISO 8601 ("2011-04-14T16:00:49Z", "+02:00" offsets) -> (epoch, "+hhmm")."""
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    off = d.utcoffset().total_seconds() // 60
    sign = "+" if off >= 0 else "-"
    off = abs(int(off))
    return int(d.timestamp()), "%s%02d%02d" % (sign, off // 60, off % 60)


def valid_path(p):
    if not isinstance(p, str) or not p or p.startswith("/") or p.endswith("/"):
        return False
    if any(ord(ch) < 0x20 for ch in p):
        return False
    return all(seg not in ("", ".", "..", ".git") for seg in p.split("/"))


class Repo:
    """One bare repository on disk."""

    def __init__(self, path):
        self.path = path

    # ---- plumbing ----
    def git(self, *args, input=None, env=None, check=True):
        e = dict(_GIT_ENV)
        if env:
            e.update(env)
        p = subprocess.run(["git", "--git-dir", self.path] + list(args), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=120)
        if check and p.returncode != 0:
            raise GitError("git %s: %s" % (" ".join(args[:3]),
                                           p.stderr.decode(errors="replace").strip()))
        return p.stdout if check else (p.returncode, p.stdout)

    @staticmethod
    def init(path, default_branch="main"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", default_branch, path],
                       check=True, env=_GIT_ENV, capture_output=True, timeout=60)
        r = Repo(path)
        r.git("config", "receive.denyDeleteCurrent", "false")
        return r

    def write_blob(self, data):
        """Store data as a loose blob; its id, exactly as git computes it."""
        raw = b"blob %d\0" % len(data) + data
        sha = hashlib.sha1(raw).hexdigest()
        d = os.path.join(self.path, "objects", sha[:2])
        f = os.path.join(d, sha[2:])
        if not os.path.exists(f):
            os.makedirs(d, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=d, prefix="tmp_obj_")
            with os.fdopen(fd, "wb") as out:
                out.write(zlib.compress(raw, 1))
            os.chmod(tmp, 0o444)
            os.replace(tmp, f)
        return sha

    def object_type(self, sha):
        if not isinstance(sha, str) or len(sha) != 40:
            return None
        rc, out = self.git("cat-file", "-t", sha, check=False)
        return out.decode().strip() if rc == 0 else None

    def object_size(self, sha):
        return int(self.git("cat-file", "-s", sha).decode().strip())

    def read_blob(self, sha):
        return self.git("cat-file", "blob", sha)

    def resolve(self, ref):
        """A branch, tag or sha -> commit sha, or None."""
        if not ref or not isinstance(ref, str) or ref.startswith("-"):
            return None
        for cand in ("refs/heads/" + ref, "refs/tags/" + ref, ref):
            rc, out = self.git("rev-parse", "--verify", "--quiet", cand + "^{commit}",
                               check=False)
            if rc == 0:
                return out.decode().strip()
        return None

    def tree_of(self, treeish):
        if not treeish or treeish.startswith("-"):
            return None
        rc, out = self.git("rev-parse", "--verify", "--quiet", treeish + "^{tree}",
                           check=False)
        return out.decode().strip() if rc == 0 else None

    def head(self, branch):
        rc, out = self.git("rev-parse", "--verify", "--quiet", "refs/heads/" + branch,
                           check=False)
        return out.decode().strip() if rc == 0 else None

    def branches(self):
        out = self.git("for-each-ref", "--format=%(refname:strip=2) %(objectname)",
                       "refs/heads/").decode()
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def update_ref(self, branch, new, old):
        """Compare-and-swap refs/heads/branch from old (None: must not exist) to new."""
        args = ["update-ref", "-m", "ghemu", "refs/heads/" + branch, new, old or ZERO]
        rc, _ = self.git(*args, check=False)
        return rc == 0

    def delete_ref(self, branch, old):
        rc, _ = self.git("update-ref", "-d", "refs/heads/" + branch, old, check=False)
        return rc == 0

    def is_ancestor(self, a, b):
        rc, _ = self.git("merge-base", "--is-ancestor", a, b, check=False)
        return rc == 0

    def merge_base(self, a, b):
        rc, out = self.git("merge-base", a, b, check=False)
        return out.decode().strip() if rc == 0 else None

    # ---- trees ----
    def ls_tree(self, treeish, recursive=False, path=None):
        """Entries as dicts: mode, type, sha, size (blobs), path."""
        args = ["ls-tree", "-z", "-l", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(treeish)
        if path:
            args += ["--", path]
        out = self.git(*args)
        entries = []
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, name = rec.split(b"\t", 1)
            mode, typ, sha, size = meta.decode().split()
            entries.append({"mode": mode, "type": typ, "sha": sha,
                            "size": int(size) if size != "-" else None,
                            "path": name.decode("utf-8", "surrogateescape")})
        return entries

    def mktree(self, entries):
        """entries: {name: (mode, type, sha)} -> tree sha."""
        data = b"".join(("%s %s %s\t" % (m, t, s)).encode() + n.encode() + b"\0"
                        for n, (m, t, s) in sorted(entries.items()))
        return self.git("mktree", "-z", input=data).decode().strip()

    def edit_tree(self, base, changes):
        """Apply changes {path: (mode, type, sha) or None to delete} to tree base
        (None: empty).  Returns the new tree sha.  Raises GitError (path, why)."""
        entries = {}
        if base:
            for e in self.ls_tree(base):
                entries[e["path"]] = (e["mode"], e["type"], e["sha"])
        direct, nested = {}, {}
        for p, v in changes.items():
            head, _, rest = p.partition("/")
            if rest:
                nested.setdefault(head, {})[rest] = v
            else:
                direct[head] = v
        for name, v in direct.items():
            if v is None:
                if name not in entries and name not in nested:
                    raise GitError("%s: cannot delete a path that does not exist" % name)
                entries.pop(name, None)
            else:
                entries[name] = v
        for name, sub in nested.items():
            cur = entries.get(name)
            if cur and cur[1] != "tree":
                if any(v is None for v in sub.values()):
                    raise GitError("%s: is a file, not a directory" % name)
                cur = None
            child = self.edit_tree(cur[2] if cur else None, sub)
            if child == EMPTY_TREE:
                entries.pop(name, None)
            else:
                entries[name] = ("040000", "tree", child)
        return self.mktree(entries)

    def find(self, commit, path):
        """The entry at path in commit's tree (dict) or None; path "" is the root."""
        if not path:
            return {"mode": "040000", "type": "tree", "sha": self.tree_of(commit),
                    "size": None, "path": ""}
        found = self.ls_tree(commit, path=path)
        for e in found:
            if e["path"] == path:
                return e
        return None

    # ---- commits ----
    def commit_tree(self, tree, parents, message, author, committer):
        """author/committer: {name, email, date (ISO 8601, optional)}."""
        env = {}
        for role, who in (("AUTHOR", author), ("COMMITTER", committer)):
            env["GIT_%s_NAME" % role] = who["name"]
            env["GIT_%s_EMAIL" % role] = who["email"]
            if who.get("date"):
                ts, off = parse_iso(who["date"])
                env["GIT_%s_DATE" % role] = "@%d %s" % (ts, off)
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        return self.git(*args, input=message.encode(), env=env).decode().strip()

    def merge_tree(self, ours, theirs):
        """The tree of merging theirs into ours, or None when they conflict."""
        rc, out = self.git("merge-tree", "--write-tree", "--no-messages", ours, theirs,
                           check=False)
        if rc != 0:
            return None
        return out.decode().split("\n", 1)[0].strip()

    def read_commit(self, sha):
        raw = self.git("cat-file", "commit", sha).decode("utf-8", "replace")
        head, _, message = raw.partition("\n\n")
        c = {"sha": sha, "parents": [], "message": message}
        for line in head.splitlines():
            key, _, val = line.partition(" ")
            if key == "tree":
                c["tree"] = val
            elif key == "parent":
                c["parents"].append(val)
            elif key in ("author", "committer"):
                name, _, rest = val.partition(" <")
                email, _, when = rest.partition("> ")
                ts, _, off = when.partition(" ")
                c[key] = {"name": name, "email": email, "date": iso_utc(int(ts)),
                          "epoch": int(ts), "offset": off}
        return c

    def rev_list(self, spec, limit):
        out = self.git("rev-list", "--reverse", "--max-count=%d" % limit, *spec).decode()
        return out.split()

    def count(self, spec):
        return int(self.git("rev-list", "--count", *spec).decode().strip())

    def commit_files(self, sha):
        """(added, removed, modified) of one commit against its first parent."""
        out = self.git("diff-tree", "--no-commit-id", "-r", "--root", "--no-renames",
                       "--name-status", "-z", "-m", "--first-parent", sha)
        return self._name_status(out)

    @staticmethod
    def _name_status(out):
        parts = out.split(b"\0")
        added, removed, modified = [], [], []
        i = 0
        while i + 1 < len(parts):
            st, p = parts[i].decode(), parts[i + 1].decode("utf-8", "surrogateescape")
            i += 2
            if st.startswith("A"):
                added.append(p)
            elif st.startswith("D"):
                removed.append(p)
            elif st:
                modified.append(p)
        return added, removed, modified

    def diff(self, a, b):
        """Files changed from commit a to b, with renames: list of dicts
        status, filename, previous_filename, sha, additions, deletions."""
        raw = self.git("diff", "--raw", "-z", "-M", "--no-abbrev", a, b).split(b"\0")
        num = self.git("diff", "--numstat", "-z", "-M", a, b).split(b"\0")
        stats = {}
        i = 0
        while i < len(num):
            rec = num[i].decode("utf-8", "surrogateescape")
            i += 1
            if not rec:
                continue
            fields = rec.split("\t")
            add, dele = fields[0], fields[1]
            if len(fields) > 2 and fields[2]:
                name = fields[2]
            else:  # a rename: old and new follow as their own records
                name = num[i + 1].decode("utf-8", "surrogateescape")
                i += 2
            stats[name] = (int(add) if add.isdigit() else 0,
                           int(dele) if dele.isdigit() else 0)
        files = []
        i = 0
        names = {"A": "added", "D": "removed", "M": "modified", "R": "renamed",
                 "C": "copied", "T": "changed"}
        while i < len(raw):
            meta = raw[i].decode()
            i += 1
            if not meta.startswith(":"):
                continue
            _, _, _, new_sha, st = meta[1:].split(" ")
            code = st[0]
            if code in "RC":
                old, new = raw[i].decode("utf-8", "surrogateescape"), \
                    raw[i + 1].decode("utf-8", "surrogateescape")
                i += 2
            else:
                old, new = None, raw[i].decode("utf-8", "surrogateescape")
                i += 1
            add, dele = stats.get(new, (0, 0))
            f = {"status": names.get(code, "modified"), "filename": new,
                 "sha": None if code == "D" else new_sha,
                 "additions": add, "deletions": dele}
            if code == "D":
                f["sha"] = raw_sha_of_deleted(meta)
            if old:
                f["previous_filename"] = old
            files.append(f)
        return files


def raw_sha_of_deleted(meta):
    """GitHub gives a removed file the sha of the blob that was removed."""
    return meta[1:].split(" ")[2]
