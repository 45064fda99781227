"""Importing the parsers and sources pulls in no heavy client and no UI library."""

from __future__ import annotations

import subprocess
import sys

MODULES = ["checks.parsers", "checks.parsers.dragonfly", "checks.parsers.promql", "checks.parsers.s3_policy",
           "checks.redact", "checks.sources.redis_source", "checks.sources.postgres", "checks.sources.s3",
           "checks.sources.rustfs_admin", "checks.sources.prometheus"]
FORBIDDEN = ["redis", "psycopg", "boto3", "botocore", "prometheus_api_client", "requests", "textual", "rich",
             "tui", "screens"]


def test_imports_are_light() -> None:
    code = (f"import sys\nfor m in {MODULES!r}: __import__(m)\n"
            f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
