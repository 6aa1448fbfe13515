"""Glue between the operator and its metrics: feed the view, serve it, keep it pruned.

- `observe_monitor`: a ModelMonitor event updates the view; when the status names an
  evaluated run the view has no per-feature results for, they are read once from the
  results database (`--database-url`), which is how a restarted operator republishes every
  series without a new run.
- `start_metrics`: serves `/metrics` on `--metrics-port`, prunes the view against a fresh
  listing of the monitors every PRUNE_SECONDS (a deletion the watch missed), and counts
  the watch streams kopf reopens (its own log records, the only signal it gives).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.engine import Engine

from driftwarden.detectors.errors import DriftwardenError
from driftwarden.detectors.storage import get_run
from driftwarden.detectors.storage.reads import run_rows
from driftwarden.operator.k8s.errors import ApiError
from driftwarden.operator.k8s.objects import MODEL_MONITOR
from driftwarden.operator.metrics.server import MetricsServer, serve
from driftwarden.operator.metrics.view import FleetView, RunDetails, details_from_rows

if TYPE_CHECKING:
    from .glue import Operator

log = logging.getLogger("driftwarden.operator.metrics")

PRUNE_SECONDS: Final = 60.0
#: kopf's watcher logs these (at debug level) when it reopens a watch stream.
KOPF_WATCH_LOGGER: Final = "kopf._cogs.clients.watching"
_RESTART_MESSAGES: Final = ("Restarting the watch-stream", "is inactive, reconnecting")


def run_details(results: Engine, run_id: str) -> RunDetails | None:
    """A run's per-feature results and metrics from the results database (None when it
    cannot be read now)."""
    try:
        record = get_run(results, run_id)
        rows = run_rows(results, run_id)
    except DriftwardenError as exc:
        log.warning("results database: %s", exc)
        return None
    finished = record.finished_at if record is not None else None
    return details_from_rows(run_id, rows.drift, rows.performance, finished)


def observe_monitor(op: Operator, body: Mapping[str, Any]) -> None:
    view = op.metrics
    if view is None:
        return
    run_id = view.observe(body)
    if run_id is None or op.results is None:
        return
    meta = body.get("metadata") or {}
    view.attach(
        str(meta.get("namespace")), str(meta.get("name")), run_id, run_details(op.results, run_id)
    )


def prune(op: Operator, namespaces: tuple[str, ...]) -> None:
    """Drop from the view every monitor the API server no longer lists."""
    if op.metrics is None or not len(op.metrics):
        return  # nothing to prune (a follower's view stays empty): no listing
    present = []
    for namespace in namespaces or (None,):
        for item in op.cluster.list(MODEL_MONITOR, namespace):
            meta = item.get("metadata") or {}
            present.append(
                (str(meta.get("namespace")), str(meta.get("name")), str(meta.get("uid")))
            )
    dropped = op.metrics.prune(present)
    if dropped:
        log.info("metrics: %d deleted monitor(s) pruned", dropped)


class _WatchRestarts(logging.Filter):
    """Counts kopf's watch-stream restarts; passes on only what the log level shows."""

    def __init__(self, view: FleetView, level: int) -> None:
        super().__init__()
        self.view, self.level = view, level

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(text in message for text in _RESTART_MESSAGES):
            self.view.count_watch_restart()
        return record.levelno >= self.level


def count_watch_restarts(view: FleetView) -> None:
    watching = logging.getLogger(KOPF_WATCH_LOGGER)
    level = watching.getEffectiveLevel()
    watching.addFilter(_WatchRestarts(view, level))
    watching.setLevel(logging.DEBUG)


def start_metrics(
    op: Operator, namespaces: tuple[str, ...], port: int, address: str = "0.0.0.0"
) -> MetricsServer | None:
    """Serve the view's metrics and keep it pruned. A port that cannot be bound is logged
    and the operator runs on without metrics (Prometheus then reports the target down)."""
    view = op.metrics
    if view is None:
        return None
    count_watch_restarts(view)
    try:
        server = serve(view, port, address)
    except OSError as exc:
        log.error(
            "metrics: cannot listen on %s:%d (%s): /metrics is not served", address, port, exc
        )
        return None
    log.info("metrics: serving http://%s:%d/metrics", address, server.port)

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(PRUNE_SECONDS):
            try:
                prune(op, namespaces)
            except ApiError as exc:
                log.warning("metrics: listing monitors to prune: %s", exc)

    threading.Thread(target=loop, name="metrics-prune", daemon=True).start()
    return server
