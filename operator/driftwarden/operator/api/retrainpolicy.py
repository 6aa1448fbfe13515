"""RetrainPolicy (short name `rp`): when a monitor's results start a training Job.

Triggers say when retraining is due; minNewLabelledSamples, cooldown, maxConcurrent and
approval say whether it may start now. Each decision to retrain is a RetrainRun (its record
and its approval); state is kept per monitor. The decision is a pure function
(`driftwarden.operator.reconcile.retrain`); this module only describes the resource.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from driftwarden.detectors.config import (
    SHORTER_THAN_A_MINUTE_PATTERN,
    ZERO_DURATION_PATTERN,
    CamelModel,
    Duration,
    parse_duration,
)

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

MAX_MONITORS: Final = 64
"""Most monitors a policy keeps state for; past it the condition TooManyMonitors is True."""
MAX_ABSOLUTE_DROP: Final = 1e6


class TriggerSeverity(StrEnum):
    """Severity levels a trigger can wait for."""

    WARNING = "warning"
    CRITICAL = "critical"


class Approval(StrEnum):
    """Whether a due retrain starts by itself or waits for a person (on its RetrainRun)."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class PerformanceMetric(StrEnum):
    """The performance metrics the detectors compute (`stats.performance`)."""

    ACCURACY = "accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    F1 = "f1"
    ROC_AUC = "roc_auc"
    PR_AUC = "pr_auc"
    BRIER = "brier"
    ECE = "ece"
    RMSE = "rmse"
    MAE = "mae"
    R2 = "r2"


BOUNDED_METRICS: Final = frozenset(
    {
        PerformanceMetric.ACCURACY,
        PerformanceMetric.PRECISION,
        PerformanceMetric.RECALL,
        PerformanceMetric.F1,
        PerformanceMetric.ROC_AUC,
        PerformanceMetric.PR_AUC,
        PerformanceMetric.BRIER,
        PerformanceMetric.ECE,
    }
)
"""Metrics whose values lie in [0, 1]."""


class PerformanceDropTrigger(CamelModel):
    """Fires when a metric is worse than on the baseline window: by a share of the baseline
    value (relativeDrop) or by metric points (absoluteDrop); set exactly one."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.relativeDrop) != has(self.absoluteDrop)",
                "performanceDrop sets exactly one of relativeDrop and absoluteDrop",
            )
        )
    )

    metric: PerformanceMetric = Field(
        description="A metric the detectors compute: accuracy, precision, recall, f1, roc_auc, "
        "pr_auc, brier, ece, rmse, mae or r2."
    )
    relative_drop: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Drop as a share of the baseline value, e.g. 0.05 (5% worse; for error "
        "metrics such as rmse, a rise).",
    )
    absolute_drop: float | None = Field(
        default=None,
        gt=0,
        le=MAX_ABSOLUTE_DROP,
        description="Drop in metric points, e.g. 0.03 (roc_auc 0.81 -> 0.78).",
    )

    @model_validator(mode="after")
    def _one_unit(self) -> Self:
        if (self.relative_drop is None) == (self.absolute_drop is None):
            raise ValueError("performanceDrop sets exactly one of relativeDrop and absoluteDrop")
        bounded = self.metric in BOUNDED_METRICS
        if bounded and self.absolute_drop is not None and self.absolute_drop > 1:
            raise ValueError(f"absoluteDrop of {self.metric} cannot exceed 1")
        return self

    def describe(self) -> str:
        if self.relative_drop is not None:
            return f"{self.metric} dropped by >={self.relative_drop:g} of baseline"
        return f"{self.metric} dropped by >={self.absolute_drop:g}"


_NOT_ZERO = f"!self.matches('{ZERO_DURATION_PATTERN}')"
_AT_LEAST_A_MINUTE = f"!self.matches('{SHORTER_THAN_A_MINUTE_PATTERN}')"


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
        "the level, e.g. 24h (positive).",
        json_schema_extra=validations(cel(_NOT_ZERO, "persistFor must be positive")),
    )
    performance_drop: PerformanceDropTrigger | None = Field(
        default=None, description="Fires when a performance metric dropped enough."
    )
    model_age: Duration | None = Field(
        default=None,
        description="Fires when the model is older than this, e.g. 30d (at least 1m), counted "
        "from the latest of model.trainedAt, a change of model.version and the last "
        "successful RetrainRun.",
        json_schema_extra=validations(cel(_AT_LEAST_A_MINUTE, "modelAge must be at least 1m")),
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [self.severity, self.performance_drop, self.model_age]
        if sum(kind is not None for kind in kinds) != 1:
            raise ValueError("a trigger sets exactly one of severity, performanceDrop or modelAge")
        if self.persist_for is not None and self.severity is None:
            raise ValueError("persistFor applies only to a severity trigger")
        if self.persist_for is not None and parse_duration(self.persist_for) <= timedelta():
            raise ValueError("persistFor must be positive")
        if self.model_age is not None and parse_duration(self.model_age) < timedelta(minutes=1):
            raise ValueError("modelAge must be at least 1m")
        return self

    def describe(self) -> str:
        """Short human text, e.g. `severity>=critical for 24h`."""
        if self.severity is not None:
            text = f"severity>={self.severity}"
            return f"{text} for {self.persist_for}" if self.persist_for else text
        if self.performance_drop is not None:
            return self.performance_drop.describe()
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


def _metric_field(metric: PerformanceMetric) -> Any:
    bounded = metric in BOUNDED_METRICS
    return Field(
        default=None,
        ge=0 if metric != PerformanceMetric.R2 else -MAX_ABSOLUTE_DROP,
        le=1 if bounded or metric == PerformanceMetric.R2 else MAX_ABSOLUTE_DROP,
        description=f"Value for {metric}.",
    )


class MetricValues(CamelModel):
    """A value per performance metric, each within that metric's range."""

    accuracy: float | None = _metric_field(PerformanceMetric.ACCURACY)
    precision: float | None = _metric_field(PerformanceMetric.PRECISION)
    recall: float | None = _metric_field(PerformanceMetric.RECALL)
    f1: float | None = _metric_field(PerformanceMetric.F1)
    roc_auc: float | None = Field(
        default=None, alias="roc_auc", ge=0, le=1, description="Value for roc_auc."
    )
    pr_auc: float | None = Field(
        default=None, alias="pr_auc", ge=0, le=1, description="Value for pr_auc."
    )
    brier: float | None = _metric_field(PerformanceMetric.BRIER)
    ece: float | None = _metric_field(PerformanceMetric.ECE)
    rmse: float | None = _metric_field(PerformanceMetric.RMSE)
    mae: float | None = _metric_field(PerformanceMetric.MAE)
    r2: float | None = _metric_field(PerformanceMetric.R2)

    def values(self) -> dict[str, float]:
        """The metrics that are set, by name."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}


class RelativeDrops(CamelModel):
    """A largest allowed drop per metric, as a share of the serving model's value."""

    accuracy: float | None = Field(default=None, ge=0, le=1, description="Drop of accuracy.")
    precision: float | None = Field(default=None, ge=0, le=1, description="Drop of precision.")
    recall: float | None = Field(default=None, ge=0, le=1, description="Drop of recall.")
    f1: float | None = Field(default=None, ge=0, le=1, description="Drop of f1.")
    roc_auc: float | None = Field(
        default=None, alias="roc_auc", ge=0, le=1, description="Drop of roc_auc."
    )
    pr_auc: float | None = Field(
        default=None, alias="pr_auc", ge=0, le=1, description="Drop of pr_auc."
    )
    brier: float | None = Field(default=None, ge=0, le=1, description="Rise of brier.")
    ece: float | None = Field(default=None, ge=0, le=1, description="Rise of ece.")
    rmse: float | None = Field(default=None, ge=0, le=1, description="Rise of rmse.")
    mae: float | None = Field(default=None, ge=0, le=1, description="Rise of mae.")
    r2: float | None = Field(default=None, ge=0, le=1, description="Drop of r2.")


class ValidationSpec(CamelModel):
    """Acceptance thresholds handed to the training Job (which enforces them and reports
    the trained model's metrics on its RetrainRun)."""

    minimum: MetricValues | None = Field(
        default=None,
        description="Metric floors (ceilings for error metrics) the new model must reach, "
        "e.g. {roc_auc: 0.78}.",
    )
    max_relative_drop_vs_serving: RelativeDrops | None = Field(
        default=None,
        description="Largest allowed drop against the serving model, as a share of its "
        "value, e.g. {roc_auc: 0.01}.",
    )


class RetrainPolicySpec(CamelModel):
    """Desired state of a RetrainPolicy."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.monitorRef) != has(self.monitorSelector)",
                "set exactly one of monitorRef and monitorSelector",
            ),
        )
    )

    monitor_ref: LocalObjectReference | None = Field(
        default=None, description="The ModelMonitor (same namespace) whose runs are watched."
    )
    monitor_selector: LabelSelector | None = Field(
        default=None,
        description=f"Or: the ModelMonitors of the namespace matching these labels (state is "
        f"kept for at most {MAX_MONITORS}).",
    )
    triggers: list[Trigger] = Field(
        min_length=1,
        max_length=16,
        description="Reasons to retrain; any one suffices; no two alike.",
        json_schema_extra=validations(
            cel(
                "self.all(t, self.filter(u, u == t).size() == 1)",
                "triggers must not repeat",
            )
        ),
    )
    min_new_labelled_samples: int = Field(
        default=0,
        ge=0,
        le=1_000_000_000,
        description="Labelled rows the latest run since the last retrain must have seen.",
    )
    cooldown: Duration = Field(
        default="24h",
        description="Least time between two retrains of one monitor's model, e.g. 7d "
        "(at least 1m).",
        json_schema_extra=validations(cel(_AT_LEAST_A_MINUTE, "cooldown must be at least 1m")),
    )
    max_concurrent: int = Field(
        default=1, ge=1, le=10, description="Most training Jobs of this policy running at once."
    )
    approval: Approval = Field(
        default=Approval.AUTOMATIC,
        description="automatic, or manual: a due retrain waits on its RetrainRun until a "
        "person sets spec.approval to approved (or denied).",
    )
    suspend: bool = Field(default=False, description="Evaluate nothing, start nothing.")
    approval_timeout: Duration | None = Field(
        default=None,
        description="A RetrainRun still pending approval after this long expires (its Ready "
        "reason Expired) and never starts, e.g. 3d (at least 1m); default 7d.",
        json_schema_extra=validations(
            cel(_AT_LEAST_A_MINUTE, "approvalTimeout must be at least 1m")
        ),
    )
    reset_cooldown_on_failure: bool = Field(
        default=False,
        description="When true, a RetrainRun that failed, was rejected, denied or expired "
        "no longer holds its monitor's cooldown, so the next trigger may retrain at once. "
        "By default every decision holds the cooldown, whatever its outcome.",
    )
    job_template: TrainingJobTemplate = Field(description="The training Job to create.")
    validation: ValidationSpec | None = Field(
        default=None,
        description="Thresholds passed to the training Job as DRIFTWARDEN_VALIDATION (JSON).",
    )

    @model_validator(mode="after")
    def _target_and_cooldown(self) -> Self:
        if (self.monitor_ref is None) == (self.monitor_selector is None):
            raise ValueError("set exactly one of monitorRef and monitorSelector")
        if parse_duration(self.cooldown) < timedelta(minutes=1):
            raise ValueError("cooldown must be at least 1m")
        timeout = self.approval_timeout
        if timeout is not None and parse_duration(timeout) < timedelta(minutes=1):
            raise ValueError("approvalTimeout must be at least 1m")
        if len(set(self.triggers)) != len(self.triggers):
            raise ValueError("triggers must not repeat")
        return self


# --- status ----------------------------------------------------------------------------------


class DecisionAction(StrEnum):
    TRIGGER = "trigger"
    SKIP = "skip"


class DecisionRecord(CamelModel):
    """One retrain decision."""

    time: datetime = Field(description="When the decision was made.")
    monitor: str | None = Field(default=None, max_length=253, description="Monitor decided for.")
    action: DecisionAction = Field(description="trigger or skip.")
    reason: str = Field(
        max_length=64,
        description="Triggered, Cooldown, MaxConcurrent, PendingApproval, "
        "InsufficientSamples, Suspended, Disabled or NotTriggered.",
    )
    message: str = Field(default="", max_length=1024, description="Why, in words.")
    retrain_run_name: str | None = Field(
        default=None, max_length=63, description="The RetrainRun made for it."
    )
    run_id: str | None = Field(default=None, max_length=253, description="Run that fired.")


class MonitorRetrainState(CamelModel):
    """What a policy remembers about one of its monitors."""

    name: str = Field(max_length=253, description="The ModelMonitor's name.")
    last_triggered_time: datetime | None = Field(
        default=None, description="When a RetrainRun was last made for this monitor."
    )
    cooldown_until_time: datetime | None = Field(
        default=None, description="No retrain of this monitor starts before this time."
    )
    last_retrain_run_name: str | None = Field(
        default=None, max_length=63, description="The latest RetrainRun for this monitor."
    )
    model_version: str | None = Field(
        default=None, max_length=128, description="model.version last seen."
    )
    model_version_time: datetime | None = Field(
        default=None, description="When that model.version was first seen."
    )
    last_retrain_succeeded_time: datetime | None = Field(
        default=None, description="When a RetrainRun for this monitor last succeeded."
    )
    active_jobs: int = Field(default=0, ge=0, description="Its training Jobs running now.")
    last_decision: DecisionRecord | None = Field(
        default=None, description="The latest decision for this monitor, as of its last change."
    )


class RetrainPolicyStatus(CamelModel):
    """Observed state of a RetrainPolicy, written by the operator."""

    # Keys an older or newer operator wrote are ignored: a status never makes a spec unreadable.
    model_config = ConfigDict(extra="ignore")

    observed_generation: int = Field(
        default=0, ge=0, description="metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Ready, Stalled, Reconciling (kstatus) and TooManyMonitors.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    monitors: list[MonitorRetrainState] = Field(
        default_factory=list,
        max_length=MAX_MONITORS,
        description="Per watched monitor: cooldown, model age and the latest RetrainRun.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    last_decision: DecisionRecord | None = Field(default=None, description="Latest decision.")
    active_jobs: int = Field(default=0, ge=0, description="Training Jobs running now.")
    recent_decisions: list[DecisionRecord] = Field(
        default_factory=list,
        max_length=10,
        description="The last decisions that changed, newest first.",
    )

    def monitor(self, name: str) -> MonitorRetrainState | None:
        return next((m for m in self.monitors if m.name == name), None)


class RetrainPolicy(CamelModel):
    """Makes a RetrainRun (and its training Job) when a monitor's results call for it, within
    a cooldown per monitor, a concurrency limit and an optional approval."""

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
