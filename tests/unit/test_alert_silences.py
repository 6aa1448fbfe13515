"""Maintenance-window occurrences and the silence plan (acknowledgement, windows). Pure:
hand-computed times, and the set difference that makes syncing idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from driftwarden.operator.alerting.alertmanager import Silence
from driftwarden.operator.alerting.plan import (
    acknowledged_by,
    created_events,
    plan_silences,
    read_acknowledgement,
    silences_by_monitor,
    status_after,
    status_events,
    wants_silences,
)
from driftwarden.operator.alerting.windows import Occurrence, occurrences
from driftwarden.operator.api.alerting import MaintenanceWindow
from driftwarden.operator.api.modelmonitor import ModelMonitor

NOW = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)  # a Saturday


def _window(**fields: Any) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"name": "w", **fields})


# --- windows ----------------------------------------------------------------------------------


def test_a_daily_window_gives_the_next_occurrence_within_the_lookahead() -> None:
    window = _window(cron="0 2 * * *", duration="2h")
    # 10:30 now: today's 02:00-04:00 is over, tomorrow's starts 15.5 h ahead.
    assert occurrences(window, NOW) == [
        Occurrence(
            "w", datetime(2026, 11, 29, 2, tzinfo=UTC), datetime(2026, 11, 29, 4, tzinfo=UTC)
        )
    ]
    assert occurrences(window, NOW, lookahead=timedelta(hours=15)) == []


def test_an_open_occurrence_is_included() -> None:
    window = _window(cron="0 9 * * *", duration="2h")  # 09:00-11:00 is open at 10:30
    found = occurrences(window, NOW, lookahead=timedelta(hours=1))
    assert found == [Occurrence("w", NOW.replace(hour=9, minute=0), NOW.replace(hour=11, minute=0))]


def test_the_time_zone_is_the_window_s_and_the_count_is_capped() -> None:
    berlin = _window(cron="0 2 * * *", duration="1h", timeZone="Europe/Berlin")
    # 02:00 in Berlin (UTC+1 in November) is 01:00 UTC.
    assert occurrences(berlin, NOW)[0].start == datetime(2026, 11, 29, 1, tzinfo=UTC)
    hourly = _window(cron="0 * * * *", duration="10m")
    assert len(occurrences(hourly, NOW)) == 4  # MAX_PER_WINDOW of 24 in the lookahead


def test_an_absolute_window_exists_until_it_ends() -> None:
    window = _window(start="2026-12-24T00:00:00Z", end="2026-12-27T00:00:00Z")
    assert len(occurrences(window, NOW)) == 1  # weeks ahead: created as soon as declared
    assert occurrences(window, datetime(2026, 12, 27, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "0 2 * * *"}, "set cron and duration, or start and end"),
        ({"cron": "0 2 * * *", "duration": "1h", "start": "2026-12-01T00:00:00Z"}, "set cron"),
        ({"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "start must be"),
        ({"cron": "0 2 * * *", "duration": "40d"}, "lasts 1m to 31d"),
        ({"cron": "0 2 * * *", "duration": "30s"}, "lasts 1m to 31d"),
        ({"cron": "0 0 31 2 *", "duration": "1h"}, "never fires"),
        ({"cron": "0 2 * * *", "duration": "1h", "timeZone": "Mars/Olympus"}, "unknown time zone"),
        ({"start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00Z"}, "timezone"),
    ],
)
def test_unusable_windows_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _window(**fields)


# --- the plan ---------------------------------------------------------------------------------


def _monitor(
    annotation: str | None = None, windows: list[dict[str, Any]] | None = None
) -> ModelMonitor:
    body: dict[str, Any] = {
        "metadata": {"name": "credit", "namespace": "risk", "annotations": {}},
        "spec": {
            "model": {"name": "credit-scoring"},
            "schedule": {"cron": "@daily"},
            "source": {"files": {"path": "/data/x.parquet", "timestampColumn": "ts"}},
            "baseline": {"relative": {"length": "7d", "endOffset": "7d"}},
            "current": {"relative": {"length": "1d"}},
            "features": [{"name": "age"}],
        },
    }
    if annotation is not None:
        body["metadata"]["annotations"]["driftwarden.io/acknowledge"] = annotation
    if windows is not None:
        body["spec"]["alerting"] = {"maintenanceWindows": windows}
    return ModelMonitor.model_validate(body)


ACK = json.dumps({"by": "alice", "until": "2026-11-28T14:00:00Z", "reason": "ML-123"})


def _live(plan_key: str, silence_id: str, state: str = "active") -> Silence:
    return Silence.model_validate(
        {
            "id": silence_id,
            "status": {"state": state},
            "matchers": [],
            "startsAt": "2026-11-28T10:00:00Z",
            "endsAt": "2026-11-28T14:00:00Z",
            "createdBy": "x",
            "comment": f"whatever [driftwarden:{plan_key}]",
        }
    )


def test_an_acknowledgement_becomes_one_silence_and_a_second_sync_changes_nothing() -> None:
    monitor = _monitor(ACK)
    first = plan_silences(monitor, [], NOW)
    (desired,) = first.create
    assert desired.silence.matchers == {"namespace": "risk", "monitor": "credit"}
    assert desired.silence.created_by == "alice"
    assert desired.silence.ends_at == datetime(2026, 11, 28, 14, tzinfo=UTC)
    assert desired.silence.comment.startswith("ML-123")
    ids = {desired.key: "s-1"}
    status = status_after(first, ids, None)
    assert status is not None
    assert status.acknowledgement is not None
    assert status.acknowledgement.silence_id == "s-1"
    assert acknowledged_by(status, NOW) == "alice"
    assert [e[1] for e in created_events(first, ids)] == ["Acknowledged"]

    # Synced again, Alertmanager holding that silence: nothing to do, the same status.
    second = plan_silences(monitor, [_live(desired.key, "s-1")], NOW)
    assert (second.create, second.expire) == ((), ())
    assert status_after(second, {}, status) == status


def test_withdrawing_or_changing_expires_and_duplicates_are_expired() -> None:
    key = plan_silences(_monitor(ACK), [], NOW).create[0].key
    withdrawn = plan_silences(_monitor(), [_live(key, "s-1")], NOW)
    assert [s.id for s in withdrawn.expire] == ["s-1"]
    assert status_after(withdrawn, {}, None) is None
    assert [e[1] for e in withdrawn.events] == ["AcknowledgementWithdrawn"]

    changed = ACK.replace("ML-123", "ML-124")
    replaced = plan_silences(_monitor(changed), [_live(key, "s-1")], NOW)
    assert [s.id for s in replaced.expire] == ["s-1"]
    assert len(replaced.create) == 1

    # A crash between create and the status write, twice: one is kept, the other expired.
    twice = plan_silences(_monitor(ACK), [_live(key, "s-2"), _live(key, "s-1")], NOW)
    assert twice.create == ()
    assert [s.id for s in twice.expire] == ["s-2"]


def test_silences_that_are_not_ours_or_over_are_left_alone() -> None:
    key = plan_silences(_monitor(ACK), [], NOW).create[0].key
    others = [
        _live(key.replace("risk/credit", "risk/other"), "x-1"),  # another monitor's
        _live(key, "x-2", state="expired"),
        Silence.model_validate(
            {**_live(key, "x-3").model_dump(by_alias=True), "comment": "hand-made"}
        ),
    ]
    plan = plan_silences(_monitor(), others, NOW)
    assert (plan.create, plan.expire) == ((), ())


def test_an_ended_or_refused_acknowledgement_makes_no_silence() -> None:
    ended = plan_silences(_monitor(ACK), [], datetime(2026, 11, 28, 15, tzinfo=UTC))
    assert ended.create == ()
    status = status_after(ended, {}, None)
    assert status is not None
    assert status.acknowledgement is not None
    assert status.acknowledgement.message.startswith("ended at")
    assert acknowledged_by(status, NOW) is None

    for value, message in [
        ("not json", "Invalid JSON"),
        ('{"by": "a", "reason": "r"}', "until: Field required"),
        ('{"by": "a", "until": "2026-11-28T14:00:00", "reason": "r"}', "until"),
        ('{"by": "a", "until": "2027-06-01T00:00:00Z", "reason": "r"}', "more than 31d"),
        ('{"by": "a", "until": "2026-11-28T14:00:00Z", "reason": "r", "x": 1}', "x: Extra"),
    ]:
        ack = read_acknowledgement(value, NOW)
        assert ack is not None
        assert message in ack.refusal, (value, ack)
        assert plan_silences(_monitor(value), [], NOW).create == ()


def test_maintenance_windows_plan_their_occurrences() -> None:
    windows = [{"name": "nightly", "cron": "0 2 * * *", "duration": "2h"}]
    plan = plan_silences(_monitor(windows=windows), [], NOW)
    (desired,) = plan.create
    assert desired.window == "nightly"
    assert desired.silence.created_by == "driftwarden-operator"
    assert desired.silence.starts_at == datetime(2026, 11, 29, 2, tzinfo=UTC)
    status = status_after(plan, {desired.key: "m-1"}, None)
    assert status is not None
    assert [(r.window, r.silence_id) for r in status.maintenance_silences] == [("nightly", "m-1")]
    # Moved to 03:00: the 02:00 silence is expired, a 03:00 one created.
    moved = [{"name": "nightly", "cron": "0 3 * * *", "duration": "2h"}]
    again = plan_silences(_monitor(windows=moved), [_live(desired.key, "m-1", "pending")], NOW)
    assert [s.id for s in again.expire] == ["m-1"]
    assert again.create[0].silence.starts_at == datetime(2026, 11, 29, 3, tzinfo=UTC)


def test_a_window_declared_twice_is_refused() -> None:
    twice = [{"name": "a", "cron": "0 2 * * *", "duration": "1h"}] * 2
    with pytest.raises(ValidationError, match="declared twice"):
        _monitor(windows=twice)


def test_only_monitors_with_something_to_silence_cost_an_alertmanager_call() -> None:
    assert not wants_silences(_monitor())
    assert wants_silences(_monitor(ACK))
    assert wants_silences(_monitor(windows=[{"name": "n", "cron": "0 2 * * *", "duration": "1h"}]))


def test_silences_are_grouped_by_the_monitor_their_tag_names() -> None:
    grouped = silences_by_monitor(
        [
            _live("ack/risk/credit/abc", "1"),
            _live("maintenance/risk/credit/nightly/1-2", "2"),
            _live("maintenance/ads/ctr/w/1-2", "3"),
            _live("something-else", "4"),
        ]
    )
    assert {k: [s.id for s in v] for k, v in grouped.items()} == {
        ("risk", "credit"): ["1", "2"],
        ("ads", "ctr"): ["3"],
    }


def test_status_events_fire_once_per_transition() -> None:
    refused = plan_silences(_monitor("not json"), [], NOW)
    (event,) = status_events(refused, None)
    assert event[:2] == ("Warning", "InvalidAcknowledgement")
    after = status_after(refused, {}, None)
    assert status_events(plan_silences(_monitor("not json"), [], NOW), after) == []

    late = datetime(2026, 11, 28, 15, tzinfo=UTC)
    ended = plan_silences(_monitor(ACK), [], late)
    assert [e[1] for e in status_events(ended, None)] == ["AcknowledgementEnded"]
    assert status_events(ended, status_after(ended, {}, None)) == []
    assert status_events(plan_silences(_monitor(ACK), [], NOW), None) == []
