"""The resource models refuse what the CRD's CEL rules refuse, and compose DetectionSpec."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from driftwarden.detectors.config import (
    DURATION_PATTERN,
    MAX_DURATION,
    DetectionSpec,
    parse_duration,
)
from driftwarden.operator.api.cron import CronSchedule, check_time_zone, parse_cron
from driftwarden.operator.api.modelmonitor import ModelMonitor, ModelMonitorSpec, detection_part
from driftwarden.operator.api.retrainpolicy import RetrainPolicy, RetrainPolicySpec, Trigger

MONITOR: dict[str, Any] = {
    "model": {"name": "credit-scoring", "version": "3.2.0"},
    "schedule": {"cron": "0 */6 * * *", "timeZone": "Europe/Berlin"},
    "source": {
        "postgres": {
            "connectionSecretRef": {"name": "inference-db", "key": "url"},
            "table": "inference_log",
            "timestampColumn": "ts",
            "filters": {"model_version": "3.2.0"},
        }
    },
    "baseline": {"relative": {"endOffset": "7d", "length": "30d"}},
    "current": {"relative": {"length": "7d"}},
    "features": [
        {"name": "age", "type": "numeric"},
        {
            "name": "income",
            "type": "numeric",
            "thresholds": {"psi": {"warning": 0.1, "critical": 0.25}},
        },
    ],
    "prediction": {"column": "score"},
    "labels": {"column": "defaulted", "task": "binary", "delay": "72h"},
    "minSamples": 200,
    "alerting": {"labels": {"team": "risk-ml"}},
}

POLICY: dict[str, Any] = {
    "monitorRef": {"name": "credit-scoring"},
    "triggers": [
        {"severity": "critical"},
        {"severity": "warning", "persistFor": "24h"},
        {"performanceDrop": {"metric": "roc_auc", "absoluteDrop": 0.05}},
    ],
    "cooldown": "7d",
    "jobTemplate": {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "train", "image": "registry.example/train:3"}],
                }
            }
        }
    },
}


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return changed


def test_monitor_spec_is_a_detection_spec() -> None:
    spec = ModelMonitorSpec.model_validate(MONITOR)
    assert isinstance(spec, DetectionSpec)
    detection = spec.detection()
    assert type(detection) is DetectionSpec
    assert [f.name for f in detection.features] == ["age", "income"]
    assert detection.min_samples == 200


def test_detection_part_of_a_manifest_is_what_detect_reads() -> None:
    manifest = {"apiVersion": "driftwarden.io/v1alpha1", "kind": "ModelMonitor", "spec": MONITOR}
    detection = DetectionSpec.model_validate(detection_part(manifest["spec"]))
    assert detection.labels is not None
    assert detection.labels.delay == "72h"
    assert "schedule" not in detection_part(MONITOR)


def test_monitor_resource_reads_api_objects() -> None:
    obj = {
        "apiVersion": "driftwarden.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "m", "namespace": "risk", "uid": "u", "managedFields": []},
        "spec": MONITOR,
    }
    monitor = ModelMonitor.model_validate(obj)
    assert monitor.metadata.namespace == "risk"
    assert monitor.status.conditions == []


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("features", [], "at least 1 item"),
        ("features", [{"name": "a"}, {"name": "a"}], "listed twice"),
        ("schedule.cron", "every hour", "pattern"),
        ("schedule.cron", "61 * * * *", "pattern"),
        ("schedule.cron", "99 99 99 99 99", "pattern"),
        ("schedule.cron", "*/0 * * * *", "pattern"),
        ("schedule.cron", "foo bar baz qux quux", "pattern"),
        ("schedule.timeZone", "Local", "Local is refused"),
        ("schedule.timeZone", "", "at least 1"),
        ("schedule.timeZone", "Europe/../Berlin", "pattern"),
        ("source", {}, "exactly one of postgres or files"),
        ("source.files", {"path": "/data/x.parquet", "timestampColumn": "ts"}, "exactly one"),
        ("source.postgres.table", "inference; drop table x", "pattern"),
        ("source.postgres.filters", {"a b": "x"}, "identifier"),
        ("baseline", {"relative": {"length": "0h"}}, "at least a minute"),
        ("baseline", {"relative": {"length": "1ms"}}, "at least a minute"),
        ("baseline", {"relative": {"length": "3m2h1h"}}, "pattern"),
        ("baseline", {"relative": {"length": "1.5h"}}, "pattern"),
        ("baseline", {"relative": {"length": "99999999999w"}}, "pattern"),
        ("baseline", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "minute"),
        ("baseline", {"absolute": {"start": "2026-01-02T00:00:00Z"}}, "end"),
        (
            "baseline",
            {
                "relative": {"length": "1d"},
                "absolute": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
            },
            "exactly one",
        ),
        ("baseline", {"relative": {"length": "7d"}}, "same window"),
        (
            "baseline",
            {"relative": {"length": "30d"}, "profileRef": {"name": "credit-2026q1"}},
            "exactly one of relative, absolute or profileRef",
        ),
        ("baseline", {"profileRef": {"name": "Credit_Q1"}}, "pattern"),
        ("baseline", {"profileRef": {}}, "name"),
        ("baseline", {}, "exactly one of relative, absolute or profileRef"),
        ("baseline", {"relative": {"length": "30d", "endOffset": "1d"}}, "end before"),
        ("current", {"relative": {"length": "48h"}}, "labels.delay 72h"),
        ("features.0.methods", ["psi", "psi"], "listed twice"),
        ("features.0.methods", [], "at least one"),
        ("features.0.methods", ["chi2"], "does not apply"),
        ("features.1.thresholds.psi", {"warning": 0, "critical": 0}, "greater than 0"),
        (
            "healthWeights",
            {
                "dataDrift": 0,
                "predictionDrift": 0,
                "performance": 0,
                "conceptDrift": 0,
                "dataQuality": 0,
                "operational": 0,
            },
            "at least one health weight must be positive",
        ),
        ("operational", {"latencyColumn": ""}, "at least 1"),
        ("prediction", {"column": "score", "type": "regression"}, "does not fit"),
        ("job", {"resources": {"requests": {"cpu": "-1"}}}, "pattern"),
        ("job", {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}, "exceeds"),
        ("job", {"image": ""}, "Extra inputs"),
        ("source", {"files": {"path": "data/x.parquet", "timestampColumn": "ts"}}, "pattern"),
        ("model.version", "", "at least 1"),
        ("alerting.labels", {"namespace": "other"}, "owned by the system"),
        ("alerting.labels", {"__name__": "x"}, "owned by the system"),
        ("alerting.labels", {"team": "x" * 129}, "at most 128"),
        ("features.1.thresholds.psi", {"warning": 0.3, "critical": 0.2}, "must not exceed"),
        ("alerting.labels", {"team-name": "x"}, "Prometheus label"),
        ("source.postgres.connectionSecretRef", {"name": "db"}, "key"),
        ("unknownField", 1, "Extra inputs"),
    ],
)
def test_monitor_refuses(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelMonitorSpec.model_validate(_with(MONITOR, path, value))


def test_a_stored_profile_is_a_baseline_without_a_window() -> None:
    # A stored baseline is never re-read, so no window order applies to it: a current window
    # of any length is fine, and the run configuration carries only the profile's name.
    spec = ModelMonitorSpec.model_validate(
        _with(MONITOR, "baseline", {"profileRef": {"name": "credit-2026q1"}})
    )
    assert spec.baseline.window() is None
    assert spec.baseline.profile_ref is not None
    assert spec.baseline.profile_ref.name == "credit-2026q1"
    dumped = spec.model_dump(by_alias=True, exclude_none=True)
    assert dumped["baseline"] == {"profileRef": {"name": "credit-2026q1"}}


def test_policy_accepts_the_example() -> None:
    spec = RetrainPolicySpec.model_validate(POLICY)
    assert spec.max_concurrent == 1
    assert spec.approval == "automatic"
    assert spec.job_template.spec.template.spec.restart_policy == "Never"
    dumped = spec.job_template.model_dump(by_alias=True, exclude_none=True)
    assert dumped["spec"]["template"]["spec"]["containers"][0]["image"].endswith("train:3")


def test_policy_passes_unknown_pod_fields_through() -> None:
    policy = _with(
        POLICY,
        "jobTemplate.spec.template.spec.containers",
        [{"name": "t", "image": "i", "args": ["--since", "30d"], "resources": {}}],
    )
    spec = RetrainPolicySpec.model_validate(policy)
    dumped = spec.job_template.model_dump(by_alias=True)
    assert dumped["spec"]["template"]["spec"]["containers"][0]["args"] == ["--since", "30d"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("monitorSelector", {"matchLabels": {"team": "risk"}}, "exactly one of monitorRef"),
        ("monitorRef", ..., "exactly one of monitorRef"),
        ("cooldown", "0s", "at least 1m"),
        ("cooldown", "1ms", "at least 1m"),
        ("cooldown", "soon", "pattern"),
        ("triggers", [], "at least 1"),
        ("triggers", [{"severity": "critical", "modelAge": "30d"}], "exactly one of severity"),
        ("triggers", [{"persistFor": "1h", "modelAge": "30d"}], "persistFor applies only"),
        ("triggers", [{"severity": "none"}], "warning"),
        ("jobTemplate.spec.template.spec.containers", [], "at least one container"),
        ("maxConcurrent", 0, "greater than or equal to 1"),
        ("approval", "Manual", "automatic"),
        ("triggers", [{"severity": "warning", "persistFor": "0s"}], "positive"),
        ("triggers", [{"severity": "critical"}, {"severity": "critical"}], "repeat"),
        ("triggers", [{"performanceDrop": {"metric": "rocauc", "absoluteDrop": 0.1}}], "roc_auc"),
        ("triggers", [{"performanceDrop": {"metric": "f1", "absoluteDrop": 1e300}}], "less than"),
        (
            "triggers",
            [{"performanceDrop": {"metric": "f1", "relativeDrop": 0.1, "absoluteDrop": 0.1}}],
            "exactly one of relativeDrop",
        ),
        ("triggers", [{"performanceDrop": {"metric": "f1", "atLeast": 0.1}}], "Extra inputs"),
        ("validation", {"minimum": {"roc_auc": 5}}, "less than or equal to 1"),
        ("validation", {"minimum": {"rocauc": 0.5}}, "Extra inputs"),
        ("jobTemplate.spec.template.spec.containers", [{"name": "t", "image": ""}], "at least 1"),
    ],
)
def test_policy_refuses(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RetrainPolicySpec.model_validate(_with(POLICY, path, value))


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({}, "an empty one selects all"),
        ({"matchExpressions": [{"key": "team", "operator": "In"}]}, "In and NotIn need values"),
        (
            {"matchExpressions": [{"key": "team", "operator": "Exists", "values": ["a"]}]},
            "take none",
        ),
    ],
)
def test_policy_refuses_selectors(selector: dict[str, Any], message: str) -> None:
    spec = {**_with(POLICY, "monitorRef", ...), "monitorSelector": selector}
    with pytest.raises(ValidationError, match=message):
        RetrainPolicySpec.model_validate(spec)


def test_policy_resource() -> None:
    policy = RetrainPolicy.model_validate({"metadata": {"name": "p"}, "spec": POLICY})
    assert policy.kind == "RetrainPolicy"


def test_trigger_descriptions() -> None:
    texts = [Trigger.model_validate(t).describe() for t in POLICY["triggers"]]
    assert texts == ["severity>=critical", "severity>=warning for 24h", "roc_auc dropped by >=0.05"]
    relative = {"performanceDrop": {"metric": "rmse", "relativeDrop": 0.1}}
    assert Trigger.model_validate(relative).describe() == "rmse dropped by >=0.1 of baseline"
    assert Trigger(model_age="30d").describe() == "model older than 30d"


# --- cron --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "zone", "expected"),
    [
        ("0 */6 * * *", datetime(2026, 5, 1, 0, 30, tzinfo=UTC), None, datetime(2026, 5, 1, 6, 0)),
        ("@daily", datetime(2026, 5, 1, 0, 0, tzinfo=UTC), None, datetime(2026, 5, 2, 0, 0)),
        ("@hourly", datetime(2026, 5, 1, 0, 0, tzinfo=UTC), None, datetime(2026, 5, 1, 1, 0)),
        # Berlin is UTC+2 in May: 06:00 local is 04:00 UTC.
        (
            "0 */6 * * *",
            datetime(2026, 5, 1, 0, 30, tzinfo=UTC),
            "Europe/Berlin",
            datetime(2026, 5, 1, 4, 0),
        ),
        # 02:30 does not exist in Berlin on 2026-03-29 (clocks jump 02:00 -> 03:00).
        (
            "30 2 * * *",
            datetime(2026, 3, 28, 2, 0, tzinfo=UTC),
            "Europe/Berlin",
            datetime(2026, 3, 30, 0, 30),
        ),
        (
            "0 9 * * mon-fri",
            datetime(2026, 11, 21, 0, 0, tzinfo=UTC),
            None,
            datetime(2026, 11, 23, 9, 0),
        ),
        ("0 0 29 feb *", datetime(2026, 3, 1, tzinfo=UTC), None, datetime(2028, 2, 29, 0, 0)),
        # Both day fields restricted: either matches (1st of the month or a Sunday).
        ("0 0 1 * sun", datetime(2026, 11, 23, tzinfo=UTC), None, datetime(2026, 11, 29, 0, 0)),
        ("0 0 * * 7", datetime(2026, 11, 23, tzinfo=UTC), None, datetime(2026, 11, 29, 0, 0)),
        (
            "*/15 * * * *",
            datetime(2026, 1, 1, 0, 15, tzinfo=UTC),
            None,
            datetime(2026, 1, 1, 0, 30),
        ),
    ],
)
def test_cron_next_run(
    expression: str, after: datetime, zone: str | None, expected: datetime
) -> None:
    assert parse_cron(expression).next_after(after, zone) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "five fields"),
        ("60 * * * *", "minute \\(0-59\\)"),
        ("* 24 * * *", "five fields"),
        ("* * 0 * *", "five fields"),
        ("* * * 13 *", "five fields"),
        ("* * * * 8", "five fields"),
        ("*/0 * * * *", "five fields"),
        ("5-1 * * * *", "backwards"),
        ("* * * foo *", "month"),
        ("TZ=UTC 0 * * * *", "five fields"),
    ],
)
def test_cron_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)


@pytest.mark.parametrize(
    ("expression", "fires"),
    [("0 0 31 2 *", False), ("0 0 30 2 *", False), ("0 0 29 2 *", True), ("0 0 31 2 mon", True)],
)
def test_cron_that_never_fires(expression: str, fires: bool) -> None:
    assert parse_cron(expression).fires() is fires


def test_cron_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_cron("@daily").next_after(datetime(2026, 1, 1))


def test_time_zone() -> None:
    assert check_time_zone("Europe/Berlin") == "Europe/Berlin"
    assert check_time_zone("Etc/UTC") == "Etc/UTC"
    for wrong in ("Nowhere/Special", "Mars/Olympus_Mons", "America", "Etc", "posixrules", "Local"):
        with pytest.raises(ValueError, match="IANA"):
            check_time_zone(wrong)


@pytest.mark.parametrize(
    ("wrong", "closest"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("America/New_york", "America/New_York"),
        ("Asia/Calcuta", "Asia/Calcutta"),
    ],
)
def test_a_misspelt_time_zone_names_the_closest(wrong: str, closest: str) -> None:
    with pytest.raises(ValueError, match="did you mean") as refused:
        check_time_zone(wrong)
    assert str(refused.value) == f"unknown time zone {wrong!r}; did you mean {closest!r}?"


def test_a_long_time_zone_is_refused_without_a_search_and_shown_cut() -> None:
    with pytest.raises(ValueError, match="IANA") as refused:
        check_time_zone("Europe/Berlin" * 1000)
    assert len(str(refused.value)) < 200


FIELD = st.one_of(
    st.just("*"),
    st.integers(0, 59).map(str),
    st.tuples(st.integers(0, 20), st.integers(21, 59)).map(lambda r: f"{r[0]}-{r[1]}"),
    st.integers(1, 30).map(lambda n: f"*/{n}"),
)


@st.composite
def cron_expressions(draw: st.DrawFn) -> str:
    minute = draw(FIELD)
    hour = draw(st.sampled_from(["*", "0", "*/6", "9-17", "3,15"]))
    dom = draw(st.sampled_from(["*", "1", "15", "1-7", "*/10"]))
    month = draw(st.sampled_from(["*", "*/3", "jan", "6-8"]))
    dow = draw(st.sampled_from(["*", "mon-fri", "0", "sat,sun", "3"]))
    return f"{minute} {hour} {dom} {month} {dow}"


def _matches(cron: CronSchedule, moment: datetime) -> bool:
    return (
        moment.minute in cron.minutes
        and moment.hour in cron.hours
        and cron.matches_day(moment.date())
    )


@settings(max_examples=100, deadline=None)
@given(cron_expressions(), st.integers(0, 60 * 24 * 365))
def test_property_next_run_is_the_first_matching_minute(expression: str, offset: int) -> None:
    """Cross-check against brute force: the answer matches, and no minute between `after`
    and it does (checked over the first 10 days; UTC, where every minute exists)."""
    cron = parse_cron(expression)
    after = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=offset, seconds=30)
    found = cron.next_after(after)
    assert found > after
    assert found.second == 0
    assert _matches(cron, found)
    probe = after.replace(second=0) + timedelta(minutes=1)
    horizon = min(found, after + timedelta(days=10))
    while probe < horizon:
        assert not _matches(cron, probe), probe
        probe += timedelta(minutes=1)


def test_metric_enum_is_what_the_detectors_compute() -> None:
    from driftwarden.detectors.stats.performance import HIGHER_IS_BETTER, LOWER_IS_BETTER
    from driftwarden.operator.api.retrainpolicy import MetricValues, PerformanceMetric

    computed = HIGHER_IS_BETTER | LOWER_IS_BETTER
    assert {str(m) for m in PerformanceMetric} == computed
    assert set(MetricValues.model_json_schema(by_alias=True)["properties"]) == computed


@settings(max_examples=300, deadline=None)
@given(st.from_regex(DURATION_PATTERN, fullmatch=True).filter(bool))  # minLength 1
def test_property_every_duration_the_schema_admits_parses_within_the_bound(text: str) -> None:
    """The schema's pattern and the one parser agree, and no admitted duration overflows a
    window resolved from today (twice the longest duration back stays a valid date)."""
    value = parse_duration(text)
    assert timedelta() <= value <= MAX_DURATION
    assert datetime(2026, 1, 1, tzinfo=UTC) - 2 * value > datetime(1, 1, 1, tzinfo=UTC)


@given(st.text(max_size=12))
def test_property_parser_refuses_what_the_pattern_refuses(text: str) -> None:
    import re

    if text and re.fullmatch(DURATION_PATTERN, text):  # the schema: the pattern and minLength 1
        parse_duration(text)
    else:
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(text)
