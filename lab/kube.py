"""The lab's Kubernetes API: kmock's emulator plus request logging, fault injection,
label/field selectors, `limit` (the first page and its remainingItemCount), the `namespaces`
resource (kmock 0.8 cannot serve it) and resourceVersion / managedFields bookkeeping on writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock

from lab.controllers import after_update
from lab.faults import log_line, read_faults

_NS_LIST = re.compile(r"^/api/v1/namespaces/?$")
_NS_ONE = re.compile(r"^/api/v1/namespaces/([^/]+)/?$")
LOAD_PATH = "/_lab/load"
UNLOAD_PATH = "/_lab/unload"
PROCS_PATH = "/_lab/procs"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _split_selector(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def label_match(selector: str, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector syntax: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b)."""
    for term in _split_selector(selector):
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", term)
        if m:
            key, op, vals = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            ok = labels.get(key) in vals if op == "in" else labels.get(key) not in vals
        elif "!=" in term:
            key, val = (s.strip() for s in term.split("!=", 1))
            ok = labels.get(key) != val
        elif "=" in term:
            key, val = (s.strip() for s in term.replace("==", "=").split("=", 1))
            ok = labels.get(key) == val
        elif term.startswith("!"):
            ok = term[1:].strip() not in labels
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def field_match(selector: str, obj: dict[str, Any]) -> bool:
    for term in _split_selector(selector):
        neg = "!=" in term
        path, val = (s.strip() for s in re.split(r"!=|==|=", term, maxsplit=1))
        cur: Any = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        actual = "" if cur is None else str(cur)
        if (actual == val) == neg:
            return False
    return True


def k8s_status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


@attrs.define(kw_only=True)
class LabKube(kmock.KubernetesEmulator):
    """kmock's emulator with the lab's additions; see the module docstring."""

    lab_dir: Path = attrs.field(default=Path("."))
    namespaces: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    procs: dict[str, Any] = attrs.field(factory=dict)  # the lab's processes, for orphan cleanup
    _rv: itertools.count = attrs.field(factory=lambda: itertools.count(100000))

    def next_rv(self) -> str:
        return str(next(self._rv))

    def load(self, objects: list[dict[str, Any]]) -> int:
        """Replace the stored objects (called inside the loop)."""
        for obj in objects:
            key = obj.pop("_resource")
            meta = obj["metadata"]
            if key == "v1/namespaces":
                self.namespaces[meta["name"]] = obj
                continue
            self.objects[key, meta.get("namespace"), meta["name"]] = obj
            rv = int(meta.get("resourceVersion", "0"))
            if rv >= 100000:
                self._rv = itertools.count(rv + 1000)
        return len(objects)

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        path = raw.path
        if path == LOAD_PATH and raw.method == "POST":
            body = await raw.json()
            return aiohttp.web.json_response({"loaded": self.load(body)})
        if path == UNLOAD_PATH and raw.method == "POST":  # [[resource, namespace, name], …]: objects the bench added
            gone = 0
            for resource, namespace, name in await raw.json():
                try:
                    del self.objects[resource, namespace, name]
                    gone += 1
                except KeyError:
                    pass
            return aiohttp.web.json_response({"unloaded": gone})
        if path == PROCS_PATH and raw.method == "POST":
            self.procs = await raw.json()
            return aiohttp.web.json_response({"ok": True})
        faults = read_faults(self.lab_dir)
        mode = faults.get("kube")
        match = faults.get("kube_match")
        if match and match not in raw.path_qs:
            mode = None
        status = 0
        try:
            if mode == "slow":
                await asyncio.sleep(3)
            elif mode in ("401", "403", "500", 401, 403, 500):
                status = int(mode)
                return self._fault_response(status, raw)
            if raw.method == "GET" and (_NS_LIST.match(path) or _NS_ONE.match(path)):
                resp = self._serve_namespaces(path)
            else:
                resp = await super().__call__(raw)
                if self._errors and len(self._errors[-1]) > 100:
                    del self._errors[-1][:]
            status = resp.status
            return resp
        finally:
            log_line(self.lab_dir / "kube-requests.log", f"{raw.method} {raw.path_qs} {status or '-'}")

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # kmock keeps every request it was sent, and matches a new one against each of its reactions by
        # scanning all those it kept (a view's `in` is an identity search through its filtered requests):
        # every request cost O(requests kept × reactions) — 80% of the lab daemon's CPU at 500 kept. The lab
        # reads its requests from kube-requests.log, never from kmock, so only those in flight are kept.
        try:
            return await super()._handle(request)
        finally:
            kept = self._requests
            for i in range(len(kept) - 1, -1, -1):
                if kept[i] is request:
                    del kept[i]
                    break
            for payload in self._payloads:  # each reaction keeps those it served too (the daemon grew ~1 MB/min)
                payload._requests.clear()

    def _fault_response(self, code: int, raw: aiohttp.web.BaseRequest) -> aiohttp.web.Response:
        if code == 401:
            body = k8s_status(401, "Unauthorized", "Unauthorized")
        elif code == 403:
            body = k8s_status(403, "Forbidden",
                              f'{raw.path} is forbidden: User "system:serviceaccount:clusterdeck:clusterdeck" '
                              f'cannot {raw.method.lower()} this resource')
        else:
            body = k8s_status(500, "InternalError",
                              "Internal error occurred: etcdserver: request timed out")
        return aiohttp.web.json_response(body, status=code)

    def _serve_namespaces(self, path: str) -> aiohttp.web.Response:
        one = _NS_ONE.match(path)
        if one:
            ns = self.namespaces.get(one.group(1))
            if ns is None:
                return aiohttp.web.json_response(
                    k8s_status(404, "NotFound", f'namespaces "{one.group(1)}" not found'), status=404)
            return aiohttp.web.json_response(ns)
        return aiohttp.web.json_response({"kind": "NamespaceList", "apiVersion": "v1",
                                          "metadata": {"resourceVersion": self.next_rv()},
                                          "items": list(self.namespaces.values())})

    async def _serve_list(self, request: kmock.Request) -> Any:
        payload = await super()._serve_list(request)
        params = request.params or {}
        items = payload["items"]
        if params.get("labelSelector"):
            items = [i for i in items if label_match(params["labelSelector"],
                                                     i.get("metadata", {}).get("labels") or {})]
        if params.get("fieldSelector"):
            items = [i for i in items if field_match(params["fieldSelector"], i)]
        payload["metadata"] = {"resourceVersion": self.next_rv()}
        limit = str(params.get("limit") or "")
        if limit.isdigit() and 0 < int(limit) < len(items):  # the first page, and how many are left (no next page)
            payload["metadata"].update({"continue": f"lab-page-{limit}", "remainingItemCount": len(items) - int(limit)})
            items = items[:int(limit)]
        payload["items"] = items
        return payload

    def _touch(self, request: kmock.Request, operation: str) -> tuple | None:
        name = request.name or (request.data or {}).get("metadata", {}).get("name")
        namespace = request.namespace or (request.data or {}).get("metadata", {}).get("namespace")
        key = (request.resource, namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        obj = self.objects[key]
        meta = obj.raw.get("metadata", {})
        fields = list(meta.get("managedFields") or [])
        fields.append({"manager": "clusterdeck", "operation": operation, "apiVersion":
                       obj.raw.get("apiVersion", "v1"), "time": _now(), "fieldsType": "FieldsV1",
                       "fieldsV1": {}})
        patch: dict[str, Any] = {"resourceVersion": self.next_rv(), "managedFields": fields}
        if operation == "Update" and "generation" in meta and ("spec" in (request.data or {})):
            patch["generation"] = int(meta["generation"]) + 1
        if not meta.get("uid"):
            patch["uid"] = f"lab-{self.next_rv()}"
        if not meta.get("creationTimestamp"):
            patch["creationTimestamp"] = _now()
        obj.patch({"metadata": patch})
        return key

    async def _serve_create(self, request: kmock.Request) -> Any:
        await self._written(request)
        return await super()._serve_create(request)

    async def _serve_update(self, request: kmock.Request) -> Any:
        await self._written(request)
        return await super()._serve_update(request)

    async def _written(self, request: kmock.Request) -> None:
        async with self._lock:
            key = self._touch(request, "Update")
            if key is not None and isinstance(request.data, dict):
                after_update(self, key, request.data)


def dumps(objects: list[dict[str, Any]]) -> bytes:
    return json.dumps(objects).encode()
