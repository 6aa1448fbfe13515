"""The metrics' pure parts: label names, the schedule interval, the feature cap, and the
view rendered into metric families (parsed back with prometheus-client's own parser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from driftwarden.detectors.config import Severity
from driftwarden.detectors.storage.types import DriftResultRow, PerformanceRow
from driftwarden.operator import command
from driftwarden.operator.api import ModelMonitor, RunSummary
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.modelmonitor import DriftedFeature, RunOutcome, WindowRows
from driftwarden.operator.metrics.collector import METRICS, FleetCollector, TextRenderer, render
from driftwarden.operator.metrics.server import DEFAULT_PORT
from driftwarden.operator.metrics.view import (
    DEFAULT_FEATURE_CAP,
    FeatureSeries,
    FleetView,
    details_from_rows,
    extra_labels,
    outcome_of_reason,
    rank_features,
    sanitize_label_name,
    schedule_interval,
)
from driftwarden.operator.reconcile.status import failed_run_summary, plan_run_finished

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_the_parser_defaults_are_the_metrics_defaults() -> None:
    assert command.METRICS_PORT == DEFAULT_PORT == 9808
    assert command.METRICS_FEATURE_CAP == DEFAULT_FEATURE_CAP


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("team", "team"),
        ("cost-center", "cost_center"),
        ("app.kubernetes.io/name", "app_kubernetes_io_name"),
        ("9lives", "_9lives"),
        ("__meta", "_meta"),
        ("", "_"),
        ("é", "_"),
    ],
)
def test_label_names_are_sanitised(name: str, expected: str) -> None:
    assert sanitize_label_name(name) == expected
    assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", expected)
    assert not expected.startswith("__")


def test_alerting_labels_never_override_the_metrics_own() -> None:
    labels = {"team": "risk", "model": "x", "a-b": "first", "a_b": "second", "feature": "f"}
    assert extra_labels(labels) == (
        ("a_b", "first"),  # "a-b" sorts before "a_b" and wins
        ("label_feature", "f"),
        ("label_model", "x"),
        ("team", "risk"),
    )


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (c.RUN_SUCCEEDED, "Succeeded"),
        (c.INSUFFICIENT_DATA, "InsufficientData"),
        ("TableNotFound", "InvalidInput"),
        (c.POD_FAILURE_POLICY, "InvalidInput"),
        (c.DEADLINE_EXCEEDED, "Failed"),
        ("SourceUnreachable", "Failed"),
        (c.SECRET_NOT_FOUND, "Failed"),
    ],
)
def test_reasons_map_to_run_outcomes(reason: str, outcome: str) -> None:
    assert outcome_of_reason(reason) == outcome


@pytest.mark.parametrize(
    ("cron", "seconds"),
    [
        ("*/5 * * * *", 300),
        ("0 */6 * * *", 6 * 3600),
        ("30 2 * * *", 24 * 3600),
        ("0 9 * * 1-5", 3 * 24 * 3600),  # Friday 09:00 to Monday 09:00 is the longest gap
    ],
)
def test_the_schedule_interval_is_the_longest_gap(cron: str, seconds: int) -> None:
    assert schedule_interval(cron, "Etc/UTC", T0) == seconds


def test_a_schedule_that_never_fires_has_no_interval() -> None:
    assert schedule_interval("0 0 31 2 *", "Etc/UTC", T0) is None


def _row(
    feature: str, method: str, stat: float, threshold: float | None, sev: Severity
) -> FeatureSeries:
    return FeatureSeries(feature, method, stat, None, threshold, sev != Severity.NONE, sev)


def test_the_cap_keeps_the_most_drifted_features_with_all_their_methods() -> None:
    rows = [
        _row("a", "psi", 0.05, 0.1, Severity.NONE),  # ratio 0.5
        _row("b", "psi", 0.09, 0.1, Severity.NONE),  # ratio 0.9: the best of the quiet ones
        _row("b", "ks", 0.01, 0.2, Severity.NONE),
        _row("c", "ks", 0.15, 0.1, Severity.WARNING),  # a warning beats any quiet one
        _row("d", "psi", 0.40, 0.25, Severity.CRITICAL),
    ]
    kept, dropped = rank_features(rows, 3)
    assert [(r.feature, r.method) for r in kept] == [
        ("b", "psi"),
        ("b", "ks"),
        ("c", "ks"),
        ("d", "psi"),
    ]
    assert dropped == 1
    assert rank_features(rows, 0) == (rows, 0)
    assert rank_features(rows, 4) == (rows, 0)


# --- the view, rendered ---------------------------------------------------------------------


def _monitor(**status: Any) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "examples" / "modelmonitor-postgres.yaml").read_text())
    doc["metadata"] |= {
        "uid": "uid-1",
        "generation": 1,
        "resourceVersion": "1",
        "creationTimestamp": "2026-11-01T00:00:00Z",
    }
    doc["status"] = status
    return doc


def _finished(
    obj: dict[str, Any], summary: RunSummary, reason: str | None = None
) -> dict[str, Any]:
    plan = plan_run_finished(ModelMonitor.model_validate(obj), summary, summary.finished_at, reason)
    return {**obj, "status": plan.status.model_dump(mode="json", by_alias=True, exclude_none=True)}


def _summary(run_id: str, at: datetime, severity: Severity) -> RunSummary:
    drifted = [
        DriftedFeature(name="income", method="psi", statistic=0.31, severity=Severity.CRITICAL)
    ]
    return RunSummary(
        run_id=run_id,
        started_at=at - timedelta(seconds=90),
        finished_at=at,
        outcome=RunOutcome.SUCCEEDED,
        rows=WindowRows(baseline=1000, current=500),
        severity=severity,
        drift_severity=severity,
        health_score=71.0,
        drifted_features=1 if severity != Severity.NONE else 0,
        total_features=5,
        top_drifted=drifted if severity != Severity.NONE else [],
    )


def _samples(view: FleetView) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(view))
    text = generate_latest(registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


BASE = {
    "namespace": "risk",
    "monitor": "credit-scoring",
    "model": "credit-scoring",
    "model_version": "3.2.0",
    "team": "risk-ml",
}


def _key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset({**BASE, **labels}.items()))


def test_a_critical_run_is_published_from_the_status_alone() -> None:
    view = FleetView()
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.CRITICAL))
    assert view.observe(obj, now=T0) == "run-1"  # details to read from a database, if any
    view.count_run("risk", "credit-scoring", "Succeeded")
    got = _samples(view)
    assert got[_key("driftwarden_monitor_severity")] == 2
    assert got[_key("driftwarden_monitor_drift_severity")] == 2
    assert got[_key("driftwarden_monitor_severity_state", severity="critical")] == 1
    assert got[_key("driftwarden_monitor_severity_state", severity="none")] == 0
    assert got[_key("driftwarden_monitor_health_score")] == 71
    assert got[_key("driftwarden_monitor_drifted_features")] == 1
    assert got[_key("driftwarden_monitor_features")] == 5
    assert got[_key("driftwarden_monitor_last_success_timestamp_seconds")] == T0.timestamp()
    assert got[_key("driftwarden_monitor_last_run_duration_seconds")] == 90
    assert got[_key("driftwarden_monitor_runs_total", outcome="Succeeded")] == 1
    assert got[_key("driftwarden_monitor_runs_total", outcome="Failed")] == 0
    assert (
        got[
            _key("driftwarden_monitor_last_run_outcome", outcome="Succeeded", reason="RunSucceeded")
        ]
        == 1
    )
    assert got[_key("driftwarden_monitor_schedule_interval_seconds")] == 6 * 3600
    feature = {"feature": "income", "method": "psi"}
    assert got[_key("driftwarden_feature_statistic", **feature)] == pytest.approx(0.31)
    assert got[_key("driftwarden_feature_drift", **feature)] == 1
    assert _key("driftwarden_feature_p_value", **feature) not in got  # not in the status
    assert got[_key("driftwarden_monitor_feature_results_complete")] == 0
    assert got[("driftwarden_operator_monitors", frozenset())] == 1
    created = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert got[_key("driftwarden_monitor_created_timestamp_seconds")] == created


def test_database_details_replace_the_stand_in_and_the_cap_applies() -> None:
    view = FleetView(feature_cap=2)
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.CRITICAL))
    run_id = view.observe(obj, now=T0)
    assert run_id == "run-1"
    drift = [
        DriftResultRow("income", "psi", 0.31, None, 0.25, True, Severity.CRITICAL),
        DriftResultRow("income", "ks", 0.20, 1e-9, 0.05, True, Severity.CRITICAL),
        DriftResultRow("age", "psi", 0.02, None, 0.2, False, Severity.NONE),
        DriftResultRow("region", "chi2", 3.0, 0.2, 0.05, False, Severity.NONE),
    ]
    perf = [
        PerformanceRow("roc_auc", 0.81, 0.84, "current"),
        PerformanceRow("roc_auc", 0.84, None, "baseline"),
    ]
    view.attach("risk", "credit-scoring", run_id, details_from_rows(run_id, drift, perf, T0))
    assert view.observe(obj, now=T0) is None  # known now: nothing more to read
    got = _samples(view)
    assert got[_key("driftwarden_feature_p_value", feature="income", method="ks")] == 1e-9
    assert got[_key("driftwarden_feature_threshold", feature="income", method="psi")] == 0.25
    assert got[_key("driftwarden_feature_drift", feature="region", method="chi2")] == 0
    # age's psi (ratio 0.1) is the least drifted of three features: the cap of 2 drops it
    assert _key("driftwarden_feature_statistic", feature="age", method="psi") not in got
    assert got[_key("driftwarden_monitor_feature_series_dropped")] == 1
    assert got[_key("driftwarden_monitor_feature_results_complete")] == 1
    assert got[_key("driftwarden_performance_metric", metric="roc_auc")] == 0.81


def test_a_failed_run_keeps_the_verdict_and_the_last_success() -> None:
    view = FleetView()
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.WARNING))
    view.observe(obj, now=T0)
    later = T0 + timedelta(hours=6)
    failed = failed_run_summary(
        "run-2", later - timedelta(seconds=30), later, "deadline", invalid=False
    )
    obj = _finished(obj, failed, c.DEADLINE_EXCEEDED)
    view.observe(obj, now=later)
    got = _samples(view)
    assert got[_key("driftwarden_monitor_severity")] == 1
    assert got[_key("driftwarden_monitor_last_success_timestamp_seconds")] == T0.timestamp()
    assert (
        got[
            _key(
                "driftwarden_monitor_last_run_outcome", outcome="Failed", reason="DeadlineExceeded"
            )
        ]
        == 1
    )
    assert got[_key("driftwarden_monitor_last_run_duration_seconds")] == 30


def test_a_monitor_before_its_first_run_has_no_verdict_series() -> None:
    view = FleetView()
    view.observe(_monitor(), now=T0)
    names = {name for name, _ in _samples(view)}
    assert "driftwarden_monitor_schedule_interval_seconds" in names
    assert "driftwarden_monitor_severity" not in names
    assert "driftwarden_monitor_last_run_outcome" not in names


def test_deleted_and_replaced_monitors_lose_their_series() -> None:
    view = FleetView()
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.CRITICAL))
    view.observe(obj, now=T0)
    other = {**obj, "metadata": {**obj["metadata"], "name": "other", "uid": "uid-2"}}
    view.observe(other, now=T0)
    # the listing shows `other`, and credit-scoring re-created under a new UID
    assert view.prune([("risk", "other", "uid-2"), ("risk", "credit-scoring", "uid-9")]) == 1
    monitors = {dict(labels).get("monitor") for _, labels in _samples(view)}
    assert "credit-scoring" not in monitors
    assert "other" in monitors
    view.forget("risk", "other")
    assert not [k for k in _samples(view) if dict(k[1]).get("monitor")]


def test_operator_health_and_retrain_counters() -> None:
    pending = [3]
    view = FleetView(queue_depth=lambda: pending[0])
    view.count_reconcile_error()
    view.count_watch_restart()
    view.count_watch_restart()
    view.count_retrain_decision("risk", "credit-scoring", "trigger", "Triggered")
    view.count_retrain_run("risk", "credit-scoring", "Rejected")
    got = _samples(view)
    assert got[("driftwarden_operator_reconcile_errors_total", frozenset())] == 1
    assert got[("driftwarden_operator_watch_restarts_total", frozenset())] == 2
    assert got[("driftwarden_operator_queue_depth", frozenset())] == 3
    decision = {
        "namespace": "risk",
        "policy": "credit-scoring",
        "decision": "trigger",
        "reason": "Triggered",
    }
    assert got[("driftwarden_retrain_decisions_total", frozenset(decision.items()))] == 1
    run = {"namespace": "risk", "policy": "credit-scoring", "outcome": "Rejected"}
    assert got[("driftwarden_retrain_runs_total", frozenset(run.items()))] == 1


def test_every_family_is_documented() -> None:
    page = (ROOT / "docs" / "metrics.md").read_text()
    for name in METRICS:
        assert f"`{name}`" in page, name
    assert {f.name for f in render(FleetView().snapshot())} <= {
        n.removesuffix("_total") for n in METRICS
    }


def _parsed(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_text_renderer_writes_exactly_the_collectors_samples() -> None:
    view = FleetView(feature_cap=2)
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.CRITICAL))
    obj["spec"]["alerting"]["labels"]["odd"] = 'quote " back \\ slash'
    run_id = view.observe(obj, now=T0)
    assert run_id is not None
    drift = [
        DriftResultRow("income", "psi", 0.31, None, 0.25, True, Severity.CRITICAL),
        DriftResultRow('we"ird\nname', "ks", 1e-300, 5e-324, 0.05, False, Severity.NONE),
        DriftResultRow("age", "psi", float("nan"), None, 0.2, False, Severity.NONE),
    ]
    view.attach("risk", "credit-scoring", run_id, details_from_rows(run_id, drift, [], T0))
    view.count_run("risk", "credit-scoring", "Failed")
    view.count_retrain_decision("risk", "p", "skip", "Cooldown")
    renderer = TextRenderer()
    text = renderer.render(view.snapshot())
    assert _parsed(text) == _samples(view)
    odd = 'quote " back \\ slash'
    weird = _key("driftwarden_feature_p_value", odd=odd, feature='we"ird\nname', method="ks")
    assert _parsed(text)[weird] == 5e-324
    # a second scrape reuses the monitor's lines; a change and a deletion show at once
    assert renderer.render(view.snapshot()) == text
    view.count_run("risk", "credit-scoring", "Failed")
    runs = _key("driftwarden_monitor_runs_total", odd=odd, outcome="Failed")
    assert _parsed(renderer.render(view.snapshot()))[runs] == 2
    view.forget("risk", "credit-scoring")
    assert not [k for k in _parsed(renderer.render(view.snapshot())) if dict(k[1]).get("monitor")]


def test_an_unchanged_event_keeps_the_state_object() -> None:
    view = FleetView()
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.CRITICAL))
    view.observe(obj, now=T0)
    (first,) = view.snapshot().monitors
    view.observe(obj, now=T0)
    (second,) = view.snapshot().monitors
    assert second is first


def test_a_monitor_edited_into_an_unreadable_spec_loses_its_series() -> None:
    view = FleetView()
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.CRITICAL))
    view.observe(obj, now=T0)
    broken = {**obj, "spec": {**obj["spec"], "features": []}}
    assert view.observe(broken, now=T0) is None
    assert view.snapshot().monitors == ()


def test_kopf_watch_restarts_are_counted_from_its_log_records() -> None:
    import logging

    from driftwarden.operator.handlers.observe import KOPF_WATCH_LOGGER, count_watch_restarts

    watching = logging.getLogger(KOPF_WATCH_LOGGER)
    level, filters = watching.level, list(watching.filters)
    watching.setLevel(logging.INFO)
    view = FleetView()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    watching.addHandler(keep)
    try:
        count_watch_restarts(view)
        # kopf's own wording (kopf/_cogs/clients/watching.py), logged at debug level
        watching.debug("Restarting the watch-stream for modelmonitors in 'ns'.")
        watching.debug("Watch-stream for jobs in 'ns' is inactive, reconnecting.")
        watching.debug("Starting the watch-stream for pods in 'ns'.")
        watching.warning("Ignoring an unsupported event type: {}")
    finally:
        watching.removeHandler(keep)
        watching.setLevel(level)
        watching.filters[:] = filters
    assert view.snapshot().watch_restarts == 2
    assert [r.levelno for r in records] == [logging.WARNING]  # debug stays hidden at INFO


def test_the_last_success_survives_a_data_starved_run_and_is_bounded_after_a_restart() -> None:
    view = FleetView()
    obj = _finished(_monitor(), _summary("run-1", T0, Severity.WARNING))
    view.observe(obj, now=T0)
    later = T0 + timedelta(hours=6)
    starved = RunSummary(
        run_id="run-2",
        started_at=later - timedelta(seconds=10),
        finished_at=later,
        outcome=RunOutcome.INSUFFICIENT_DATA,
    )
    obj = _finished(obj, starved)
    view.observe(obj, now=later)
    got = _samples(view)
    assert got[_key("driftwarden_monitor_last_success_timestamp_seconds")] == T0.timestamp()
    assert _key("driftwarden_monitor_severity") not in got  # no verdict now
    # A restarted operator without a results database knows only when runs began failing.
    fresh = FleetView()
    fresh.observe(obj, now=later)
    got = _samples(fresh)
    assert got[_key("driftwarden_monitor_last_success_timestamp_seconds")] == later.timestamp()
