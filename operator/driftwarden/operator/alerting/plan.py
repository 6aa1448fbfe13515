"""Which Alertmanager silences a monitor should have, against those it has. Pure.

Every silence the operator makes matches the monitor's alerts exactly (equality matchers
on the `namespace` and `monitor` labels, which the rules put on every alert of a monitor)
and carries a tag at the end of its comment, `[driftwarden:<key>]`. The key names what the
silence is for and everything it says:

- `ack/<namespace>/<monitor>/<hash of the annotation's value>`: the acknowledgement;
- `maintenance/<namespace>/<monitor>/<window>/<start>-<end>` (Unix seconds): one occurrence.

So the plan is a set difference on keys: a desired key no live (active or pending) silence
carries is created; a live silence of ours whose key is no longer desired is expired (the
acknowledgement withdrawn or changed, a window removed or moved); a duplicate (a crash
between creating a silence and recording its id) is expired too. Running the plan again
changes nothing, and the operator can be killed between any two calls.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from pydantic import ValidationError

from driftwarden.operator.api.alerting import (
    ANNOTATION_ACKNOWLEDGE,
    MAX_SILENCE,
    AcknowledgementRequest,
    AcknowledgementStatus,
    AlertingStatus,
    SilenceRef,
)
from driftwarden.operator.api.modelmonitor import ModelMonitor

from .alertmanager import NewSilence, Silence
from .windows import DEFAULT_LOOKAHEAD, Occurrence, all_occurrences

OPERATOR: Final = "driftwarden-operator"
LIVE_STATES: Final = frozenset({"active", "pending"})
_TAG = re.compile(r"\[driftwarden:([^\]\s]{1,600})\]\s*$")
MAX_ANNOTATION: Final = 4096


def matchers(namespace: str, name: str) -> dict[str, str]:
    """The labels every alert of this monitor carries."""
    return {"namespace": namespace, "monitor": name}


def tag_of(silence: Silence) -> str | None:
    found = _TAG.search(silence.comment)
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class Desired:
    key: str
    silence: NewSilence
    window: str | None = None


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """The annotation as read: a valid request, or the reason it was refused."""

    request_hash: str
    request: AcknowledgementRequest | None = None
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class SilencePlan:
    namespace: str
    name: str
    create: tuple[Desired, ...]
    expire: tuple[Silence, ...]
    kept: Mapping[str, Silence]  # desired keys that already have a live silence
    desired: tuple[Desired, ...]
    acknowledgement: Acknowledgement | None
    events: list[tuple[str, str, str]] = field(default_factory=list)


def read_acknowledgement(value: str | None, now: datetime) -> Acknowledgement | None:
    """The `driftwarden.io/acknowledge` annotation (JSON: by, until, reason)."""
    if value is None:
        return None
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    if len(value) > MAX_ANNOTATION:
        return Acknowledgement(digest, refusal=f"longer than {MAX_ANNOTATION} characters")
    try:
        request = AcknowledgementRequest.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        return Acknowledgement(
            digest,
            refusal=f'{where}: {first["msg"]} (expected JSON {{"by": ..., "until": '
            '"2026-12-01T18:00:00Z", "reason": ...}})',
        )
    if request.until > now + MAX_SILENCE:
        return Acknowledgement(digest, request, refusal="until is more than 31d ahead")
    return Acknowledgement(digest, request)


def _ack_desired(namespace: str, name: str, ack: Acknowledgement, now: datetime) -> Desired:
    assert ack.request is not None
    request = ack.request
    key = f"ack/{namespace}/{name}/{ack.request_hash}"
    comment = (
        f"{request.reason} (acknowledged on ModelMonitor {namespace}/{name}) [driftwarden:{key}]"
    )
    return Desired(
        key,
        NewSilence(matchers(namespace, name), now, request.until, request.by, comment),
    )


def _window_desired(namespace: str, name: str, occurrence: Occurrence) -> Desired:
    start, end = int(occurrence.start.timestamp()), int(occurrence.end.timestamp())
    key = f"maintenance/{namespace}/{name}/{occurrence.window}/{start}-{end}"
    comment = (
        f"maintenance window {occurrence.window} of ModelMonitor {namespace}/{name} "
        f"[driftwarden:{key}]"
    )
    return Desired(
        key,
        NewSilence(matchers(namespace, name), occurrence.start, occurrence.end, OPERATOR, comment),
        window=occurrence.window,
    )


def plan_silences(
    monitor: ModelMonitor,
    existing: Sequence[Silence],
    now: datetime,
    lookahead: timedelta = DEFAULT_LOOKAHEAD,
) -> SilencePlan:
    namespace, name = monitor.metadata.namespace, monitor.metadata.name
    ack = read_acknowledgement(monitor.metadata.annotations.get(ANNOTATION_ACKNOWLEDGE), now)
    desired: list[Desired] = []
    if ack is not None and ack.request is not None and not ack.refusal and ack.request.until > now:
        desired.append(_ack_desired(namespace, name, ack, now))
    windows = monitor.spec.alerting.maintenance_windows or []
    desired += [
        _window_desired(namespace, name, o) for o in all_occurrences(windows, now, lookahead)
    ]
    return _difference(namespace, name, desired, existing, ack)


def plan_deleted(namespace: str, name: str, existing: Sequence[Silence]) -> SilencePlan:
    """The monitor is gone: every live silence of ours for it is expired."""
    return _difference(namespace, name, [], existing, None)


def _difference(
    namespace: str,
    name: str,
    desired: list[Desired],
    existing: Sequence[Silence],
    ack: Acknowledgement | None,
) -> SilencePlan:
    prefixes = (f"ack/{namespace}/{name}/", f"maintenance/{namespace}/{name}/")
    wanted = {d.key for d in desired}
    kept: dict[str, Silence] = {}
    expire: list[Silence] = []
    for silence in sorted(existing, key=lambda s: s.id):
        key = tag_of(silence)
        if silence.state not in LIVE_STATES or key is None or not key.startswith(prefixes):
            continue  # not ours, or over already
        if key in wanted and key not in kept:
            kept[key] = silence
        else:
            expire.append(silence)
    create = tuple(d for d in desired if d.key not in kept)
    plan = SilencePlan(namespace, name, create, tuple(expire), kept, tuple(desired), ack)
    plan.events.extend(_expire_events(plan))
    return plan


def _expire_events(plan: SilencePlan) -> list[tuple[str, str, str]]:
    events = []
    for silence in plan.expire:
        key = tag_of(silence) or ""
        if key.startswith("ack/"):
            events.append(
                (
                    "Normal",
                    "AcknowledgementWithdrawn",
                    f"silence {silence.id} expired: the acknowledgement was withdrawn or replaced",
                )
            )
        else:
            events.append(
                (
                    "Normal",
                    "MaintenanceSilenceExpired",
                    f"silence {silence.id} expired: its maintenance window was removed or changed",
                )
            )
    return events


def created_events(plan: SilencePlan, ids: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """Events for the silences just created (`ids`: key -> silence id)."""
    events = []
    for d in plan.create:
        silence_id = ids.get(d.key)
        if silence_id is None:
            continue
        s = d.silence
        if d.window is None:
            events.append(
                (
                    "Normal",
                    "Acknowledged",
                    f"alerts silenced until {s.ends_at.isoformat()} by "
                    f"{s.created_by} (silence {silence_id})",
                )
            )
        else:
            events.append(
                (
                    "Normal",
                    "MaintenanceSilenced",
                    f"maintenance window {d.window}: alerts "
                    f"silenced {s.starts_at.isoformat()} to {s.ends_at.isoformat()} "
                    f"(silence {silence_id})",
                )
            )
    return events


def status_after(
    plan: SilencePlan, ids: Mapping[str, str], previous: AlertingStatus | None
) -> AlertingStatus | None:
    """`status.alerting` once the plan is carried out (`ids`: created key -> silence id)."""
    known = {key: silence.id for key, silence in plan.kept.items()} | dict(ids)
    refs = [
        SilenceRef(
            silence_id=known[d.key],
            starts_at=d.silence.starts_at,
            ends_at=d.silence.ends_at,
            window=d.window,
        )
        for d in plan.desired
        if d.window is not None and d.key in known
    ]
    refs.sort(key=lambda r: (r.starts_at, r.window or ""))
    ack_status = _ack_status(plan, known, previous)
    if ack_status is None and not refs:
        return None
    return AlertingStatus(acknowledgement=ack_status, maintenance_silences=refs)


def _ack_status(
    plan: SilencePlan, known: Mapping[str, str], previous: AlertingStatus | None
) -> AcknowledgementStatus | None:
    ack = plan.acknowledgement
    if ack is None:
        return None
    request = ack.request
    if request is None:
        return AcknowledgementStatus(request_hash=ack.request_hash, message=ack.refusal[:1024])
    key = next((d.key for d in plan.desired if d.window is None), None)
    silence_id = known.get(key) if key is not None else None
    message = ack.refusal
    if not message and key is None:
        message = f"ended at {request.until.isoformat()}"
        before = previous.acknowledgement if previous is not None else None
        if before is not None and before.request_hash == ack.request_hash:
            silence_id = before.silence_id  # the silence it had, for the record
    return AcknowledgementStatus(
        by=request.by,
        until=request.until,
        reason=request.reason,
        silence_id=silence_id,
        request_hash=ack.request_hash,
        message=message[:1024],
    )


def acknowledged_by(status: AlertingStatus | None, now: datetime) -> str | None:
    """Who holds an acknowledgement in force (a silence made, not ended), else None."""
    ack = status.acknowledgement if status is not None else None
    if ack is None or ack.message or ack.silence_id is None or ack.until is None:
        return None
    return ack.by if ack.until > now else None


def wants_silences(monitor: ModelMonitor) -> bool:
    """Whether the monitor asks for a silence or has one recorded (else an event-driven sync
    needs no call to Alertmanager)."""
    annotations = monitor.metadata.annotations
    return bool(
        ANNOTATION_ACKNOWLEDGE in annotations
        or monitor.spec.alerting.maintenance_windows
        or monitor.status.alerting is not None
    )


def silences_by_monitor(silences: Sequence[Silence]) -> dict[tuple[str, str], list[Silence]]:
    """Silences of ours (tagged), grouped by the monitor their tag names."""
    grouped: dict[tuple[str, str], list[Silence]] = {}
    for silence in silences:
        key = tag_of(silence)
        parts = key.split("/") if key else []
        if len(parts) >= 3 and parts[0] in ("ack", "maintenance"):
            grouped.setdefault((parts[1], parts[2]), []).append(silence)
    return grouped


def status_events(plan: SilencePlan, previous: AlertingStatus | None) -> list[tuple[str, str, str]]:
    """Events of the acknowledgement's transitions seen in the status: refused (Warning,
    once per value and reason) and ended (once)."""
    ack = plan.acknowledgement
    before = previous.acknowledgement if previous is not None else None
    if ack is None:
        return []
    same = before is not None and before.request_hash == ack.request_hash
    if ack.refusal:
        if same and before is not None and before.message == ack.refusal[:1024]:
            return []
        return [("Warning", "InvalidAcknowledgement", f"{ANNOTATION_ACKNOWLEDGE}: {ack.refusal}")]
    ended = ack.request is not None and not any(d.window is None for d in plan.desired)
    if ended and not (same and before is not None and before.message.startswith("ended at")):
        assert ack.request is not None
        return [
            (
                "Normal",
                "AcknowledgementEnded",
                f"the acknowledgement by {ack.request.by} ended at {ack.request.until.isoformat()}",
            )
        ]
    return []
