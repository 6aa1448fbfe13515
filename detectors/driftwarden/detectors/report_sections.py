"""The report's sections besides data drift, typed: one frozen type per section.

Each section holds the statistics' results as they came out of `stats` (method verdicts,
metric changes, quality checks, latency and error-rate changes, the concept-drift
result), plus the severity, a one-line summary and its 0..1 part of the health score.
`sections` builds them; the storage adapter (`history`) and the Job's summary read their
fields. The JSON contract of `driftwarden detect --format json` is written here and only
here: `Section.to_dict`, with `json_value` turning results into JSON values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from driftwarden.detectors.stats import operational, performance, quality
from driftwarden.detectors.stats.decision import FeatureVerdict, MethodVerdict
from driftwarden.detectors.stats.proportions import ProportionTest
from driftwarden.detectors.stats.severity import Severity

if TYPE_CHECKING:  # scikit-learn takes about a second to import; only concept drift needs it
    from driftwarden.detectors.stats.concept import ConceptDriftResult

JSON = Any  # a value json.dumps accepts


# --- JSON values --------------------------------------------------------------------------


def json_number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: report them as null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_value(value: object) -> JSON:
    """A statistics result as a JSON value: dataclasses as objects (fields in order),
    tuples as lists, severities as text, numpy scalars as Python ones, NaN and infinity as
    null."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, np.generic):
        return json_value(value.item())
    if isinstance(value, Severity):
        return str(value)
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def method_dict(m: MethodVerdict) -> dict[str, JSON]:
    """One method's verdict as the JSON contract writes it (features and prediction)."""
    return {
        "method": m.method,
        "statistic": json_number(m.statistic),
        "effect": json_number(m.effect),
        "p_value": json_number(m.p_value),
        "p_value_adjusted": json_number(m.p_value_adjusted),
        "threshold": json_number(m.threshold),
        "critical_threshold": json_number(m.critical_threshold),
        "drift_detected": m.drift_detected,
        "severity": str(m.severity),
    }


# --- the sections -------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """What every section has: a severity, a one-line summary and its part of the health
    score (0..1, 1 = healthy; None = not assessed, the part is left out)."""

    severity: Severity
    summary: str
    score: float | None

    #: the `stats.health` part this section's score is
    health_part: ClassVar[str]

    def to_dict(self) -> dict[str, JSON]:
        return {
            "severity": str(self.severity),
            "summary": self.summary,
            "score": json_number(self.score),
            **self.details(),
        }

    def details(self) -> dict[str, JSON]:
        """The section's own fields in the JSON contract (none when not assessed)."""
        return {}


@dataclass(frozen=True)
class PositiveRate:
    """Share of predictions at or above the decision threshold, baseline vs current."""

    threshold: float
    test: ProportionTest

    def to_dict(self) -> dict[str, JSON]:
        return {
            "threshold": json_value(self.threshold),
            "baseline_rate": json_number(self.test.baseline_rate),
            "current_rate": json_number(self.test.current_rate),
            "difference": json_number(self.test.difference),
            "p_value": json_number(self.test.p_value),
            "test": self.test.method,
        }


@dataclass(frozen=True, kw_only=True)
class PredictionSection(Section):
    """Drift of the model's output column; `verdict` None: too few values to judge."""

    health_part: ClassVar[str] = "prediction_drift"

    column: str
    verdict: FeatureVerdict | None = None
    positive_rate: PositiveRate | None = None

    @property
    def methods(self) -> tuple[MethodVerdict, ...]:
        return () if self.verdict is None else self.verdict.methods

    def details(self) -> dict[str, JSON]:
        if self.verdict is None:
            return {}
        out: dict[str, JSON] = {
            "column": self.column,
            "drift_detected": self.verdict.drift_detected,
            "p_value": json_number(self.verdict.p_value),
            "methods": [method_dict(m) for m in self.verdict.methods],
        }
        if self.positive_rate is not None:
            out["positive_rate"] = self.positive_rate.to_dict()
        return out


Metrics = performance.ClassificationMetrics | performance.RegressionMetrics

# The metric a performance section leads with, the first of these it has.
_HEADLINE_METRICS = ("roc_auc", "rmse", "accuracy")


@dataclass(frozen=True, kw_only=True)
class PerformanceSection(Section):
    """Model quality with labels, current against baseline, on `rows_*` labelled rows.

    `baseline` and `current` None: too few labelled rows to compare. `deciding_metrics`
    names the changes that decide the section's severity (the others are reported only).
    """

    health_part: ClassVar[str] = "performance"

    rows_baseline: int
    rows_current: int
    task: str | None = None
    baseline: Metrics | None = None
    current: Metrics | None = None
    changes: tuple[performance.MetricChange, ...] = ()
    deciding_metrics: tuple[str, ...] = ()

    @property
    def headline(self) -> performance.MetricChange | None:
        return next((ch for ch in self.changes if ch.metric in _HEADLINE_METRICS), None)

    def details(self) -> dict[str, JSON]:
        rows = {"baseline": self.rows_baseline, "current": self.rows_current}
        if self.baseline is None or self.current is None:
            return {"rows": rows}
        out: dict[str, JSON] = {
            "task": self.task,
            "rows": rows,
            "baseline": json_value(self.baseline.metrics()),
            "current": json_value(self.current.metrics()),
            "changes": json_value(self.changes),
            "deciding_metrics": list(self.deciding_metrics),
            "headline": json_value(self.headline),
        }
        if isinstance(self.current, performance.ClassificationMetrics):
            out["confusion_matrix"] = json_value(self.current.confusion)
        return out


@dataclass(frozen=True, kw_only=True)
class ConceptSection(Section):
    """Change of the feature-target relation; `result` None: not assessed (the summary
    says why). A result without a p-value says why in its `reason`."""

    health_part: ClassVar[str] = "concept_drift"

    result: ConceptDriftResult | None = None

    def details(self) -> dict[str, JSON]:
        if self.result is None:
            return {}
        out: dict[str, JSON] = json_value(self.result)
        return out


@dataclass(frozen=True)
class QualityFinding:
    """A column with at least one quality finding: its kind as compared and its checks."""

    kind: str
    checks: quality.ColumnQuality

    @property
    def column(self) -> str:
        return self.checks.column

    @property
    def severity(self) -> Severity:
        return self.checks.severity

    def details(self) -> dict[str, JSON]:
        """The checks that apply to the column (the row's details in the history)."""
        checks = {
            "missing": self.checks.missing,
            "out_of_range": self.checks.out_of_range,
            "type_errors": self.checks.type_errors,
            "categories": self.checks.categories,
        }
        return {name: json_value(check) for name, check in checks.items() if check is not None}

    def to_dict(self) -> dict[str, JSON]:
        return {
            "column": self.column,
            "kind": self.kind,
            "severity": str(self.severity),
            **self.details(),
        }


@dataclass(frozen=True, kw_only=True)
class QualitySection(Section):
    """Missing rates, out-of-range values, new/vanished categories and type errors of
    `columns_checked` columns; `findings` lists those with a finding, None: the windows had
    no rows to check."""

    health_part: ClassVar[str] = "data_quality"

    columns_checked: int = 0
    findings: tuple[QualityFinding, ...] | None = None

    def details(self) -> dict[str, JSON]:
        if self.findings is None:
            return {}
        return {"columns": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True, kw_only=True)
class OperationalSection(Section):
    """Latency percentiles and error rate, for the operational columns the settings name."""

    health_part: ClassVar[str] = "operational"

    latency: operational.LatencyChange | None = None
    error_rate: operational.ErrorRateChange | None = None

    def details(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {}
        if self.latency is not None:
            out["latency"] = json_value(self.latency)
        if self.error_rate is not None:
            out["error_rate"] = json_value(self.error_rate)
        return out


@dataclass(frozen=True)
class Sections:
    """The sections that apply to a run's settings, in the report's order."""

    prediction: PredictionSection | None = None
    performance: PerformanceSection | None = None
    concept: ConceptSection | None = None
    quality: QualitySection | None = None
    operational: OperationalSection | None = None

    def items(self) -> Iterator[tuple[str, Section]]:
        """(name, section) of the sections present: the report's JSON keys."""
        for f in fields(self):
            section = getattr(self, f.name)
            if section is not None:
                yield f.name, section

    def values(self) -> Iterator[Section]:
        return (section for _, section in self.items())
