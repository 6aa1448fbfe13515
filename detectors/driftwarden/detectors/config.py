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

# Prometheus' duration grammar (`90s`, `1h30m`, `30d`, `2w`, `0`): integers, units in
# descending order, each at most once; y = 365d, w = 7d. Each number is bounded (years two
# digits, the rest three), so the longest duration is about 121 years: a window that far back
# still resolves to a valid date, and the schema pattern alone enforces the bound.
_DURATION_UNITS: tuple[tuple[str, int, timedelta], ...] = (
    ("y", 2, timedelta(days=365)),
    ("w", 3, timedelta(weeks=1)),
    ("d", 3, timedelta(days=1)),
    ("h", 3, timedelta(hours=1)),
    ("m", 3, timedelta(minutes=1)),
    ("s", 3, timedelta(seconds=1)),
    ("ms", 3, timedelta(milliseconds=1)),
)
DURATION_PATTERN = (
    "^(0|" + "".join(f"([0-9]{{1,{digits}}}{unit})?" for unit, digits, _ in _DURATION_UNITS) + ")$"
)
_DURATION = re.compile(
    "^(?:0|"
    + "".join(f"(?:([0-9]{{1,{digits}}}){unit})?" for unit, digits, _ in _DURATION_UNITS)
    + ")$"
)
MAX_DURATION = sum(
    (int("9" * digits) * size for _, digits, size in _DURATION_UNITS), start=timedelta()
)
"""The longest duration the grammar admits (99y999w999d999h999m999s999ms, about 121 years)."""
SHORTER_THAN_A_MINUTE_PATTERN = (
    "^(0|(0{1,2}y)?(0{1,3}w)?(0{1,3}d)?(0{1,3}h)?(0{1,3}m)?(0?[0-5]?[0-9]s)?([0-9]{1,3}ms)?)$"
)
"""Durations below one minute (for the schema's "at least a minute" rules)."""
ZERO_DURATION_PATTERN = (
    "^(0|(0{1,2}y)?(0{1,3}w)?(0{1,3}d)?(0{1,3}h)?(0{1,3}m)?(0{1,3}s)?(0{1,3}ms)?)$"
)
"""Durations equal to zero (for the schema's "positive" rules)."""


def parse_duration(text: str) -> timedelta:
    """Parse a duration in Prometheus' grammar: `90s`, `1h30m`, `30d`, `2w`, `250ms`, `0`.

    Units y (365d), w (7d), d, h, m, s, ms, in that order, each at most once, integers only;
    at most `MAX_DURATION`. The one parser of every duration in the project; raises
    ValueError naming the text when it does not parse. Zero is allowed (a caller that needs
    a positive duration checks that itself).
    """
    match = _DURATION.fullmatch(text) if isinstance(text, str) and text else None
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: expected Prometheus' form, numbers with units y, w, d, "
            "h, m, s, ms in that order, e.g. 90s, 1h30m, 7d or 2w"
        )
    total = timedelta()
    for number, (_, _, size) in zip(match.groups(), _DURATION_UNITS, strict=True):
        if number is not None:
            total += int(number) * size
    return total


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, min_length=1, max_length=64, examples=["24h", "7d"]),
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
    critical: float = Field(gt=0, description="Effect size at which the method is critical.")

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


#: The longest feature (column) name the settings take: a Kubernetes object name's limit.
MAX_FEATURE_NAME = 253


class FeatureSpec(CamelModel):
    """One monitored input column."""

    name: str = Field(
        min_length=1, max_length=MAX_FEATURE_NAME, description="Column name in the data."
    )
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

    latency_column: str | None = Field(
        default=None, min_length=1, description="Latency per request (ms)."
    )
    error_column: str | None = Field(
        default=None,
        min_length=1,
        description="1/true when the request failed, 0/false otherwise.",
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


class DropLevels(CamelModel):
    """Warning and critical levels of a drop, in the unit its field names."""

    warning: float = Field(default=0.05, ge=0, le=1, description="Drop that warns.")
    critical: float = Field(default=0.2, ge=0, le=1, description="Drop that is critical.")

    @model_validator(mode="after")
    def _warning_below_critical(self) -> Self:
        if self.warning > self.critical:
            raise ValueError("the warning drop must not exceed the critical drop")
        return self


#: The largest health weight; weights are relative, so a larger one is a typo.
MAX_HEALTH_WEIGHT = 1000.0


class PerformanceThresholds(CamelModel):
    """How far a performance metric may fall against the baseline window."""

    relative_drop: DropLevels = Field(
        default_factory=DropLevels,
        description="Drop as a share of the baseline value (0.05 = 5% worse; for error "
        "metrics such as rmse, a rise).",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_levels(cls, data: object) -> object:
        # Configurations written before relativeDrop named its unit: {warning, critical}.
        if isinstance(data, dict) and ("warning" in data or "critical" in data):
            rest = {k: v for k, v in data.items() if k not in ("warning", "critical")}
            levels = {k: data[k] for k in ("warning", "critical") if k in data}
            return {**rest, "relativeDrop": levels}
        return data

    @property
    def warning(self) -> float:
        """The relative drop that warns."""
        return self.relative_drop.warning

    @property
    def critical(self) -> float:
        """The relative drop that is critical."""
        return self.relative_drop.critical


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
            raise ValueError("at least one health weight must be positive")
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

    @model_validator(mode="after")
    def _prediction_is_not_the_label(self) -> Self:
        # Scoring a column against itself gives perfect performance and hides every fault.
        if (
            self.prediction is not None
            and self.labels is not None
            and self.prediction.column == self.labels.column
        ):
            raise ValueError(
                f"the prediction and the label are the same column {self.prediction.column!r}"
            )
        return self

    def thresholds_for(self, feature: FeatureSpec | None, method: Method) -> Thresholds:
        """Feature override, else spec-wide override, else the default."""
        if feature is not None and method in feature.thresholds:
            return feature.thresholds[method]
        return self.thresholds.get(method, DEFAULT_THRESHOLDS[method])


class RelativeWindow(CamelModel):
    """A window that ends `endOffset` before the run time and lasts `length`."""

    length: Duration = Field(description="How long the window is, at least 1m, e.g. 24h or 30d.")
    end_offset: Duration = Field(
        default="0s", description="How long before the run time the window ends, e.g. 7d."
    )


class AbsoluteWindow(CamelModel):
    """A fixed window, [start, end), with explicit time zones."""

    start: datetime = Field(description="Start (inclusive), e.g. 2026-01-01T00:00:00Z.")
    end: datetime = Field(description="End (exclusive), at least a minute after start.")


def _absolute_from_bare_bounds(data: object) -> object:
    # Configurations written before `absolute` existed: {start, end} beside relative.
    if isinstance(data, dict) and ("start" in data or "end" in data):
        rest = {k: v for k, v in data.items() if k not in ("start", "end")}
        if "absolute" in rest or "relative" in rest:
            raise ValueError("a window is exactly one of relative or absolute, not both")
        return {**rest, "absolute": {k: data[k] for k in ("start", "end") if k in data}}
    return data


class WindowSpec(CamelModel):
    """A time window: exactly one of relative (to the run time) or absolute."""

    relative: RelativeWindow | None = Field(default=None, description="Relative to the run.")
    absolute: AbsoluteWindow | None = Field(default=None, description="Fixed start and end.")

    @model_validator(mode="before")
    @classmethod
    def _bare_bounds(cls, data: object) -> object:
        return _absolute_from_bare_bounds(data)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("a window is exactly one of relative or absolute")
        if self.absolute is not None:
            start, end = self.absolute.start, self.absolute.end
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError(
                    "absolute window times need a time zone, e.g. 2026-01-01T00:00:00Z"
                )
            if end - start < timedelta(minutes=1):
                raise ValueError("a window lasts at least a minute (start before end)")
        elif self.relative is not None and parse_duration(self.relative.length) < timedelta(
            minutes=1
        ):
            raise ValueError("a window lasts at least a minute (length)")
        return self

    def resolve(self, run_time: datetime) -> tuple[datetime, datetime]:
        """The window as [start, end) for a run at `run_time` (timezone-aware)."""
        if self.relative is not None:
            end = run_time - parse_duration(self.relative.end_offset)
            return end - parse_duration(self.relative.length), end
        assert self.absolute is not None  # guaranteed by _one_form
        return self.absolute.start, self.absolute.end


PROFILE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class ProfileRef(CamelModel):
    """A reference profile stored in the results database (`reference_profiles`), made by
    `driftwarden profile --store NAME` or pinned from a past run."""

    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=PROFILE_NAME_PATTERN,
        description="Name of the stored reference profile (lowercase, digits, '-' and '.').",
    )


class BaselineSpec(CamelModel):
    """The reference: exactly one of a relative window, an absolute window, or a stored
    profile (`profileRef`), which is summarised once and never re-read from the source."""

    relative: RelativeWindow | None = Field(default=None, description="Relative to the run.")
    absolute: AbsoluteWindow | None = Field(default=None, description="Fixed start and end.")
    profile_ref: ProfileRef | None = Field(
        default=None, description="A stored reference profile in the results database."
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_bounds(cls, data: object) -> object:
        return _absolute_from_bare_bounds(data)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        forms = [self.relative, self.absolute, self.profile_ref]
        if sum(form is not None for form in forms) != 1:
            raise ValueError("a baseline is exactly one of relative, absolute or profileRef")
        if self.profile_ref is None:
            self.window()  # the window's own checks
        return self

    def window(self) -> WindowSpec | None:
        """The baseline as a window of the source, or None for a stored profile."""
        if self.profile_ref is not None:
            return None
        return WindowSpec(relative=self.relative, absolute=self.absolute)
