"""The operator's view of its monitors, as the metrics publish it.

The handlers feed it: every watch event of a ModelMonitor (the initial listing after a
start included) replaces that monitor's entry with what its object says now (spec labels,
schedule, status verdict and last run); a deleted monitor is forgotten, and a periodic
listing prunes whatever the watch missed (`prune`). The per-feature results of the last
evaluated run are attached from the results database when the operator has one (else the
status's top drifted features stand in, marked incomplete). Nothing here survives a
restart, and nothing needs to: the initial listing and the database republish it all.

`FleetView.snapshot()` is what one scrape reads: a consistent copy taken under one lock.
Pure apart from that lock; no prometheus-client here (see `collector.py`).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

from pydantic import ValidationError

from driftwarden.detectors.config import Severity
from driftwarden.detectors.storage.types import DriftResultRow, PerformanceRow
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.cron import parse_cron
from driftwarden.operator.api.modelmonitor import ModelMonitor, ModelMonitorStatus

#: Feature series per monitor, by default (`--metrics-feature-cap`): the features ranked
#: first by `rank_features` keep their series, every method of each; the rest are counted
#: in driftwarden_monitor_feature_series_dropped.
DEFAULT_FEATURE_CAP: Final = 50

#: How often a monitor whose results could not be read from the database is tried again.
DETAILS_RETRY_SECONDS: Final = 60.0

#: Consecutive scheduled times examined for the schedule interval (the longest gap wins,
#: so a weekday schedule's weekend gap counts).
SCHEDULE_SAMPLE: Final = 16

#: Label names the metrics set themselves; a monitor's alerting label of the same name is
#: published as `label_<name>` instead of overriding them.
OWN_LABELS: Final = frozenset(
    {
        "namespace",
        "monitor",
        "model",
        "model_version",
        "feature",
        "method",
        "metric",
        "outcome",
        "reason",
        "severity",
        "policy",
        "decision",
        "job",
        "instance",
        "alertname",
    }
)

# The LastRunSucceeded reasons that mean the run refused its input (exit 2).
_INVALID_REASONS: Final = frozenset(
    {
        c.INVALID_INPUT,
        "InvalidRunConfig",
        "TableNotFound",
        "ColumnNotFound",
        "AuthenticationFailed",
        c.POD_FAILURE_POLICY,
    }
)
_LABEL_NAME_BAD = re.compile(r"[^a-zA-Z0-9_]")

MonitorKey = tuple[str, str]  # (namespace, name)


def sanitize_label_name(name: str) -> str:
    """A Prometheus label name from any text: other characters become `_`, a leading
    digit gets a `_` prefix, and names reserved by Prometheus (`__*`) lose the prefix."""
    text = _LABEL_NAME_BAD.sub("_", name) or "_"
    if text[0].isdigit():
        text = "_" + text
    while text.startswith("__"):
        text = text[1:]
    return text


def extra_labels(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A monitor's alerting labels as metric labels, sorted: names sanitised, a name the
    metrics own becomes `label_<name>`, and of two that sanitise alike the first (sorted by
    original name) wins."""
    out: dict[str, str] = {}
    for key in sorted(labels):
        name = sanitize_label_name(key)
        if name in OWN_LABELS:
            name = f"label_{name}"
        out.setdefault(name, str(labels[key]))
    return tuple(sorted(out.items()))


def outcome_of_reason(reason: str) -> str:
    """The run outcome (Succeeded, InsufficientData, InvalidInput, Failed) a
    LastRunSucceeded reason stands for (docs/operator.md's table)."""
    if reason == c.RUN_SUCCEEDED:
        return "Succeeded"
    if reason == c.INSUFFICIENT_DATA:
        return "InsufficientData"
    if reason in _INVALID_REASONS:
        return "InvalidInput"
    return "Failed"


@lru_cache(maxsize=1024)
def _schedule_interval(cron: str, time_zone: str, hour: int) -> float | None:
    try:
        schedule = parse_cron(cron)
        at = datetime.fromtimestamp(hour * 3600, UTC)
        times = [schedule.next_after(at, time_zone)]
        for _ in range(SCHEDULE_SAMPLE):
            times.append(schedule.next_after(times[-1], time_zone))
    except (ValueError, KeyError):
        return None
    return max((b - a).total_seconds() for a, b in itertools.pairwise(times))


def schedule_interval(cron: str, time_zone: str, now: datetime) -> float | None:
    """The longest gap in seconds between consecutive scheduled times of `cron` over the
    next SCHEDULE_SAMPLE runs after `now` (cached per hour), or None when it cannot run."""
    return _schedule_interval(cron, time_zone, int(now.timestamp()) // 3600)


@dataclass(frozen=True, slots=True)
class FeatureSeries:
    """One feature x method of the last evaluated run."""

    feature: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drift: bool
    severity: Severity


@dataclass(frozen=True, slots=True)
class RunDetails:
    """The per-feature results and performance metrics of one evaluated run.

    `complete` is False when they come from the status (its top drifted features only,
    without p-values or thresholds) because no results database was readable."""

    run_id: str
    features: tuple[FeatureSeries, ...]
    performance: tuple[tuple[str, float], ...]
    complete: bool
    finished_at: datetime | None = None


def _rank_key(row: FeatureSeries) -> tuple[int, int, float]:
    ratio = 0.0
    if row.statistic is not None and math.isfinite(row.statistic):
        threshold = row.threshold
        if threshold is not None and math.isfinite(threshold) and threshold > 0:
            ratio = row.statistic / threshold
        else:
            ratio = row.statistic
    return (row.severity.rank, int(row.drift), ratio)


def rank_features(rows: Sequence[FeatureSeries], cap: int) -> tuple[list[FeatureSeries], int]:
    """Keep the series of at most `cap` features: ranked by their worst method's severity,
    then drift flag, then statistic relative to its threshold (the statistic itself when
    there is none); every method of a kept feature stays. Returns (kept rows in input order,
    number of features left out). `cap` <= 0 keeps everything."""
    best: dict[str, tuple[int, int, float]] = {}
    for row in rows:
        key = _rank_key(row)
        if row.feature not in best or key > best[row.feature]:
            best[row.feature] = key
    if cap <= 0 or len(best) <= cap:
        return list(rows), 0
    ordered = sorted(best, key=lambda f: (best[f], f), reverse=True)
    kept = set(ordered[:cap])
    return [row for row in rows if row.feature in kept], len(best) - cap


def details_from_rows(
    run_id: str,
    drift: Iterable[DriftResultRow],
    performance: Iterable[PerformanceRow],
    finished_at: datetime | None,
) -> RunDetails:
    """A run's details as the results database holds them (complete)."""
    features = tuple(
        FeatureSeries(
            feature=row.feature,
            method=row.method,
            statistic=row.statistic,
            p_value=row.p_value,
            threshold=row.threshold,
            drift=row.drift_detected,
            severity=row.severity,
        )
        for row in drift
    )
    metrics = tuple(
        (row.metric, float(row.value))
        for row in performance
        if row.split == "current" and row.value is not None and math.isfinite(row.value)
    )
    return RunDetails(run_id, features, metrics, complete=True, finished_at=finished_at)


def details_from_status(run_id: str, status: ModelMonitorStatus) -> RunDetails:
    """The stand-in when no database is readable: the status's top drifted features and
    headline performance metric."""
    features = tuple(
        FeatureSeries(
            feature=f.name,
            method=f.method,
            statistic=f.statistic,
            p_value=None,
            threshold=None,
            drift=True,
            severity=f.severity,
        )
        for f in status.top_drifted_features
    )
    metrics: tuple[tuple[str, float], ...] = ()
    if status.performance is not None:
        metrics = ((status.performance.metric, status.performance.current),)
    finished = None
    if status.last_run is not None and status.last_run.id == run_id:
        finished = status.last_run.completion_time
    return RunDetails(run_id, features, metrics, complete=False, finished_at=finished)


@dataclass(frozen=True, slots=True)
class MonitorState:
    """What one scrape publishes for one monitor."""

    namespace: str
    name: str
    uid: str
    model: str
    model_version: str
    labels: tuple[tuple[str, str], ...]
    schedule_interval: float | None
    severity: Severity | None
    drift_severity: Severity | None
    performance_severity: Severity | None
    health_score: float | None
    drifted_features: int | None
    total_features: int | None
    last_run_id: str | None
    last_outcome: str | None
    last_reason: str | None
    last_duration: float | None
    last_success: datetime | None
    evaluated_run_id: str | None
    created: datetime | None = None
    details: RunDetails | None = None
    details_tried: float = 0.0  # monotonic time of the last failed attempt to read them

    @property
    def key(self) -> MonitorKey:
        return (self.namespace, self.name)


def _last_run(status: ModelMonitorStatus) -> tuple[str | None, str | None, float | None]:
    """(outcome, reason, duration) of the status's last run."""
    last = status.last_run
    if last is None:
        return None, None, None
    condition = status.condition(c.LAST_RUN_SUCCEEDED)
    reason = condition.reason if condition is not None else c.RUN_FAILED
    if condition is not None and condition.status == ConditionStatus.UNKNOWN:
        return None, None, None
    duration = None
    if last.start_time is not None and last.completion_time is not None:
        duration = max(0.0, (last.completion_time - last.start_time).total_seconds())
    return outcome_of_reason(reason), reason, duration


_DRIFT_REASONS: Final = {
    c.CRITICAL_DRIFT: Severity.CRITICAL,
    c.WARNING_DRIFT: Severity.WARNING,
    c.NO_DRIFT: Severity.NONE,
}


def _drift_severity(status: ModelMonitorStatus) -> Severity | None:
    """The DriftDetected condition's verdict (drift alone, not performance or quality)."""
    condition = status.condition(c.DRIFT_DETECTED)
    if condition is None or condition.status == ConditionStatus.UNKNOWN:
        return None
    return _DRIFT_REASONS.get(condition.reason)


def _performance_severity(status: ModelMonitorStatus) -> Severity | None:
    condition = status.condition(c.PERFORMANCE_DEGRADED)
    if condition is None or condition.status == ConditionStatus.UNKNOWN:
        return None
    if status.performance is not None:
        return status.performance.severity
    return (
        Severity.CRITICAL
        if condition.reason == c.PERFORMANCE_CRITICAL
        else (Severity.WARNING if condition.status == ConditionStatus.TRUE else Severity.NONE)
    )


def _failing_since(status: ModelMonitorStatus) -> datetime | None:
    """When the last success is unknown (no results database, a restart after failed
    runs): the time LastRunSucceeded turned False, at most one schedule interval after the
    last success, so the stale rule fires at most one interval late."""
    condition = status.condition(c.LAST_RUN_SUCCEEDED)
    if status.last_run is None or condition is None:
        return None
    if condition.status != ConditionStatus.FALSE:
        return None
    return condition.last_transition_time


def monitor_state(
    monitor: ModelMonitor, previous: MonitorState | None, now: datetime
) -> MonitorState:
    """A monitor's entry from its object, keeping what the previous entry of the same
    monitor (same UID) already knew: the details of the same evaluated run and the time of
    the last success."""
    meta, spec, status = monitor.metadata, monitor.spec, monitor.status
    if previous is not None and previous.uid != meta.uid:
        previous = None
    outcome, reason, duration = _last_run(status)
    evaluated = status.last_evaluated_run_id
    details = None
    tried = 0.0
    if (
        previous is not None
        and previous.details is not None
        and (previous.details.run_id == evaluated)
    ):
        details, tried = previous.details, previous.details_tried
    last_success = None
    if details is not None and details.finished_at is not None:
        last_success = details.finished_at
    elif status.last_run is not None and evaluated and status.last_run.id == evaluated:
        last_success = status.last_run.completion_time
    elif previous is not None and (previous.evaluated_run_id == evaluated or evaluated is None):
        last_success = previous.last_success  # a failed or data-starved run changes nothing
    if last_success is None:
        last_success = _failing_since(status)
    interval = None
    if not spec.schedule.suspend:
        interval = schedule_interval(spec.schedule.cron, spec.schedule.time_zone, now)
    return MonitorState(
        namespace=str(meta.namespace or ""),
        name=meta.name,
        uid=meta.uid,
        model=spec.model.name,
        model_version=spec.model.version or "",
        labels=extra_labels(spec.alerting.labels),
        schedule_interval=interval,
        severity=status.severity if evaluated else None,
        drift_severity=_drift_severity(status),
        performance_severity=_performance_severity(status),
        health_score=None if status.health_score is None else float(status.health_score),
        drifted_features=status.drifted_features,
        total_features=status.total_features,
        last_run_id=status.last_run.id if status.last_run else None,
        last_outcome=outcome,
        last_reason=reason,
        last_duration=duration,
        last_success=last_success,
        evaluated_run_id=evaluated,
        created=meta.creation_timestamp,
        details=details,
        details_tried=tried,
    )


@dataclass(frozen=True)
class FleetSnapshot:
    """Everything one scrape publishes, copied under the view's lock."""

    monitors: tuple[MonitorState, ...]
    runs: Mapping[MonitorKey, Mapping[str, int]]
    retrain_decisions: Mapping[tuple[str, str, str, str], int]
    retrain_runs: Mapping[tuple[str, str, str], int]
    reconcile_errors: int
    watch_restarts: int
    queue_depth: int
    feature_cap: int


@dataclass
class FleetView:
    """The operator's live view of its monitors (thread-safe)."""

    feature_cap: int = DEFAULT_FEATURE_CAP
    queue_depth: Callable[[], int] = field(default=lambda: 0)
    clock: Callable[[], float] = field(default=time.monotonic)
    _monitors: dict[MonitorKey, MonitorState] = field(default_factory=dict)
    _runs: dict[MonitorKey, Counter[str]] = field(default_factory=dict)
    _retrain_decisions: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    _retrain_runs: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _reconcile_errors: int = 0
    _watch_restarts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, obj: Mapping[str, Any], now: datetime | None = None) -> str | None:
        """A ModelMonitor as the API server sent it. Returns the run id whose details should
        be read from the results database now (None when known, or tried too recently)."""
        try:
            monitor = ModelMonitor.model_validate(obj)
        except ValidationError:  # an unreadable spec is Stalled: nothing to publish
            meta = obj.get("metadata") or {}
            self.forget(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            return None
        key = (str(monitor.metadata.namespace or ""), monitor.metadata.name)
        with self._lock:
            state = monitor_state(monitor, self._monitors.get(key), now or datetime.now(UTC))
            if state.details is None and state.evaluated_run_id:
                stand_in = details_from_status(state.evaluated_run_id, monitor.status)
                state = replace(state, details=stand_in)
            old = self._monitors.get(key)
            if old is not None and old == state:
                state = old  # the same object: its rendered lines stay cached
            self._monitors[key] = state
            self._runs.setdefault(key, Counter())
            details = state.details
            if details is None or details.complete:
                return None
            if self.clock() - state.details_tried < DETAILS_RETRY_SECONDS:
                return None
            return details.run_id

    def attach(self, namespace: str, name: str, run_id: str, details: RunDetails | None) -> None:
        """The details of `run_id` as read from the database; None when the read failed
        (tried again after DETAILS_RETRY_SECONDS)."""
        with self._lock:
            state = self._monitors.get((namespace, name))
            if state is None or state.evaluated_run_id != run_id:
                return
            if details is None:
                self._monitors[state.key] = replace(state, details_tried=self.clock())
                return
            success = details.finished_at or state.last_success
            self._monitors[state.key] = replace(state, details=details, last_success=success)

    def forget(self, namespace: str, name: str) -> None:
        """The monitor was deleted: its series go at the next scrape."""
        with self._lock:
            self._monitors.pop((namespace, name), None)
            self._runs.pop((namespace, name), None)

    def prune(self, present: Iterable[tuple[str, str, str]]) -> int:
        """Keep only the monitors the cluster lists now, as (namespace, name, uid); returns
        how many were dropped."""
        keep = {(ns, name): uid for ns, name, uid in present}
        with self._lock:
            gone = [k for k, s in self._monitors.items() if keep.get(k) != s.uid]
            for key in gone:
                self._monitors.pop(key, None)
                self._runs.pop(key, None)
            return len(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._monitors)

    def count_run(self, namespace: str, name: str, outcome: str) -> None:
        """A run of this monitor ended (counted once per ingested Job)."""
        with self._lock:
            self._runs.setdefault((namespace, name), Counter())[outcome] += 1

    def count_retrain_decision(
        self, namespace: str, policy: str, decision: str, reason: str
    ) -> None:
        """A RetrainPolicy decided (decision: trigger or skip; reason: its reason)."""
        with self._lock:
            self._retrain_decisions[(namespace, policy, decision, reason)] += 1

    def count_retrain_run(self, namespace: str, policy: str, outcome: str) -> None:
        """A RetrainRun ended: Succeeded, JobFailed, Rejected (validation) or Denied."""
        with self._lock:
            self._retrain_runs[(namespace, policy, outcome)] += 1

    def count_reconcile_error(self) -> None:
        with self._lock:
            self._reconcile_errors += 1

    def count_watch_restart(self) -> None:
        with self._lock:
            self._watch_restarts += 1

    def snapshot(self) -> FleetSnapshot:
        depth = self.queue_depth()
        with self._lock:
            runs = {key: dict(counts) for key, counts in self._runs.items()}
            return FleetSnapshot(
                monitors=tuple(self._monitors.values()),
                runs=runs,
                retrain_decisions=dict(self._retrain_decisions),
                retrain_runs=dict(self._retrain_runs),
                reconcile_errors=self._reconcile_errors,
                watch_restarts=self._watch_restarts,
                queue_depth=depth,
                feature_cap=self.feature_cap,
            )
