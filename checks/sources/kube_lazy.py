"""Load the official Kubernetes client without its ~720 API models and ~60 API groups clusterdeck never uses.

`import kubernetes` runs `kubernetes/client/__init__.py`, whose ~790 `from … import …` lines load every API
model and API group: 815 modules, 33 MB of RSS at import (a seventh of the TUI's memory at scale) and the
slowest client library to import. clusterdeck asks for raw JSON (`_preload_content=False`) and parses it
itself, so it needs the ApiClient, its Configuration and kubeconfig loading, and four API groups.

`install()` (before the first `import kubernetes`) puts lazy stand-ins for the packages `kubernetes.client`,
`kubernetes.client.api` and `kubernetes.client.models` in `sys.modules`: each knows, from the names its real
`__init__.py` imports, which module holds each name, and imports that module the first time the name is
used. `kubernetes.client.CoreV1Api`, `kubernetes.client.models.V1Pod` (the ApiClient's deserializer),
`from kubernetes.client import ApiClient` all work as before; only what is used is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
import types
from pathlib import Path
from typing import Any

_FROM = re.compile(r"^from (kubernetes\.client[\w.]*) import (\w+)\s*$", re.M)
_PACKAGES = ("kubernetes.client", "kubernetes.client.api", "kubernetes.client.models")
_LOCK = threading.Lock()


class _LazyPackage(types.ModuleType):
    """A package whose names are imported from their own modules when first used."""

    def __init__(self, name: str, directory: Path, names: dict[str, str]) -> None:
        super().__init__(name)
        self.__path__ = [str(directory)]
        self.__file__ = str(directory / "__init__.py")
        self.__package__ = name
        self._lazy_names = names

    def __getattr__(self, attr: str) -> Any:
        module = self.__dict__.get("_lazy_names", {}).get(attr)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(module), attr)
        setattr(self, attr, value)
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._lazy_names))


def install() -> bool:
    """Put the lazy packages in place unless the client is already imported; True when they are in use."""
    with _LOCK:
        if "kubernetes.client" in sys.modules:
            return isinstance(sys.modules["kubernetes.client"], _LazyPackage)
        spec = importlib.util.find_spec("kubernetes")  # finds the package without running its __init__
        if spec is None or not spec.submodule_search_locations:
            return False
        root = Path(next(iter(spec.submodule_search_locations))) / "client"
        made = {}
        for name in _PACKAGES:
            directory = root.joinpath(*name.split(".")[2:])
            try:
                source = (directory / "__init__.py").read_text()
            except OSError:
                return False
            made[name] = _LazyPackage(name, directory, {attr: mod for mod, attr in _FROM.findall(source)})
        if not made["kubernetes.client.models"]._lazy_names or "ApiClient" not in made["kubernetes.client"]._lazy_names:
            return False  # not the layout this was written for: load the client as it is
        made["kubernetes.client"].api = made["kubernetes.client.api"]
        made["kubernetes.client"].models = made["kubernetes.client.models"]
        sys.modules.update(made)
        import kubernetes  # noqa: F401 - its `from . import client` takes the stand-in

        kubernetes.client = made["kubernetes.client"]
        return True
