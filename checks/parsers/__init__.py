"""Pure parsers for server output (no I/O, no client libraries): see `checks.parsers.dragonfly`.

Names are re-exported lazily (PEP 562): importing a submodule from several threads at once must not
run this package's initialisation into a submodule import that another thread holds (import deadlock).
"""

from typing import Any


def __getattr__(name: str) -> Any:
    import importlib

    dragonfly = importlib.import_module("checks.parsers.dragonfly")
    if name == "__all__" or name in dragonfly.__all__:
        return getattr(dragonfly, name)
    raise AttributeError(f"module 'checks.parsers' has no attribute {name!r}")
