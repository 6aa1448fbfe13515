"""The detection settings: what to compare, with which methods and thresholds.

This one pydantic model is read by `driftwarden detect --config` and composed into the
ModelMonitor CRD by the operator, so a monitor can be debugged on a laptop with exactly the
settings the cluster uses. Field names are camelCase on the wire (Kubernetes convention) and
snake_case in Python.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from driftwarden.detectors.stats.severity import Severity

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+$"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as `90s`, `24h`, `7d` or `1h30m` (the one parser we use).

    Units: ms, s, m, h, d (24h), w (7d). Raises ValueError naming the text when it does not
    parse; zero is allowed (a caller that needs a positive duration checks that itself).
    """
    if not isinstance(text, str) or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(
            f"invalid duration {text!r}: expected a number and a unit (ms, s, m, h, d, w), "
            "e.g. 90s, 24h, 7d or 1h30m"
        )
    total = timedelta()
    try:
        for number, unit in _DURATION_PART.findall(text):
            total += float(number) * _DURATION_UNITS[unit]
    except OverflowError:  # e.g. 9999999999d: past datetime.timedelta's ~2.7 million years
        raise ValueError(f"duration {text[:64]!r} is too long") from None
    return total


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, max_length=64, examples=["24h", "7d"]),
    AfterValidator(_check_duration),
]


class CamelModel(BaseModel):
    """Base for wire models: camelCase aliases, unknown fields refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


__all__ = ["Severity"]  # re-exported: callers import the scale from here or from stats


class FeatureKind(StrEnum):
    """How a column's values are compared."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class Method(StrEnum):
    """Drift methods. See `driftwarden.detectors.stats` for each formula."""

    PSI = "psi"
    KS = "ks"
    JS = "js"
    WASSERSTEIN = "wasserstein"
    KL = "kl"
    HELLINGER = "hellinger"
    CHI2 = "chi2"


# Which methods apply to which kind is `registry.REGISTRY`'s business; these are defaults.
DEFAULT_NUMERIC_METHODS: tuple[Method, ...] = (Method.KS, Method.PSI, Method.JS, Method.WASSERSTEIN)
DEFAULT_CATEGORICAL_METHODS: tuple[Method, ...] = (Method.CHI2, Method.PSI, Method.JS)


class Thresholds(CamelModel):
    """Warning and critical levels of one method's effect size (after small-sample
    correction). For KS and chi-square the effect is the KS statistic D and Cramér's V."""

    warning: float = Field(ge=0, description="Effect size at which the method warns.")
    critical: float = Field(ge=0, description="Effect size at which the method is critical.")

    @model_validator(mode="after")
    def _warning_below_critical(self) -> Self:
        if self.warning > self.critical:
            raise ValueError(
                f"warning threshold {self.warning} must not exceed critical {self.critical}"
            )
        return self


# Effect-size thresholds per method. PSI 0.1/0.2 and JS 0.1 are the industry's usual levels;
# they are applied to bias-corrected statistics (see stats.binned), so they mean the same on
# 200 rows as on 2 million. KS and chi-square effects (D, Cramér's V) gate significance so
# that huge windows do not alarm on meaningless shifts.
DEFAULT_THRESHOLDS: dict[Method, Thresholds] = {
    Method.PSI: Thresholds(warning=0.1, critical=0.2),
    Method.JS: Thresholds(warning=0.1, critical=0.2),
    Method.KS: Thresholds(warning=0.05, critical=0.2),
    Method.WASSERSTEIN: Thresholds(warning=0.1, critical=0.25),
    Method.KL: Thresholds(warning=0.1, critical=0.2),
    Method.HELLINGER: Thresholds(warning=0.1, critical=0.2),
    Method.CHI2: Thresholds(warning=0.05, critical=0.2),
}


class FeatureSpec(CamelModel):
    """One monitored input column."""

    name: str = Field(min_length=1, max_length=253, description="Column name in the data.")
    type: FeatureKind | None = Field(
        default=None, description="numeric or categorical; inferred from the data when omitted."
    )
    methods: list[Method] | None = Field(
        default=None,
        description="Drift methods to run; defaults depend on the kind "
        "(numeric: ks, psi, js, wasserstein; categorical: chi2, psi, js).",
    )
    thresholds: dict[Method, Thresholds] = Field(
        default_factory=dict, description="Per-method threshold overrides for this feature."
    )


class PredictionType(StrEnum):
    PROBABILITY = "probability"
    CLASS = "class"
    REGRESSION = "regression"


class PredictionSpec(CamelModel):
    """The model's output column, checked for prediction drift."""

    column: str = Field(min_length=1, description="Column holding the model's output.")
    type: PredictionType = Field(
        default=PredictionType.PROBABILITY,
        description="probability (score of the positive class), class, or regression value.",
    )
    threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Decision threshold turning a probability into the positive class.",
    )
    positive_class: str | None = Field(
        default=None, description="For class predictions: the label counted as positive."
    )


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


class LabelSpec(CamelModel):
    """Ground truth, when it arrives: enables performance and concept drift."""

    column: str = Field(min_length=1, description="Column holding the true label.")
    task: Task = Field(description="binary, multiclass or regression.")
    delay: Duration | None = Field(
        default=None, description="How long labels take to arrive, e.g. 72h."
    )


class OperationalSpec(CamelModel):
    """Serving columns, when the inference log has them."""

    latency_column: str | None = Field(default=None, description="Latency per request (ms).")
    error_column: str | None = Field(
        default=None, description="1/true when the request failed, 0/false otherwise."
    )


class DecisionSpec(CamelModel):
    """How per-feature evidence becomes one verdict (see stats.decision)."""

    alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Case-level false alarm rate the run's verdict is controlled at.",
    )
    bins: int = Field(
        default=10, ge=2, le=1000, description="Baseline-quantile bins for PSI/JS/KL/Hellinger."
    )


class PerformanceThresholds(CamelModel):
    """Relative drop of a performance metric against the baseline window."""

    warning: float = Field(default=0.05, ge=0, le=1, description="Relative drop that warns.")
    critical: float = Field(default=0.2, ge=0, le=1, description="Relative drop that is critical.")

    @model_validator(mode="after")
    def _warning_below_critical(self) -> Self:
        if self.warning > self.critical:
            raise ValueError("performance warning drop must not exceed the critical drop")
        return self


#: The largest health weight; weights are relative, so a larger one is a typo.
MAX_HEALTH_WEIGHT = 1000.0


class HealthWeights(CamelModel):
    """Weights of the health score's parts (normalised over the parts present in a run)."""

    data_drift: float = Field(default=0.35, ge=0, description="Weight of feature drift.")
    prediction_drift: float = Field(
        default=0.2, ge=0, description="Weight of drift in the model's output."
    )
    performance: float = Field(
        default=0.25, ge=0, description="Weight of the performance drop (needs labels)."
    )
    concept_drift: float = Field(
        default=0.1, ge=0, description="Weight of concept drift (needs labels)."
    )
    data_quality: float = Field(
        default=0.07, ge=0, description="Weight of data quality (missing, out of range, new)."
    )
    operational: float = Field(default=0.03, ge=0, description="Weight of latency and error rate.")

    @model_validator(mode="after")
    def _finite_bounded_not_all_zero(self) -> Self:
        # A validator, not Field bounds: the CRD schema stays as it is (the API server never
        # sees infinities in JSON; 1e308 and all-zero are refused here and by the operator).
        weights = self.model_dump()
        for name, value in weights.items():
            if not math.isfinite(value) or value > MAX_HEALTH_WEIGHT:
                raise ValueError(
                    f"health weight {to_camel(name)} must be a finite number between 0 and "
                    f"{MAX_HEALTH_WEIGHT:g}, got {value:g}"
                )
        if not any(weights.values()):
            raise ValueError("health weights must not all be zero")
        return self


class DetectionSpec(CamelModel):
    """Everything the detectors need to compare a baseline window with a current one."""

    features: list[FeatureSpec] = Field(
        default_factory=list,
        description="Monitored features; empty means every column that is not the "
        "prediction, label, timestamp or an operational column.",
    )
    prediction: PredictionSpec | None = None
    labels: LabelSpec | None = None
    operational: OperationalSpec | None = None
    min_samples: int = Field(
        default=100,
        ge=1,
        description="Windows with fewer rows are reported as insufficient data.",
    )
    decision: DecisionSpec = Field(default_factory=DecisionSpec)
    thresholds: dict[Method, Thresholds] = Field(
        default_factory=dict, description="Threshold overrides for every feature."
    )
    performance: PerformanceThresholds = Field(default_factory=PerformanceThresholds)
    health_weights: HealthWeights = Field(default_factory=HealthWeights)

    @model_validator(mode="after")
    def _unique_feature_names(self) -> Self:
        seen: set[str] = set()
        for feature in self.features:
            if feature.name in seen:
                raise ValueError(f"feature {feature.name!r} is listed twice")
            seen.add(feature.name)
        return self

    def thresholds_for(self, feature: FeatureSpec | None, method: Method) -> Thresholds:
        """Feature override, else spec-wide override, else the default."""
        if feature is not None and method in feature.thresholds:
            return feature.thresholds[method]
        return self.thresholds.get(method, DEFAULT_THRESHOLDS[method])


class RelativeWindow(CamelModel):
    """A window that ends `endOffset` before the run time and lasts `length`."""

    length: Duration = Field(description="How long the window is, e.g. 24h or 30d.")
    end_offset: Duration = Field(
        default="0s", description="How long before the run time the window ends, e.g. 7d."
    )


class WindowSpec(CamelModel):
    """A time window: relative to the run time, or absolute (start inclusive, end exclusive)."""

    relative: RelativeWindow | None = None
    start: datetime | None = Field(default=None, description="Absolute start (inclusive).")
    end: datetime | None = Field(default=None, description="Absolute end (exclusive).")

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        absolute = self.start is not None or self.end is not None
        if (self.relative is None) == (not absolute):
            raise ValueError("a window is either relative or has start and end, not both")
        if absolute:
            if self.start is None or self.end is None:
                raise ValueError("an absolute window needs both start and end")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError(
                    "absolute window times need a time zone, e.g. 2026-01-01T00:00:00Z"
                )
            if self.start >= self.end:
                raise ValueError("window start must be before its end")
        elif self.relative is not None and parse_duration(self.relative.length) <= timedelta():
            raise ValueError("window length must be positive")
        return self

    def resolve(self, run_time: datetime) -> tuple[datetime, datetime]:
        """The window as [start, end) for a run at `run_time` (timezone-aware)."""
        if self.relative is not None:
            end = run_time - parse_duration(self.relative.end_offset)
            return end - parse_duration(self.relative.length), end
        # Both set: guaranteed by _one_form.
        assert self.start is not None
        assert self.end is not None
        return self.start, self.end
