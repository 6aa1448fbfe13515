"""The `/metrics` endpoint on its own port (`driftwarden operator --metrics-port`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from .collector import FleetCollector
from .view import FleetView

DEFAULT_PORT: Final = 9808


def registry_for(view: FleetView) -> CollectorRegistry:
    """A registry of our own (not prometheus-client's global one) holding the fleet
    collector and the process, platform and GC collectors of the operator itself."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(view))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


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
    """Serve the view's metrics at http://address:port/metrics (any path answers, as
    prometheus-client does) in a daemon thread."""
    server, thread = start_http_server(port, address, registry=registry_for(view))
    return MetricsServer(server, thread)
