"""Hypothesis strategies from a CRD's structural OpenAPI schema: values the schema admits.

A small walker instead of hypothesis-jsonschema (whose 0.23 release does not run on the
hypothesis we pin): it reads exactly the keywords our generated CRDs use (type, enum,
pattern, lengths, bounds, items, properties, required, additionalProperties, list-map keys,
int-or-string, date-time) and ignores CEL, which only the API server evaluates. Sizes are
kept small so an example stays cheap; bounds come from the schema.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

MAX_ITEMS = 3
MAX_TEXT = 24


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if node.get("format") == "date-time":
        return st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
        ).map(lambda d: d.replace(microsecond=0).isoformat().replace("+00:00", "Z"))
    low = int(node.get("minLength", 0))
    high = int(node.get("maxLength", MAX_TEXT))
    pattern = node.get("pattern")
    if pattern:
        base = st.from_regex(pattern, fullmatch=True)
    else:
        base = st.text(
            st.characters(codec="utf-8"),
            min_size=low,
            max_size=min(high, MAX_TEXT),
        )
    return base.filter(lambda s: low <= len(s) <= high)


def _number(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low = node.get("minimum")
    high = node.get("maximum")
    if integer:
        lo = None if low is None else int(low) + (1 if node.get("exclusiveMinimum") else 0)
        hi = None if high is None else int(high) - (1 if node.get("exclusiveMaximum") else 0)
        return st.integers(lo if lo is not None else -(2**31), hi if hi is not None else 2**31)
    return st.floats(
        min_value=low,
        max_value=high,
        exclude_min=bool(node.get("exclusiveMinimum")) and low is not None,
        exclude_max=bool(node.get("exclusiveMaximum")) and high is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def from_openapi(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values `node` (a structural schema) admits, CEL rules aside."""
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("x-kubernetes-int-or-string"):
        return st.one_of(st.integers(0, 10_000), _string({**node, "type": "string"}))
    kind = node.get("type")
    if kind == "string":
        return _string(node)
    if kind in ("integer", "number"):
        return _number(node, kind == "integer")
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        keys = node.get("x-kubernetes-list-map-keys")
        unique_by = None
        if keys:
            unique_by = lambda item: tuple(str(item.get(k)) for k in keys)  # noqa: E731
        elif node.get("x-kubernetes-list-type") == "set":
            unique_by = repr  # type: ignore[assignment]
        return st.lists(
            from_openapi(node["items"]),
            min_size=int(node.get("minItems", 0)),
            max_size=min(
                int(node.get("maxItems", MAX_ITEMS)), max(MAX_ITEMS, node.get("minItems", 0))
            ),
            unique_by=unique_by,
        )
    if kind == "object":
        properties = node.get("properties")
        if properties:
            required = set(node.get("required", []))
            return st.fixed_dictionaries(
                {k: from_openapi(v) for k, v in properties.items() if k in required},
                optional={k: from_openapi(v) for k, v in properties.items() if k not in required},
            )
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            return st.dictionaries(
                st.from_regex("^[a-z_][a-z0-9_]{0,12}$", fullmatch=True),
                from_openapi(values),
                max_size=min(int(node.get("maxProperties", MAX_ITEMS)), MAX_ITEMS),
            )
        return st.just({})
    raise ValueError(f"no strategy for schema node {sorted(node)}")


def mutations_of(schema: dict[str, Any], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """`base` (a valid object of `schema`) with one to three of its top-level fields replaced
    by generated values: near-valid objects, so a useful share passes the API server."""
    properties = schema["properties"]

    @st.composite
    def mutated(draw: st.DrawFn) -> dict[str, Any]:
        keys = draw(
            st.lists(st.sampled_from(sorted(properties)), min_size=1, max_size=3, unique=True)
        )
        value = copy.deepcopy(base)
        for key in keys:
            value[key] = draw(from_openapi(properties[key]))
        return value

    return mutated()
