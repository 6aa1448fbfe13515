"""MonitorClass (cluster-scoped, short name `mcl`): what a detector Pod may be, set by admins.

The StorageClass / IngressClass pattern: administrators own the classes, one is marked
default with the annotation `monitorclass.driftwarden.io/is-default-class: "true"`, and a
ModelMonitor names a class or gets the default. Everything that widens privilege or is set
once per cluster lives here (image, ServiceAccount, placement, the results database), so
creating a monitor never grants more than creating a monitor.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from driftwarden.detectors.config import CamelModel

from .common import (
    DnsLabel,
    ImagePullPolicy,
    LocalObjectReference,
    ObjectMeta,
    Quantity,
    ResourceRequirements,
    SecretKeyRef,
    Toleration,
    parse_quantity,
)

KIND: Literal["MonitorClass"] = "MonitorClass"
PLURAL = "monitorclasses"
SINGULAR = "monitorclass"
SHORT_NAMES = ("mcl",)
ANNOTATION_DEFAULT_CLASS: Final = "monitorclass.driftwarden.io/is-default-class"
"""Set to "true" on the one class monitors get when they name none."""
IMAGE_PATTERN: Final = r"^[^\s]+$"

LabelValue = Annotated[str, Field(max_length=63)]


class MonitorClassSpec(CamelModel):
    """How detector Pods of the monitors of this class are made."""

    image: str = Field(
        min_length=1,
        max_length=512,
        pattern=IMAGE_PATTERN,
        description="Detector image, e.g. ghcr.io/driftwarden/driftwarden:0.1.0.",
    )
    image_pull_policy: ImagePullPolicy | None = Field(
        default=None, description="Always, IfNotPresent or Never."
    )
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list,
        max_length=8,
        description="Secrets for pulling the image (looked up in each monitor's namespace).",
    )
    service_account_name: DnsLabel = Field(
        default="driftwarden-detector",
        description="ServiceAccount of the detector Pods, in each monitor's namespace (it "
        "needs no API rights; its token is not mounted).",
    )
    pod_labels: dict[str, LabelValue] = Field(
        default_factory=dict, max_length=32, description="Labels added to the detector Pods."
    )
    pod_annotations: dict[str, Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=dict,
        max_length=32,
        description="Annotations added to the detector Pods.",
    )
    node_selector: dict[str, LabelValue] = Field(
        default_factory=dict, max_length=32, description="Node labels the Pods must land on."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=32, description="Taints the Pods tolerate."
    )
    affinity: dict[str, Any] | None = Field(
        default=None,
        description="core/v1 Affinity of the Pods (checked by the API server with the Pod).",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )
    priority_class_name: DnsLabel | None = Field(
        default=None, description="PriorityClass of the Pods."
    )
    default_resources: ResourceRequirements | None = Field(
        default=None,
        description="Requests and limits of a monitor that sets none; cpu 100m and memory "
        "256Mi requested when empty.",
    )
    max_resources: dict[str, Quantity] = Field(
        default_factory=dict,
        max_length=8,
        description="The most a monitor may request or limit per resource, e.g. "
        "{cpu: '2', memory: 8Gi}; a monitor asking for more is Stalled.",
    )
    results_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret (in each monitor's namespace) holding the results database URL; "
        "the operator's setting when empty.",
    )

    @model_validator(mode="after")
    def _defaults_within_max(self) -> Self:
        if self.default_resources is not None:
            problem = resources_beyond(self.default_resources, self.max_resources)
            if problem:
                raise ValueError(f"defaultResources: {problem}")
        return self


def resources_beyond(resources: ResourceRequirements, maximum: dict[str, str]) -> str | None:
    """The first request or limit above `maximum`, in words, or None."""
    for kind, values in (("request", resources.requests), ("limit", resources.limits)):
        for name, value in sorted(values.items()):
            bound = maximum.get(name)
            if bound is not None and parse_quantity(value) > parse_quantity(bound):
                return f"the {name} {kind} {value} exceeds the class's maximum {bound}"
    return None


class MonitorClass(CamelModel):
    """A kind of detector Pod, owned by cluster administrators: image, ServiceAccount,
    placement, resource bounds and the results database. Cluster-scoped; the one annotated
    monitorclass.driftwarden.io/is-default-class=true is used by monitors that name none."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["driftwarden.io/v1alpha1"] = Field(
        default="driftwarden.io/v1alpha1", description="driftwarden.io/v1alpha1"
    )
    kind: Literal["MonitorClass"] = Field(default=KIND, description="MonitorClass")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: MonitorClassSpec = Field(description="The class's settings.")

    @property
    def is_default(self) -> bool:
        return self.metadata.annotations.get(ANNOTATION_DEFAULT_CLASS) == "true"


class MonitorClassStatus(CamelModel):
    """MonitorClass has no status (administrators' configuration, nothing to observe)."""
