"""Deterministic names and labels: a restarted operator computes the same ones."""

from __future__ import annotations

import hashlib
import re
from typing import Final

from driftwarden.operator.api.common import API_VERSION

MANAGED_BY: Final = "driftwarden-operator"
LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_MONITOR: Final = "driftwarden.io/monitor"
LABEL_MONITOR_UID: Final = "driftwarden.io/monitor-uid"
LABEL_POLICY: Final = "driftwarden.io/retrain-policy"
LABEL_POLICY_UID: Final = "driftwarden.io/retrain-policy-uid"
LABEL_RUN_TRIGGER: Final = "driftwarden.io/run-trigger"

ANNOTATION_RUN_NOW: Final = "driftwarden.io/run-now"
"""Set to any new value (e.g. a timestamp) to start one run now; one Job per value."""
ANNOTATION_SPEC_HASH: Final = "driftwarden.io/spec-hash"
ANNOTATION_TRIGGERED_AT: Final = "driftwarden.io/triggered-at"
ANNOTATION_TRIGGER_WINDOW: Final = "driftwarden.io/trigger-window"
ANNOTATION_TRIGGER_REASON: Final = "driftwarden.io/trigger-reason"
ANNOTATION_TRIGGER_RUN: Final = "driftwarden.io/trigger-run"

JOB_NAME_LIMIT: Final = 63  # Job names end up in the job-name label of their Pods
CRONJOB_NAME_LIMIT: Final = 52  # the controller appends an 11-character suffix


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def bounded(name: str, limit: int) -> str:
    """`name` if it fits in `limit` characters, else a prefix plus a hash of the whole name
    (so two long names sharing a prefix still differ)."""
    if len(name) <= limit:
        return name
    prefix = name[: limit - 7].rstrip("-.")
    return f"{prefix}-{short_hash(name, 6)}"


def label_value(text: str) -> str:
    """A valid label value (at most 63 characters, alphanumeric at both ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", text).strip("-._")
    return bounded(cleaned, 63).strip("-._")


def owner_reference(kind: str, name: str, uid: str) -> dict[str, object]:
    """A controller owner reference: the owned object is deleted with its owner."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
