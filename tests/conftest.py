"""Shared fixtures.

The lab: `lab` (planted faults) and `clean_lab` (no fault) are session-scoped labs of real
servers, each in its own temporary directory, brought up on first use and torn down at the end.
They are shared and read-only by convention: tests that write use `scratch_lab` (one per module).
They yield the lab.json state (dict) plus `state["_secrets"]` (every secret value the lab made).
Point code at a lab without environment variables: `state["config"]` (a clusterdeck config.toml,
which itself names the kubeconfig and context), `lab.access.kube_client(state)`, or the
`lab_config` / `clean_lab_config` fixtures (parsed `checks.config.Config`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


# --- the lab ---------------------------------------------------------------------------------


def _lab(tmp_path_factory: pytest.TempPathFactory, name: str, clean: bool) -> Iterator[dict[str, Any]]:
    from lab import access, manager

    directory = tmp_path_factory.mktemp(name)
    state = manager.up(directory, clean=clean)
    state["_secrets"] = access.secrets_of(state)
    try:
        yield state
    finally:
        manager.down(directory)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running lab with every planted fault (see lab/plan.py)."""
    yield from _lab(tmp_path_factory, "lab-planted", clean=False)


@pytest.fixture(scope="session")
def clean_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running lab without any planted fault."""
    yield from _lab(tmp_path_factory, "lab-clean", clean=True)


@pytest.fixture(scope="module")
def scratch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A planted lab of its own for one test module: the place for tests that WRITE (patch
    Secrets, rollout restarts, ACL SETUSER...). Never write to the shared `lab` / `clean_lab`."""
    yield from _lab(tmp_path_factory, "lab-scratch", clean=False)


@pytest.fixture(scope="session")
def lab_secrets(lab: dict[str, Any]) -> list[str]:
    return list(lab["_secrets"])


@pytest.fixture(scope="session")
def lab_plan(lab: dict[str, Any]) -> dict[str, Any]:
    from lab.access import plan_of

    return plan_of(lab)


@pytest.fixture(scope="session")
def clean_lab_plan(clean_lab: dict[str, Any]) -> dict[str, Any]:
    from lab.access import plan_of

    return plan_of(clean_lab)


@pytest.fixture
def lab_config(lab: dict[str, Any]) -> Any:
    from checks.config import load_config

    return load_config(lab["config"])


@pytest.fixture
def clean_lab_config(clean_lab: dict[str, Any]) -> Any:
    from checks.config import load_config

    return load_config(clean_lab["config"])


@pytest.fixture
def lab_faults() -> Iterator[Callable[..., None]]:
    """Switch daemon faults on for one test: `lab_faults(lab, kube="403")`; cleared afterwards."""
    from lab.faults import clear_faults, write_faults

    touched: list[Path] = []

    def set_faults(state: dict[str, Any], **faults: Any) -> None:
        directory = Path(state["dir"])
        touched.append(directory)
        write_faults(directory, **faults)

    yield set_faults
    for directory in touched:
        clear_faults(directory)


@pytest.fixture
def count_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], list[tuple[Any, ...]]]:
    """`calls = count_calls(module, "name")`: the function still runs, and each call adds its arguments to
    `calls` (how many scans, loads or reads a test caused)."""

    def install(owner: Any, name: str) -> list[tuple[Any, ...]]:
        calls: list[tuple[Any, ...]] = []
        real = getattr(owner, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counting)
        return calls

    return install


# --- snapshots live in the repository's root snapshots/<test module>/ --------------------------

def _root_snapshot_extension() -> None:
    import pytest_textual_snapshot as pts

    root = Path(__file__).resolve().parent.parent / "snapshots"

    class RootSVGImageExtension(pts.SVGImageExtension):
        @classmethod
        def dirname(cls, *, test_location: Any) -> str:
            return str(root / Path(test_location.filepath).stem)

    pts.SVGImageExtension = RootSVGImageExtension


_root_snapshot_extension()
