"""An automatic port-forward to a ready pod behind a Service, over the Kubernetes API (websocket).

A local listener on 127.0.0.1:0 accepts connections; each one gets its own portforward stream
(`kubernetes.stream.portforward`) to the pod and bytes are pumped both ways by a thread.
Needs RBAC `get` and `create` on `pods/portforward` (checks/sources/kube_rbac.py PORT_FORWARD).
Not testable against kmock (it cannot port-forward).
"""

from __future__ import annotations

import select
import socket
import threading
from typing import TYPE_CHECKING, Any

from checks.errors import SourceError

if TYPE_CHECKING:
    from checks.sources.kube import KubeSource

CHUNK = 65536


def _hint(namespace: str, service: str, port: int) -> str:
    return (f"run `kubectl port-forward -n {namespace} svc/{service} LOCAL:{port}` and map it in the config: "
            f'[endpoints] "{service}.{namespace}.svc:{port}" = "127.0.0.1:LOCAL"')


class PortForward:
    """A running forward `127.0.0.1:local_port` -> `pod:target_port`; `close()` stops it."""

    def __init__(self, kube: KubeSource, namespace: str, service: str, port: int) -> None:
        from kubernetes import client

        self.namespace, self.service, self.port = namespace, service, port
        self._timeout = kube.timeout
        svc = kube.get_service(namespace, service)
        if svc is None:
            raise SourceError("kubernetes", "Port-forward failed", f"Service {namespace}/{service} does not exist; "
                              + _hint(namespace, service, port), kind="notfound")
        sport = next((p for p in svc.ports if p.port == port), None)
        if sport is None:
            raise SourceError("kubernetes", "Port-forward failed", f"Service {namespace}/{service} has no port {port} "
                              f"(it has {', '.join(str(p.port) for p in svc.ports) or 'none'})", kind="notfound")
        selector = ",".join(f"{k}={v}" for k, v in sorted(svc.selector.items()))
        pods = [p for p in kube.list_pods(namespace, selector) if p.ready and p.phase == "Running"] if selector else []
        if not pods:
            raise SourceError("kubernetes", "Port-forward failed", f"no ready pod behind Service {namespace}/{service} "
                              f"(selector {selector or 'none'}); " + _hint(namespace, service, port),
                              kind="unreachable")
        pod = sorted(pods, key=lambda p: p.name)[0]
        target: int | str = sport.target_port or sport.port
        if isinstance(target, str):
            named = [num for c in pod.spec.containers for (pname, num) in c.ports if pname == target]
            if not named:
                raise SourceError("kubernetes", "Port-forward failed", f"pod {pod.name} has no container port named "
                                  f'"{target}" (targetPort of {namespace}/{service}:{port})', kind="notfound")
            target = named[0]
        self.pod, self.target_port = pod.name, int(target)
        # A dedicated ApiClient: stream() swaps ApiClient.request while it runs, which is not thread-safe.
        self._core = client.CoreV1Api(client.ApiClient(kube.configuration))
        self._probe()
        self._closed = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.5)
        self.local_port: int = self._listener.getsockname()[1]
        """The local port to connect to."""
        threading.Thread(target=self._accept_loop, name=f"port-forward {service}.{namespace}:{port}",
                         daemon=True).start()

    def _open(self) -> Any:
        from kubernetes.stream import portforward

        return portforward(self._core.connect_get_namespaced_pod_portforward, self.pod, self.namespace,
                           ports=str(self.target_port), _request_timeout=self._timeout)

    def _probe(self) -> None:
        """Open and close one stream now, so a missing RBAC grant fails here rather than on first use."""
        try:
            pf = self._open()
            pf.close()
        except Exception as exc:  # noqa: BLE001 - any client failure is reported the same way
            reason = str(getattr(exc, "reason", "") or type(exc).__name__).splitlines()[0][:160]
            raise SourceError("kubernetes", "Port-forward failed", f"could not open a port-forward to pod "
                              f"{self.namespace}/{self.pod}:{self.target_port} ({reason}); it needs RBAC verb "
                              f'"create" on "pods/portforward" (and "get": the client opens a WebSocket) in '
                              f'namespace "{self.namespace}". Or ' + _hint(self.namespace, self.service, self.port),
                              kind="unreachable") from None

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, conn: socket.socket) -> None:
        try:
            pf = self._open()
            remote = pf.socket(self.target_port)
            remote.setblocking(True)
        except Exception:  # noqa: BLE001 - the client sees a closed connection
            conn.close()
            return
        try:
            peers = {conn: remote, remote: conn}
            while not self._closed.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.5)
                for src in readable:
                    data = src.recv(CHUNK)
                    if not data:
                        return
                    peers[src].sendall(data)
        except OSError:
            return
        finally:
            conn.close()
            pf.close()

    def close(self) -> None:
        """Stop accepting; open pipes end within half a second."""
        self._closed.set()
        self._listener.close()
