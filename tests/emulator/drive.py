"""drive: run the C driver (tests/drivers/ghdrive.c) against the emulator.

    with Drive(gh, key_path, app_id=42, installation=7, repo="acme/fabric") as d:
        r = d("getref", branch="main")        # {"rc": "OK", "sha": ...}

Each call writes one JSON command line and reads one JSON answer line, with
a timeout, so a hung client fails the test instead of hanging it.
"""
import json
import os
import queue
import subprocess
import threading

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def driver_path():
    if os.environ.get("GHDRIVE"):
        return os.environ["GHDRIVE"]
    return os.path.join(TOP, os.environ.get("BUILD", "build"), "tests", "drivers", "ghdrive")


class Drive:
    def __init__(self, gh, key_path, app_id, installation=None, repo="acme/fabric",
                 **opts):
        args = [driver_path(), "--url", gh.url, "--app-id", str(app_id), "--key", key_path,
                "--repo", repo]
        if installation is not None:
            args += ["--installation", str(installation)]
        # fast retries by default: tests wait seconds, not minutes
        opts.setdefault("backoff_ms", 50)
        for k, v in opts.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.err = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self, f, q):
        for line in f:
            q.put(line)
        q.put(None)

    def _drain(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def __call__(self, op, timeout=60, **kw):
        kw["op"] = op
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise AssertionError("ghdrive: no answer to %s within %ss" % (op, timeout))
        if line is None:
            raise AssertionError("ghdrive exited: %s" % "".join(self.err[-20:]))
        return json.loads(line)

    def ok(self, op, **kw):
        r = self(op, **kw)
        assert r["rc"] == "OK", "%s failed: %s" % (op, r)
        return r

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op":"quit"}\n')
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        rc = self.close()
        if exc_type is None and rc != 0:
            # under ASan a leak or a memory error ends the driver nonzero
            raise AssertionError("ghdrive exited %s: %s" % (rc, "".join(self.err[-40:])))
