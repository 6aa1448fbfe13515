"""The prometheus-client collector: metric families built at scrape time from the view.

Nothing is registered per monitor and nothing is kept between scrapes: each scrape takes
one snapshot of the `FleetView` and renders it, so a monitor the view no longer holds has
no series, and a restarted operator publishes everything again as soon as its initial
listing has filled the view. The names and labels are documented in docs/metrics.md (the
dashboard and the shipped rules are written against them; tests/unit/test_metrics.py keeps
that page and `METRICS` equal).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Final

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from driftwarden.detectors.config import Severity

from .view import FleetSnapshot, FleetView, MonitorState, rank_features

SEVERITY_VALUE: Final = {Severity.NONE: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
RUN_OUTCOMES: Final = ("Succeeded", "InsufficientData", "InvalidInput", "Failed")

#: name -> (type, help); names of counters carry their `_total`.
METRICS: Final[dict[str, tuple[str, str]]] = {
    "driftwarden_monitor_severity": (
        "gauge",
        "Overall verdict of the last evaluated run: 0 none, 1 warning, 2 critical.",
    ),
    "driftwarden_monitor_severity_state": (
        "gauge",
        "1 for the monitor's current severity (none, warning, critical), 0 for the others.",
    ),
    "driftwarden_monitor_health_score": ("gauge", "Health score of the last evaluated run, 0-100."),
    "driftwarden_monitor_drifted_features": (
        "gauge",
        "Features that drifted in the last evaluated run.",
    ),
    "driftwarden_monitor_features": ("gauge", "Features evaluated in the last evaluated run."),
    "driftwarden_monitor_drift_severity": (
        "gauge",
        "Drift verdict of the last evaluated run (the DriftDetected condition): 0 none, "
        "1 warning, 2 critical.",
    ),
    "driftwarden_monitor_created_timestamp_seconds": (
        "gauge",
        "Unix time the ModelMonitor was created.",
    ),
    "driftwarden_monitor_performance_severity": (
        "gauge",
        "Performance verdict of the last evaluated run (needs labels): 0 none, 1 warning, "
        "2 critical.",
    ),
    "driftwarden_monitor_last_success_timestamp_seconds": (
        "gauge",
        "Unix time the last successful (evaluated) run finished.",
    ),
    "driftwarden_monitor_last_run_duration_seconds": ("gauge", "Duration of the last run."),
    "driftwarden_monitor_runs_total": (
        "counter",
        "Runs ingested by this operator process, by outcome (Succeeded, InsufficientData, "
        "InvalidInput, Failed).",
    ),
    "driftwarden_monitor_last_run_outcome": (
        "gauge",
        "1, labelled with the last run's outcome and its LastRunSucceeded reason.",
    ),
    "driftwarden_monitor_schedule_interval_seconds": (
        "gauge",
        "Longest gap between consecutive scheduled runs (absent while suspended).",
    ),
    "driftwarden_monitor_feature_series_dropped": (
        "gauge",
        "Features of the last evaluated run left without series by the per-monitor cap.",
    ),
    "driftwarden_monitor_feature_results_complete": (
        "gauge",
        "1 when the feature series hold every feature (read from the results database), 0 "
        "when they hold only the status's top drifted features.",
    ),
    "driftwarden_feature_statistic": (
        "gauge",
        "A method's statistic for a feature in the last evaluated run.",
    ),
    "driftwarden_feature_p_value": (
        "gauge",
        "A method's p-value for a feature (tests that have one).",
    ),
    "driftwarden_feature_threshold": ("gauge", "The threshold the statistic was compared with."),
    "driftwarden_feature_drift": ("gauge", "1 when the method found drift in the feature, else 0."),
    "driftwarden_feature_severity": (
        "gauge",
        "The method's verdict for the feature: 0 none, 1 warning, 2 critical.",
    ),
    "driftwarden_performance_metric": (
        "gauge",
        "A performance metric on the current window (needs labels).",
    ),
    "driftwarden_retrain_decisions_total": (
        "counter",
        "Retrain decisions of RetrainPolicies, by decision (trigger, skip) and reason.",
    ),
    "driftwarden_retrain_runs_total": (
        "counter",
        "Ended RetrainRuns by outcome (Succeeded, JobFailed, Rejected, Denied).",
    ),
    "driftwarden_operator_monitors": ("gauge", "ModelMonitors in the operator's view."),
    "driftwarden_operator_reconcile_errors_total": (
        "counter",
        "Reconciles and ingests that failed on an API error (each is retried).",
    ),
    "driftwarden_operator_watch_restarts_total": (
        "counter",
        "Watch streams the operator reopened (expired resourceVersion or inactivity).",
    ),
    "driftwarden_operator_queue_depth": ("gauge", "Work items waiting in the retry queue."),
}


def _family(name: str) -> Metric:
    kind, text = METRICS[name]
    if kind == "counter":
        return CounterMetricFamily(name.removesuffix("_total"), text)
    return GaugeMetricFamily(name, text)


def _labels(state: MonitorState) -> dict[str, str]:
    labels = {
        "namespace": state.namespace,
        "monitor": state.name,
        "model": state.model,
        "model_version": state.model_version,
    }
    labels.update(state.labels)
    return labels


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def render(snapshot: FleetSnapshot) -> list[Metric]:
    """Every metric family of one snapshot (pure: used by the collector and the tests)."""
    fam = {name: _family(name) for name in METRICS}

    def add(name: str, labels: dict[str, str], value: float) -> None:
        fam[name].add_sample(name, labels, value)  # counters' names carry their _total

    for state in snapshot.monitors:
        base = _labels(state)
        if state.severity is not None:
            add("driftwarden_monitor_severity", base, SEVERITY_VALUE[state.severity])
            for severity in Severity:
                value = 1.0 if severity == state.severity else 0.0
                add(
                    "driftwarden_monitor_severity_state", {**base, "severity": str(severity)}, value
                )
        if state.drift_severity is not None:
            add("driftwarden_monitor_drift_severity", base, SEVERITY_VALUE[state.drift_severity])
        if state.created is not None:
            add("driftwarden_monitor_created_timestamp_seconds", base, state.created.timestamp())
        if state.performance_severity is not None:
            add(
                "driftwarden_monitor_performance_severity",
                base,
                SEVERITY_VALUE[state.performance_severity],
            )
        if _finite(state.health_score):
            add("driftwarden_monitor_health_score", base, state.health_score or 0.0)
        if state.drifted_features is not None:
            add("driftwarden_monitor_drifted_features", base, state.drifted_features)
        if state.total_features is not None:
            add("driftwarden_monitor_features", base, state.total_features)
        if state.last_success is not None:
            add(
                "driftwarden_monitor_last_success_timestamp_seconds",
                base,
                state.last_success.timestamp(),
            )
        if state.last_duration is not None:
            add("driftwarden_monitor_last_run_duration_seconds", base, state.last_duration)
        counts = snapshot.runs.get(state.key, {})
        for outcome in sorted(set(RUN_OUTCOMES) | set(counts)):
            add(
                "driftwarden_monitor_runs_total",
                {**base, "outcome": outcome},
                counts.get(outcome, 0),
            )
        if state.last_outcome is not None:
            labels = {**base, "outcome": state.last_outcome, "reason": state.last_reason or ""}
            add("driftwarden_monitor_last_run_outcome", labels, 1.0)
        if state.schedule_interval is not None:
            add("driftwarden_monitor_schedule_interval_seconds", base, state.schedule_interval)
        details = state.details
        if details is None:
            continue
        rows, dropped = rank_features(details.features, snapshot.feature_cap)
        add("driftwarden_monitor_feature_series_dropped", base, dropped)
        add("driftwarden_monitor_feature_results_complete", base, 1.0 if details.complete else 0.0)
        for row in rows:
            labels = {**base, "feature": row.feature, "method": row.method}
            if _finite(row.statistic):
                add("driftwarden_feature_statistic", labels, row.statistic or 0.0)
            if _finite(row.p_value):
                add("driftwarden_feature_p_value", labels, row.p_value or 0.0)
            if _finite(row.threshold):
                add("driftwarden_feature_threshold", labels, row.threshold or 0.0)
            add("driftwarden_feature_drift", labels, 1.0 if row.drift else 0.0)
            add("driftwarden_feature_severity", labels, SEVERITY_VALUE[row.severity])
        for metric, value in details.performance:
            add("driftwarden_performance_metric", {**base, "metric": metric}, value)

    for (namespace, policy, decision, reason), count in sorted(snapshot.retrain_decisions.items()):
        labels = {"namespace": namespace, "policy": policy, "decision": decision, "reason": reason}
        add("driftwarden_retrain_decisions_total", labels, count)
    for (namespace, policy, outcome), count in sorted(snapshot.retrain_runs.items()):
        labels = {"namespace": namespace, "policy": policy, "outcome": outcome}
        add("driftwarden_retrain_runs_total", labels, count)
    add("driftwarden_operator_monitors", {}, len(snapshot.monitors))
    add("driftwarden_operator_reconcile_errors_total", {}, snapshot.reconcile_errors)
    add("driftwarden_operator_watch_restarts_total", {}, snapshot.watch_restarts)
    add("driftwarden_operator_queue_depth", {}, snapshot.queue_depth)
    return list(fam.values())


class FleetCollector(Collector):
    """Renders the view at every scrape."""

    def __init__(self, view: FleetView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        yield from render(self.view.snapshot())
