"""Runs last: every log hedgesync wrote during this run of the suite,
searched for every secret it was given (webhook secrets, NetBox secret and
token, API tokens, the App's private key, the installation tokens GitHub
issued).  None may appear."""
import glob
import json
import os

from harness import SUITE_LOGS


def test_no_log_of_the_suite_holds_a_secret():
    logs = sorted(glob.glob(os.path.join(SUITE_LOGS, "*.log")))
    assert logs, "no logs were kept: the suite's stacks did not run"
    secrets = set()
    for path in glob.glob(os.path.join(SUITE_LOGS, "*.secrets.json")):
        with open(path) as f:
            secrets.update(s for s in json.load(f) if len(s) >= 8)
    assert any(s.startswith("ghs_") for s in secrets) or len(logs) < 3, \
        "no installation token was collected"
    found, size = [], 0
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        size += len(text)
        for s in secrets:
            if s in text:
                found.append((os.path.basename(path), s[:6] + "..."))
    print(f"# searched {len(logs)} logs ({size} bytes) for {len(secrets)} secrets")
    assert not found, found
