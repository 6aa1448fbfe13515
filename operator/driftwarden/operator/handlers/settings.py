"""kopf configured for production.

- Our own finalizer and annotation prefix (`driftwarden.io`); progress and diff-base kept in
  `status.operatorState`, a field the CRD declares, so nothing of kopf's lands in
  `metadata.annotations` (Argo CD and Flux would show a diff). The handlers are level-based
  event handlers, so kopf has nothing to store in practice; the storages only make sure.
- Watches: an inactivity timeout (a silently stalled stream reconnects), server and client
  timeouts, connect timeouts; requests: timeouts and bounded backoffs.
- Bounded concurrency: worker threads for the handlers, per-object workers, Event posting.
- Server-side label selectors on the Jobs and Pods watches: only ours are ever listed.
- No timers or daemons: the CronJob schedules.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import kopf

from driftwarden.operator.reconcile.naming import LABEL_MANAGED_BY, MANAGED_BY

PREFIX: Final = "driftwarden.io"
FINALIZER: Final = f"{PREFIX}/finalizer"
STATE_FIELD: Final = "status.operatorState"
OUR_OBJECTS: Final = f"{LABEL_MANAGED_BY}={MANAGED_BY}"


@dataclass(frozen=True)
class Tuning:
    """The operator's concurrency and timeout knobs (command-line options)."""

    workers: int = 8
    watch_inactivity_seconds: float = 70.0
    watch_server_timeout_seconds: int = 300  # sent as timeoutSeconds: an integer
    request_timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0


def operator_settings(tuning: Tuning, reporting_instance: str) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    persistence = settings.persistence
    persistence.finalizer = FINALIZER
    persistence.progress_storage = kopf.StatusProgressStorage(
        field=f"{STATE_FIELD}.progress", touch_field=f"{STATE_FIELD}.touch"
    )
    persistence.diffbase_storage = kopf.StatusDiffBaseStorage(
        field=f"{STATE_FIELD}.lastHandledConfiguration"
    )

    watching = settings.watching
    watching.inactivity_timeout = tuning.watch_inactivity_seconds
    watching.server_timeout = tuning.watch_server_timeout_seconds
    watching.client_timeout = tuning.watch_server_timeout_seconds + 30
    watching.connect_timeout = tuning.connect_timeout_seconds
    watching.label_selectors["batch", "jobs"] = OUR_OBJECTS
    watching.label_selectors["batch", "cronjobs"] = OUR_OBJECTS
    watching.label_selectors["", "pods"] = OUR_OBJECTS

    networking = settings.networking
    networking.request_timeout = tuning.request_timeout_seconds
    networking.connect_timeout = tuning.connect_timeout_seconds
    networking.error_backoffs = (1, 2, 5, 10)

    settings.execution.executor = ThreadPoolExecutor(
        max_workers=tuning.workers, thread_name_prefix="reconcile"
    )
    # A per-object worker (an asyncio task, cheap) waits `idle_timeout` for more events of
    # its object before it ends, holding one of `worker_limit` slots: with kopf's 5 s and 32
    # slots a fleet applied at once was reconciled at 32 / 5 s = 6 monitors/s, the operator
    # idle 89% of the time (benchmarks/bench_fleet.py). The API concurrency stays bounded by
    # the handler threads (`execution.executor`, `workers`).
    settings.queueing.worker_limit = max(256, tuning.workers * 32)
    settings.queueing.idle_timeout = 0.5
    settings.posting.enabled = False  # our Events come from the adapters, on transitions
    settings.posting.worker_limit = 4
    settings.posting.reporting_component = "driftwarden-operator"
    settings.posting.reporting_instance = reporting_instance
    settings.posting.level = logging.WARNING
    settings.peering.standalone = True
    settings.scanning.disabled = True  # our CRDs are installed before the operator starts
    return settings


#: Seconds between restarts of the watches after one of them failed (see `main.supervised`),
#: the last one repeated; back to the first after STABLE_SECONDS without a failure.
RESTART_BACKOFF: Final = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_SECONDS: Final = 60.0


def restart_delay(failures: int) -> float:
    """The pause before the `failures`-th consecutive restart (1-based)."""
    return RESTART_BACKOFF[min(max(failures, 1), len(RESTART_BACKOFF)) - 1]
