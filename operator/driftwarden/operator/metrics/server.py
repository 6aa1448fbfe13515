"""The `/metrics` endpoint on its own port (`driftwarden operator --metrics-port`).

The fleet's series are written by `TextRenderer` (the same samples as `FleetCollector`,
written straight to text with each monitor's lines cached while its state is unchanged),
followed by prometheus-client's own rendering of the operator process's collectors. Any
path answers, as prometheus-client's server does. Responses are gzip-compressed (level 1:
most of the size for little CPU) when the scraper accepts it, as Prometheus does.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, Final
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from .collector import FleetCollector, TextRenderer
from .view import FleetView

DEFAULT_PORT: Final = 9808
GZIP_LEVEL: Final = 1


def registry_for(view: FleetView) -> CollectorRegistry:
    """A registry (not prometheus-client's global one) with the fleet collector and the
    operator process's own collectors: for embedding the fleet in another exposition."""
    registry = process_registry()
    registry.register(FleetCollector(view))
    return registry


def process_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def metrics_app(view: FleetView) -> Callable[..., Iterable[bytes]]:
    """The WSGI application serving the view's exposition."""
    renderer = TextRenderer()
    process = process_registry()
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:  # one render at a time: the renderer's cache is not shared-writable
            body = renderer.render(view.snapshot()).encode()
        body += generate_latest(process)
        headers = [("Content-Type", CONTENT_TYPE_LATEST)]
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape is noise


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve(view: FleetView, port: int = DEFAULT_PORT, address: str = "0.0.0.0") -> MetricsServer:
    """Serve the view's metrics at http://address:port/metrics in a daemon thread."""
    server = make_server(
        address, port, metrics_app(view), server_class=_Server, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
