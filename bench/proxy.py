"""A counting TCP proxy: how many request/response round trips a client makes to a server.

A round trip is a burst of bytes from the client that follows the start of the connection or a reply of
the server: a pipeline sent in one go counts once whatever the number of commands in it. Works for any
protocol (RESP, the PostgreSQL wire protocol, HTTP).

With `delay`, each round trip's request is held that long before it goes on (on its connection only): the
link to a remote cluster, where a round trip costs milliseconds instead of loopback's tens of microseconds.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Counts:
    """Counters of one proxy."""

    connections: int = 0
    """TCP connections accepted."""
    round_trips: int = 0
    """Client bursts (see the module doc)."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        with self.lock:
            self.connections = self.round_trips = 0


class CountingProxy:
    """Listens on 127.0.0.1:<port> and forwards to (host, port), each round trip `delay` seconds later."""

    def __init__(self, host: str, port: int, delay: float = 0.0) -> None:
        self.target = (host, port)
        self.delay = delay
        self.counts = Counts()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{port}").start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self.counts.lock:
                self.counts.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        last_from_client = False
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=1.0):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = src.recv(65536)
                    if not data:
                        return
                    from_client = src is client
                    if from_client and not last_from_client:
                        with self.counts.lock:
                            self.counts.round_trips += 1
                        if self.delay:
                            time.sleep(self.delay)
                    last_from_client = from_client
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            client.close()
            upstream.close()
