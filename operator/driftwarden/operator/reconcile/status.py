"""ModelMonitor status from what happened: conditions, facts, and Events on transitions.

Ready, Stalled and Reconciling say whether the spec is reconciled (kstatus); what the last
run found is LastRunSucceeded, DriftDetected and PerformanceDegraded.

`lastTransitionTime` changes only when a condition's status changes; Events are emitted only
when a condition's status or reason changes, never on a reconcile that changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from driftwarden.detectors.config import Severity
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.common import Condition
from driftwarden.operator.api.conditions import ConditionStatus
from driftwarden.operator.api.cron import check_time_zone, parse_cron
from driftwarden.operator.api.modelmonitor import (
    LastRun,
    ModelMonitor,
    ModelMonitorStatus,
    RunOutcome,
)
from driftwarden.operator.api.run import RunSummary

TOP_FEATURES_IN_STATUS = 5


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class EventSpec:
    """An Event to emit on the resource."""

    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class DesiredCondition:
    """A condition without its bookkeeping (times, generation)."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


@dataclass(frozen=True)
class StatusPlan:
    """The status to write (only when `changed`) and the Events to emit."""

    status: ModelMonitorStatus
    events: tuple[EventSpec, ...]
    changed: bool


def set_conditions(
    current: Sequence[Condition],
    desired: Sequence[DesiredCondition],
    generation: int,
    now: datetime,
) -> list[Condition]:
    """Merge desired conditions into the current list (kept in a stable order).

    A condition keeps its lastTransitionTime unless its status changes.
    """
    by_type = {condition.type: condition for condition in current}
    for want in desired:
        old = by_type.get(want.type)
        since = old.last_transition_time if old and old.status == want.status else now
        by_type[want.type] = Condition(
            type=want.type,
            status=want.status,
            reason=want.reason,
            message=want.message[:32768],
            last_transition_time=since,
            observed_generation=generation,
        )
    order: dict[str, int] = {}
    for name in (
        c.MONITOR_CONDITION_TYPES + c.POLICY_CONDITION_TYPES + c.RETRAIN_RUN_CONDITION_TYPES
    ):
        order.setdefault(name, len(order))
    return sorted(by_type.values(), key=lambda cond: (order.get(cond.type, len(order)), cond.type))


def _transition_events(old: Sequence[Condition], new: Sequence[Condition]) -> tuple[EventSpec, ...]:
    before = {condition.type: condition for condition in old}
    events: list[EventSpec] = []
    for condition in new:
        prev = before.get(condition.type)
        if prev is not None and (prev.status, prev.reason) == (condition.status, condition.reason):
            continue
        event = _event_for(prev, condition)
        if event is not None:
            events.append(event)
    return tuple(events)


def _event_for(prev: Condition | None, cond: Condition) -> EventSpec | None:
    was_true = prev is not None and prev.status == ConditionStatus.TRUE
    was_false = prev is not None and prev.status == ConditionStatus.FALSE
    is_true = cond.status == ConditionStatus.TRUE
    is_false = cond.status == ConditionStatus.FALSE
    warn, normal = EventType.WARNING, EventType.NORMAL
    match cond.type:
        case c.STALLED:
            if is_true:
                return EventSpec(warn, cond.reason, cond.message)
        case c.READY:
            if is_true and prev is not None and not was_true:
                return EventSpec(normal, cond.reason, cond.message or "reconciled")
        case c.LAST_RUN_SUCCEEDED:
            if is_false:
                return EventSpec(warn, cond.reason, cond.message)
            if is_true and was_false:
                return EventSpec(normal, c.RUN_RECOVERED, cond.message)
            if is_true:
                return EventSpec(normal, cond.reason, cond.message)
        case c.DRIFT_DETECTED:
            if is_true:
                return EventSpec(warn, cond.reason, cond.message)
            if is_false and was_true:
                return EventSpec(normal, c.DRIFT_RESOLVED, cond.message)
        case c.PERFORMANCE_DEGRADED:
            if is_true:
                return EventSpec(warn, cond.reason, cond.message)
            if is_false and was_true:
                return EventSpec(normal, c.PERFORMANCE_RECOVERED, cond.message)
    return None


def _drift_message(summary: RunSummary) -> str:
    text = f"{summary.drifted_features}/{summary.total_features} features drifted"
    if summary.top_drifted:
        parts = [f"{f.name} ({f.method} {f.statistic:.3g})" for f in summary.top_drifted]
        text += ": " + ", ".join(parts)
    return text


def _drift_condition(summary: RunSummary) -> DesiredCondition:
    message = _drift_message(summary)
    match summary.drift_severity:
        case Severity.CRITICAL:
            return DesiredCondition(
                c.DRIFT_DETECTED, ConditionStatus.TRUE, c.CRITICAL_DRIFT, message
            )
        case Severity.WARNING:
            return DesiredCondition(
                c.DRIFT_DETECTED, ConditionStatus.TRUE, c.WARNING_DRIFT, message
            )
    return DesiredCondition(c.DRIFT_DETECTED, ConditionStatus.FALSE, c.NO_DRIFT, message)


def _performance_condition(monitor: ModelMonitor, summary: RunSummary) -> DesiredCondition:
    headline = summary.headline_performance()
    if monitor.spec.labels is None or headline is None:
        message = (
            "no labels configured"
            if monitor.spec.labels is None
            else "no labels had arrived for the current window"
        )
        return DesiredCondition(
            c.PERFORMANCE_DEGRADED, ConditionStatus.UNKNOWN, c.NO_LABELS, message
        )
    message = (
        f"{headline.metric} {headline.current:.4g} vs baseline {headline.baseline:.4g} "
        f"(drop {headline.drop:.3g})"
    )
    match headline.severity:
        case Severity.CRITICAL:
            return DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.TRUE, c.PERFORMANCE_CRITICAL, message
            )
        case Severity.WARNING:
            return DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.TRUE, c.PERFORMANCE_WARNING, message
            )
    return DesiredCondition(
        c.PERFORMANCE_DEGRADED, ConditionStatus.FALSE, c.PERFORMANCE_OK, message
    )


def _last_run_condition(summary: RunSummary, reason: str | None = None) -> DesiredCondition:
    """LastRunSucceeded from a summary; `reason` names the cause when the caller knows it
    better (the Job's failure condition, a Pod that cannot start, the detector's own
    FailureReason)."""
    rows = summary.rows
    counts = f" ({rows.baseline} baseline, {rows.current} current rows)" if rows else ""
    detail = f": {summary.message}" if summary.message else ""
    failed_reason = reason if reason and reason != c.RUN_SUCCEEDED else None
    if failed_reason is None and summary.reason is not None:
        failed_reason = str(summary.reason)
    match summary.outcome:
        case RunOutcome.SUCCEEDED:
            return DesiredCondition(
                c.LAST_RUN_SUCCEEDED,
                ConditionStatus.TRUE,
                c.RUN_SUCCEEDED,
                f"run {summary.run_id} evaluated{counts}",
            )
        case RunOutcome.INSUFFICIENT_DATA:
            reason, what = c.INSUFFICIENT_DATA, "had too little data"
        case RunOutcome.INVALID_INPUT:
            reason, what = c.INVALID_INPUT, "refused its input"
        case _:
            reason, what = c.RUN_FAILED, "failed"
    return DesiredCondition(
        c.LAST_RUN_SUCCEEDED,
        ConditionStatus.FALSE,
        failed_reason or reason,
        f"run {summary.run_id} {what}{counts}{detail}",
    )


@dataclass(frozen=True)
class Stall:
    """Why reconciling cannot progress until the spec or the configuration changes."""

    reason: str
    message: str


def schedule_stall(monitor: ModelMonitor) -> Stall | None:
    """A time zone this machine does not know, or a cron that cannot run (Stalled)."""
    schedule = monitor.spec.schedule
    try:
        check_time_zone(schedule.time_zone)
    except ValueError as exc:
        return Stall(c.INVALID_TIME_ZONE, str(exc))
    try:
        cron = parse_cron(schedule.cron)
    except ValueError as exc:
        return Stall(c.INVALID_SCHEDULE, str(exc))
    if not cron.fires():
        return Stall(c.INVALID_SCHEDULE, f"cron {schedule.cron!r} never fires")
    try:  # every matching time may fall into a daylight-saving gap of the zone
        cron.next_after(datetime(2000, 1, 1, tzinfo=UTC), schedule.time_zone)
    except ValueError:
        return Stall(
            c.INVALID_SCHEDULE,
            f"cron {schedule.cron!r} never fires in {schedule.time_zone} (every time it names "
            "is skipped by a daylight-saving change)",
        )
    return None


def next_run_time(monitor: ModelMonitor, now: datetime) -> datetime | None:
    """The next scheduled run, or None while suspended or when the schedule cannot run."""
    schedule = monitor.spec.schedule
    if schedule.suspend or schedule_stall(monitor) is not None:
        return None
    try:
        return parse_cron(schedule.cron).next_after(now, schedule.time_zone)
    except ValueError:  # nothing within the search horizon from `now`
        return None


def _finish(
    monitor: ModelMonitor, status: ModelMonitorStatus, old_conditions: Sequence[Condition]
) -> StatusPlan:
    return StatusPlan(
        status=status,
        events=_transition_events(old_conditions, status.conditions),
        changed=status != monitor.status,
    )


def kstatus_conditions(stall: Stall | None, waiting: Stall | None = None) -> list[DesiredCondition]:
    """Ready, Stalled and Reconciling as kstatus reads them.

    `stall`: a permanent problem (Stalled=True, Ready=False). `waiting`: something expected
    to resolve itself, such as a missing MonitorClass (Ready=False, Reconciling=False; kstatus
    reads InProgress). Neither: reconciled (Ready=True).
    """
    if stall is not None:
        return [
            DesiredCondition(c.READY, ConditionStatus.FALSE, stall.reason, stall.message),
            DesiredCondition(c.STALLED, ConditionStatus.TRUE, stall.reason, stall.message),
            DesiredCondition(c.RECONCILING, ConditionStatus.FALSE, stall.reason, stall.message),
        ]
    if waiting is not None:
        return [
            DesiredCondition(c.READY, ConditionStatus.FALSE, waiting.reason, waiting.message),
            DesiredCondition(c.STALLED, ConditionStatus.FALSE, c.NOT_STALLED),
            DesiredCondition(c.RECONCILING, ConditionStatus.FALSE, waiting.reason, waiting.message),
        ]
    return [
        DesiredCondition(c.READY, ConditionStatus.TRUE, c.RECONCILED),
        DesiredCondition(c.STALLED, ConditionStatus.FALSE, c.NOT_STALLED),
        DesiredCondition(c.RECONCILING, ConditionStatus.FALSE, c.RECONCILED),
    ]


def _awaiting_first_run(old: ModelMonitorStatus) -> list[DesiredCondition]:
    if old.last_run is not None:
        return []
    waiting = "no run has finished yet"
    return [
        DesiredCondition(
            c.LAST_RUN_SUCCEEDED, ConditionStatus.UNKNOWN, c.AWAITING_FIRST_RUN, waiting
        ),
        DesiredCondition(c.DRIFT_DETECTED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, waiting),
        DesiredCondition(c.PERFORMANCE_DEGRADED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, waiting),
    ]


def plan_reconciled(
    monitor: ModelMonitor,
    now: datetime,
    *,
    spec_hash: str | None = None,
    config_map_name: str | None = None,
    monitor_class_name: str | None = None,
    stall: Stall | None = None,
    waiting: Stall | None = None,
) -> StatusPlan:
    """The status once the monitor's objects are applied (Ready), or why they cannot be
    (`stall`: Stalled; `waiting`: Ready=False until a dependency appears).

    Before the first run, LastRunSucceeded and the verdict conditions are Unknown.
    """
    generation = monitor.metadata.generation
    old = monitor.status
    desired = kstatus_conditions(stall, waiting) + _awaiting_first_run(old)
    ok = stall is None and waiting is None
    status = old.model_copy(
        update={
            "observed_generation": generation,
            "conditions": set_conditions(old.conditions, desired, generation, now),
            "next_run_time": next_run_time(monitor, now) if ok else None,
            "spec_hash": spec_hash if ok and spec_hash else old.spec_hash,
            "config_map_name": config_map_name if ok and config_map_name else old.config_map_name,
            "monitor_class_name": monitor_class_name or old.monitor_class_name,
        }
    )
    return _finish(monitor, status, old.conditions)


def plan_reconciling(monitor: ModelMonitor, now: datetime, message: str) -> StatusPlan:
    """The status while objects for a new generation are being applied (or an apply failed
    and is retried): Reconciling=True, Ready=False."""
    generation = monitor.metadata.generation
    old = monitor.status
    desired = [
        DesiredCondition(c.READY, ConditionStatus.FALSE, c.PROGRESSING, message),
        DesiredCondition(c.STALLED, ConditionStatus.FALSE, c.NOT_STALLED),
        DesiredCondition(c.RECONCILING, ConditionStatus.TRUE, c.PROGRESSING, message),
        *_awaiting_first_run(old),
    ]
    status = old.model_copy(
        update={
            "observed_generation": generation,
            "conditions": set_conditions(old.conditions, desired, generation, now),
        }
    )
    return _finish(monitor, status, old.conditions)


def plan_unreadable(obj: Mapping[str, Any], message: str, now: datetime) -> StatusPlan:
    """The status of a monitor whose spec the models refuse (Stalled, InvalidSpec): what the
    schema could not check, e.g. a baseline that overlaps the current window."""
    metadata = obj.get("metadata") or {}
    generation = int(metadata.get("generation") or 0)
    try:
        old = ModelMonitorStatus.model_validate(obj.get("status") or {})
    except ValidationError:
        old = ModelMonitorStatus()
    stall = Stall(c.INVALID_SPEC, message)
    desired = kstatus_conditions(stall)
    status = old.model_copy(
        update={
            "observed_generation": generation,
            "conditions": set_conditions(old.conditions, desired, generation, now),
            "next_run_time": None,
        }
    )
    return StatusPlan(
        status=status,
        events=_transition_events(old.conditions, status.conditions),
        changed=status != old,
    )


def one_line(error: ValidationError) -> str:
    """A pydantic error as one line a user can act on: `spec.features: ...; ...`."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        text = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {text}" if where else text)
    return "; ".join(parts)[:1024]


def plan_run_finished(
    monitor: ModelMonitor, summary: RunSummary, now: datetime, reason: str | None = None
) -> StatusPlan:
    """The status after a detector run finished (its summary, or one made for a failed Job).

    A failed or refused run updates lastRun and LastRunSucceeded but keeps the last evaluated
    verdict; a run with too little data clears the verdict (it is Unknown, not "no drift").
    Ready, Stalled, Reconciling and observedGeneration are the reconcile's, not the run's.
    """
    generation = monitor.status.observed_generation
    old = monitor.status
    desired = [_last_run_condition(summary, reason)]
    update: dict[str, object] = {
        "last_run": LastRun(
            id=summary.run_id,
            start_time=summary.started_at,
            completion_time=summary.finished_at,
            rows=summary.rows,
            message=summary.message[:1024],
        ),
        "next_run_time": next_run_time(monitor, now),
    }
    if summary.outcome == RunOutcome.SUCCEEDED:
        desired += [_drift_condition(summary), _performance_condition(monitor, summary)]
        score = None if summary.health_score is None else round(summary.health_score)
        update |= {
            "last_evaluated_run_id": summary.run_id,
            "health_score": score,
            "severity": summary.severity,
            "drifted_features": summary.drifted_features,
            "total_features": summary.total_features,
            "drift_summary": f"{summary.drifted_features}/{summary.total_features}",
            "top_drifted_features": list(summary.top_drifted[:TOP_FEATURES_IN_STATUS]),
            "performance": summary.headline_performance(),
        }
    elif summary.outcome == RunOutcome.INSUFFICIENT_DATA:
        message = f"run {summary.run_id} had too little data to evaluate"
        desired += [
            DesiredCondition(c.DRIFT_DETECTED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, message),
            DesiredCondition(
                c.PERFORMANCE_DEGRADED, ConditionStatus.UNKNOWN, c.NOT_EVALUATED, message
            ),
        ]
        update |= {
            "last_evaluated_run_id": None,
            "health_score": None,
            "severity": None,
            "drifted_features": None,
            "total_features": None,
            "drift_summary": None,
            "top_drifted_features": [],
            "performance": None,
        }
    update["conditions"] = set_conditions(old.conditions, desired, generation, now)
    status = old.model_copy(update=update)
    # model_copy skips validation; round-trip so the result is a checked status.
    status = ModelMonitorStatus.model_validate(status.model_dump(by_alias=True))
    return _finish(monitor, status, old.conditions)


def plan_run_now_acted(monitor: ModelMonitor, request: str) -> ModelMonitorStatus:
    """Status recording that the run-now request `request` has its Job."""
    return monitor.status.model_copy(update={"last_run_now_request": request})


def failed_run_summary(
    run_id: str, started_at: datetime, finished_at: datetime, message: str, *, invalid: bool
) -> RunSummary:
    """A summary for a Job that ended without writing one (crash, deadline, exit code 2)."""
    return RunSummary(
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        outcome=RunOutcome.INVALID_INPUT if invalid else RunOutcome.FAILED,
        message=message[:1024],
    )
