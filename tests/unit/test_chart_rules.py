"""The chart's copy of the operator's rules: fresh, and split by where the chart binds it."""

from __future__ import annotations

from pathlib import Path

import yaml

from driftwarden.operator.k8s.chartrules import ADMISSION_RULES, PATH, render, split_rules
from driftwarden.operator.k8s.rbac import OPERATOR_RULES, TENANCY_RULES

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_copy_is_fresh() -> None:
    assert (ROOT / PATH).read_text(encoding="utf-8") == render(), "run `make crds`"


def _triples(rules: list[dict[str, object]]) -> set[tuple[str, str, str]]:
    return {
        (g, r, v)
        for rule in rules
        for g in rule["apiGroups"]  # type: ignore[attr-defined]
        for r in rule["resources"]  # type: ignore[attr-defined]
        for v in rule["verbs"]  # type: ignore[attr-defined]
    }


def test_the_split_loses_and_adds_nothing() -> None:
    parts = yaml.safe_load(render())
    union = _triples(parts["cluster"] + parts["namespaced"] + parts["leaderElection"])
    assert union == _triples([*OPERATOR_RULES, *ADMISSION_RULES])


def test_scopes() -> None:
    parts = split_rules(
        [
            {
                "apiGroups": ["driftwarden.io"],
                "resources": ["monitorclasses", "modelmonitors"],
                "verbs": ["get"],
            },
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["namespaces", "pods/log"], "verbs": ["list"]},
        ]
    )
    assert _triples(parts["cluster"]) == {
        ("driftwarden.io", "monitorclasses", "get"),
        ("", "namespaces", "list"),
    }
    assert _triples(parts["namespaced"]) == {
        ("driftwarden.io", "modelmonitors", "get"),
        ("", "pods/log", "list"),
    }
    assert _triples(parts["leaderElection"]) == {("coordination.k8s.io", "leases", "get")}


def test_the_tenancy_rules_keep_their_resource_names() -> None:
    parts = yaml.safe_load(render())
    assert parts["tenancy"] == TENANCY_RULES
    named = [rule for rule in parts["tenancy"] if rule.get("resourceNames")]
    assert named == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["driftwarden-tenant-results"],
            "verbs": ["get", "list", "watch", "update", "delete"],
        }
    ]
    # Only `create` (which RBAC cannot limit to a name) is granted on every Secret.
    assert [r["verbs"] for r in parts["tenancy"] if not r.get("resourceNames")] == [["create"]]
    # The always-bound parts hold no Secret rights.
    for scope in ("cluster", "namespaced", "leaderElection"):
        assert all("secrets" not in rule["resources"] for rule in parts[scope])
