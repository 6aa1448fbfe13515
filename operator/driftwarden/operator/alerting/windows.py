"""Occurrences of maintenance windows: which silences should exist now. Pure.

A recurring window starts at each time its cron expression names (on the wall clock of its
time zone, daylight-saving gaps skipped as the CronJob controller does) and lasts its
duration. The operator keeps a silence for every occurrence that has not ended and starts
within the lookahead (default 24h), at most `MAX_PER_WINDOW` per window, so a silence
exists well before its window opens and Alertmanager holds a bounded number. An absolute
window gets its silence as soon as it is declared (until it has ended).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from driftwarden.operator.api.alerting import MaintenanceWindow
from driftwarden.operator.api.cron import parse_cron

DEFAULT_LOOKAHEAD: Final = timedelta(hours=24)
MAX_PER_WINDOW: Final = 4


@dataclass(frozen=True, slots=True)
class Occurrence:
    window: str
    start: datetime
    end: datetime


def occurrences(
    window: MaintenanceWindow,
    now: datetime,
    lookahead: timedelta = DEFAULT_LOOKAHEAD,
    limit: int = MAX_PER_WINDOW,
) -> list[Occurrence]:
    """The occurrences of `window` not ended at `now` and starting before `now + lookahead`
    (recurring), or its one range until it has ended (absolute); oldest first."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if window.start is not None and window.end is not None:
        if window.end <= now:
            return []
        return [Occurrence(window.name, window.start, window.end)]
    assert window.cron is not None
    length = window.length()
    schedule = parse_cron(window.cron)
    horizon = now + lookahead
    found: list[Occurrence] = []
    # An occurrence that started up to `length` ago is still open.
    start = schedule.next_after(now - length, window.time_zone)
    while start < horizon and len(found) < limit:
        if start + length > now:
            found.append(Occurrence(window.name, start, start + length))
        start = schedule.next_after(start, window.time_zone)
    return found


def all_occurrences(
    windows: list[MaintenanceWindow], now: datetime, lookahead: timedelta = DEFAULT_LOOKAHEAD
) -> list[Occurrence]:
    return [o for w in windows for o in occurrences(w, now, lookahead)]
