"""Patch only what changed: compare a desired object with the one that exists.

Each planned object carries the hash of its own desired content in an annotation, so a
reconcile that would write the same object again does nothing, and an operator upgrade that
changes what it renders (a new default image, a new label) updates objects exactly once.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

ANNOTATION_DESIRED_HASH: Final = "driftwarden.io/desired-hash"


class ApplyAction(StrEnum):
    CREATE = "Create"
    """Nothing of that name exists: create it."""
    UPDATE = "Update"
    """Ours, but rendered differently: replace it with the desired object."""
    KEEP = "Keep"
    """Ours and up to date (or immutable, as a Job is): leave it alone."""
    CONFLICT = "Conflict"
    """An object of that name exists and is not controlled by this resource: do not touch
    it (Accepted=False, reason ObjectConflict)."""


def desired_hash(manifest: Mapping[str, Any]) -> str:
    """Hash of an object's desired content, not counting the hash annotation itself."""
    content = copy.deepcopy(dict(manifest))
    annotations = content.get("metadata", {}).get("annotations", {})
    annotations.pop(ANNOTATION_DESIRED_HASH, None)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def stamped(manifest: dict[str, Any]) -> dict[str, Any]:
    """`manifest` with its desired-hash annotation set (last, so goldens read naturally)."""
    metadata = manifest.setdefault("metadata", {})
    metadata.setdefault("annotations", {})[ANNOTATION_DESIRED_HASH] = desired_hash(manifest)
    return manifest


def plan_apply(
    existing: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    owner_uid: str,
    *,
    immutable: bool = False,
) -> ApplyAction:
    """What to do so that `desired` exists, given what the API server returned (or None)."""
    if existing is None:
        return ApplyAction.CREATE
    metadata = existing.get("metadata", {}) or {}
    owners = metadata.get("ownerReferences", []) or []
    if not any(ref.get("uid") == owner_uid and ref.get("controller") for ref in owners):
        return ApplyAction.CONFLICT
    if immutable:
        return ApplyAction.KEEP
    have = (metadata.get("annotations", {}) or {}).get(ANNOTATION_DESIRED_HASH)
    want = desired.get("metadata", {}).get("annotations", {}).get(ANNOTATION_DESIRED_HASH)
    return ApplyAction.KEEP if have is not None and have == want else ApplyAction.UPDATE
