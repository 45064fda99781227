"""checks/ and lab/ stay headless; the CLI module does not drag in heavy clients."""

import subprocess
import sys

HEAVY_UI = ("textual", "rich", "tui", "screens")
HEAVY_CLIENTS = ("kubernetes", "boto3", "botocore", "redis", "psycopg", "prometheus_api_client", "moto")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_checks_and_lab_never_import_the_ui():
    code = ("import pkgutil, importlib, checks, lab\n"
            "for pkg in (checks, lab):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if m.name != 'lab.daemon': importlib.import_module(m.name)\n")
    loaded = _loaded_after(code)
    assert not loaded & set(HEAVY_UI), loaded & set(HEAVY_UI)


def test_cli_and_app_modules_import_no_client_library():
    loaded = _loaded_after("import tui.cli, tui.app, checks.connect, checks.flows.runner")
    assert not loaded & set(HEAVY_CLIENTS), loaded & set(HEAVY_CLIENTS)
