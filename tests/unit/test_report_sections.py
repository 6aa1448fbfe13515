"""The report's typed sections: what the JSON contract writes is what history and the
Job's summary read, from one set of typed results."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import load_config
from driftwarden.detectors.config import DetectionSpec, HealthWeights
from driftwarden.detectors.engine import detect_frames
from driftwarden.detectors.history import drift_rows, performance_rows, quality_rows
from driftwarden.detectors.job.summary import performance_changes
from driftwarden.detectors.report import Report
from driftwarden.detectors.report_sections import (
    ConceptSection,
    OperationalSection,
    PerformanceSection,
    PredictionSection,
    QualityFinding,
    QualitySection,
    Sections,
    json_value,
)
from driftwarden.detectors.stats.health import PARTS
from driftwarden.detectors.stats.quality import ColumnQuality, MissingRateChange
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.types import DriftType

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> Report:
    """The demo's inference log, drifted: every section present."""
    loaded = importlib.util.spec_from_file_location("sample", ROOT / "examples/make_sample_data.py")
    assert loaded is not None
    assert loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    baseline: pd.DataFrame = module.make_window(6_000, drifted=False, seed=1)
    current: pd.DataFrame = module.make_window(3_000, drifted=True, seed=2)
    spec = DetectionSpec.model_validate(load_config(ROOT / "examples/detect-config.yaml"))
    return detect_frames(baseline, current, spec)


def test_every_section_is_written_by_its_own_type_in_the_reports_order(report: Report) -> None:
    document = report.to_dict()
    names = [name for name, _ in report.sections.items()]
    assert names == ["prediction", "performance", "concept", "quality", "operational"]
    for name, section in report.sections.items():
        assert document[name] == section.to_dict()
    assert [k for k in document if k in names] == names
    json.dumps(document, allow_nan=False)


def test_history_rows_carry_what_the_report_says(report: Report) -> None:
    document = report.to_dict()
    prediction = [r for r in drift_rows(report) if r.drift_type is DriftType.PREDICTION]
    assert [(r.feature, r.method, r.severity) for r in prediction] == [
        (document["prediction"]["column"], m["method"], Severity(m["severity"]))
        for m in document["prediction"]["methods"]
    ]
    (concept,) = [r for r in drift_rows(report) if r.drift_type is DriftType.CONCEPT]
    assert concept.p_value == document["concept"]["p_value"]
    assert concept.drift_detected is document["concept"]["drift_detected"]
    performance = document["performance"]["changes"]
    assert [(r.metric, r.baseline_value, r.value) for r in performance_rows(report)] == [
        (c["metric"], c["baseline"], c["current"]) for c in performance
    ]
    findings = document["quality"]["columns"]
    assert findings, "the drifted window has a new region"
    assert [(r.column, r.kind, str(r.severity), dict(r.details)) for r in quality_rows(report)] == [
        (
            f["column"],
            f["kind"],
            f["severity"],
            {k: v for k, v in f.items() if k not in ("column", "kind", "severity")},
        )
        for f in findings
    ]


def test_the_summary_alarms_only_on_the_deciding_metrics(report: Report) -> None:
    section = report.sections.performance
    assert section is not None
    deciding = set(section.deciding_metrics)
    assert deciding, "accuracy, precision, recall and ROC-AUC are tested"
    changes = performance_changes(report)
    assert changes
    for change in changes:
        if change.metric not in deciding:
            assert change.severity is Severity.NONE


def test_a_quality_findings_details_are_strict_json() -> None:
    """NaN is no JSON value: the history's details say null, as the report does."""
    missing = MissingRateChange(0.0, 0.0, 0.0, math.nan, "z-test", 10, 10, Severity.NONE)
    checks = ColumnQuality("x", "numeric", missing, severity=Severity.WARNING)
    finding = QualityFinding("numeric", checks)
    assert finding.details()["missing"]["p_value"] is None
    section = QualitySection(
        Severity.WARNING, "1/1 columns", 0.6, columns_checked=1, findings=(finding,)
    )
    json.dumps(section.to_dict(), allow_nan=False)
    assert QualitySection(Severity.NONE, "no rows to check", None).to_dict() == {
        "severity": "none",
        "summary": "no rows to check",
        "score": None,
    }


def test_json_values_of_statistics_results() -> None:
    assert json_value(
        {"a": np.float64(0.5), "b": np.int64(3), "c": (math.inf, Severity.CRITICAL), 1: None}
    ) == {"a": 0.5, "b": 3, "c": [None, "critical"], "1": None}
    assert type(json_value(np.int64(3))) is int


def test_each_section_scores_one_health_part() -> None:
    types = (PredictionSection, PerformanceSection, ConceptSection, QualitySection,
             OperationalSection)  # fmt: skip
    parts = [t.health_part for t in types]
    assert len(set(parts)) == len(parts)
    assert set(parts) < set(PARTS)
    assert tuple(HealthWeights.model_fields) == PARTS
    assert list(Sections().items()) == []
