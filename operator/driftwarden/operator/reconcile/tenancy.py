"""A namespace's results-database credentials: what should exist, decided from what does.

The rule (one namespace at a time, under the operator's lock for it):

- it has at least one ModelMonitor (not being deleted) -> a PostgreSQL role for it exists
  and the Secret `driftwarden-tenant-results` holds that role's current password;
- it has none -> neither the role nor the Secret exists;
- a Secret of that name that the operator did not make (not labelled as ours) is never
  written nor deleted: the namespace's monitors are Stalled (ObjectConflict) until a person
  removes or renames it.

"Current" is checked, not assumed: the Secret records when its password was issued
(`driftwarden.io/credentials-issued-at`) and which database it points at; the database
records when the role's password last changed (`tenant_roles`). A Secret that disagrees (the
role was dropped or rotated by `driftwarden db tenant grant`, the database moved) is issued
again. A new value of the `driftwarden.io/rotate` annotation asks for a new password.

Pure: the handler gathers (monitors, the Secret, the role's issue time) and applies.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.tenancy import (
    ANNOTATION_DATABASE,
    ANNOTATION_ISSUED_AT,
    ANNOTATION_ROTATE,
    ANNOTATION_ROTATED,
    TENANT_COMPONENT,
    TENANT_SECRET_KEY,
    TENANT_SECRET_NAME,
)

from .naming import LABEL_COMPONENT, LABEL_MANAGED_BY, LABEL_NAME, MANAGED_BY
from .status import Stall


class TenancyAction(StrEnum):
    NONE = "None"
    ISSUE = "Issue"
    """Grant the role (create it, or give it a new password) and create the Secret."""
    REISSUE = "Reissue"
    """Give the role a new password and replace our Secret."""
    REMOVE = "Remove"
    """Delete our Secret, then drop the role."""
    REVOKE = "Revoke"
    """Drop the role (no Secret of ours is left)."""
    REFUSE = "Refuse"
    """A Secret of the name is not ours: touch nothing, stall the namespace's monitors."""


@dataclass(frozen=True)
class ObservedTenancy:
    """What the handler found for one namespace."""

    namespace: str
    monitors: int
    """ModelMonitors in the namespace that are not being deleted."""
    secret: Mapping[str, Any] | None
    """The Secret `driftwarden-tenant-results` as the API returned it, or None."""
    issued_at: datetime | None
    """When the namespace's role got its current password; None when it has no role."""
    database: str
    """`database_fingerprint` of the administrative connection."""


@dataclass(frozen=True)
class TenancyPlan:
    action: TenancyAction
    why: str
    """One line for the log and the Event (never a credential)."""
    rotation: str | None = None
    """The `driftwarden.io/rotate` value this plan acts on (recorded as rotated)."""


def database_fingerprint(host: str | None, port: int | None, database: str | None) -> str:
    """A short digest naming the database a Secret points at (its host, port and name; no
    user, no password)."""
    text = f"{host or ''}:{port or ''}/{database or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def issued_stamp(when: datetime) -> str:
    """The issue time as the Secret's annotation writes it (UTC, microseconds)."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def is_ours(secret: Mapping[str, Any]) -> bool:
    """A Secret the operator made (its labels say so)."""
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return bool(
        labels.get(LABEL_MANAGED_BY) == MANAGED_BY
        and labels.get(LABEL_COMPONENT) == TENANT_COMPONENT
    )


def rotation_request(secret: Mapping[str, Any]) -> str | None:
    """A `driftwarden.io/rotate` value not yet acted on."""
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    wanted = str(annotations.get(ANNOTATION_ROTATE) or "").strip()
    if not wanted or wanted == str(annotations.get(ANNOTATION_ROTATED) or ""):
        return None
    return wanted


def plan_tenancy(observed: ObservedTenancy) -> TenancyPlan:
    """What to do about one namespace's role and Secret (see the module's rule)."""
    secret = observed.secret
    role = observed.issued_at is not None
    if secret is not None and not is_ours(secret):
        if observed.monitors:
            return TenancyPlan(
                TenancyAction.REFUSE,
                f"Secret {TENANT_SECRET_NAME} exists and was not made by driftwarden; "
                "rename or delete it to let the operator issue the namespace's credentials",
            )
        if role:
            return TenancyPlan(TenancyAction.REVOKE, "the namespace has no ModelMonitor left")
        return TenancyPlan(TenancyAction.NONE, "no ModelMonitor, no role")
    if not observed.monitors:
        if secret is not None:
            return TenancyPlan(TenancyAction.REMOVE, "the namespace has no ModelMonitor left")
        if role:
            return TenancyPlan(TenancyAction.REVOKE, "the namespace has no ModelMonitor left")
        return TenancyPlan(TenancyAction.NONE, "no ModelMonitor, no role")
    if secret is None:
        return TenancyPlan(TenancyAction.ISSUE, "the namespace has ModelMonitors and no Secret")
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    pending = rotation_request(secret)
    kept = str(annotations.get(ANNOTATION_ROTATED) or "") or None
    if observed.issued_at is None:
        why = "the namespace's role is missing from the results database"
    elif annotations.get(ANNOTATION_ISSUED_AT) != issued_stamp(observed.issued_at):
        why = "the role's password changed since the Secret was written"
    elif annotations.get(ANNOTATION_DATABASE) != observed.database:
        why = "the Secret points at another results database"
    elif TENANT_SECRET_KEY not in (secret.get("data") or {}):
        why = f"the Secret has no {TENANT_SECRET_KEY} key"
    elif pending is not None:
        return TenancyPlan(
            TenancyAction.REISSUE,
            f"rotation requested ({ANNOTATION_ROTATE}={pending[:63]})",
            pending,
        )
    else:
        return TenancyPlan(TenancyAction.NONE, "the Secret holds the role's current password")
    return TenancyPlan(TenancyAction.REISSUE, why, pending or kept)


def refusal(plan: TenancyPlan) -> Stall:
    """The monitors' Stalled condition while a foreign Secret holds the name."""
    return Stall(c.OBJECT_CONFLICT, plan.why)


def tenant_secret(
    namespace: str,
    url: str,
    issued_at: datetime,
    database: str,
    rotation: str | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The namespace's Secret holding the role's URL (`url` is the credential: it goes
    nowhere but here). Keeps a person's `driftwarden.io/rotate` value; records `rotation` as
    acted on."""
    annotations: dict[str, str] = {
        ANNOTATION_ISSUED_AT: issued_stamp(issued_at),
        ANNOTATION_DATABASE: database,
    }
    before = ((previous or {}).get("metadata") or {}).get("annotations") or {}
    if before.get(ANNOTATION_ROTATE):
        annotations[ANNOTATION_ROTATE] = str(before[ANNOTATION_ROTATE])
    if rotation:
        annotations[ANNOTATION_ROTATED] = rotation
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": TENANT_SECRET_NAME,
            "namespace": namespace,
            "labels": {
                LABEL_NAME: "driftwarden",
                LABEL_COMPONENT: TENANT_COMPONENT,
                LABEL_MANAGED_BY: MANAGED_BY,
            },
            "annotations": dict(sorted(annotations.items())),
        },
        "type": "Opaque",
        "immutable": False,
        "data": {TENANT_SECRET_KEY: base64.b64encode(url.encode()).decode()},
    }
