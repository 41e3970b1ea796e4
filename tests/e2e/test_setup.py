"""The one-click App registration: `serve --setup` with no App, its /setup
page, GitHub's manifest flow (the emulator's "new App" page and the code's
conversion), the stored credentials, and the service starting again as the
new App."""
import html
import json
import os
import re
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import TOP, Stack, wait_for

sys.path.insert(0, os.path.join(TOP, "tests", "emulator"))
from ghemu import GitHubEmulator  # noqa: E402

AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def test_setup_registers_the_app_and_restarts_as_it():
    gh = GitHubEmulator().start()
    s = Stack(env={"GITHUB_API_URL": gh.url, "HEDGESYNC_TEST_HANDLERS": "0"},
              unset=("APP_ID", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET"), args=["--setup"])
    try:
        s.start()
        # no App yet: everything but /healthz and /setup waits for one
        st, body, _ = s.request("GET", "/api/v1/fabrics", None, AUTH)
        assert st == 503 and b"not_set_up" in body, (st, body)
        st, _ = s.webhook("ping", {"zen": "x"})
        assert st == 503
        link = wait_for(lambda: re.search(r"(/setup\?token=[0-9a-f]{40})", s.read_log()),
                        what="the setup link in the log").group(1)
        assert s.request("GET", "/setup")[0] == 403
        assert s.request("GET", "/setup?token=" + "0" * 40)[0] == 403
        st, page, headers = s.request("GET", link)
        assert st == 200 and headers["Content-Type"].startswith("text/html"), (st, page)
        page = page.decode()
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
        assert action.startswith(gh.url + "/settings/apps/new?state="), action
        manifest = json.loads(html.unescape(re.search(r'name="manifest" value="([^"]*)"',
                                                      page).group(1)))
        base = f"http://127.0.0.1:{s.port}"
        assert manifest["hook_attributes"] == {"url": base + "/api/github/webhooks",
                                               "active": True}, manifest
        assert manifest["redirect_url"] == base + "/setup/callback"
        assert manifest["url"] == base and manifest["public"] is False
        assert manifest["default_permissions"] == {"contents": "write", "checks": "write",
                                                   "pull_requests": "read", "metadata": "read"}
        assert manifest["default_events"] == ["push", "pull_request", "check_suite", "check_run"]
        # the person presses the button, then "Create GitHub App" on GitHub
        form = urllib.parse.urlencode({"manifest": json.dumps(manifest)}).encode()
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(urllib.request.Request(action, data=form, method="POST"), timeout=60)
            raise AssertionError("GitHub did not redirect")
        except urllib.error.HTTPError as e:
            assert e.code == 302, (e.code, e.read()[:500])
            location = e.headers["Location"]
        assert location.startswith(base + "/setup/callback?code="), location
        # a forged state is refused and does not use up the registration
        forged = re.sub(r"state=[0-9a-f]+", "state=" + "1" * 40, location)
        assert s.request("GET", forged[len(base):])[0] == 400
        st, done, _ = s.request("GET", location[len(base):])
        assert st == 200 and b"is registered" in done, done
        # the service starts again, as the App
        creds = os.path.join(s.dir, "app-credentials.env")
        key = os.path.join(s.dir, "app-private-key.pem")

        def api_ok():
            try:
                return s.request("GET", "/api/v1/fabrics", None, AUTH)[0] == 200
            except OSError:
                return False
        wait_for(api_ok, timeout=30, what="hedgesync as the new App")
        for path in (creds, key):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        with open(creds) as f:
            text = f.read()
        assert re.search(r"^APP_ID=\d+$", text, re.M) and f"PRIVATE_KEY_PATH={key}" in text
        secret = re.search(r"^WEBHOOK_SECRET=(\S+)$", text, re.M).group(1)
        assert secret not in s.read_log()  # stored, never logged
        assert "restarting with the new GitHub App" in s.read_log()
        # it works as the App: an installation, a fabric, GitHub's signed push
        gh.add_installation(31, "acme")
        gh.create_repo("acme", "fab", installation_id=31, files={"README.md": "x\n"})
        st, body, _ = s.request("POST", "/api/v1/fabrics", json.dumps(
            {"name": "dc1", "repository": "acme/fab"}).encode(), AUTH)
        assert st == 201, body
        wait_for(lambda: "Onboard fabric dc1" in gh.git("acme/fab", "log", "-1", "--format=%s",
                                                        "main"), timeout=30, what="onboarding")
        wait_for(lambda: [d for d in gh.deliveries() if d.get("event") == "push"
                          and d.get("status_code") == 202], timeout=30,
                 what="a push delivery accepted with the new webhook secret")
        assert s.request("GET", "/setup")[0] == 404  # set up: no second registration
    finally:
        s.stop()
        gh.stop()
