"""Reading a detection configuration (YAML) from a user's file, with bounded work.

`driftwarden detect --config FILE` accepts a bare `DetectionSpec` document or a whole
ModelMonitor manifest. Both are validated by models with unknown keys forbidden, so a
misspelt key (`minSampels`) is an error, as the API server's schema makes it:

- a bare document is a `DetectionSpec`;
- a manifest is a `MonitorManifest` (also the Job's run configuration, which adds a
  format `version`): `apiVersion`, `kind`, `metadata`, `status` and a
  `spec` that is a `DetectionSpec` plus the operator's own keys (`model`, `schedule`,
  `source`, ...), whose values the operator's model validates in the cluster
  (`MonitorManifestSpec.OPERATOR_KEYS`; a test keeps them equal to the operator's fields).

Bounds (docs/limits.md): the file is a regular file of at most `CONFIG_MAX_BYTES`, UTF-8
(a byte-order mark is allowed); YAML nesting at most `MAX_DEPTH` levels, at most
`MAX_NODES` nodes, no anchors or aliases (an alias bomb expands exponentially downstream),
one document, no duplicate keys in a mapping, integers of at most `MAX_INT_DIGITS` digits;
at most `MAX_FEATURES` features. Every violation is an `InputError` (exit 2) in one line.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, Field, ValidationError

from driftwarden.detectors.config import CamelModel, DetectionSpec
from driftwarden.detectors.errors import InputError
from driftwarden.detectors.hints import closest
from driftwarden.detectors.userfiles import CONFIG_MAX_BYTES, read_user_file

__all__ = [
    "MAX_DEPTH",
    "MAX_FEATURES",
    "MAX_INT_DIGITS",
    "MAX_NODES",
    "ConfigFileError",
    "MonitorManifest",
    "MonitorManifestSpec",
    "known_fields",
    "load_config",
    "parse_config",
    "read_yaml",
]

MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_INT_DIGITS = 30
MAX_FEATURES = 10_000
_MESSAGE_LIMIT = 200


class ConfigFileError(InputError, ValueError):
    """A configuration file that cannot be used; the message names the file and problem."""


class MonitorManifestSpec(DetectionSpec):
    """A ModelMonitor `spec` as `detect --config` reads it: the detection settings, plus
    the operator's keys taken as opaque values (the cluster validates them)."""

    #: The spec keys owned by the operator's `ModelMonitorSpec` beyond `DetectionSpec`.
    OPERATOR_KEYS: ClassVar[tuple[str, ...]] = (
        "model",
        "schedule",
        "source",
        "baseline",
        "current",
        "monitorClassName",
        "alerting",
        "job",
    )

    model: Any = None
    schedule: Any = None
    source: Any = None
    baseline: Any = None
    current: Any = None
    monitor_class_name: Any = None
    alerting: Any = None
    job: Any = None

    def detection(self) -> DetectionSpec:
        fields = {
            k: v for k, v in self.model_dump(by_alias=True).items() if k not in self.OPERATOR_KEYS
        }
        return DetectionSpec.model_validate(fields)


class MonitorManifest(CamelModel):
    """A ModelMonitor manifest, as `kubectl apply` takes it, or the detector Job's run
    configuration (the same manifest with a format `version`, docs/job.md)."""

    version: int | None = Field(
        default=None, ge=1, le=1000, description="Set in the Job's run configuration."
    )
    api_version: str = Field(alias="apiVersion", max_length=253)
    kind: str = Field(pattern="^ModelMonitor$")
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: MonitorManifestSpec
    status: dict[str, Any] | None = None


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 1] + "…"


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys and oversized integers."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_short(repr(key))}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = len(str(node.value).replace("_", "").lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {digits} digits (at most {MAX_INT_DIGITS})",
                node.start_mark,
            )
        value: int = super().construct_yaml_int(node)
        return value


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _check_events(text: str) -> None:
    """Walk the YAML event stream (no recursion, no construction): depth, size, aliases."""
    depth = 0
    nodes = 0
    documents = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ConfigFileError("holds more than one YAML document")
        elif isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ConfigFileError("YAML anchors and aliases are not supported")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigFileError(f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise ConfigFileError(f"has more than {MAX_NODES} YAML nodes")


def read_yaml(data: bytes, *, source: str = "config") -> Any:
    """One YAML document from a user's bytes, parsed within the bounds of the module
    docstring (UTF-8, depth, nodes, no aliases, no duplicate keys, integer size).
    ConfigFileError naming `source` otherwise. Used for `--config` and the Job's run
    configuration alike."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"{source}: not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None
    try:
        _check_events(text)
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass
    except ConfigFileError as exc:
        raise ConfigFileError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{source}: not valid YAML: {_short(str(exc))}") from None
    except (RecursionError, ValueError, OverflowError) as exc:  # belt and braces
        raise ConfigFileError(f"{source}: not valid YAML: {_short(str(exc))}") from None


#: How many of a document's problems one message names.
_PROBLEMS_SHOWN = 3


def validation_message(
    exc: ValidationError,
    *,
    what: str = "settings",
    folded: Mapping[tuple[str, ...], tuple[str, ...]] | None = None,
    model: type[BaseModel] | None = None,
) -> str:
    """One line naming the first problems of a settings document in the user's terms
    ("features.0.methd is not a known field"), with a count of the rest. `folded` maps a
    location prefix the model built (("spec", "detection")) to where the user wrote it
    (("spec",)). With the `model` validated, an unknown field names the closest known one
    there ("(did you mean 'method'?)")."""
    problems: dict[str, str] = {}  # the first problem at each place (the rest follow from it)
    for error in exc.errors():
        parts = [str(part) for part in error["loc"]]
        suggestion = ""
        if error["type"] == "extra_forbidden" and model is not None and parts:
            close = closest(parts[-1], known_fields(model, parts[:-1]))
            suggestion = f" (did you mean {close!r}?)" if close else ""
        for built, written in (folded or {}).items():
            if tuple(parts[: len(built)]) == built:
                parts = [*written, *parts[len(built) :]]
                break
        if parts and parts[-1] == "[key]":  # pydantic's mark: the key itself is refused
            parts.pop()
        where = _short(".".join(parts) or "the top level")
        if where in problems:
            continue
        if error["type"] == "extra_forbidden":
            problems[where] = f"{where} is not a known field{suggestion}"
        elif error["type"] == "missing":
            problems[where] = f"{where} is required"
        else:
            problems[where] = f"at {where}: {_short(error['msg'])}"
    shown = list(problems.values())[:_PROBLEMS_SHOWN]
    rest = len(problems) - len(shown)
    return f"invalid {what}: " + "; ".join(shown) + (f" (and {rest} more)" if rest else "")


def known_fields(model: type[BaseModel], path: Sequence[str]) -> list[str]:
    """The field names (as a user writes them: aliases) of the model found by following
    `path`, a validation error's location, from `model`; [] where the path leads to no
    model (a mapping of anything, a union the location does not name)."""
    current: Any = model
    for part in path:
        current = _model_in(current, part)
        if current is None:
            return []
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [field.alias or name for name, field in current.model_fields.items()]


def _model_in(annotation: Any, part: str) -> Any:
    """What location step `part` leads to from `annotation`: a model's field, a list's
    item, a mapping's value, a union's member (pydantic names it in the location)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_in(arguments[0], part)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in arguments if a is not type(None)]
        named = [a for a in members if getattr(a, "__name__", None) == part]
        if named:
            return named[0]
        return _model_in(members[0], part) if len(members) == 1 else None
    if origin in (list, tuple, Sequence) and arguments and part.isdigit():
        return arguments[0]
    if origin in (dict, Mapping) and len(arguments) == 2:
        return arguments[1]
    return None


def parse_config(data: bytes, *, source: str = "config") -> dict[str, Any]:
    """The detection settings (as a `DetectionSpec` mapping) in a YAML document's bytes."""
    document = read_yaml(data, source=source)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigFileError(f"{source}: expected a mapping at the top level")
    body = document.get("spec", document)
    features = body.get("features") if isinstance(body, dict) else None
    if isinstance(features, list) and len(features) > MAX_FEATURES:
        raise ConfigFileError(
            f"{source}: lists {len(features)} features, more than the limit of {MAX_FEATURES}"
        )
    manifest = "kind" in document or "apiVersion" in document or "version" in document
    model = MonitorManifest if manifest else DetectionSpec
    try:
        if manifest:
            detection = MonitorManifest.model_validate(document).spec.detection()
        else:
            detection = DetectionSpec.model_validate(document)
    except ValidationError as exc:
        raise ConfigFileError(f"{source}: {validation_message(exc, model=model)}") from None
    dumped: dict[str, Any] = detection.model_dump(by_alias=True, exclude_none=True)
    return dumped


def load_config(path: Path) -> dict[str, Any]:
    """`parse_config` of the file at `path`, read with `read_user_file`'s bounds."""
    data = read_user_file(path, what="config", max_bytes=CONFIG_MAX_BYTES)
    return parse_config(data, source=str(path))
