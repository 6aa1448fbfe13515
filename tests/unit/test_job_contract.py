"""The Job contract: the summary's 4096-byte bound, the run configuration's versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.job.contract import (
    RUN_CONFIG_VERSION,
    TERMINATION_MESSAGE_LIMIT,
    InvalidRunConfigError,
    RunSummary,
    load_run_config,
)
from driftwarden.detectors.job.summary import evaluated_summary
from driftwarden.detectors.outcome import RunOutcome
from driftwarden.detectors.report import FeatureReport, Report
from driftwarden.detectors.report_sections import PerformanceSection, Sections
from driftwarden.detectors.stats.decision import MethodVerdict
from driftwarden.detectors.stats.severity import Severity

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)
SEVERITIES = st.sampled_from(list(Severity))


def _feature(name: str, severity: Severity, p_value: float) -> FeatureReport:
    drifted = severity is not Severity.NONE
    method = MethodVerdict(
        method="psi",
        statistic=0.3,
        effect=0.3,
        p_value=p_value,
        p_value_adjusted=p_value,
        threshold=0.1,
        critical_threshold=0.2,
        drift_detected=drifted,
        severity=severity,
    )
    return FeatureReport(
        name=name,
        kind="numeric",
        kind_inferred=False,
        status="ok",
        drift_detected=drifted,
        severity=severity,
        p_value=p_value,
        p_value_adjusted=p_value,
        n_baseline=1000,
        n_current=1000,
        methods=(method,),
    )


def _report(features: list[FeatureReport]) -> Report:
    return Report(
        drift_detected=any(f.drift_detected for f in features),
        severity=Severity.worst(f.severity for f in features),
        health_score=50.0,
        status="ok",
        verdict="x" * 2000 + "é" * 500,  # a long, non-ASCII verdict: the message must shrink
        p_value=0.01,
        alpha=0.05,
        rows_baseline=1000,
        rows_current=1000,
        features=tuple(features),
        sections=Sections(),
        detector_version="test",
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=253),
            SEVERITIES,
            st.floats(min_value=0, max_value=1),
        ),
        min_size=1,
        max_size=2000,
    ),
    st.text(min_size=1, max_size=253),
)
def test_the_summary_fits_the_termination_message_for_1_to_2000_features(
    rows: list[tuple[str, Severity, float]], run_id: str
) -> None:
    features = [_feature(f"{i}-{name}", sev, p) for i, (name, sev, p) in enumerate(rows)]
    summary = evaluated_summary(
        _report(features),
        run_id=run_id,
        model_version="v" * 128,
        scheduled_at=T0,
        started_at=T0,
        finished_at=T0,
        labelled=None,
    )
    text = summary.to_termination_message()
    assert len(text.encode()) <= TERMINATION_MESSAGE_LIMIT
    parsed = RunSummary.from_termination_message(text)
    assert parsed.run_id == run_id
    assert parsed.drifted_features == sum(1 for f in features if f.drift_detected)
    assert parsed.total_features == len(features)
    # The top features are the worst ones: severity first, then the smaller p-value.
    ranks = [(-f.severity.rank) for f in parsed.top_drifted]
    assert ranks == sorted(ranks)
    if parsed.top_drifted:
        worst = max(f.severity.rank for f in features)
        assert parsed.top_drifted[0].severity.rank == worst


def _write(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


MANIFEST: dict[str, object] = {
    "apiVersion": "driftwarden.io/v1alpha1",
    "kind": "ModelMonitor",
    "metadata": {"name": "m", "namespace": "ns"},
    "spec": {
        "model": {"name": "m"},
        "schedule": {"cron": "@daily"},  # the operator's keys are not the Job's business
        "source": {"files": {"path": "/data/x.parquet", "timestampColumn": "ts"}},
        "baseline": {"profileRef": {"name": "golden"}},
        "current": {"relative": {"length": "1d"}},
        "features": [{"name": "a"}],
    },
}


def test_an_older_configuration_without_a_version_is_read(tmp_path: Path) -> None:
    loaded = load_run_config(_write(tmp_path, MANIFEST))
    assert loaded.version == 1
    assert loaded.config.spec.baseline.window() is None
    assert loaded.config.spec.baseline.profile_ref is not None
    assert loaded.config.spec.detection.features[0].name == "a"
    assert len(loaded.spec_hash) == 16


def test_a_newer_configuration_is_refused_naming_both_versions(tmp_path: Path) -> None:
    newer = RUN_CONFIG_VERSION + 1
    with pytest.raises(InvalidRunConfigError) as caught:
        load_run_config(_write(tmp_path, {**MANIFEST, "version": newer}))
    assert f"version {newer}" in str(caught.value)
    assert f"version {RUN_CONFIG_VERSION})" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("legacy", ["succeeded", "insufficient_data", "failed"])
def test_outcomes_stored_before_revision_0002_still_read(legacy: str) -> None:
    assert RunOutcome(legacy) in set(RunOutcome)


def test_2000_features_with_the_longest_multibyte_names_fit() -> None:
    features = [_feature(f"{i:04d}" + "😀" * 249, Severity.CRITICAL, i / 2000) for i in range(2000)]
    summary = evaluated_summary(
        _report(features),
        run_id="r" * 253,
        model_version="v" * 128,
        scheduled_at=T0,
        started_at=T0,
        finished_at=T0,
        labelled=None,
    )
    text = summary.to_termination_message()
    assert len(text.encode()) <= TERMINATION_MESSAGE_LIMIT
    parsed = RunSummary.from_termination_message(text)
    assert parsed.drifted_features == 2000
    assert parsed.top_drifted
    assert parsed.top_drifted[0].name.startswith("0000")


@pytest.mark.parametrize("name", ["Golden", "golden_1", "-golden", "", "a" * 254, "x/y"])
def test_a_stored_profile_name_is_one_a_monitor_can_reference(name: str) -> None:
    # `profile --store` and `run --store-baseline` refuse what `baseline.profileRef.name`
    # would refuse, so no stored profile is out of every monitor's reach.
    import argparse

    from driftwarden.detectors.job.arguments import profile_name

    with pytest.raises(argparse.ArgumentTypeError, match="invalid profile name"):
        profile_name(name)
    assert profile_name("credit-2026.q1") == "credit-2026.q1"


def test_only_the_deciding_metrics_make_the_summarys_performance_severe() -> None:
    """The report's performance verdict comes from the tested metrics; a big relative change
    of calibration error (reported, not tested) must not make the operator's
    PerformanceDegraded critical while the report says none (the census demo did)."""
    from dataclasses import replace

    from driftwarden.detectors.stats.performance import MetricChange

    changes = (
        MetricChange("roc_auc", 0.80, 0.79, -0.01, 0.0125, True, Severity.NONE, p_value=0.4),
        MetricChange("ece", 0.0063, 0.0129, 0.0066, 1.05, False, Severity.CRITICAL),
    )
    section = PerformanceSection(
        Severity.NONE,
        "no performance drop",
        0.0,
        rows_baseline=1000,
        rows_current=1000,
        changes=changes,
        deciding_metrics=("roc_auc",),
    )
    report = replace(
        _report([_feature("a", Severity.NONE, 0.5)]), sections=Sections(performance=section)
    )
    summary = evaluated_summary(
        report,
        run_id="r",
        model_version="1",
        scheduled_at=T0,
        started_at=T0,
        finished_at=T0,
        labelled=None,
    )
    severities = {m.metric: m.severity for m in summary.performance}
    assert severities == {"roc_auc": Severity.NONE, "ece": Severity.NONE}
    headline = summary.headline_performance()
    assert headline is not None
    assert headline.severity is Severity.NONE


def test_an_invalid_configuration_names_each_place_in_one_line(tmp_path: Path) -> None:
    spec = dict(cast(dict[str, object], MANIFEST["spec"]))
    spec.update(features=[{"nme": "a"}], minSamples="many")
    broken = {**MANIFEST, "spec": spec}
    with pytest.raises(InvalidRunConfigError) as caught:
        load_run_config(_write(tmp_path, broken))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}")
    assert "invalid run configuration: " in message
    assert "spec.features.0.name is required" in message
    assert "spec.features.0.nme is not a known field (did you mean 'name'?)" in message
    assert "\n" not in message
    assert caught.value.exit_code == 2
