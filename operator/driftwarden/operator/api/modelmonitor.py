"""ModelMonitor (short name `mm`): what to watch, where the data is, when to look.

The detection part of the spec (features, methods, thresholds, prediction, labels,
operational columns, minSamples, decision, performance, healthWeights) *is*
`driftwarden.detectors.config.DetectionSpec`: `ModelMonitorSpec` extends it with the
operator's fields, keeping the YAML flat. `driftwarden detect --config monitor.yaml` reads the
detection keys of the same file.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from driftwarden.detectors.config import (
    BaselineSpec,
    CamelModel,
    DetectionSpec,
    FeatureKind,
    FeatureSpec,
    PredictionType,
    Severity,
    Task,
    WindowSpec,
    parse_duration,
)

# The Job's contract types, owned by the detectors and re-exported here for the API.
from driftwarden.detectors.job.contract import (
    DriftedFeature as DriftedFeature,
)
from driftwarden.detectors.job.contract import (
    MetricChange as MetricChange,
)
from driftwarden.detectors.job.contract import (
    RunOutcome as RunOutcome,
)
from driftwarden.detectors.job.contract import (
    WindowRows as WindowRows,
)
from driftwarden.detectors.job.contract import (
    detection_part as detection_part,
)
from driftwarden.detectors.registry import REGISTRY

from .alerting import AlertingStatus, MaintenanceWindows, window_problems
from .common import (
    Condition,
    ObjectMeta,
    ObjectName,
    ResourceRequirements,
    SecretKeyRef,
    cel,
    validations,
)
from .cron import CRON_PATTERN

KIND: Literal["ModelMonitor"] = "ModelMonitor"
PLURAL = "modelmonitors"
SINGULAR = "modelmonitor"
SHORT_NAMES = ("mm",)

SQL_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]*$"
PROMETHEUS_LABEL_PATTERN = "^[a-zA-Z_][a-zA-Z0-9_]*$"
# An IANA zone's shape (Area/Location, Etc/UTC, UTC); whether this machine knows it is the
# operator's question (Stalled, reason InvalidTimeZone).
TIME_ZONE_PATTERN = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"
DEFAULT_TIME_ZONE = "Etc/UTC"
# Labels the operator, Prometheus or prometheus-operator set on every series and alert: a
# monitor must not set them (in prometheus-operator's routing `namespace` is the tenant).
RESERVED_ALERT_LABELS = (
    "namespace",
    "severity",
    "alertname",
    "monitor",
    "model",
    "job",
    "instance",
)
ALERT_LABEL_VALUE_MAX = 128


class ModelRef(CamelModel):
    """The model this monitor watches."""

    name: str = Field(
        min_length=1,
        max_length=128,
        description="Model name as the team knows it; a label on metrics and alerts.",
    )
    version: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Model version being served, e.g. 3.2.0. A change starts the model's age "
        "anew for RetrainPolicy modelAge triggers.",
    )
    trained_at: datetime | None = Field(
        default=None,
        description="When the served version was trained; RetrainPolicy modelAge triggers "
        "count from the latest of this, a change of version and the last successful "
        "RetrainRun.",
    )


class Schedule(CamelModel):
    """When the detector runs (a CronJob, always with an explicit time zone)."""

    cron: str = Field(
        min_length=1,
        max_length=128,
        pattern=CRON_PATTERN,
        description="Cron expression in the time zone below, e.g. `0 */6 * * *` or `@daily`: "
        "minute (0-59) hour (0-23) day-of-month (1-31) month (1-12, jan-dec) day-of-week "
        "(0-7, sun-sat).",
    )
    time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        min_length=1,
        max_length=64,
        pattern=TIME_ZONE_PATTERN,
        description="IANA time zone of the cron expression, e.g. Europe/Berlin (never Local: "
        "the controller-manager's zone is nobody's choice).",
        json_schema_extra=validations(
            cel("self != 'Local'", "timeZone Local is refused: name the zone, e.g. Etc/UTC")
        ),
    )
    suspend: bool = Field(default=False, description="Pause scheduled runs (run-now still works).")
    starting_deadline_seconds: int = Field(
        default=300,
        ge=10,
        le=86_400,
        description="A run that could not start within this many seconds of its time is skipped.",
    )

    @field_validator("time_zone")
    @classmethod
    def _not_local(cls, value: str) -> str:
        if value == "Local":
            raise ValueError("timeZone Local is refused: name the zone, e.g. Etc/UTC")
        return value


class PostgresSource(CamelModel):
    """An inference log in a PostgreSQL table or view."""

    connection_secret_ref: SecretKeyRef = Field(
        description="Secret key holding the connection URL "
        "(postgresql://user:password@host:5432/db); never inlined in the spec."
    )
    db_schema: str | None = Field(
        default=None,
        alias="schema",
        max_length=63,
        pattern=SQL_IDENTIFIER_PATTERN,
        description="Database schema of the table; the connection's search_path when empty. "
        "A plain SQL identifier (letters, digits, _ and $; not starting with a digit or $).",
    )
    table: str = Field(
        min_length=1,
        max_length=63,
        pattern=SQL_IDENTIFIER_PATTERN,
        description="Table or view holding one row per prediction. A plain SQL identifier "
        "(letters, digits, _ and $; not starting with a digit or $); feature, prediction and "
        "label columns may be any name PostgreSQL takes quoted (at most 63 bytes).",
    )
    timestamp_column: str = Field(
        min_length=1,
        max_length=63,
        pattern=SQL_IDENTIFIER_PATTERN,
        description="Column with the prediction time; the windows select rows by it. A plain "
        "SQL identifier.",
    )
    filters: dict[str, Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict,
        max_length=32,
        description="Equality filters (column: value) applied to both windows, "
        "e.g. {model_version: '3.2.0'}.",
        json_schema_extra=validations(
            cel(
                f"self.all(k, k.matches('{SQL_IDENTIFIER_PATTERN}'))",
                "filter columns must be plain SQL identifiers",
            )
        ),
    )

    @field_validator("filters")
    @classmethod
    def _filter_columns(cls, value: dict[str, str]) -> dict[str, str]:
        for column in value:
            if not re.fullmatch(SQL_IDENTIFIER_PATTERN, column):
                raise ValueError(f"filter column {column!r} is not a plain SQL identifier")
        return value


class FileFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


class FileSource(CamelModel):
    """Parquet or CSV files readable from the detector container."""

    path: str = Field(
        min_length=2,
        max_length=1024,
        pattern="^/[^\\x00]*$",
        description="Absolute file path or glob inside the detector container, e.g. "
        "/data/inference/*.parquet.",
    )
    format: FileFormat | None = Field(
        default=None, description="parquet or csv; taken from the file extension when empty."
    )
    timestamp_column: str = Field(
        min_length=1,
        max_length=253,
        description="Column with the prediction time; the windows select rows by it.",
    )
    volume_claim_name: ObjectName | None = Field(
        default=None,
        description="PersistentVolumeClaim mounted read-only at /data in the detector Pod.",
    )


class DataSource(CamelModel):
    """Where the inference log is read from: exactly one of postgres or files."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.postgres) != has(self.files)",
                "source must set exactly one of postgres or files",
            )
        )
    )

    postgres: PostgresSource | None = Field(default=None, description="A PostgreSQL table.")
    files: FileSource | None = Field(default=None, description="Parquet or CSV files.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.postgres is None) == (self.files is None):
            raise ValueError("source must set exactly one of postgres or files")
        return self


_RESERVED_LIST = ", ".join(f"'{name}'" for name in RESERVED_ALERT_LABELS)


class AlertingSpec(CamelModel):
    """How this monitor's metrics and alerts are labelled, and when they are silenced."""

    labels: dict[str, Annotated[str, Field(max_length=ALERT_LABEL_VALUE_MAX)]] = Field(
        default_factory=dict,
        max_length=16,
        description="Extra labels on this monitor's metrics and alerts; Alertmanager routes "
        "on them (e.g. team: risk-ml). Names the system sets (__*, "
        + ", ".join(RESERVED_ALERT_LABELS)
        + ") are refused.",
        json_schema_extra=validations(
            cel(
                f"self.all(k, k.matches('{PROMETHEUS_LABEL_PATTERN}'))",
                "alerting.labels keys must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*)",
            ),
            cel(
                f"self.all(k, !k.startsWith('__') && !(k in [{_RESERVED_LIST}]))",
                "alerting.labels must not set __* or a label the system owns: "
                + ", ".join(RESERVED_ALERT_LABELS),
            ),
        ),
    )

    # None, not []: an absent list leaves the spec hash (and the run ConfigMap) unchanged.
    maintenance_windows: MaintenanceWindows | None = Field(default=None)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(PROMETHEUS_LABEL_PATTERN, key):
                raise ValueError(f"alerting label {key!r} is not a Prometheus label name")
            if key.startswith("__") or key in RESERVED_ALERT_LABELS:
                raise ValueError(f"alerting label {key!r} is owned by the system")
        return value

    @model_validator(mode="after")
    def _unique_windows(self) -> Self:
        for problem in window_problems(self.maintenance_windows or []):
            raise ValueError(problem)
        return self


class DetectorJobSpec(CamelModel):
    """Knobs of the detector Jobs that widen no privilege (image, ServiceAccount and
    placement come from the MonitorClass)."""

    resources: ResourceRequirements | None = Field(
        default=None,
        description="Requests and limits of the detector container, within the class's "
        "maxResources; the class's defaultResources when empty.",
    )
    active_deadline_seconds: int = Field(
        default=1800,
        ge=1,
        le=86_400,
        description="A run taking longer is stopped and counted as failed.",
    )
    backoff_limit: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of an unexpected failure (exit code 2, invalid input, never retries).",
    )
    successful_jobs_history_limit: int = Field(
        default=3, ge=0, le=100, description="Finished successful Jobs kept."
    )
    failed_jobs_history_limit: int = Field(
        default=3, ge=0, le=100, description="Finished failed Jobs kept."
    )


#: PostgreSQL's longest identifier, in bytes of UTF-8 (a longer column name cannot exist).
POSTGRES_MAX_COLUMN_BYTES = 63
_POSTGRES_COLUMNS_MESSAGE = (
    "with a postgres source, feature names are PostgreSQL column names: at most "
    f"{POSTGRES_MAX_COLUMN_BYTES} bytes in UTF-8"
)

_WINDOW_RULES = (
    cel(
        "!has(self.source.postgres) || "
        f"self.features.all(f, size(bytes(f.name)) <= {POSTGRES_MAX_COLUMN_BYTES})",
        _POSTGRES_COLUMNS_MESSAGE,
        ".features",
    ),
    cel(
        "!has(self.baseline.absolute) || !has(self.current.absolute) || "
        "self.baseline.absolute.end <= self.current.absolute.start",
        "the baseline window must end before the current window starts",
        ".baseline",
    ),
    cel(
        # Same relative window (identical absolute ones are refused by the rule above). The
        # windows are of distinct schema types, so they are compared field by field.
        "!has(self.baseline.relative) || !has(self.current.relative) || "
        "self.baseline.relative.length != self.current.relative.length || "
        "self.baseline.relative.endOffset != self.current.relative.endOffset",
        "baseline and current are the same window",
        ".baseline",
    ),
    cel(
        "!has(self.prediction) || !has(self.labels) || !has(self.prediction.type) || "
        "(self.prediction.type == 'regression') == (self.labels.task == 'regression')",
        "a regression prediction needs a regression task, and a classification one a "
        "binary or multiclass task",
        ".prediction.type",
    ),
)


def _monitor_schema_extra(schema: dict[str, Any]) -> None:
    """Own fields first in the schema and the reference page, then the detection part."""
    properties = schema.get("properties", {})
    own = [name for name in _OWN_FIELD_ALIASES if name in properties]
    schema["properties"] = {
        **{name: properties[name] for name in own},
        **{k: v for k, v in properties.items() if k not in own},
    }
    schema.update(validations(*_WINDOW_RULES))


class ModelMonitorSpec(DetectionSpec):
    """Desired state of a ModelMonitor: the model, its data, the schedule and the detection
    settings (the same keys `driftwarden detect --config` reads)."""

    model_config = ConfigDict(json_schema_extra=_monitor_schema_extra)

    model: ModelRef = Field(description="The model this monitor watches.")
    monitor_class_name: ObjectName | None = Field(
        default=None,
        description="MonitorClass the detector Pods are made from (image, ServiceAccount, "
        "placement, results database); the class marked default when empty.",
    )
    schedule: Schedule = Field(description="When the detector runs.")
    source: DataSource = Field(description="Where the inference log is read from.")
    baseline: BaselineSpec = Field(
        description="Reference window, e.g. {relative: {endOffset: 7d, length: 30d}} or "
        "{absolute: {start: ..., end: ...}}; it must end before the current window starts. "
        "Or a stored reference profile, {profileRef: {name: ...}}, made by `driftwarden "
        "profile --store`: summarised once, never re-read from the source."
    )
    current: WindowSpec = Field(
        description="Window compared with the baseline, e.g. {relative: {length: 24h}}."
    )
    alerting: AlertingSpec = Field(
        default_factory=AlertingSpec,
        description="Labels for metrics and alerts; maintenance windows.",
    )
    job: DetectorJobSpec = Field(
        default_factory=DetectorJobSpec, description="Knobs of the detector Jobs."
    )
    features: list[FeatureSpec] = Field(  # narrowed from DetectionSpec: a monitor lists them
        min_length=1,
        max_length=500,
        description="Monitored features (at least one), unique by name.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for problem in spec_problems(self):
            raise ValueError(problem)
        return self

    def detection(self) -> DetectionSpec:
        """The detection part alone, exactly as `driftwarden detect --config` reads it."""
        return DetectionSpec.model_validate(detection_part(self.model_dump(by_alias=True)))


def _window_length(window: WindowSpec) -> timedelta:
    if window.relative is not None:
        return parse_duration(window.relative.length)
    assert window.absolute is not None
    return window.absolute.end - window.absolute.start


def _relative_end(window: WindowSpec) -> timedelta | None:
    """How far before the run time a relative window ends (None for an absolute one)."""
    return None if window.relative is None else parse_duration(window.relative.end_offset)


def spec_problems(spec: ModelMonitorSpec) -> list[str]:
    """What the schema cannot see, in one-line messages (empty when the spec is usable)."""
    problems: list[str] = []
    for feature in spec.features:
        problems += feature_problems(feature)
    if spec.prediction is not None and spec.labels is not None:
        regression = spec.prediction.type == PredictionType.REGRESSION
        if regression != (spec.labels.task == Task.REGRESSION):
            problems.append(
                f"prediction.type {spec.prediction.type} does not fit labels.task "
                f"{spec.labels.task}"
            )
    if spec.source.postgres is not None:
        problems += postgres_column_problems(spec)
    baseline = spec.baseline.window()
    if baseline is not None:
        problems += _window_order_problems(baseline, spec.current)
    delay = spec.labels.delay if spec.labels is not None else None
    if delay is not None and parse_duration(delay) >= _window_length(spec.current):
        problems.append(
            f"labels.delay {delay} is not shorter than the current window: "
            "no labelled row could be in it"
        )
    return problems


def postgres_column_problems(spec: DetectionSpec) -> list[str]:
    """Column names a PostgreSQL table cannot have (any other name is read, quoted):
    longer than 63 bytes in UTF-8, or holding a NUL character."""
    names = [f.name for f in spec.features]
    if spec.prediction is not None:
        names.append(spec.prediction.column)
    if spec.labels is not None:
        names.append(spec.labels.column)
    if spec.operational is not None:
        names += [c for c in (spec.operational.latency_column, spec.operational.error_column) if c]
    problems: list[str] = []
    for name in dict.fromkeys(names):
        if len(name.encode("utf-8", "surrogatepass")) > POSTGRES_MAX_COLUMN_BYTES:
            problems.append(
                f"column {name[:40]!r}… is longer than PostgreSQL's {POSTGRES_MAX_COLUMN_BYTES} "
                "bytes (UTF-8)"
            )
        elif "\x00" in name:
            problems.append(f"column {name!r} holds a NUL character, which PostgreSQL refuses")
    return problems


def _window_order_problems(baseline: WindowSpec, current: WindowSpec) -> list[str]:
    """The baseline window must differ from the current one and end before it starts."""
    problems: list[str] = []
    if baseline == current:
        problems.append("baseline and current are the same window")
    base_end, current_end = _relative_end(baseline), _relative_end(current)
    if base_end is not None and current_end is not None:
        current_start = current_end + _window_length(current)
        if base_end < current_start:
            problems.append(
                "the baseline window must end before the current window starts "
                "(baseline endOffset at least current endOffset + length)"
            )
    elif (
        baseline.absolute is not None
        and current.absolute is not None
        and baseline.absolute.end > current.absolute.start
    ):
        problems.append("the baseline window must end before the current window starts")
    return problems


_NUMERIC_ONLY = frozenset(
    m for m, info in REGISTRY.items() if info.kinds == frozenset({FeatureKind.NUMERIC})
)
_CATEGORICAL_ONLY = frozenset(
    m for m, info in REGISTRY.items() if info.kinds == frozenset({FeatureKind.CATEGORICAL})
)


def feature_problems(feature: FeatureSpec) -> list[str]:
    """Methods that are repeated, missing or do not apply to the feature's kind."""
    problems: list[str] = []
    if feature.methods is not None:
        if not feature.methods:
            problems.append(f"feature {feature.name}: methods, when given, lists at least one")
        if len(set(feature.methods)) != len(feature.methods):
            problems.append(f"feature {feature.name}: a method is listed twice")
        wrong = _CATEGORICAL_ONLY if feature.type == FeatureKind.NUMERIC else _NUMERIC_ONLY
        if feature.type is not None and any(m in wrong for m in feature.methods):
            names = ", ".join(sorted(str(m) for m in feature.methods if m in wrong))
            problems.append(f"feature {feature.name}: {names} does not apply to {feature.type}")
    return problems


_OWN_FIELD_ALIASES = (
    "model",
    "monitorClassName",
    "schedule",
    "source",
    "baseline",
    "current",
    "alerting",
    "job",
)


# --- status ----------------------------------------------------------------------------------


class LastRun(CamelModel):
    """The most recent finished detector run (its outcome is the LastRunSucceeded condition)."""

    id: str = Field(
        max_length=253, description="Run id, <namespace>/<Job name>; the key in Postgres."
    )
    start_time: datetime | None = Field(default=None, description="When the run started.")
    completion_time: datetime | None = Field(default=None, description="When the run finished.")
    rows: WindowRows | None = Field(default=None, description="Rows read per window.")
    message: str = Field(default="", max_length=1024, description="Short explanation.")


class OperatorState(CamelModel):
    """Where kopf would keep handler progress and the last handled spec."""

    progress: dict[str, Any] | None = Field(
        default=None,
        description="Handler progress.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )
    last_handled_configuration: str | None = Field(
        default=None, max_length=262144, description="The last handled spec (JSON)."
    )
    touch: str | None = Field(default=None, max_length=64, description="A change marker.")


class ModelMonitorStatus(CamelModel):
    """Observed state of a ModelMonitor, written by the operator."""

    # Keys an older or newer operator wrote are ignored: a status never makes a spec unreadable.
    model_config = ConfigDict(extra="ignore")

    observed_generation: int = Field(
        default=0, ge=0, description="metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Ready, Stalled, Reconciling (kstatus), LastRunSucceeded, DriftDetected "
        "and PerformanceDegraded.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    last_run: LastRun | None = Field(default=None, description="The most recent finished run.")
    last_evaluated_run_id: str | None = Field(
        default=None,
        max_length=253,
        description="Run the health, severity and drift facts below come from.",
    )
    next_run_time: datetime | None = Field(
        default=None, description="Next scheduled run; empty while suspended or stalled."
    )
    health_score: int | None = Field(
        default=None, ge=0, le=100, description="0 (broken) to 100 (healthy)."
    )
    severity: Severity | None = Field(default=None, description="none, warning or critical.")
    drifted_features: int | None = Field(default=None, ge=0, description="Features that drifted.")
    total_features: int | None = Field(default=None, ge=0, description="Features evaluated.")
    drift_summary: str | None = Field(
        default=None, max_length=32, description="driftedFeatures/totalFeatures, e.g. 3/25."
    )
    top_drifted_features: list[DriftedFeature] = Field(
        default_factory=list, max_length=10, description="The most drifted features, worst first."
    )
    performance: MetricChange | None = Field(
        default=None, description="The headline performance metric (the worst drop)."
    )
    last_run_now_request: str | None = Field(
        default=None,
        max_length=253,
        description="Value of the last driftwarden.io/run-now annotation acted on.",
    )
    spec_hash: str | None = Field(
        default=None, max_length=64, description="Hash of the spec the CronJob was built from."
    )
    monitor_class_name: str | None = Field(
        default=None, max_length=253, description="The MonitorClass the Pods are made from."
    )
    config_map_name: str | None = Field(
        default=None,
        max_length=253,
        description="The immutable run-configuration ConfigMap of the current spec.",
    )

    alerting: AlertingStatus | None = Field(
        default=None,
        description="Alertmanager silences kept for this monitor: its acknowledgement "
        "(annotation driftwarden.io/acknowledge) and maintenance windows.",
    )

    operator_state: OperatorState | None = Field(
        default=None,
        description="Bookkeeping of the operator's framework (kopf), kept here instead of "
        "in annotations so GitOps tools see no diff; the operator's handlers leave it empty.",
    )

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


class ModelMonitor(CamelModel):
    """Watches one model in production: scheduled drift and performance checks of its
    inference log, with the verdict in status, metrics and Events."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["driftwarden.io/v1alpha1"] = Field(
        default="driftwarden.io/v1alpha1", description="driftwarden.io/v1alpha1"
    )
    kind: Literal["ModelMonitor"] = Field(default=KIND, description="ModelMonitor")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: ModelMonitorSpec = Field(description="Desired state.")
    status: ModelMonitorStatus = Field(
        default_factory=ModelMonitorStatus, description="Observed state."
    )
