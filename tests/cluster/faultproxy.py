"""A small proxy on loopback in front of the real API server, for network and watch faults.

Two ways to run it:

- **TCP** (`FaultProxy(port)`): it relays bytes both ways; TLS passes through untouched (the
  API server's certificate covers 127.0.0.1). `black_hole()` makes every open connection
  silently dead, as a dropped NAT entry or a half-dead load balancer does: nothing is
  relayed and nothing is closed, so the client sees neither data nor an error. Connections
  opened while the hole lasts are dead too. After `restore()` new connections work again;
  the dead ones stay dead until the client gives up on them.
- **HTTP** (`HttpFaultProxy(port, ProxyTLS(...))`, asyncio on a thread of its own): it
  ends the client's TLS with the API server's own serving certificate (the clients trust it
  already; they authenticate with bearer tokens, which travel in the request) and opens its
  own TLS connection upstream, so it sees each request. Every connection carries one request
  (the proxy asks the server for `Connection: close`), which keeps the parsing to a request
  head. `requests` records each
  request line. `expire_watches(resources, answer)` severs the open watch streams of those
  resources and holds every new watch request of them (the watch is down, nothing is lost on
  the server) until `release()`, which answers the held requests with a `410 Gone`, byte for
  byte as the API server answers a watch from an expired resourceVersion:
  - `answer="event"`: HTTP 200 and one `ERROR` watch event whose object is a `Status` with
    code 410, reason `Expired`, "too old resource version" (what kube-apiserver sends once
    etcd has compacted the version away);
  - `answer="http"`: `HTTP/1.1 410 Gone` with that `Status` as the body (what the API server
    sends for an expired list continuation, and proxies and aggregated API servers for a
    watch).
  The proxy writes these answers itself: the test control plane's watch cache keeps every
  version since it started (asked for `resourceVersion=1`, even after an etcd compaction, it
  answers with an empty stream), so the real server cannot be made to expire one on cue.
  `gone` counts the 410s sent. Later watch requests pass untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

Answer = Literal["event", "http"]
_HEAD_LIMIT = 1 << 20


def watched_resource(target: str) -> str:
    """The resource (plural) a request target watches, or "" for any other request:
    `/apis/batch/v1/namespaces/x/jobs?watch=true` -> `jobs`."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query))
    if query.get("watch") not in ("true", "1"):
        return ""
    return parts.path.rstrip("/").rsplit("/", 1)[-1]


def _expired_status(version: str) -> dict[str, object]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {version} ({int(version or 0) + 1})",
        "reason": "Expired",
        "code": 410,
    }


def gone_answer(target: str, answer: Answer) -> bytes:
    """The API server's answer to a watch from an expired resourceVersion (see above)."""
    version = dict(parse_qsl(urlsplit(target).query)).get("resourceVersion", "1")
    status = _expired_status(version if version.isdigit() else "1")
    if answer == "event":
        first = "HTTP/1.1 200 OK"
        body = json.dumps({"type": "ERROR", "object": status}).encode() + b"\n"
    else:
        first = "HTTP/1.1 410 Gone"
        body = json.dumps(status).encode()
    head = (
        f"{first}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


@dataclass(frozen=True)
class ProxyTLS:
    """The API server's serving certificate and key (the proxy presents them) and the CA
    that signed it (the proxy checks the upstream with it)."""

    certificate: Path
    key: Path
    ca: Path


@dataclass
class _Expiry:
    resources: frozenset[str]
    answer: Answer
    released: threading.Event = field(default_factory=threading.Event)


class HttpFaultProxy:
    """The HTTP mode (see the module docstring)."""

    def __init__(self, upstream_port: int, tls: ProxyTLS) -> None:
        self.upstream_port = upstream_port
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(str(tls.certificate), str(tls.key))
        self._server_tls.set_alpn_protocols(["http/1.1"])
        self._upstream_tls = ssl.create_default_context(cafile=str(tls.ca))
        self._upstream_tls.set_alpn_protocols(["http/1.1"])
        self._lock = threading.Lock()
        self._expiry: _Expiry | None = None
        self._streams: dict[asyncio.StreamWriter, str] = {}  # open watch streams: resource
        self.requests: list[str] = []  # "GET /apis/...?...", in arrival order
        self.held = 0  # watch requests held by the current expiry
        self.gone = 0  # 410s sent to the client
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="http-faultproxy", daemon=True
        )
        self._thread.start()
        ready.wait(30)
        self.port: int = self._port

    # --- faults -------------------------------------------------------------------------

    def expire_watches(self, resources: tuple[str, ...], answer: Answer) -> None:
        """Sever the open watch streams of `resources` (plurals) and hold their new watch
        requests until `release()` answers them with a 410 Gone."""
        with self._lock:
            self._expiry = _Expiry(frozenset(resources), answer)
            self.held = 0
            severed = [w for w, r in self._streams.items() if r in resources]
        for writer in severed:
            self._loop.call_soon_threadsafe(writer.transport.abort)

    def release(self) -> None:
        with self._lock:
            expiry, self._expiry = self._expiry, None
        if expiry is not None:
            expiry.released.set()

    def stop(self) -> None:
        self.release()
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- plumbing -----------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._server_tls)
        )
        self._port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            request_line, _, headers = head[:-4].partition(b"\r\n")
            method, target, version = request_line.decode("latin-1").split(" ", 2)
            resource = watched_resource(target)
            with self._lock:
                self.requests.append(f"{method} {target}")
                expiry = self._expiry if resource else None
                if expiry is not None and resource in expiry.resources:
                    self.held += 1
                else:
                    expiry = None
            if expiry is not None:
                while not expiry.released.is_set():
                    await asyncio.sleep(0.1)
                writer.write(gone_answer(target, expiry.answer))
                await writer.drain()
                with self._lock:
                    self.gone += 1
                return
            kept = [
                line
                for line in headers.split(b"\r\n")
                if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive")
            ]
            forwarded = b"\r\n".join(
                [f"{method} {target} {version}".encode("latin-1"), *kept, b"Connection: close"]
            )
            up_reader, upstream = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port, ssl=self._upstream_tls, server_hostname="127.0.0.1"
            )
            upstream.write(forwarded + b"\r\n\r\n")
            if resource:
                with self._lock:
                    self._streams[writer] = resource
            # The response ends when the server closes (Connection: close); a client that
            # gives up ends it too.
            await asyncio.wait(
                [
                    asyncio.ensure_future(self._pipe(reader, upstream)),
                    asyncio.ensure_future(self._pipe(up_reader, writer)),
                ],
                return_when=asyncio.FIRST_COMPLETED,
            )
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            with self._lock:
                self._streams.pop(writer, None)
            for side in (writer, upstream):
                if side is not None:
                    side.transport.abort()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    dead: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    """The TCP mode (see the module docstring)."""

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
