"""The pure tenancy planner: one namespace's role and Secret from what was observed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.tenancy import (
    ANNOTATION_DATABASE,
    ANNOTATION_ISSUED_AT,
    ANNOTATION_ROTATE,
    ANNOTATION_ROTATED,
    TENANT_SECRET_NAME,
)
from driftwarden.operator.reconcile.tenancy import (
    ObservedTenancy,
    TenancyAction,
    database_fingerprint,
    is_ours,
    issued_stamp,
    plan_tenancy,
    refusal,
    tenant_secret,
)

ISSUED = datetime(2026, 11, 29, 21, 0, 0, 123456, tzinfo=UTC)
DB = database_fingerprint("db.example", 5432, "results")
URL = "postgresql://driftwarden_ns_x:pw@db.example:5432/results"


def ours(**annotations: str) -> dict[str, Any]:
    secret = tenant_secret("team-a", URL, ISSUED, DB)
    secret["metadata"]["annotations"].update(annotations)
    secret["metadata"]["resourceVersion"] = "7"
    return secret


def observed(
    monitors: int = 1,
    secret: dict[str, Any] | None = None,
    issued: datetime | None = ISSUED,
    database: str = DB,
) -> ObservedTenancy:
    return ObservedTenancy("team-a", monitors, secret, issued, database)


def test_the_secret_is_labelled_annotated_and_holds_the_url() -> None:
    secret = tenant_secret("team-a", URL, ISSUED, DB)
    assert secret["metadata"]["name"] == TENANT_SECRET_NAME == "driftwarden-tenant-results"
    assert secret["metadata"]["namespace"] == "team-a"
    assert secret["metadata"]["labels"] == {
        "app.kubernetes.io/name": "driftwarden",
        "app.kubernetes.io/component": "tenant-credentials",
        "app.kubernetes.io/managed-by": "driftwarden-operator",
    }
    assert secret["metadata"]["annotations"] == {
        ANNOTATION_DATABASE: DB,
        ANNOTATION_ISSUED_AT: "2026-11-29T21:00:00.123456+00:00",
    }
    assert base64.b64decode(secret["data"]["url"]).decode() == URL
    assert "ownerReferences" not in secret["metadata"]  # removed by the operator, not GC
    assert is_ours(secret)


def test_the_issue_stamp_is_the_same_instant_in_any_zone() -> None:
    elsewhere = ISSUED.astimezone(timezone(timedelta(hours=-5)))
    assert issued_stamp(elsewhere) == issued_stamp(ISSUED)
    assert issued_stamp(ISSUED.replace(microsecond=0)) == "2026-11-29T21:00:00.000000+00:00"


def test_the_fingerprint_names_the_database_not_the_user() -> None:
    assert database_fingerprint("db.example", 5432, "results") == DB
    assert database_fingerprint("db.example", 5433, "results") != DB
    assert database_fingerprint("db.example", 5432, "other") != DB
    assert len(DB) == 16


def test_monitors_and_no_secret_issue_one() -> None:
    plan = plan_tenancy(observed(secret=None, issued=None))
    assert plan.action == TenancyAction.ISSUE
    # A role left from before (its Secret deleted): issued again, with a new password.
    assert plan_tenancy(observed(secret=None)).action == TenancyAction.ISSUE


def test_a_current_secret_needs_nothing() -> None:
    plan = plan_tenancy(observed(secret=ours()))
    assert plan.action == TenancyAction.NONE


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"issued": None}, "missing from the results database"),
        ({"issued": ISSUED + timedelta(seconds=1)}, "password changed"),
        ({"database": database_fingerprint("moved.example", 5432, "results")}, "another"),
    ],
)
def test_a_stale_secret_is_issued_again(change: dict[str, Any], why: str) -> None:
    arguments: dict[str, Any] = {"secret": ours(), **change}
    plan = plan_tenancy(observed(**arguments))
    assert plan.action == TenancyAction.REISSUE
    assert why in plan.why


def test_a_secret_without_its_key_is_issued_again() -> None:
    secret = ours()
    secret["data"] = {}
    assert plan_tenancy(observed(secret=secret)).action == TenancyAction.REISSUE


def test_a_new_rotate_value_rotates_once() -> None:
    plan = plan_tenancy(observed(secret=ours(**{ANNOTATION_ROTATE: "2026-11-30"})))
    assert plan.action == TenancyAction.REISSUE
    assert plan.rotation == "2026-11-30"
    assert "rotation requested" in plan.why
    # The rotated Secret keeps the person's value and records it as acted on.
    rotated = tenant_secret("team-a", URL, ISSUED, DB, plan.rotation, previous=ours())
    rotated["metadata"]["annotations"][ANNOTATION_ROTATE] = "2026-11-30"
    assert plan_tenancy(observed(secret=rotated)).action == TenancyAction.NONE
    done = ours(**{ANNOTATION_ROTATE: "2026-11-30", ANNOTATION_ROTATED: "2026-11-30"})
    assert plan_tenancy(observed(secret=done)).action == TenancyAction.NONE
    previous = ours(**{ANNOTATION_ROTATE: "b", ANNOTATION_ROTATED: "a"})
    rewritten = tenant_secret("team-a", URL, ISSUED, DB, "b", previous=previous)
    assert rewritten["metadata"]["annotations"][ANNOTATION_ROTATE] == "b"
    assert rewritten["metadata"]["annotations"][ANNOTATION_ROTATED] == "b"


def test_a_stale_secret_keeps_its_rotation_record() -> None:
    secret = ours(**{ANNOTATION_ROTATE: "a", ANNOTATION_ROTATED: "a"})
    plan = plan_tenancy(observed(secret=secret, issued=None))
    assert plan.action == TenancyAction.REISSUE
    assert plan.rotation == "a"  # rewritten, the request stays acted on


def test_the_last_monitor_gone_removes_secret_and_role() -> None:
    assert plan_tenancy(observed(monitors=0, secret=ours())).action == TenancyAction.REMOVE
    assert plan_tenancy(observed(monitors=0, secret=None)).action == TenancyAction.REVOKE
    nothing = plan_tenancy(observed(monitors=0, secret=None, issued=None))
    assert nothing.action == TenancyAction.NONE


def _foreign(**labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": TENANT_SECRET_NAME, "namespace": "team-a", "labels": labels},
        "data": {"url": base64.b64encode(b"postgresql://someone/else").decode()},
    }


@pytest.mark.parametrize(
    "secret",
    [
        _foreign(),
        _foreign(**{"app.kubernetes.io/managed-by": "driftwarden"}),  # `db tenant grant`'s
        _foreign(**{"app.kubernetes.io/managed-by": "driftwarden-operator"}),
        _foreign(**{"app.kubernetes.io/component": "tenant-credentials"}),
    ],
)
def test_a_foreign_secret_is_never_written_nor_deleted(secret: dict[str, Any]) -> None:
    assert not is_ours(secret)
    plan = plan_tenancy(observed(secret=secret))
    assert plan.action == TenancyAction.REFUSE
    assert TENANT_SECRET_NAME in plan.why
    stall = refusal(plan)
    assert stall.reason == c.OBJECT_CONFLICT
    # No monitors: the role goes, the foreign Secret stays.
    assert plan_tenancy(observed(monitors=0, secret=secret)).action == TenancyAction.REVOKE
    quiet = plan_tenancy(observed(monitors=0, secret=secret, issued=None))
    assert quiet.action == TenancyAction.NONE


def test_no_plan_carries_a_credential() -> None:
    cases = [
        observed(secret=ours()),
        observed(secret=ours(**{ANNOTATION_ROTATE: "x"})),
        observed(secret=None),
        observed(monitors=0, secret=ours()),
        observed(secret=_foreign()),
    ]
    for case in cases:
        plan = plan_tenancy(case)
        assert "pw" not in plan.why
        assert "postgresql://" not in plan.why
