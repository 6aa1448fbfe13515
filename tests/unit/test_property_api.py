"""No spec the CRD schemas admit crashes a planner.

Specs are generated from the CRDs' own OpenAPI schemas (tests/schema_strategy.py); each is
planned by every planner. What the schema cannot check (CEL rules aside, which the API server
applies, see tests/cluster/test_api_resources.py) must come back as Stalled with a one-line
message, never as an exception. The cluster suite sends a sample of the same specs to the
real API server first.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategy import from_openapi, mutations_of

from driftwarden.operator.api import ModelMonitor, RetrainPolicy
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.crd import RESOURCES, custom_resource_definition
from driftwarden.operator.api.monitorclass import MonitorClass
from driftwarden.operator.reconcile.monitor import PlannerSettings, plan_monitor
from driftwarden.operator.reconcile.retrain import MonitorRuns, plan_policy
from driftwarden.operator.reconcile.status import Stall

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def spec_schema(kind: str) -> dict[str, Any]:
    resource = next(r for r in RESOURCES if r.kind == kind)
    crd = custom_resource_definition(resource)
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema: dict[str, Any] = root["properties"]["spec"]
    return schema


def _example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    document["metadata"] |= {"uid": "0b7e2f93", "generation": 2}
    return document


CLASSES = [
    MonitorClass.model_validate(d)
    for d in yaml.safe_load_all((EXAMPLES / "monitorclass.yaml").read_text(encoding="utf-8"))
]
MONITOR = _example("modelmonitor-postgres.yaml")
POLICY = _example("retrainpolicy.yaml")
PROBLEM_REASONS = {
    c.INVALID_SPEC,
    c.INVALID_TIME_ZONE,
    c.INVALID_SCHEDULE,
    c.RESOURCES_EXCEED_CLASS,
    c.MONITOR_CLASS_NOT_FOUND,
}

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@SETTINGS
@given(
    st.one_of(
        mutations_of(spec_schema("ModelMonitor"), MONITOR["spec"]),
        from_openapi(spec_schema("ModelMonitor")),
    )
)
def test_no_admitted_monitor_spec_crashes_the_planner(spec: dict[str, Any]) -> None:
    document = copy.deepcopy(MONITOR) | {"spec": spec}
    plan = plan_monitor(document, CLASSES, PlannerSettings(), NOW)
    ready = next(x for x in plan.status.status.conditions if x.type == c.READY)
    if plan.objects:
        assert ready.status == "True"
        assert plan.monitor is not None
    else:
        assert ready.reason in PROBLEM_REASONS, ready
        assert ready.message
        assert "\n" not in ready.message


@SETTINGS
@given(
    st.one_of(
        mutations_of(spec_schema("RetrainPolicy"), POLICY["spec"]),
        from_openapi(spec_schema("RetrainPolicy")),
    ),
    st.booleans(),
)
def test_no_admitted_policy_spec_crashes_the_planner(spec: dict[str, Any], manual: bool) -> None:
    try:
        policy = RetrainPolicy.model_validate(copy.deepcopy(POLICY) | {"spec": spec})
    except ValueError:
        return  # Stalled InvalidSpec: what CEL refuses at apply (tested on the API server)
    monitor = ModelMonitor.model_validate(MONITOR)
    plan = plan_policy(policy, [MonitorRuns(monitor, [])], [], [], NOW)
    assert len(plan.decisions) == 1


def test_stall_is_a_value() -> None:
    assert Stall("r", "m") == Stall("r", "m")
