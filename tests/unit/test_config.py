from datetime import timedelta

import pytest
from pydantic import ValidationError

from driftwarden.detectors.config import (
    DetectionSpec,
    FeatureSpec,
    Method,
    Severity,
    Thresholds,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2w", timedelta(days=14)),
        ("250ms", timedelta(milliseconds=250)),
        ("1y2w", timedelta(days=379)),
        ("0", timedelta()),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "7", "d", "7 days", "-1h", "1h 30m", "1.5h", "3m2h1h", "1h1h", "99999999999w", "100y"],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_spec_reads_camel_case_and_overrides_thresholds() -> None:
    spec = DetectionSpec.model_validate(
        {
            "features": [
                {
                    "name": "income",
                    "type": "numeric",
                    "thresholds": {"psi": {"warning": 0.2, "critical": 0.4}},
                },
                {"name": "region", "type": "categorical"},
            ],
            "minSamples": 200,
            "thresholds": {"psi": {"warning": 0.15, "critical": 0.3}},
            "labels": {"column": "y", "task": "binary", "delay": "72h"},
        }
    )
    assert spec.min_samples == 200
    income, region = spec.features
    assert spec.thresholds_for(income, Method.PSI) == Thresholds(warning=0.2, critical=0.4)
    assert spec.thresholds_for(region, Method.PSI) == Thresholds(warning=0.15, critical=0.3)
    assert spec.thresholds_for(region, Method.JS).warning == 0.1


def test_spec_rejects_duplicates_unknown_fields_and_inverted_thresholds() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        DetectionSpec(features=[FeatureSpec(name="a"), FeatureSpec(name="a")])
    with pytest.raises(ValidationError, match="extra"):
        DetectionSpec.model_validate({"minSampels": 3})
    with pytest.raises(ValidationError, match="must not exceed"):
        Thresholds(warning=0.3, critical=0.2)
    with pytest.raises(ValidationError, match=r"invalid duration|pattern"):
        DetectionSpec.model_validate(
            {"labels": {"column": "y", "task": "binary", "delay": "3 days"}}
        )


def test_severity_order() -> None:
    assert Severity.worst([Severity.WARNING, Severity.NONE, Severity.CRITICAL]) is Severity.CRITICAL
    assert Severity.worst([]) is Severity.NONE


def test_windows_resolve_relative_and_absolute() -> None:
    from datetime import UTC, datetime

    from driftwarden.detectors.config import WindowSpec

    run = datetime(2026, 3, 10, 12, tzinfo=UTC)
    baseline = WindowSpec.model_validate({"relative": {"length": "30d", "endOffset": "7d"}})
    assert baseline.resolve(run) == (
        datetime(2026, 2, 1, 12, tzinfo=UTC),
        datetime(2026, 3, 3, 12, tzinfo=UTC),
    )
    fixed = WindowSpec.model_validate(
        {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    )
    assert fixed.resolve(run)[1] - fixed.resolve(run)[0] == timedelta(days=1)
    for bad in (
        {},
        {
            "relative": {"length": "1d"},
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-02T00:00:00Z",
        },
        {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        {"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"},
        {"relative": {"length": "0s"}},
    ):
        with pytest.raises(ValidationError):
            WindowSpec.model_validate(bad)
