"""Submodules of checks.parsers imported first from several threads at once must not deadlock."""

import subprocess
import sys

CODE = """
import importlib, threading
mods = ["checks.parsers.acl", "checks.parsers.info", "checks.parsers.slowlog", "checks.parsers.acl_log",
        "checks.parsers.redis_errors", "checks.parsers.dragonfly", "checks.parsers"]
errors = []
barrier = threading.Barrier(len(mods))
def go(name):
    barrier.wait()
    try:
        importlib.import_module(name)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=go, args=(m,)) for m in mods]
[t.start() for t in threads]
[t.join() for t in threads]
import checks.parsers as p
assert p.parse_info is not None and "parse_info" in p.__all__
print("ERR" if errors else "OK", errors)
"""


def test_concurrent_first_imports():
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("OK"), out.stdout
