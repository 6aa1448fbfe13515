"""CustomResourceDefinitions from the pydantic models (pure: returns dicts, writes nothing).

pydantic's JSON Schema is turned into a structural OpenAPI v3 schema: references inlined,
optional values unwrapped, maps keyed by an enum turned into fixed properties, defaults kept
for scalars and objects (in full: the API server checks CEL rules against a default as
written, without its fields' own defaults), CEL rules attached.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from driftwarden.detectors.config import (
    SHORTER_THAN_A_MINUTE_PATTERN,
    AbsoluteWindow,
    BaselineSpec,
    DecisionSpec,
    DetectionSpec,
    DropLevels,
    FeatureKind,
    FeatureSpec,
    HealthWeights,
    PerformanceThresholds,
    RelativeWindow,
    Thresholds,
    WindowSpec,
)
from driftwarden.detectors.registry import REGISTRY

from . import modelmonitor as mm
from . import monitorclass as mc
from . import retrainpolicy as rp
from . import retrainrun as rr
from .common import CATEGORY, GROUP, VERSION, cel, validations

Schema = dict[str, Any]

# CEL rules for the detection models, which belong to the detectors package and know
# nothing about Kubernetes. Each mirrors a pydantic validator (of the same model, or
# `modelmonitor.spec_problems`). Rules sit on the narrowest object that holds every field
# they read, so tightening one never refuses edits of unrelated fields.
_APPLIES_ONLY = {
    kind: sorted(
        str(method)
        for method, info in REGISTRY.items()
        if info.kinds == frozenset({other}) and other != kind
    )
    for kind, other in (
        (FeatureKind.NUMERIC, FeatureKind.CATEGORICAL),
        (FeatureKind.CATEGORICAL, FeatureKind.NUMERIC),
    )
}


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


DETECTION_RULES: dict[type[BaseModel], list[dict[str, str]]] = {
    Thresholds: [
        cel("self.warning <= self.critical", "warning must not exceed critical", ".warning"),
    ],
    DropLevels: [
        cel(
            "!has(self.warning) || !has(self.critical) || self.warning <= self.critical",
            "warning must not exceed critical",
            ".warning",
        )
    ],
    WindowSpec: [
        cel(
            "has(self.relative) != has(self.absolute)",
            "a window is exactly one of relative or absolute",
        ),
    ],
    BaselineSpec: [
        cel(
            "[has(self.relative), has(self.absolute), has(self.profileRef)]"
            ".filter(x, x).size() == 1",
            "a baseline is exactly one of relative, absolute or profileRef",
        ),
    ],
    AbsoluteWindow: [
        cel(
            "self.end - self.start >= duration('60s')",
            "a window lasts at least a minute (start before end)",
            ".end",
        ),
    ],
    HealthWeights: [
        cel(
            "["
            + ", ".join(
                f"!has(self.{field.alias}) || self.{field.alias} > 0.0"
                for field in HealthWeights.model_fields.values()
            )
            + "].exists(x, x)",
            "at least one health weight must be positive",
        )
    ],
    FeatureSpec: [
        cel(
            "!has(self.type) || !has(self.methods) || "
            + " && ".join(
                f"(self.type != '{kind}' || !self.methods.exists(m, m in [{_quoted(names)}]))"
                for kind, names in _APPLIES_ONLY.items()
            ),
            "a method does not apply to the feature's type (ks and wasserstein are numeric, "
            "chi2 is categorical)",
            ".methods",
        )
    ],
}

# Schema keywords added to single fields of the detection models (the narrowest place).
DETECTION_FIELD_SCHEMA: dict[tuple[type[BaseModel], str], dict[str, Any]] = {
    (FeatureSpec, "methods"): {
        "minItems": 1,
        "maxItems": len(REGISTRY),
        "x-kubernetes-list-type": "set",
    },
    (RelativeWindow, "length"): validations(
        cel(
            f"!self.matches('{SHORTER_THAN_A_MINUTE_PATTERN}')",
            "a window lasts at least a minute (length)",
        )
    ),
}

# Statistical tunables: no schema default, so omitted means "the detector's default" (a
# better one can ship later) and a user's own choices stay apart from ours.
NO_SCHEMA_DEFAULTS: dict[type[BaseModel], frozenset[str] | None] = {
    DetectionSpec: frozenset(
        {"decision", "performance", "healthWeights", "minSamples", "thresholds"}
    ),
    DecisionSpec: None,
    PerformanceThresholds: None,
    DropLevels: None,
    HealthWeights: None,
    Thresholds: None,
}
"""Models whose fields get no `default` in the CRD: all of them (None) or those named."""

# Keys of pydantic's JSON Schema that a CRD schema does not have.
_DROPPED = {"title", "examples", "propertyNames", "$defs"}
# Key order of the written schema, for readable and stable YAML.
_ORDER = [
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    "required",
    "properties",
    "items",
    "additionalProperties",
    "x-kubernetes-validations",
]


class _CrdJsonSchema(GenerateJsonSchema):
    """pydantic's generator, plus factory defaults and the detection models' CEL rules."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            schema = core_schema.with_default_schema(
                schema["schema"],
                default=factory(),  # type: ignore[call-arg]
            )
        return super().default_schema(schema)

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        value = super().model_schema(schema)
        cls = schema["cls"]
        rules = DETECTION_RULES.get(cls)
        if rules:
            value.setdefault("x-kubernetes-validations", []).extend(rules)
        properties = value.get("properties", {})
        for (owner, name), extra in DETECTION_FIELD_SCHEMA.items():
            alias = owner.model_fields[name].alias or name
            if cls is owner and alias in properties:
                properties[alias] = _merge(properties[alias], extra)
        for owner, fields in NO_SCHEMA_DEFAULTS.items():
            if issubclass(cls, owner):
                for alias, prop in properties.items():
                    if fields is None or alias in fields:
                        prop.pop("default", None)
        return value


def _merge(base: Schema, override: Mapping[str, Any]) -> Schema:
    merged = dict(base)
    for key, value in override.items():
        if key == "x-kubernetes-validations" and key in merged:
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def _structural(node: Schema, defs: Mapping[str, Schema]) -> Schema:
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = _merge(target, node)
    if "allOf" in node:
        (only,) = node.pop("allOf")
        node = _merge(_structural(only, defs), node)
    if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
        options = [o for o in node.pop("anyOf") if o != {"type": "null"}]
        if len(options) != 1:
            raise ValueError(f"cannot express a union of {options} in a structural schema")
        node = _merge(_structural(options[0], defs), node)
    for key in _DROPPED:
        if key == "propertyNames" and "propertyNames" in node:
            keys = _structural(node["propertyNames"], defs).get("enum")
            if keys is None:
                raise ValueError("a map's keys can only be constrained by an enum")
            value_schema = node.pop("additionalProperties")
            node["properties"] = {
                str(k): {**copy.deepcopy(value_schema), "description": f"Setting for {k}."}
                for k in keys
            }
        node.pop(key, None)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), int | float) and not isinstance(node[bound], bool):
            node[flag] = node[bound]
            node[bound] = True
    if "default" in node:
        default = node["default"]
        if default is None or isinstance(default, list):
            del node["default"]
        elif isinstance(default, dict):
            node["default"] = _clean_default(default)
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    elif node.get("additionalProperties") is True:
        del node["additionalProperties"]
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _structural(node["additionalProperties"], defs)
    if "properties" in node:
        node["properties"] = {k: _structural(v, defs) for k, v in node["properties"].items()}
        if node.get("type") is None:
            node["type"] = "object"
    if "items" in node:
        node["items"] = _structural(node["items"], defs)
    if "maxLength" in node and node.get("type") == "object":
        # pydantic writes a dict's max_length as maxLength; in OpenAPI it is maxProperties.
        node["maxProperties"] = node.pop("maxLength")
    if node.get("type") == "array" and "maxLength" in node:
        node["maxItems"] = node.pop("maxLength")
    if "description" in node:
        node["description"] = " ".join(str(node["description"]).split())
    if "x-kubernetes-validations" in node:
        node["x-kubernetes-validations"] = [
            {k: rule[k] for k in ("rule", "message", "fieldPath", "reason") if k in rule}
            for rule in node["x-kubernetes-validations"]
        ]
    if "required" in node:
        node["required"] = sorted(node["required"])
    return {k: node[k] for k in sorted(node, key=_key_rank)}


def _clean_default(value: Any) -> Any:
    """A default as a user would write it: no nulls, no empty lists."""
    if isinstance(value, dict):
        return {k: _clean_default(v) for k, v in value.items() if v is not None and v != []}
    return value


def _key_rank(key: str) -> tuple[int, str]:
    return (_ORDER.index(key) if key in _ORDER else len(_ORDER), key)


def openapi_schema(model: type[BaseModel]) -> Schema:
    """The structural OpenAPI v3 schema of one pydantic model (camelCase, as users write it)."""
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_CrdJsonSchema)
    return _structural(raw, raw.get("$defs", {}))


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0

    def render(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclass(frozen=True)
class Resource:
    """What one CRD is made of."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    model: type[BaseModel]
    spec: type[BaseModel]
    status: type[BaseModel] | None
    columns: tuple[PrinterColumn, ...]
    namespaced: bool = True

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation.")

_DEFAULT_CLASS_PATH = ".metadata.annotations." + mc.ANNOTATION_DEFAULT_CLASS.replace(".", "\\.")
_READY = PrinterColumn(
    "Ready",
    "string",
    '.status.conditions[?(@.type=="Ready")].status',
    "Whether the spec is reconciled (kstatus Ready).",
)

RESOURCES: tuple[Resource, ...] = (
    Resource(
        kind=mm.KIND,
        plural=mm.PLURAL,
        singular=mm.SINGULAR,
        short_names=mm.SHORT_NAMES,
        model=mm.ModelMonitor,
        spec=mm.ModelMonitorSpec,
        status=mm.ModelMonitorStatus,
        columns=(
            PrinterColumn("Model", "string", ".spec.model.name", "Monitored model."),
            PrinterColumn("Version", "string", ".spec.model.version", "Model version.", 1),
            PrinterColumn("Schedule", "string", ".spec.schedule.cron", "Cron schedule."),
            PrinterColumn("Last Run", "date", ".status.lastRun.completionTime", "Last run end."),
            PrinterColumn("Health", "integer", ".status.healthScore", "Health score 0-100."),
            PrinterColumn("Severity", "string", ".status.severity", "none, warning, critical."),
            PrinterColumn("Drifted", "string", ".status.driftSummary", "Drifted/total features."),
            _READY,
            PrinterColumn(
                "Last Run Succeeded",
                "string",
                '.status.conditions[?(@.type=="LastRunSucceeded")].reason',
                "How the last run ended.",
                1,
            ),
            # Future times as text: a `date` column prints a future time as <invalid>.
            PrinterColumn("Next Run", "string", ".status.nextRunTime", "Next scheduled run.", 1),
            _AGE,
        ),
    ),
    Resource(
        kind=rp.KIND,
        plural=rp.PLURAL,
        singular=rp.SINGULAR,
        short_names=rp.SHORT_NAMES,
        model=rp.RetrainPolicy,
        spec=rp.RetrainPolicySpec,
        status=rp.RetrainPolicyStatus,
        columns=(
            PrinterColumn("Monitor", "string", ".spec.monitorRef.name", "Watched monitor."),
            PrinterColumn("Approval", "string", ".spec.approval", "automatic or manual."),
            PrinterColumn("Cooldown", "string", ".spec.cooldown", "Least time between retrains."),
            PrinterColumn("Active", "integer", ".status.activeJobs", "Training Jobs running."),
            _READY,
            PrinterColumn(
                "Last Decision",
                "string",
                ".status.lastDecision.reason",
                "Reason of the latest decision.",
                1,
            ),
            _AGE,
        ),
    ),
    Resource(
        kind=rr.KIND,
        plural=rr.PLURAL,
        singular=rr.SINGULAR,
        short_names=rr.SHORT_NAMES,
        model=rr.RetrainRun,
        spec=rr.RetrainRunSpec,
        status=rr.RetrainRunStatus,
        columns=(
            PrinterColumn("Policy", "string", ".spec.policyName", "The deciding RetrainPolicy."),
            PrinterColumn("Monitor", "string", ".spec.monitorName", "The retrained monitor."),
            PrinterColumn("Trigger", "string", ".spec.trigger", "The trigger that fired."),
            PrinterColumn("Approval", "string", ".spec.approval", "pending, approved, denied."),
            PrinterColumn(
                "State",
                "string",
                '.status.conditions[?(@.type=="Ready")].reason',
                "PendingApproval, Denied, Running, Succeeded, JobFailed, Rejected.",
            ),
            PrinterColumn("Job", "string", ".status.jobName", "The training Job.", 1),
            _AGE,
        ),
    ),
    Resource(
        kind=mc.KIND,
        plural=mc.PLURAL,
        singular=mc.SINGULAR,
        short_names=mc.SHORT_NAMES,
        model=mc.MonitorClass,
        spec=mc.MonitorClassSpec,
        status=None,
        namespaced=False,
        columns=(
            PrinterColumn("Image", "string", ".spec.image", "Detector image."),
            PrinterColumn(
                "Service Account", "string", ".spec.serviceAccountName", "Detector account."
            ),
            PrinterColumn(
                "Default",
                "string",
                _DEFAULT_CLASS_PATH,
                "Whether monitors naming no class get this one.",
            ),
            _AGE,
        ),
    ),
)


def _description(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def custom_resource_definition(resource: Resource) -> dict[str, Any]:
    """The CustomResourceDefinition of one resource, as a dict ready for YAML."""
    spec_schema = openapi_schema(resource.spec)
    fields = resource.model.model_fields
    spec_schema["description"] = fields["spec"].description or ""
    properties: Schema = {
        "apiVersion": {
            "description": "APIVersion defines the versioned schema of this object.",
            "type": "string",
        },
        "kind": {"description": "Kind is the type of this object.", "type": "string"},
        "metadata": {"type": "object"},
        "spec": spec_schema,
    }
    if resource.status is not None:
        status_schema = openapi_schema(resource.status)
        status_schema["description"] = fields["status"].description or ""
        properties["status"] = status_schema
    root: Schema = {
        "description": _description(resource.model),
        "type": "object",
        "required": ["spec"],
        "properties": properties,
    }
    version: Schema = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
    }
    if resource.status is not None:
        version["subresources"] = {"status": {}}
    version["additionalPrinterColumns"] = [c.render() for c in resource.columns]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": resource.crd_name,
            "labels": {
                "app.kubernetes.io/name": "driftwarden",
                "app.kubernetes.io/part-of": "driftwarden",
            },
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": resource.kind,
                "listKind": f"{resource.kind}List",
                "plural": resource.plural,
                "singular": resource.singular,
                "shortNames": list(resource.short_names),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced" if resource.namespaced else "Cluster",
            "versions": [version],
        },
    }


def walk(schema: Schema, path: str = "") -> list[tuple[str, Schema]]:
    """Every (path, node) of a schema, depth first; array items appear as `path[]`."""
    found = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        found += walk(child, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), dict):
        found += walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += walk(schema["additionalProperties"], f"{path}{{}}")
    return found


SchemaHook = Callable[[Schema], None]
