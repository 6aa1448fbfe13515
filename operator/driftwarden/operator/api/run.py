"""The contract between the operator and a detector Job.

The operator mounts the resolved run configuration (a ModelMonitor manifest with every
default filled in) at `CONFIG_PATH` and runs `driftwarden run --config CONFIG_PATH`. The Job
reads the connection URLs from the environment variables below (filled from Secrets), writes
the run to Postgres, prints a `RunSummary` as compact JSON to `SUMMARY_PATH` (the container's
termination message, at most 4096 bytes) and exits with one of the exit codes below.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from pydantic import ConfigDict, Field

from driftwarden.detectors.config import CamelModel, Severity

from .modelmonitor import DriftedFeature, MetricChange, RunOutcome, WindowRows

RUN_CONFIG_VERSION: Final = 1
"""Version of run.yaml's layout. A detector reads every version up to its own and refuses a
newer one (exit code 2, naming both versions), so an old image never misreads a new file."""
CONFIG_VERSION_KEY: Final = "runConfigVersion"
CONFIG_DIR: Final = "/etc/driftwarden"
CONFIG_FILE: Final = "run.yaml"
CONFIG_PATH: Final = f"{CONFIG_DIR}/{CONFIG_FILE}"
SUMMARY_PATH: Final = "/dev/termination-log"
DATA_DIR: Final = "/data"

ENV_RUN_ID: Final = "DRIFTWARDEN_RUN_ID"
ENV_SOURCE_URL: Final = "DRIFTWARDEN_SOURCE_URL"
ENV_DATABASE_URL: Final = "DRIFTWARDEN_DATABASE_URL"
ENV_SUMMARY_PATH: Final = "DRIFTWARDEN_SUMMARY_PATH"
ENV_MONITOR: Final = "DRIFTWARDEN_MONITOR"

EXIT_EVALUATED: Final = 0
EXIT_UNEXPECTED: Final = 1
EXIT_INVALID_INPUT: Final = 2

_ENV: dict[str, str] = {
    ENV_RUN_ID: "Run id: the Job's name (unique per run, deterministic for run-now requests).",
    ENV_SOURCE_URL: "Connection URL of the Postgres source "
    "(from spec.source.postgres.connectionSecretRef).",
    ENV_DATABASE_URL: "Connection URL of the results database "
    "(spec.storage or the operator's default).",
    ENV_SUMMARY_PATH: "Where to write the RunSummary JSON (the termination message file).",
    ENV_MONITOR: "namespace/name of the ModelMonitor.",
}
_EXIT: dict[int, str] = {
    EXIT_EVALUATED: "Both windows evaluated (drift or not), or too little data: "
    "see the summary's outcome.",
    EXIT_UNEXPECTED: "Unexpected failure; the Job retries up to backoffLimit.",
    EXIT_INVALID_INPUT: "Invalid input (missing column, unreadable table, bad config); "
    "never retried.",
}

TERMINATION_MESSAGE_LIMIT: Final = 4096


def documented_env() -> dict[str, str]:
    """Every environment variable of the detector container and its meaning."""
    return dict(_ENV)


def documented_exit_codes() -> dict[int, str]:
    """Every exit code of the detector and its meaning."""
    return dict(_EXIT)


class RunSummary(CamelModel):
    """What one detector run found, in a few hundred bytes. Unknown keys are ignored so that
    an older operator can read a newer Job's summary."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(max_length=253, description="The run id (the Job name).")
    model_version: str | None = Field(default=None, description="Model version evaluated.")
    started_at: datetime = Field(description="When the run started.")
    finished_at: datetime = Field(description="When the run finished.")
    outcome: RunOutcome = Field(description="Succeeded, InsufficientData, InvalidInput, Failed.")
    message: str = Field(default="", max_length=1024, description="Short explanation.")
    rows: WindowRows | None = Field(default=None, description="Rows read per window.")
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
        """Compact JSON within the 4096-byte termination message (drops top features to fit)."""
        summary = self
        while True:
            text = json.dumps(
                summary.model_dump(mode="json", by_alias=True, exclude_none=True),
                separators=(",", ":"),
                sort_keys=True,
            )
            if len(text.encode()) <= TERMINATION_MESSAGE_LIMIT or not summary.top_drifted:
                return text
            summary = summary.model_copy(update={"top_drifted": summary.top_drifted[:-1]})

    @classmethod
    def from_termination_message(cls, text: str) -> RunSummary:
        """Parse a summary a detector Job wrote (raises pydantic.ValidationError)."""
        return cls.model_validate_json(text)
