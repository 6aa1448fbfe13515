"""A small TCP proxy on loopback in front of the real API server, for network faults.

It relays bytes both ways (TLS passes through untouched: the API server's certificate
covers 127.0.0.1). `black_hole()` makes every open connection silently dead, as a dropped
NAT entry or a half-dead load balancer does: nothing is relayed and nothing is closed, so
the client sees neither data nor an error. Connections opened while the hole lasts are dead
too. After `restore()` new connections work again; the dead ones stay dead until the
client gives up on them.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    dead: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._holed = threading.Event()
        self._stopped = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, name="faultproxy", daemon=True)
        self._thread.start()

    def black_hole(self) -> None:
        with self._lock:
            self._holed.set()
            for pair in self._pairs:
                pair.dead.set()

    def restore(self) -> None:
        self._holed.clear()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for pair in self._pairs:
                for sock in (pair.client, pair.upstream):
                    with contextlib.suppress(OSError):
                        sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                if self._holed.is_set():
                    pair.dead.set()
                self._pairs.append(pair)
                self.connections += 1
            threading.Thread(target=self._relay, args=(pair,), daemon=True).start()

    def _relay(self, pair: _Pair) -> None:
        sockets = [pair.client, pair.upstream]
        other = {pair.client: pair.upstream, pair.upstream: pair.client}
        try:
            while not self._stopped.is_set():
                readable, _, _ = select.select(sockets, [], [], 0.2)
                if pair.dead.is_set():
                    # Relay nothing, close nothing: the peer waits forever.
                    if self._stopped.wait(0.2):
                        return
                    continue
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    other[sock].sendall(data)
        except OSError:
            return
        finally:
            if not pair.dead.is_set():
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.close()
