"""driftwarden.operator.api: the custom resources (group driftwarden.io, version v1alpha1).

pydantic models of ModelMonitor and RetrainPolicy, the condition types and reasons, the run
contract with the detector Jobs, and the generator of `crds/*.yaml` and `docs/reference.md`.
"""

from .common import API_VERSION, CATEGORY, GROUP, VERSION, Condition, ObjectMeta
from .modelmonitor import ModelMonitor, ModelMonitorSpec, ModelMonitorStatus, RunOutcome
from .retrainpolicy import RetrainPolicy, RetrainPolicySpec, RetrainPolicyStatus
from .run import RunSummary

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "GROUP",
    "VERSION",
    "Condition",
    "ModelMonitor",
    "ModelMonitorSpec",
    "ModelMonitorStatus",
    "ObjectMeta",
    "RetrainPolicy",
    "RetrainPolicySpec",
    "RetrainPolicyStatus",
    "RunOutcome",
    "RunSummary",
]
