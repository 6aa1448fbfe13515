"""ModelMonitor (short name `mm`): what to watch, where the data is, when to look.

The detection part of the spec (features, methods, thresholds, prediction, labels,
operational columns, minSamples, decision, performance, healthWeights) *is*
`driftwarden.detectors.config.DetectionSpec`: `ModelMonitorSpec` extends it with the
operator's fields, keeping the YAML flat. `driftwarden detect --config monitor.yaml` reads the
detection keys of the same file.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from driftwarden.detectors.config import (
    CamelModel,
    DetectionSpec,
    FeatureSpec,
    Severity,
    WindowSpec,
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

from .common import (
    Condition,
    DnsLabel,
    ImagePullPolicy,
    LocalObjectReference,
    ObjectMeta,
    ObjectName,
    ResourceRequirements,
    SecretKeyRef,
    Toleration,
    cel,
    validations,
)
from .cron import CRON_SHAPE_PATTERN, check_time_zone, parse_cron

KIND: Literal["ModelMonitor"] = "ModelMonitor"
PLURAL = "modelmonitors"
SINGULAR = "modelmonitor"
SHORT_NAMES = ("mm",)

SQL_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]*$"
PROMETHEUS_LABEL_PATTERN = "^[a-zA-Z_][a-zA-Z0-9_]*$"


class ModelRef(CamelModel):
    """The model this monitor watches."""

    name: str = Field(
        min_length=1,
        max_length=128,
        description="Model name as the team knows it; a label on metrics and alerts.",
    )
    version: str | None = Field(
        default=None, max_length=128, description="Model version being served, e.g. 3.2.0."
    )
    trained_at: datetime | None = Field(
        default=None,
        description="When the served version was trained; RetrainPolicy modelAge triggers "
        "count from it until a retraining Job of the policy has succeeded.",
    )


class Schedule(CamelModel):
    """When the detector runs (a CronJob)."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                f"self.cron.matches('{CRON_SHAPE_PATTERN}')",
                "cron must have five fields (minute hour day-of-month month day-of-week), "
                "e.g. '0 */6 * * *', or be a macro such as @daily",
                field_path=".cron",
            )
        )
    )

    cron: str = Field(
        min_length=1,
        max_length=128,
        description="Cron expression in the time zone below, e.g. `0 */6 * * *` or `@daily`.",
    )
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone of the cron expression, e.g. Europe/Berlin; UTC when empty.",
    )
    suspend: bool = Field(default=False, description="Pause scheduled runs (run-now still works).")
    starting_deadline_seconds: int = Field(
        default=300,
        ge=10,
        description="A run that could not start within this many seconds of its time is skipped.",
    )

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        parse_cron(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_time_zone(value)


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
        description="Database schema of the table; the connection's search_path when empty.",
    )
    table: str = Field(
        min_length=1,
        max_length=63,
        pattern=SQL_IDENTIFIER_PATTERN,
        description="Table or view holding one row per prediction.",
    )
    timestamp_column: str = Field(
        min_length=1,
        max_length=63,
        pattern=SQL_IDENTIFIER_PATTERN,
        description="Column with the prediction time; the windows select rows by it.",
    )
    filters: dict[str, str] = Field(
        default_factory=dict,
        max_length=32,
        description="Equality filters (column: value) applied to both windows, "
        "e.g. {model_version: '3.2.0'}.",
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
        min_length=1,
        max_length=1024,
        description="File path or glob inside the detector container, e.g. "
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


class StorageSpec(CamelModel):
    """Where the detector writes run history (Postgres)."""

    connection_secret_ref: SecretKeyRef = Field(
        description="Secret key holding the results database URL."
    )


class AlertingSpec(CamelModel):
    """How this monitor's metrics and alerts are labelled."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                f"self.labels.all(k, k.matches('{PROMETHEUS_LABEL_PATTERN}'))",
                "alerting.labels keys must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*)",
                field_path=".labels",
            )
        )
    )

    labels: dict[str, str] = Field(
        default_factory=dict,
        max_length=16,
        description="Extra labels on this monitor's metrics and alerts; Alertmanager routes "
        "on them (e.g. team: risk-ml).",
    )

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(PROMETHEUS_LABEL_PATTERN, key):
                raise ValueError(f"alerting label {key!r} is not a Prometheus label name")
        return value


class DetectorJobSpec(CamelModel):
    """Knobs of the detector Jobs the CronJob creates."""

    image: str | None = Field(
        default=None,
        max_length=512,
        description="Detector image; the operator's configured image when empty.",
    )
    image_pull_policy: ImagePullPolicy | None = Field(
        default=None, description="Always, IfNotPresent or Never."
    )
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list, max_length=8, description="Secrets for pulling the image."
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="Requests and limits of the detector container."
    )
    service_account_name: DnsLabel | None = Field(
        default=None,
        description="ServiceAccount of the detector Pod (it needs no API rights); "
        "the operator's detector account when empty.",
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, max_length=32, description="Node labels the Pod must land on."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=32, description="Taints the Pod tolerates."
    )
    active_deadline_seconds: int = Field(
        default=1800, ge=1, description="A run taking longer is stopped and counted as failed."
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


MONITOR_RULES = validations(
    cel(
        "has(self.features) && self.features.size() > 0",
        "features must list at least one feature",
        field_path=".features",
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
    schema.update(MONITOR_RULES)


class ModelMonitorSpec(DetectionSpec):
    """Desired state of a ModelMonitor: the model, its data, the schedule and the detection
    settings (the same keys `driftwarden detect --config` reads)."""

    model_config = ConfigDict(json_schema_extra=_monitor_schema_extra)

    model: ModelRef = Field(description="The model this monitor watches.")
    schedule: Schedule = Field(description="When the detector runs.")
    source: DataSource = Field(description="Where the inference log is read from.")
    baseline: WindowSpec = Field(
        description="Reference window, e.g. {relative: {endOffset: 7d, length: 30d}} or "
        "{start: ..., end: ...}."
    )
    current: WindowSpec = Field(
        description="Window compared with the baseline, e.g. {relative: {length: 24h}}."
    )
    storage: StorageSpec | None = Field(
        default=None,
        description="Results database; the operator's configured Secret when empty.",
    )
    alerting: AlertingSpec = Field(
        default_factory=AlertingSpec, description="Labels for metrics and alerts."
    )
    job: DetectorJobSpec = Field(
        default_factory=DetectorJobSpec, description="Knobs of the detector Jobs."
    )
    features: list[FeatureSpec] = Field(  # narrowed from DetectionSpec: a monitor lists them
        default_factory=list,
        max_length=500,
        description="Monitored features (at least one), unique by name.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )

    @model_validator(mode="after")
    def _has_features(self) -> Self:
        if not self.features:
            raise ValueError("features must list at least one feature")
        return self

    def detection(self) -> DetectionSpec:
        """The detection part alone, exactly as `driftwarden detect --config` reads it."""
        return DetectionSpec.model_validate(detection_part(self.model_dump(by_alias=True)))


_OWN_FIELD_ALIASES = (
    "model",
    "schedule",
    "source",
    "baseline",
    "current",
    "storage",
    "alerting",
    "job",
)


# --- status ----------------------------------------------------------------------------------


class LastRun(CamelModel):
    """The most recent finished detector run."""

    id: str = Field(max_length=253, description="Run id (the Job name); the key in Postgres.")
    started_at: datetime | None = Field(default=None, description="When the run started.")
    finished_at: datetime | None = Field(default=None, description="When the run finished.")
    outcome: RunOutcome = Field(description="Succeeded, InsufficientData, InvalidInput or Failed.")
    rows: WindowRows | None = Field(default=None, description="Rows read per window.")
    message: str = Field(default="", max_length=1024, description="Short explanation.")


class ModelMonitorStatus(CamelModel):
    """Observed state of a ModelMonitor, written by the operator."""

    observed_generation: int = Field(
        default=0, ge=0, description="metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Accepted, Ready, DriftDetected and PerformanceDegraded.",
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
    next_run_at: datetime | None = Field(
        default=None, description="Next scheduled run; empty while suspended."
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
