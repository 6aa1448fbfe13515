"""The contract between the operator and a detector Job (`driftwarden run`).

The operator mounts the resolved run configuration (a ModelMonitor manifest with every
default filled in, plus a format `version`) at `CONFIG_PATH` and runs
`driftwarden run --config CONFIG_PATH`. The Job reads the connection URLs from the
environment variables below (filled from Secrets), resolves both windows against the run's
scheduled time, writes the run to the results database in one transaction, writes a
`RunSummary` as compact JSON to the termination-message file (at most 4096 bytes) and exits
with a code of the one table in `driftwarden.detectors.errors`.

Everything here is owned by the detectors; the operator's API models import it. docs/job.md
describes the same contract for people who write their own Job templates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator

from driftwarden.detectors.config import (
    BaselineSpec,
    CamelModel,
    DetectionSpec,
    Severity,
    WindowSpec,
)
from driftwarden.detectors.configfile import ConfigFileError, read_yaml, validation_message
from driftwarden.detectors.errors import ExitCode, InputError
from driftwarden.detectors.outcome import FailureReason, RunOutcome
from driftwarden.detectors.userfiles import CONFIG_MAX_BYTES, UserFileError, read_user_file

__all__ = [
    "CONFIG_PATH",
    "CONFIG_VERSION_KEY",
    "RUN_CONFIG_VERSION",
    "TERMINATION_MESSAGE_LIMIT",
    "DriftedFeature",
    "FailureReason",
    "InvalidRunConfigError",
    "LoadedRunConfig",
    "MetricChange",
    "RunConfig",
    "RunOutcome",
    "RunSummary",
    "WindowRows",
    "detection_part",
    "load_run_config",
]

CONFIG_DIR: Final = "/etc/driftwarden"
CONFIG_FILE: Final = "run.yaml"
CONFIG_PATH: Final = f"{CONFIG_DIR}/{CONFIG_FILE}"
SUMMARY_PATH: Final = "/dev/termination-log"
DATA_DIR: Final = "/data"

ENV_RUN_ID: Final = "DRIFTWARDEN_RUN_ID"
ENV_JOB_NAME: Final = "DRIFTWARDEN_JOB_NAME"
ENV_SOURCE_URL: Final = "DRIFTWARDEN_SOURCE_URL"
ENV_DATABASE_URL: Final = "DRIFTWARDEN_DATABASE_URL"
ENV_SUMMARY_PATH: Final = "DRIFTWARDEN_SUMMARY_PATH"
ENV_MONITOR: Final = "DRIFTWARDEN_MONITOR"
ENV_SCHEDULED_TIME: Final = "DRIFTWARDEN_SCHEDULED_TIME"
# Prefix of a scheduled time given as a CronJob's Job name (`<cronjob>-<Unix minutes>`).
SCHEDULED_FROM_JOB_NAME: Final = "cronjob-job:"

# The format of the run configuration file. Raise it when a change would make an older
# detector misread a newer file; older files stay readable (the Job accepts 1..this).
RUN_CONFIG_VERSION: Final = 1
# The top-level key of the run configuration file that holds that format version.
CONFIG_VERSION_KEY: Final = "version"

TERMINATION_MESSAGE_LIMIT: Final = 4096

# Kept for the operator's earlier names; the values are the one table in errors.py.
EXIT_EVALUATED: Final = int(ExitCode.OK)
EXIT_INVALID_INPUT: Final = int(ExitCode.INVALID_INPUT)
EXIT_TRANSIENT: Final = int(ExitCode.TRANSIENT)
EXIT_INTERNAL: Final = int(ExitCode.INTERNAL)


def run_id_of(namespace: str, job_name: str) -> str:
    """The id of the run a Job makes: `<namespace>/<Job name>`, at most 63 + 1 + 63
    characters for the operator's Jobs. A Job's name is unique only within its namespace
    (monitors of one name in two namespaces make Jobs of one name), while the results
    database keys runs by id alone, across namespaces."""
    return f"{namespace}/{job_name}"


_ENV: dict[str, str] = {
    ENV_RUN_ID: "Run id: <namespace>/<Job name> (`run_id_of`; unique per run in the cluster, "
    "deterministic for run-now requests).",
    ENV_JOB_NAME: "The Job's name (the Pod's batch.kubernetes.io/job-name label).",
    ENV_SOURCE_URL: "Connection URL of the Postgres source "
    "(from spec.source.postgres.connectionSecretRef).",
    ENV_DATABASE_URL: "Connection URL of the results database "
    "(spec.storage or the operator's default).",
    ENV_SUMMARY_PATH: "Where to write the RunSummary JSON (the termination message file).",
    ENV_MONITOR: "namespace/name of the ModelMonitor.",
    ENV_SCHEDULED_TIME: "The run's scheduled time (RFC 3339, or Unix seconds), e.g. the "
    "CronJob's batch.kubernetes.io/cronjob-scheduled-timestamp; windows are resolved against "
    "it, so a retried or late Pod reads the same rows. The Pod's start time when unset. "
    f"{SCHEDULED_FROM_JOB_NAME}<Job name> reads it from the name a CronJob gives its Jobs "
    "(<cronjob>-<Unix minutes>), which is what the operator's CronJobs pass.",
}
_EXIT: dict[int, str] = {
    int(ExitCode.OK): "Both windows evaluated (drift or not), or too little data: "
    "see the summary's outcome.",
    int(ExitCode.INVALID_INPUT): "Invalid input (bad run configuration, missing table or "
    "column, wrong credentials); never retried.",
    int(ExitCode.TRANSIENT): "Transient failure (a database unreachable, a timeout); the Job "
    "retries up to backoffLimit.",
    int(ExitCode.INTERNAL): "Internal error (a bug in driftwarden); retried, please report it.",
}


def documented_env() -> dict[str, str]:
    """Every environment variable of the detector container and its meaning."""
    return dict(_ENV)


def documented_exit_codes() -> dict[int, str]:
    """Every exit code of the detector Job and its meaning (`--fail-on`'s 1 never occurs)."""
    return dict(_EXIT)


class InvalidRunConfigError(InputError):
    """The run configuration file is missing, unreadable, too new or invalid (exit 2)."""


def detection_part(spec: dict[str, Any]) -> dict[str, Any]:
    """The keys of a ModelMonitor `spec` mapping that belong to DetectionSpec."""
    keys = {field.alias or name for name, field in DetectionSpec.model_fields.items()}
    return {key: value for key, value in spec.items() if key in keys}


# --- the run configuration -----------------------------------------------------------------

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$]*$"


class _Lenient(CamelModel):
    """Reads only its own keys: the operator's other fields are not the Job's business."""

    model_config = ConfigDict(extra="ignore")


class RunMetadata(_Lenient):
    name: str = Field(min_length=1, max_length=253)
    namespace: str = Field(default="default", min_length=1, max_length=253)
    uid: str | None = Field(default=None, max_length=64)
    generation: int | None = None


class RunModel(_Lenient):
    name: str = Field(min_length=1, max_length=253)
    version: str | None = Field(default=None, max_length=128)


class PostgresSourceConfig(_Lenient):
    db_schema: str | None = Field(default=None, alias="schema", max_length=63, pattern=_IDENTIFIER)
    table: str = Field(min_length=1, max_length=63, pattern=_IDENTIFIER)
    timestamp_column: str = Field(min_length=1, max_length=63, pattern=_IDENTIFIER)
    filters: dict[str, str] = Field(default_factory=dict, max_length=32)


class FileSourceConfig(_Lenient):
    path: str = Field(min_length=1, max_length=1024)
    format: str | None = Field(default=None, pattern="^(parquet|csv)$")
    timestamp_column: str = Field(min_length=1, max_length=253)


class SourceConfig(_Lenient):
    postgres: PostgresSourceConfig | None = None
    files: FileSourceConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.postgres is None) == (self.files is None):
            raise ValueError("source must set exactly one of postgres or files")
        return self

    @property
    def timestamp_column(self) -> str:
        chosen = self.postgres or self.files
        assert chosen is not None  # _exactly_one
        return chosen.timestamp_column


class RunSpec(_Lenient):
    model: RunModel
    source: SourceConfig
    baseline: BaselineSpec  # a window of the source, or a stored profile (profileRef)
    current: WindowSpec
    detection: DetectionSpec = Field(default_factory=DetectionSpec)

    @model_validator(mode="before")
    @classmethod
    def _detection_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "detection" not in data:
            return {**data, "detection": detection_part(data)}
        return data

    @model_validator(mode="after")
    def _has_features(self) -> Self:
        if not self.detection.features:
            raise ValueError("features must list at least one feature")
        return self


class RunConfig(_Lenient):
    """What `driftwarden run` reads: the monitor's manifest as the operator resolved it."""

    version: int = Field(default=1, ge=1, description="Format of this file.")
    kind: str = "ModelMonitor"
    metadata: RunMetadata
    spec: RunSpec


@dataclass(frozen=True)
class LoadedRunConfig:
    config: RunConfig
    version: int
    spec_hash: str  # the operator's spec hash: sha256 of the canonical spec JSON, 16 hex


def spec_hash(spec: dict[str, Any]) -> str:
    """Hash of a resolved spec mapping, computed exactly as the operator computes it."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_run_config(path: Path) -> LoadedRunConfig:
    """Read and validate the run configuration; InvalidRunConfigError names what is wrong."""
    # Bounded like every user file (docs/limits.md): a regular file of at most 1 MiB,
    # UTF-8 YAML without aliases, duplicate keys, deep nesting or huge integers.
    try:
        document = read_yaml(
            read_user_file(path, what="run configuration", max_bytes=CONFIG_MAX_BYTES),
            source=str(path),
        )
    except (UserFileError, ConfigFileError) as exc:
        raise InvalidRunConfigError(str(exc)) from None
    if not isinstance(document, dict):
        raise InvalidRunConfigError(f"{path}: expected a mapping at the top level")
    version = document.get(CONFIG_VERSION_KEY, 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidRunConfigError(f"{path}: version must be a positive integer, got {version!r}")
    if version > RUN_CONFIG_VERSION:
        raise InvalidRunConfigError(
            f"{path}: run configuration version {version} is newer than this detector "
            f"understands (version {RUN_CONFIG_VERSION}); use a newer detector image"
        )
    try:
        config = RunConfig.model_validate(document)
    except ValidationError as exc:
        # The detection settings sit flat in the spec; the model gathers them itself.
        spec = document.get("spec")
        flat = isinstance(spec, dict) and "detection" not in spec
        folded: dict[tuple[str, ...], tuple[str, ...]] = (
            {("spec", "detection"): ("spec",)} if flat else {}
        )
        message = validation_message(exc, what="run configuration", folded=folded, model=RunConfig)
        raise InvalidRunConfigError(f"{path}: {message}") from None
    raw_spec = document.get("spec")
    return LoadedRunConfig(
        config, version, spec_hash(raw_spec if isinstance(raw_spec, dict) else {})
    )


# --- the summary -------------------------------------------------------------------------


class WindowRows(CamelModel):
    """Rows read per window."""

    baseline: int = Field(ge=0, description="Rows in the baseline window.")
    current: int = Field(ge=0, description="Rows in the current window.")


class DriftedFeature(CamelModel):
    """One of the most drifted features of the last evaluated run."""

    name: str = Field(max_length=253, description="Feature (column) name.")
    method: str = Field(max_length=32, description="Method with the worst verdict, e.g. psi.")
    statistic: float = Field(description="That method's effect size.")
    severity: Severity = Field(description="warning or critical.")


class MetricChange(CamelModel):
    """A performance metric of the current window against the baseline window."""

    metric: str = Field(max_length=64, description="Metric name, e.g. roc_auc or rmse.")
    baseline: float = Field(description="Value on the baseline window.")
    current: float = Field(description="Value on the current window.")
    drop: float = Field(
        description="How much worse current is than baseline in the metric's own units "
        "(positive = worse; for error metrics such as rmse, an increase)."
    )
    severity: Severity = Field(default=Severity.NONE, description="none, warning or critical.")


class RunSummary(CamelModel):
    """What one detector run found, in at most 4096 bytes. Unknown keys are ignored so that
    an older operator can read a newer Job's summary; everything else is in the database
    under the run id."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(max_length=253, description="The run id (the Job name).")
    model_version: str | None = Field(default=None, description="Model version evaluated.")
    scheduled_at: datetime | None = Field(
        default=None, description="The time the windows were resolved against."
    )
    started_at: datetime = Field(description="When the run started.")
    finished_at: datetime = Field(description="When the run finished.")
    outcome: RunOutcome = Field(description="Succeeded, InsufficientData, InvalidInput, Failed.")
    reason: FailureReason | None = Field(
        default=None, description="Why the run did not evaluate (empty when it did)."
    )
    message: str = Field(default="", max_length=1024, description="Short explanation.")
    rows: WindowRows | None = Field(default=None, description="Rows read per window.")
    labelled: WindowRows | None = Field(
        default=None, description="Rows per window whose label had arrived (labels.delay)."
    )
    labelled_rows: int = Field(
        default=0, ge=0, description="Rows of the current window whose label had arrived."
    )
    severity: Severity = Field(
        default=Severity.NONE, description="Overall verdict (drift, performance, quality)."
    )
    drift_severity: Severity = Field(
        default=Severity.NONE, description="Verdict of feature and prediction drift alone."
    )
    health_score: float | None = Field(
        default=None, ge=0, le=100, description="0 (broken) to 100 (healthy)."
    )
    drifted_features: int = Field(default=0, ge=0, description="Features that drifted.")
    total_features: int = Field(default=0, ge=0, description="Features evaluated.")
    top_drifted: list[DriftedFeature] = Field(
        default_factory=list, max_length=10, description="Most drifted features, worst first."
    )
    performance: list[MetricChange] = Field(
        default_factory=list, max_length=10, description="Performance metrics (needs labels)."
    )

    def headline_performance(self) -> MetricChange | None:
        """The metric with the worst severity, then the largest drop."""
        if not self.performance:
            return None
        return max(self.performance, key=lambda m: (m.severity.rank, m.drop))

    def to_termination_message(self) -> str:
        """Compact JSON of at most 4096 bytes (UTF-8), whatever the fields hold.

        To fit, it drops the least drifted of the top features first, then shortens the
        message, then drops performance metrics; counts and the run id always remain.
        """
        summary = self
        text = _compact(summary)
        while _too_long(text) and summary.top_drifted:
            summary = summary.model_copy(update={"top_drifted": summary.top_drifted[:-1]})
            text = _compact(summary)
        while _too_long(text) and summary.message:
            keep = len(summary.message) // 2
            short = summary.message[:keep] + "…" if keep else ""
            summary = summary.model_copy(update={"message": short})
            text = _compact(summary)
        while _too_long(text) and summary.performance:
            summary = summary.model_copy(update={"performance": summary.performance[:-1]})
            text = _compact(summary)
        if _too_long(text):  # pragma: no cover - ids are bounded well below the limit
            summary = summary.model_copy(update={"model_version": None})
            text = _compact(summary)
        return text

    @classmethod
    def from_termination_message(cls, text: str) -> RunSummary:
        """Parse a summary a detector Job wrote (raises pydantic.ValidationError)."""
        return cls.model_validate_json(text)


def _compact(summary: RunSummary) -> str:
    return json.dumps(
        summary.model_dump(mode="json", by_alias=True, exclude_none=True),
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )


def _too_long(text: str) -> bool:
    return len(text.encode()) > TERMINATION_MESSAGE_LIMIT
