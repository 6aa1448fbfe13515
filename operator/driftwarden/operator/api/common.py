"""Building blocks shared by both resources: references, conditions, Kubernetes knobs.

The Kubernetes types here are the subset a monitor or policy needs, typed field by field so
the generated CRD schema stays structural (no untyped maps of objects).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Self

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from driftwarden.detectors.config import CamelModel

from .conditions import ConditionStatus

GROUP: Final = "driftwarden.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
CATEGORY: Final = "driftwarden"

DNS_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
CONDITION_REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# A non-negative Kubernetes quantity (resources are never negative): 2, 500m, 2Gi, 1e3.
QUANTITY_PATTERN: Final = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?[0-9]{1,2}))?$"
)
_SUFFIX: Final = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity in base units (cores, bytes): `500m` -> 0.5, `2Gi` -> 2**31."""
    match = re.fullmatch(r"([0-9.]+)((?:[KMGTPE]i)|[numkMGTPE]|(?:[eE][-+]?[0-9]+))?", text)
    if match is None or not re.fullmatch(QUANTITY_PATTERN, text):
        raise ValueError(f"invalid quantity {text!r}: e.g. 500m, 2, 2Gi")
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _SUFFIX[suffix]


def cel(
    rule: str, message: str, field_path: str | None = None, reason: str | None = None
) -> dict[str, str]:
    """One `x-kubernetes-validations` entry (a CEL rule the API server evaluates)."""
    entry = {"rule": rule, "message": message}
    if field_path is not None:
        entry["fieldPath"] = field_path
    if reason is not None:
        entry["reason"] = reason
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """json_schema_extra carrying CEL rules, for a model_config or a Field."""
    return {"x-kubernetes-validations": list(rules)}


def _quantity(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a quantity is a number or a string such as 500m or 2Gi")
    if isinstance(value, int | float):
        return str(value)
    return value


Quantity = Annotated[
    str,
    BeforeValidator(_quantity),
    Field(pattern=QUANTITY_PATTERN, max_length=32),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "maxLength": 32,
            "pattern": QUANTITY_PATTERN,
            "x-kubernetes-int-or-string": True,
        }
    ),
]
"""A Kubernetes resource quantity: `2`, `500m`, `2Gi`."""

DnsLabel = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]


class SecretKeyRef(CamelModel):
    """A key of a Secret in the resource's namespace. Secrets are referenced, never inlined."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="Key within the Secret whose value is used.",
    )


class LocalObjectReference(CamelModel):
    """A reference to an object by name in the same namespace."""

    name: ObjectName = Field(description="Name of the referenced object.")


class LabelSelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(CamelModel):
    """One requirement of a label selector."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
                "In and NotIn need values; Exists and DoesNotExist take none",
                ".values",
            )
        )
    )

    key: str = Field(min_length=1, max_length=317, description="The label key.")
    operator: LabelSelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[Annotated[str, Field(max_length=63)]] = Field(
        default_factory=list,
        max_length=64,
        description="Values for In and NotIn; empty for Exists and DoesNotExist.",
    )

    @model_validator(mode="after")
    def _values_match_operator(self) -> Self:
        wants = self.operator in (LabelSelectorOperator.IN, LabelSelectorOperator.NOT_IN)
        if wants != bool(self.values):
            raise ValueError("In and NotIn need values; Exists and DoesNotExist take none")
        return self


class LabelSelector(CamelModel):
    """A Kubernetes label selector; all requirements must hold (AND). Never empty: an empty
    selector would select everything."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "(has(self.matchLabels) && size(self.matchLabels) > 0) || "
                "(has(self.matchExpressions) && size(self.matchExpressions) > 0)",
                "a selector needs matchLabels or matchExpressions (an empty one selects all)",
            )
        )
    )

    match_labels: dict[str, Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, description="Labels that must be equal."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, max_length=32, description="Set-based requirements."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.match_labels and not self.match_expressions:
            raise ValueError(
                "a selector needs matchLabels or matchExpressions (an empty one selects all)"
            )
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an object with `labels` is selected (an empty selector selects everything)."""
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        for requirement in self.match_expressions:
            present = requirement.key in labels
            match requirement.operator:
                case LabelSelectorOperator.IN:
                    ok = present and labels[requirement.key] in requirement.values
                case LabelSelectorOperator.NOT_IN:
                    ok = not present or labels[requirement.key] not in requirement.values
                case LabelSelectorOperator.EXISTS:
                    ok = present
                case LabelSelectorOperator.DOES_NOT_EXIST:
                    ok = not present
            if not ok:
                return False
        return True


class Condition(CamelModel):
    """One observation of the resource's state (Kubernetes metav1.Condition)."""

    type: str = Field(
        min_length=1,
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        description="Condition type in CamelCase: Accepted, Ready, DriftDetected, ...",
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=CONDITION_REASON_PATTERN,
        description="Machine-readable CamelCase reason for the last transition.",
    )
    message: str = Field(
        default="", max_length=32768, description="Human-readable details of the transition."
    )
    last_transition_time: datetime = Field(
        description="When the status last changed (not when the condition was last written)."
    )
    observed_generation: int = Field(
        default=0, ge=0, description="metadata.generation the condition was computed from."
    )


RESOURCE_NAME_PATTERN: Final = (
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$"
)
REQUESTS_WITHIN_LIMITS: Final = cel(
    "!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) "
    "|| quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)",
    "a resource request must not exceed its limit",
    ".requests",
)


class ResourceRequirements(CamelModel):
    """CPU, memory and other resources of a container (requests never above limits)."""

    model_config = ConfigDict(json_schema_extra=validations(REQUESTS_WITHIN_LIMITS))

    limits: dict[str, Quantity] = Field(
        default_factory=dict, max_length=8, description="Maximum resources, e.g. {memory: 2Gi}."
    )
    requests: dict[str, Quantity] = Field(
        default_factory=dict, max_length=8, description="Guaranteed resources, e.g. {cpu: 500m}."
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Self:
        for name, request in self.requests.items():
            limit = self.limits.get(name)
            if limit is not None and parse_quantity(request) > parse_quantity(limit):
                raise ValueError(f"the {name} request {request} exceeds its limit {limit}")
        return self


class TolerationOperator(StrEnum):
    EXISTS = "Exists"
    EQUAL = "Equal"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class Toleration(CamelModel):
    """A Pod toleration (core/v1 Toleration)."""

    key: str | None = Field(default=None, description="Taint key; empty matches all keys.")
    operator: TolerationOperator | None = Field(
        default=None, description="Exists or Equal (the default)."
    )
    value: str | None = Field(default=None, description="Taint value for Equal.")
    effect: TaintEffect | None = Field(
        default=None, description="NoSchedule, PreferNoSchedule or NoExecute; empty matches all."
    )
    toleration_seconds: int | None = Field(
        default=None, description="For NoExecute: how long the Pod stays bound after the taint."
    )


class ImagePullPolicy(StrEnum):
    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class ObjectMeta(CamelModel):
    """The part of metadata the operator reads. Anything else in metadata is ignored."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="Object name.")
    namespace: str = Field(default="default", description="Object namespace.")
    uid: str = Field(default="", description="Object UID, set by the API server.")
    generation: int = Field(default=0, description="Spec generation, set by the API server.")
    labels: dict[str, str] = Field(default_factory=dict, description="Object labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Object annotations.")
    creation_timestamp: datetime | None = Field(default=None, description="Creation time.")
