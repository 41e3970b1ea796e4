#!/usr/bin/env python3
"""Run the end-to-end tests: every test_* function of tests/e2e/test_*.py.

    python3 tests/e2e/run.py [SUBSTRING...]

A module may define setup_module() and teardown_module(); a test fails by
raising (assert).  Output is TAP-like and ends with "N passed, N failed".
"""
import importlib.util
import os
import shutil
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    filters = argv[1:]
    # a fresh place for the logs the secrets test searches
    import harness
    shutil.rmtree(harness.SUITE_LOGS, ignore_errors=True)
    passed = failed = n = 0
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = load(os.path.join(HERE, fname))
        tests = [(k, v) for k, v in vars(mod).items()
                 if k.startswith("test_") and callable(v)
                 and getattr(v, "__module__", None) == mod.__name__]
        tests.sort(key=lambda kv: kv[1].__code__.co_firstlineno)
        full = [(f"{mod.__name__}.{k}", v) for k, v in tests]
        if filters:
            full = [(k, v) for k, v in full if any(f in k for f in filters)]
        if not full:
            continue
        try:
            if hasattr(mod, "setup_module"):
                mod.setup_module()
        except Exception:
            for name, _ in full:
                n += 1
                failed += 1
                print(f"not ok {n} - {name} (setup_module failed)")
            for line in traceback.format_exc().splitlines():
                print("#   " + line)
            continue
        try:
            for name, fn in full:
                n += 1
                t0 = time.monotonic()
                try:
                    fn()
                except Exception:
                    failed += 1
                    print(f"not ok {n} - {name}")
                    for line in traceback.format_exc().splitlines():
                        print("#   " + line)
                else:
                    passed += 1
                    print(f"ok {n} - {name} ({time.monotonic() - t0:.2f}s)")
                sys.stdout.flush()
        finally:
            if hasattr(mod, "teardown_module"):
                try:
                    mod.teardown_module()
                except Exception:
                    # e.g. the service exited with a sanitizer report
                    n += 1
                    failed += 1
                    print(f"not ok {n} - {mod.__name__} teardown")
                    for line in traceback.format_exc().splitlines():
                        print("#   " + line)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
