"""The reference page of both resources, rendered from the generated CRD schemas.

Reading the CRDs (not the pydantic models) guarantees the page says what the API server
enforces: types, defaults, enums, bounds and the CEL rules.
"""

from __future__ import annotations

from typing import Any

from driftwarden.detectors.config import DURATION_PATTERN

from . import run
from .conditions import documented_reasons

Schema = dict[str, Any]


def _type(node: Schema) -> str:
    if node.get("x-kubernetes-int-or-string"):
        return "quantity"
    kind = node.get("type", "object")
    if kind == "array":
        return f"[]{_type(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map[string]{_type(node['additionalProperties'])}"
    if kind == "string" and node.get("pattern") == DURATION_PATTERN:
        return "duration"
    if kind == "string" and node.get("format") == "date-time":
        return "timestamp"
    return str(kind)


def _constraints(node: Schema, required: bool) -> list[str]:
    notes: list[str] = []
    if required:
        notes.append("**required**")
    if "enum" in node:
        notes.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    if "default" in node and not isinstance(node["default"], dict) and node["default"] != "":
        default = node["default"]
        shown = str(default).lower() if isinstance(default, bool) else default
        notes.append(f"default `{shown}`")
    for key, text in (
        ("minimum", ""),
        ("maximum", ""),
        ("minItems", "at least {} items"),
        ("maxItems", "at most {} items"),
        ("minLength", "length >= {}"),
        ("maxLength", "length <= {}"),
        ("maxProperties", "at most {} entries"),
    ):
        if key not in node:
            continue
        if key == "minimum":
            op = ">" if node.get("exclusiveMinimum") else ">="
            notes.append(f"{op} {node[key]}")
        elif key == "maximum":
            op = "<" if node.get("exclusiveMaximum") else "<="
            notes.append(f"{op} {node[key]}")
        elif not (key == "minLength" and node[key] == 1):
            notes.append(text.format(node[key]))
    if node.get("x-kubernetes-list-type") == "map":
        keys = ", ".join(node.get("x-kubernetes-list-map-keys", []))
        notes.append(f"unique by {keys}")
    return notes


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _objects(node: Schema, path: str) -> list[tuple[str, Schema]]:
    """Every object with named properties under `node`, in document order."""
    found: list[tuple[str, Schema]] = []
    if node.get("properties"):
        found.append((path, node))
        for name, child in node["properties"].items():
            found += _objects(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += _objects(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += _objects(node["additionalProperties"], f"{path}{{}}")
    return found


def _object_section(path: str, node: Schema) -> list[str]:
    lines = [f"#### `{path}`", "", " ".join(node.get("description", "").split()), ""]
    if node.get("x-kubernetes-preserve-unknown-fields"):
        lines += ["Fields not listed here are passed through unchanged.", ""]
    lines += ["| Field | Type | Description |", "|---|---|---|"]
    required = set(node.get("required", []))
    for name, child in node["properties"].items():
        notes = _constraints(child, name in required)
        text = child.get("description", "")
        if notes:
            text = f"{text} ({'; '.join(notes)})"
        lines.append(f"| `{name}` | {_type(child)} | {_escape(text)} |")
    rules = node.get("x-kubernetes-validations", [])
    if rules:
        lines += ["", "Checked by the API server:", ""]
        lines += [f"- {rule['message']}" for rule in rules]
    lines.append("")
    return lines


GUIDES: dict[str, list[str]] = {
    "MonitorClass": [
        "Administrators own MonitorClasses (the StorageClass pattern). A class holds what",
        "widens privilege or is set once per cluster: the detector image, its ServiceAccount,",
        "Pod labels, annotations and placement, default and maximum resources, and the results",
        "database Secret. A ModelMonitor names a class in `spec.monitorClassName`, or gets the",
        "one annotated as default; it keeps only knobs that widen nothing (resources within",
        "`maxResources`, deadline, retries, history). Creating a monitor therefore never lets",
        "anyone run another image or ServiceAccount. A monitor whose class is missing is",
        "`Ready=False` (`MonitorClassNotFound`, retried); one asking for more than",
        "`maxResources` is `Stalled` (`ResourcesExceedClass`).",
        "",
        "```yaml",
        "apiVersion: driftwarden.io/v1alpha1",
        "kind: MonitorClass",
        "metadata:",
        "  name: standard",
        '  annotations: {monitorclass.driftwarden.io/is-default-class: "true"}',
        "spec:",
        "  image: ghcr.io/driftwarden/driftwarden:0.1.0",
        "  serviceAccountName: driftwarden-detector",
        "  nodeSelector: {workload: batch}",
        "  defaultResources: {requests: {cpu: 250m, memory: 512Mi}, limits: {memory: 1Gi}}",
        '  maxResources: {cpu: "4", memory: 16Gi}',
        "  resultsSecretRef: {name: driftwarden-results, key: url}",
        "```",
        "",
    ],
    "RetrainRun": [
        "The operator creates one RetrainRun per triggered retraining decision (the",
        "CertificateRequest pattern), named `<policy>-<monitor>-<trigger window>` so deciding",
        "twice never makes two. Its spec is the immutable record of why (monitor, run, trigger,",
        "severity, drifted features, windows); only `spec.approval` changes, once, from",
        "`pending` to `approved` or `denied`. With `approval: automatic` the operator approves",
        "it itself; with `manual` a person does, and RBAC on `retrainruns` (the chart's",
        "approver role) decides who may, apart from who may edit policies:",
        "",
        "```console",
        "$ kubectl get rr -n risk",
        "NAME                                          POLICY          MONITOR         TRIGGER"
        "              APPROVAL   STATE             AGE",
        "credit-scoring-credit-scoring-20261123000000  credit-scoring  credit-scoring  "
        "severity>=critical   pending    PendingApproval   5m",
        "$ kubectl patch rr credit-scoring-credit-scoring-20261123000000 -n risk --type merge \\",
        '    -p \'{"spec":{"approval":"approved"}}\'',
        "```",
        "",
        "Its status tells the rest: conditions `Approved`, `Started`, `Succeeded`, `Validated`",
        "(False with `Denied`, `JobFailed`, `Rejected`), the training Job's name, times, and",
        "the trained model's metrics. `Ready`'s reason is the state `kubectl get rr` prints.",
        "",
        "```yaml",
        "apiVersion: driftwarden.io/v1alpha1",
        "kind: RetrainRun",
        "metadata: {name: credit-scoring-credit-scoring-20261123000000, namespace: risk}",
        "spec:",
        "  policyName: credit-scoring",
        "  monitorName: credit-scoring",
        "  trigger: severity>=critical",
        '  triggerWindowTime: "2026-11-23T00:00:00Z"',
        "  runId: credit-scoring-29398080",
        "  severity: critical",
        "  driftedFeatures: [income, age]",
        "  approval: pending",
        "```",
        "",
    ],
}


def render_reference(crds: list[dict[str, Any]]) -> str:
    """Markdown for every CRD in `crds`, then the condition types and reasons."""
    lines = [
        "# driftwarden API reference",
        "",
        "<!-- Generated by `make crds` (python -m driftwarden.operator.api.generate) from the",
        "     pydantic models in operator/driftwarden/operator/api. Do not edit by hand. -->",
        "",
        "Group `driftwarden.io`, version `v1alpha1` (it may still change incompatibly; from",
        "here on only additively).",
        "",
        "Conventions that hold for every resource:",
        "",
        "- **Durations** use Prometheus' grammar: integers with units `y` (365d), `w`, `d`, `h`,",
        "  `m`, `s`, `ms` in that order, each at most once: `90s`, `1h30m`, `30d`, `2w`, `0`.",
        "  Each number has at most three digits (years two), so no duration exceeds about",
        "  121 years. The API server checks the pattern; one parser reads them.",
        "- **Enum values** that driftwarden defines are lowercase words (`numeric`, `psi`,",
        "  `critical`, `roc_auc`, `manual`, `approved`), as Prometheus label values and",
        "  Alertmanager routes write them. Values of fields copied from Kubernetes keep",
        "  Kubernetes' casing (`IfNotPresent`, `In`, `Never`); condition types and reasons are",
        "  CamelCase.",
        "- **Statistical tunables** (`decision`, `performance`, `healthWeights`, `minSamples`,",
        "  `thresholds`) have no schema defaults: omitted means the detector's default, and",
        "  every run records the values it used.",
        "- **Conditions** follow kstatus, so Flux, Argo CD and `kubectl wait` read them:",
        "  `Ready` is True once the spec is accepted and its objects are in place for the",
        "  current `metadata.generation` (`status.observedGeneration`); `Stalled` is True with a",
        "  reason when only a change of spec or configuration can help; `Reconciling` is True",
        "  while work is under way. What runs found has conditions of its own",
        "  (`LastRunSucceeded`, `DriftDetected`, `PerformanceDegraded`).",
        "  `kubectl wait --for=condition=Ready mm/NAME` returns as soon as a monitor is set up.",
        "- **Timestamps** end in `Time` (`nextRunTime`, `completionTime`, `cooldownUntilTime`).",
        "- Secrets are referenced by name and key, never inlined.",
        "",
    ]
    for crd in crds:
        spec = crd["spec"]
        names = spec["names"]
        version = spec["versions"][0]
        root = version["schema"]["openAPIV3Schema"]
        lines += [
            f"## {names['kind']}",
            "",
            " ".join(root.get("description", "").split()),
            "",
            f"- `kubectl get {names['plural']}` (short name "
            + ", ".join(f"`{s}`" for s in names.get("shortNames", []))
            + f", category `{', '.join(names.get('categories', []))}`), "
            + ("namespaced" if spec["scope"] == "Namespaced" else "cluster-scoped")
            + (", status subresource." if version.get("subresources") else "."),
            "",
            *GUIDES.get(names["kind"], []),
            "| Column | Value | Shown |",
            "|---|---|---|",
        ]
        for column in version.get("additionalPrinterColumns", []):
            shown = "with `-o wide`" if column.get("priority", 0) else "always"
            lines.append(f"| {column['name']} | `{_escape(column['jsonPath'])}` | {shown} |")
        lines.append("")
        for part in ("spec", "status"):
            if part not in root["properties"]:
                continue
            lines += [f"### {names['kind']} `{part}`", ""]
            seen: dict[str, str] = {}
            for path, node in _objects(root["properties"][part], part):
                key = repr(node.get("properties"))
                if key in seen:
                    lines += [f"#### `{path}`", "", f"Same fields as `{seen[key]}`.", ""]
                    continue
                seen[key] = path
                lines += _object_section(path, node)
    lines += _contract_section()
    lines += [
        "## Condition types and reasons",
        "",
        "| Name | Meaning |",
        "|---|---|",
    ]
    for name, meaning in documented_reasons().items():
        lines.append(f"| `{name}` | {_escape(meaning)} |")
    lines.append("")
    return "\n".join(lines)


def _contract_section() -> list[str]:
    """What a detector Job is given and must give back (`driftwarden.operator.api.run`)."""
    lines = [
        "## Annotations",
        "",
        "| Annotation | On | Effect |",
        "|---|---|---|",
        "| `driftwarden.io/run-now: <any new value>` | ModelMonitor | Start one run now "
        "(one Job per value, also while the schedule is suspended). |",
        '| `monitorclass.driftwarden.io/is-default-class: "true"` | MonitorClass | The class '
        "of monitors that name none (the newest, if several are marked). |",
        "",
        "## Detector Job contract",
        "",
        f"The detector container runs `driftwarden run --config {run.CONFIG_PATH}`; the file",
        "is the monitor's manifest with every default filled in (so `driftwarden detect",
        "--config` reads it too), plus `"
        + run.CONFIG_VERSION_KEY
        + ": "
        + str(run.RUN_CONFIG_VERSION)
        + "`: a detector reads every",
        "version up to its own and refuses a newer one (exit code 2, naming both versions).",
        "The file comes from an immutable ConfigMap named `<monitor>-run-<spec hash>`, so a",
        "retried Job reads the configuration it started with. Secrets arrive as environment",
        "variables, never in the file.",
        "",
        "| Variable | Meaning |",
        "|---|---|",
    ]
    for name, meaning in run.documented_env().items():
        lines.append(f"| `{name}` | {_escape(meaning)} |")
    lines += ["", "| Exit code | Meaning |", "|---|---|"]
    for code, meaning in run.documented_exit_codes().items():
        lines.append(f"| {code} | {_escape(meaning)} |")
    lines += [
        "",
        f"Before exiting, the Job writes a `RunSummary` as compact JSON to `{run.SUMMARY_PATH}` "
        f"(at most {run.TERMINATION_MESSAGE_LIMIT} bytes):",
        "",
        "| Field | Type | Description |",
        "|---|---|---|",
    ]
    schema = run.RunSummary.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    for name, prop in schema["properties"].items():
        kind = prop.get("type") or "/".join(
            str(o.get("type", o.get("$ref", "").rsplit("/", 1)[-1])) for o in prop.get("anyOf", [])
        )
        if "$ref" in prop:
            kind = prop["$ref"].rsplit("/", 1)[-1]
        if kind == "array":
            kind = "list"
        if prop.get("format") == "date-time":
            kind = "timestamp"
        text = prop.get("description", "") + (" (**required**)" if name in required else "")
        lines.append(f"| `{name}` | {kind} | {_escape(text)} |")
    lines.append("")
    return lines
