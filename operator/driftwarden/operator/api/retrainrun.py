"""RetrainRun (short name `rr`): one triggered retraining decision, its approval and outcome.

The CertificateRequest pattern: the operator creates one per decision with a deterministic
name per (policy, monitor, trigger window); its spec is the immutable record of why, except
`spec.approval`, which a person changes once from pending to approved or denied (RBAC on
`retrainruns` decides who may, apart from who may edit policies). Its status follows the
training Job and the validation of the trained model.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from driftwarden.detectors.config import CamelModel, Severity

from .common import Condition, ObjectMeta, ObjectName, cel, validations

KIND: Literal["RetrainRun"] = "RetrainRun"
PLURAL = "retrainruns"
SINGULAR = "retrainrun"
SHORT_NAMES = ("rr",)


class ApprovalState(StrEnum):
    """pending until a person (or an automatic policy) decides; then approved or denied."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class RunWindow(CamelModel):
    """A resolved data window of the run that fired."""

    start: datetime = Field(description="Start (inclusive).")
    end: datetime = Field(description="End (exclusive).")


class TriggerWindows(CamelModel):
    """The baseline and current windows the firing run compared."""

    baseline: RunWindow | None = Field(default=None, description="Baseline window.")
    current: RunWindow | None = Field(default=None, description="Current window.")


_IMMUTABLE = validations(cel("self == oldSelf", "is immutable"))


class RetrainRunSpec(CamelModel):
    """Why this retrain was decided (immutable), and its approval (changed once)."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "oldSelf.approval == 'pending' || self.approval == oldSelf.approval",
                "approval changes once, from pending to approved or denied",
                ".approval",
            ),
            cel(
                "has(self.runId) == has(oldSelf.runId) && "
                "has(self.severity) == has(oldSelf.severity) && "
                "has(self.windows) == has(oldSelf.windows) && "
                "has(self.driftedFeatures) == has(oldSelf.driftedFeatures)",
                "the decision's record is immutable",
            ),
        )
    )

    policy_name: ObjectName = Field(
        description="The RetrainPolicy that decided.", json_schema_extra=_IMMUTABLE
    )
    monitor_name: ObjectName = Field(
        description="The ModelMonitor whose model is retrained.", json_schema_extra=_IMMUTABLE
    )
    trigger: str = Field(
        min_length=1,
        max_length=256,
        description="The trigger that fired, e.g. severity>=critical for 24h.",
        json_schema_extra=_IMMUTABLE,
    )
    trigger_window_time: datetime = Field(
        description="Start of the cooldown-long window the decision fell in (part of the name).",
        json_schema_extra=_IMMUTABLE,
    )
    run_id: str | None = Field(
        default=None,
        max_length=253,
        description="The detector run that fired (none for a modelAge trigger).",
        json_schema_extra=_IMMUTABLE,
    )
    severity: Severity | None = Field(
        default=None, description="That run's severity.", json_schema_extra=_IMMUTABLE
    )
    drifted_features: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="That run's most drifted features.",
        json_schema_extra=_IMMUTABLE,
    )
    windows: TriggerWindows | None = Field(
        default=None,
        description="The windows that run compared.",
        json_schema_extra=_IMMUTABLE,
    )
    approval: ApprovalState = Field(
        default=ApprovalState.PENDING,
        description="pending, approved or denied; set once by a person when the policy's "
        "approval is manual (kubectl patch rr NAME --type merge -p "
        '\'{"spec":{"approval":"approved"}}\').',
    )


class RetrainRunStatus(CamelModel):
    """What happened to the decision: approval, training Job, validation."""

    # Keys an older or newer operator wrote are ignored: a status never makes a spec unreadable.
    model_config = ConfigDict(extra="ignore")

    observed_generation: int = Field(
        default=0, ge=0, description="metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Ready (its reason is the state), Approved, Started, Succeeded, Validated.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    job_name: str | None = Field(default=None, max_length=63, description="The training Job.")
    approval_time: datetime | None = Field(default=None, description="When approval was given.")
    start_time: datetime | None = Field(default=None, description="When the Job was created.")
    completion_time: datetime | None = Field(default=None, description="When the Job ended.")
    metrics: dict[str, float] = Field(
        default_factory=dict,
        max_length=16,
        description="The trained model's metrics as the training Job reported them.",
    )

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


class RetrainRun(CamelModel):
    """One retraining decision of a RetrainPolicy: why (immutable), its approval, its
    training Job and the trained model's validation."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["driftwarden.io/v1alpha1"] = Field(
        default="driftwarden.io/v1alpha1", description="driftwarden.io/v1alpha1"
    )
    kind: Literal["RetrainRun"] = Field(default=KIND, description="RetrainRun")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: RetrainRunSpec = Field(description="The decision and its approval.")
    status: RetrainRunStatus = Field(
        default_factory=RetrainRunStatus, description="Observed state."
    )
