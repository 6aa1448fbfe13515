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
from collections.abc import Iterator, Mapping
from typing import Final

from prometheus_client import utils as prometheus_utils
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from driftwarden.detectors.config import Severity

from .view import FleetSnapshot, FleetView, MonitorKey, MonitorState, rank_features

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


Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]


def _family(name: str) -> Metric:
    kind, text = METRICS[name]
    if kind == "counter":
        return CounterMetricFamily(name.removesuffix("_total"), text)
    return GaugeMetricFamily(name, text)


def base_labels(state: MonitorState) -> Labels:
    """namespace, monitor, model, model_version, then the monitor's alerting labels."""
    return (
        ("namespace", state.namespace),
        ("monitor", state.name),
        ("model", state.model),
        ("model_version", state.model_version),
        *state.labels,
    )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def monitor_samples(state: MonitorState, feature_cap: int) -> list[Sample]:
    """Every sample of one monitor except its run counters (which change without the
    monitor's state changing): a pure function of the state, so its rendering can be
    cached for as long as the state object lives."""
    base = base_labels(state)
    out: list[Sample] = []

    def add(name: str, value: float, *extra: tuple[str, str]) -> None:
        out.append((name, (*base, *extra), float(value)))

    if state.severity is not None:
        add("driftwarden_monitor_severity", SEVERITY_VALUE[state.severity])
        for severity in Severity:
            value = 1.0 if severity == state.severity else 0.0
            add("driftwarden_monitor_severity_state", value, ("severity", str(severity)))
    if state.drift_severity is not None:
        add("driftwarden_monitor_drift_severity", SEVERITY_VALUE[state.drift_severity])
    if state.created is not None:
        add("driftwarden_monitor_created_timestamp_seconds", state.created.timestamp())
    if state.performance_severity is not None:
        add("driftwarden_monitor_performance_severity", SEVERITY_VALUE[state.performance_severity])
    if state.health_score is not None and _finite(state.health_score):
        add("driftwarden_monitor_health_score", state.health_score)
    if state.drifted_features is not None:
        add("driftwarden_monitor_drifted_features", state.drifted_features)
    if state.total_features is not None:
        add("driftwarden_monitor_features", state.total_features)
    if state.last_success is not None:
        add("driftwarden_monitor_last_success_timestamp_seconds", state.last_success.timestamp())
    if state.last_duration is not None:
        add("driftwarden_monitor_last_run_duration_seconds", state.last_duration)
    if state.last_outcome is not None:
        outcome = (("outcome", state.last_outcome), ("reason", state.last_reason or ""))
        add("driftwarden_monitor_last_run_outcome", 1.0, *outcome)
    if state.schedule_interval is not None:
        add("driftwarden_monitor_schedule_interval_seconds", state.schedule_interval)
    details = state.details
    if details is None:
        return out
    rows, dropped = rank_features(details.features, feature_cap)
    add("driftwarden_monitor_feature_series_dropped", dropped)
    add("driftwarden_monitor_feature_results_complete", 1.0 if details.complete else 0.0)
    for row in rows:
        which = (("feature", row.feature), ("method", row.method))
        if row.statistic is not None and _finite(row.statistic):
            add("driftwarden_feature_statistic", row.statistic, *which)
        if row.p_value is not None and _finite(row.p_value):
            add("driftwarden_feature_p_value", row.p_value, *which)
        if row.threshold is not None and _finite(row.threshold):
            add("driftwarden_feature_threshold", row.threshold, *which)
        add("driftwarden_feature_drift", 1.0 if row.drift else 0.0, *which)
    for metric, value in details.performance:
        add("driftwarden_performance_metric", value, ("metric", metric))
    return out


def run_samples(state: MonitorState, counts: Mapping[str, int]) -> list[Sample]:
    """The monitor's run counters, every outcome present (0 until it happens)."""
    base = base_labels(state)
    return [
        (
            "driftwarden_monitor_runs_total",
            (*base, ("outcome", outcome)),
            float(counts.get(outcome, 0)),
        )
        for outcome in sorted(set(RUN_OUTCOMES) | set(counts))
    ]


def fleet_samples(snapshot: FleetSnapshot) -> list[Sample]:
    """The retrain counters and the operator's own health."""
    out: list[Sample] = []
    for (namespace, policy, decision, reason), count in sorted(snapshot.retrain_decisions.items()):
        labels = (
            ("namespace", namespace),
            ("policy", policy),
            ("decision", decision),
            ("reason", reason),
        )
        out.append(("driftwarden_retrain_decisions_total", labels, float(count)))
    for (namespace, policy, outcome), count in sorted(snapshot.retrain_runs.items()):
        run_labels: Labels = (("namespace", namespace), ("policy", policy), ("outcome", outcome))
        out.append(("driftwarden_retrain_runs_total", run_labels, float(count)))
    out += [
        ("driftwarden_operator_monitors", (), float(len(snapshot.monitors))),
        ("driftwarden_operator_reconcile_errors_total", (), float(snapshot.reconcile_errors)),
        ("driftwarden_operator_watch_restarts_total", (), float(snapshot.watch_restarts)),
        ("driftwarden_operator_queue_depth", (), float(snapshot.queue_depth)),
    ]
    return out


def render(snapshot: FleetSnapshot) -> list[Metric]:
    """Every metric family of one snapshot as prometheus-client Metric objects."""
    fam = {name: _family(name) for name in METRICS}
    samples: list[Sample] = []
    for state in snapshot.monitors:
        samples += monitor_samples(state, snapshot.feature_cap)
        samples += run_samples(state, snapshot.runs.get(state.key, {}))
    samples += fleet_samples(snapshot)
    for name, labels, value in samples:
        fam[name].add_sample(name, dict(labels), value)  # counters' names carry their _total
    return list(fam.values())


def _number(value: float) -> str:
    """A value as prometheus-client writes it (Go's float formatting)."""
    text: str = prometheus_utils.floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _lines(samples: list[Sample]) -> dict[str, str]:
    """Text lines by family. Label pairs repeat (a monitor's base labels on each of its
    samples), so each distinct pair is escaped once per call."""
    pairs: dict[tuple[str, str], str] = {}
    by_family: dict[str, list[str]] = {}
    for name, labels, value in samples:
        parts = []
        for pair in labels:
            text = pairs.get(pair)
            if text is None:
                text = pairs[pair] = f'{pair[0]}="{_escape(pair[1])}"'
            parts.append(text)
        label_text = "{" + ",".join(parts) + "}" if parts else ""
        by_family.setdefault(name, []).append(f"{name}{label_text} {_number(value)}\n")
    return {name: "".join(lines) for name, lines in by_family.items()}


class TextRenderer:
    """The text exposition format (0.0.4) of the fleet, fast enough for 1,000 monitors.

    The same samples as `render`, written as text directly; each monitor's lines are kept
    for as long as its state object is the view's (the view keeps the object when an event
    changes nothing), so a scrape re-renders only the monitors that changed and the run
    counters. Monitors the view no longer holds leave the cache at the next scrape."""

    def __init__(self) -> None:
        self._cache: dict[MonitorKey, tuple[MonitorState, int, dict[str, str]]] = {}

    def render(self, snapshot: FleetSnapshot) -> str:
        fragments: list[dict[str, str]] = []
        cache: dict[MonitorKey, tuple[MonitorState, int, dict[str, str]]] = {}
        for state in snapshot.monitors:
            hit = self._cache.get(state.key)
            if hit is not None and hit[0] is state and hit[1] == snapshot.feature_cap:
                lines = hit[2]
            else:
                lines = _lines(monitor_samples(state, snapshot.feature_cap))
            cache[state.key] = (state, snapshot.feature_cap, lines)
            fragments.append(lines)
            fragments.append(_lines(run_samples(state, snapshot.runs.get(state.key, {}))))
        self._cache = cache
        fragments.append(_lines(fleet_samples(snapshot)))
        out: list[str] = []
        for name, (kind, text) in METRICS.items():
            help_text = text.replace("\\", "\\\\").replace("\n", "\\n")
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
            out.extend(lines[name] for lines in fragments if name in lines)
        return "".join(out)


class FleetCollector(Collector):
    """Renders the view at every scrape."""

    def __init__(self, view: FleetView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        yield from render(self.view.snapshot())
