"""RetrainPolicy (short name `rp`): when a monitor's results start a training Job.

Triggers say when retraining is due; minNewLabelledSamples, cooldown, maxConcurrent and
approval say whether it may start now. The decision is a pure function
(`driftwarden.operator.reconcile.retrain`); this module only describes the resource.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from driftwarden.detectors.config import CamelModel, Duration, parse_duration

from .common import (
    Condition,
    DnsLabel,
    LabelSelector,
    LocalObjectReference,
    ObjectMeta,
    cel,
    validations,
)

KIND: Literal["RetrainPolicy"] = "RetrainPolicy"
PLURAL = "retrainpolicies"
SINGULAR = "retrainpolicy"
SHORT_NAMES = ("rp",)

ZERO_DURATION_PATTERN = "^(0+([.]0+)?(ms|s|m|h|d|w))+$"
METRIC_PATTERN = "^[a-z][a-z0-9_]*$"


class TriggerSeverity(StrEnum):
    """Severity levels a trigger can wait for."""

    WARNING = "warning"
    CRITICAL = "critical"


class Approval(StrEnum):
    """Whether a due retrain starts by itself or waits for a person."""

    AUTOMATIC = "Automatic"
    MANUAL = "Manual"


class PerformanceDropTrigger(CamelModel):
    """Fires when a metric is worse than on the baseline window by at least `atLeast`."""

    metric: str = Field(
        max_length=64, pattern=METRIC_PATTERN, description="Metric name, e.g. roc_auc or rmse."
    )
    at_least: float = Field(
        gt=0,
        description="Drop in the metric's own units (an increase for error metrics), e.g. 0.05.",
    )


class Trigger(CamelModel):
    """One reason to retrain; set exactly one of severity, performanceDrop or modelAge."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "[has(self.severity), has(self.performanceDrop), has(self.modelAge)]"
                ".filter(x, x).size() == 1",
                "a trigger sets exactly one of severity, performanceDrop or modelAge",
            ),
            cel(
                "!has(self.persistFor) || has(self.severity)",
                "persistFor applies only to a severity trigger",
                field_path=".persistFor",
            ),
        )
    )

    severity: TriggerSeverity | None = Field(
        default=None,
        description="Fires when a run's severity is at or above this level (warning, critical).",
    )
    persist_for: Duration | None = Field(
        default=None,
        description="With severity: fires only once every run for this long was at or above "
        "the level, e.g. 24h.",
    )
    performance_drop: PerformanceDropTrigger | None = Field(
        default=None, description="Fires when a performance metric dropped enough."
    )
    model_age: Duration | None = Field(
        default=None,
        description="Fires when the model is older than this, e.g. 30d (from the last "
        "successful retrain, else the monitor's model.trainedAt).",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [self.severity, self.performance_drop, self.model_age]
        if sum(kind is not None for kind in kinds) != 1:
            raise ValueError("a trigger sets exactly one of severity, performanceDrop or modelAge")
        if self.persist_for is not None and self.severity is None:
            raise ValueError("persistFor applies only to a severity trigger")
        return self

    def describe(self) -> str:
        """Short human text, e.g. `severity>=critical for 24h`."""
        if self.severity is not None:
            text = f"severity>={self.severity}"
            return f"{text} for {self.persist_for}" if self.persist_for else text
        if self.performance_drop is not None:
            drop = self.performance_drop
            return f"{drop.metric} dropped by >={drop.at_least:g}"
        return f"model older than {self.model_age}"


class TemplateMetadata(CamelModel):
    """Labels and annotations copied onto the created object."""

    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")


class TrainingContainer(CamelModel):
    """A container of the training Pod (core/v1 Container; fields beyond name and image are
    passed through and checked by the API server when the Job is created)."""

    model_config = ConfigDict(extra="allow")

    name: DnsLabel = Field(description="Container name.")
    image: str = Field(min_length=1, max_length=512, description="Training image.")


class RestartPolicy(StrEnum):
    NEVER = "Never"
    ON_FAILURE = "OnFailure"


class TrainingPodSpec(CamelModel):
    """The training Pod's spec (core/v1 PodSpec; other fields are passed through)."""

    model_config = ConfigDict(extra="allow")

    containers: list[TrainingContainer] = Field(
        default_factory=list, max_length=16, description="Containers (at least one)."
    )
    restart_policy: RestartPolicy = Field(
        default=RestartPolicy.NEVER, description="Never or OnFailure."
    )


class TrainingPodTemplate(CamelModel):
    """The training Pod template."""

    metadata: TemplateMetadata | None = Field(default=None, description="Pod labels/annotations.")
    spec: TrainingPodSpec = Field(description="Pod spec.")


class TrainingJobSpec(CamelModel):
    """The training Job's spec (batch/v1 JobSpec; other fields are passed through)."""

    model_config = ConfigDict(extra="allow")

    template: TrainingPodTemplate = Field(description="Pod template of the training Job.")
    backoff_limit: int | None = Field(default=None, ge=0, description="Retries before failing.")
    active_deadline_seconds: int | None = Field(
        default=None, ge=1, description="Longest the Job may run."
    )
    ttl_seconds_after_finished: int | None = Field(
        default=None, ge=0, description="Delete the finished Job after this many seconds."
    )


class TrainingJobTemplate(CamelModel):
    """Template of the training Job (like a CronJob's jobTemplate)."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.spec.template.spec.containers) && "
                "self.spec.template.spec.containers.size() > 0",
                "jobTemplate.spec.template.spec.containers must list at least one container",
                field_path=".spec.template.spec.containers",
            )
        )
    )

    metadata: TemplateMetadata | None = Field(default=None, description="Job labels/annotations.")
    spec: TrainingJobSpec = Field(description="Job spec.")

    @model_validator(mode="after")
    def _has_container(self) -> Self:
        if not self.spec.template.spec.containers:
            raise ValueError(
                "jobTemplate.spec.template.spec.containers must list at least one container"
            )
        return self


class ValidationSpec(CamelModel):
    """Acceptance thresholds handed to the training Job (which enforces them)."""

    minimum: dict[str, float] = Field(
        default_factory=dict,
        max_length=16,
        description="Metric floors the new model must reach, e.g. {roc_auc: 0.78}.",
    )
    max_drop_vs_current: dict[str, float] = Field(
        default_factory=dict,
        max_length=16,
        description="Largest allowed drop against the serving model, e.g. {roc_auc: 0.01}.",
    )


class RetrainPolicySpec(CamelModel):
    """Desired state of a RetrainPolicy."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.monitorRef) != has(self.monitorSelector)",
                "set exactly one of monitorRef and monitorSelector",
            ),
            cel(
                f"!self.cooldown.matches('{ZERO_DURATION_PATTERN}')",
                "cooldown must be positive",
                field_path=".cooldown",
            ),
        )
    )

    monitor_ref: LocalObjectReference | None = Field(
        default=None, description="The ModelMonitor (same namespace) whose runs are watched."
    )
    monitor_selector: LabelSelector | None = Field(
        default=None, description="Or: every ModelMonitor in the namespace matching these labels."
    )
    triggers: list[Trigger] = Field(
        min_length=1, max_length=16, description="Reasons to retrain; any one suffices."
    )
    min_new_labelled_samples: int = Field(
        default=0,
        ge=0,
        description="Labelled rows the latest run since the last retrain must have seen.",
    )
    cooldown: Duration = Field(
        default="24h", description="Least time between two retrains, e.g. 7d."
    )
    max_concurrent: int = Field(
        default=1, ge=1, le=10, description="Most training Jobs of this policy running at once."
    )
    approval: Approval = Field(
        default=Approval.AUTOMATIC,
        description="Automatic, or Manual: a due retrain waits for the annotation "
        "driftwarden.io/approve=<job name shown in status.pendingApproval>.",
    )
    suspend: bool = Field(default=False, description="Evaluate nothing, start nothing.")
    job_template: TrainingJobTemplate = Field(description="The training Job to create.")
    validation: ValidationSpec | None = Field(
        default=None,
        description="Thresholds passed to the training Job as DRIFTWARDEN_VALIDATION (JSON).",
    )

    @model_validator(mode="after")
    def _target_and_cooldown(self) -> Self:
        if (self.monitor_ref is None) == (self.monitor_selector is None):
            raise ValueError("set exactly one of monitorRef and monitorSelector")
        if parse_duration(self.cooldown).total_seconds() <= 0:
            raise ValueError("cooldown must be positive")
        return self


# --- status ----------------------------------------------------------------------------------


class DecisionAction(StrEnum):
    TRIGGER = "Trigger"
    SKIP = "Skip"


class DecisionRecord(CamelModel):
    """One retrain decision."""

    time: datetime = Field(description="When the decision was made.")
    action: DecisionAction = Field(description="Trigger or Skip.")
    reason: str = Field(
        max_length=64,
        description="Triggered, Cooldown, MaxConcurrent, PendingApproval, "
        "InsufficientSamples, Suspended, Disabled or NotTriggered.",
    )
    message: str = Field(default="", max_length=1024, description="Why, in words.")
    job_name: str | None = Field(default=None, max_length=63, description="Training Job name.")
    run_id: str | None = Field(default=None, max_length=253, description="Run that fired.")


class PendingApproval(CamelModel):
    """A due retrain waiting for `kubectl annotate rp NAME driftwarden.io/approve=JOB`."""

    job_name: str = Field(max_length=63, description="Job name to approve.")
    since: datetime = Field(description="When the retrain became due.")
    message: str = Field(default="", max_length=1024, description="What fired.")


class RetrainPolicyStatus(CamelModel):
    """Observed state of a RetrainPolicy, written by the operator."""

    observed_generation: int = Field(
        default=0, ge=0, description="metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Accepted, Ready and RetrainPendingApproval.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    monitors: list[str] = Field(
        default_factory=list, max_length=64, description="Names of the monitors watched."
    )
    last_decision: DecisionRecord | None = Field(default=None, description="Latest decision.")
    last_triggered: datetime | None = Field(
        default=None, description="When a training Job was last created."
    )
    last_job_name: str | None = Field(
        default=None, max_length=63, description="The last training Job created."
    )
    cooldown_until: datetime | None = Field(
        default=None, description="No retrain starts before this time."
    )
    active_jobs: int = Field(default=0, ge=0, description="Training Jobs running now.")
    pending_approval: PendingApproval | None = Field(
        default=None, description="A due retrain waiting for approval."
    )
    recent_decisions: list[DecisionRecord] = Field(
        default_factory=list,
        max_length=10,
        description="The last decisions that changed, newest first.",
    )


class RetrainPolicy(CamelModel):
    """Starts training Jobs when a monitor's results call for it, within a cooldown, a
    concurrency limit and an optional manual approval."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["driftwarden.io/v1alpha1"] = Field(
        default="driftwarden.io/v1alpha1", description="driftwarden.io/v1alpha1"
    )
    kind: Literal["RetrainPolicy"] = Field(default=KIND, description="RetrainPolicy")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: RetrainPolicySpec = Field(description="Desired state.")
    status: RetrainPolicyStatus = Field(
        default_factory=RetrainPolicyStatus, description="Observed state."
    )
