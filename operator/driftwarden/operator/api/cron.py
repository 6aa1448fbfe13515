"""Cron expressions as the CronJob controller reads them: parse, validate, next run time.

Five fields (minute hour day-of-month month day-of-week) with `*`, `?`, numbers, names
(`jan`, `mon`), ranges `a-b`, steps `/n` and lists, or one of the macros `@yearly`,
`@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. As in Vixie cron and the
Go library Kubernetes uses, when both day fields are restricted a day matches if either does.
Pure functions, no dependencies beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from driftwarden.detectors.hints import closest

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTH_NAMES = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DAY_NAMES = "sun|mon|tue|wed|thu|fri|sat"
# Values each field admits, as regular expressions (no backslashes, so the pattern survives
# YAML and the API server's regular expressions unchanged).
_VALUES = (
    "[0-5]?[0-9]",  # minute 0-59
    "[01]?[0-9]|2[0-3]",  # hour 0-23
    "0?[1-9]|[12][0-9]|3[01]",  # day of month 1-31
    f"0?[1-9]|1[0-2]|(?i:{_MONTH_NAMES})",  # month 1-12 or a name
    f"[0-7]|(?i:{_DAY_NAMES})",  # day of week 0-7 (0 and 7 are Sunday) or a name
)


def _field_pattern(values: str, wildcard: str) -> str:
    value = f"({values})"
    token = f"({wildcard}|{value}(-{value})?)([/][1-9][0-9]{{0,2}})?"
    return f"{token}(,{token})*"


_FIELD_PATTERNS = tuple(
    _field_pattern(values, "[*?]" if index in (2, 4) else "[*]")
    for index, values in enumerate(_VALUES)
)
CRON_PATTERN = (
    "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    + "[ ]+".join(_FIELD_PATTERNS)
    + ")$"
)
"""The shape and value ranges of a cron expression, as the API server checks them (the
`pattern` of `schedule.cron`). What a pattern cannot see (a range that runs backwards, a
date that never comes) `parse_cron` and `never_fires` find; the monitor is then Stalled."""
CRON_SHAPE_PATTERN = CRON_PATTERN

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _FieldSpec("minute", 0, 59, {}),
    _FieldSpec("hour", 0, 23, {}),
    _FieldSpec("day of month", 1, 31, {}),
    _FieldSpec("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    _FieldSpec("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression: the allowed values of each field."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday
    day_of_month_restricted: bool
    day_of_week_restricted: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return dom or dow
        return dom and dow

    def next_after(self, after: datetime, time_zone: str | None = None) -> datetime:
        """The first scheduled time strictly after `after` (aware), as an aware UTC datetime.

        Times are evaluated on the wall clock of `time_zone` (UTC when None); a wall time that
        does not exist (spring-forward gap) is skipped, as the CronJob controller does.
        """
        if after.tzinfo is None:
            raise ValueError("after must be timezone-aware")
        zone = ZoneInfo(time_zone) if time_zone else UTC
        local = after.astimezone(zone)
        day = local.date()
        for _ in range(366 * 8):  # leap-day schedules repeat within 8 years
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        naive = datetime.combine(day, time(hour, minute))
                        candidate = naive.replace(tzinfo=zone)
                        back = candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
                        if back != naive:  # inside a DST gap
                            continue
                        if candidate > after:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError(f"cron expression {self.expression!r} never fires")

    def fires(self) -> bool:
        """Whether any day of the calendar matches (e.g. `0 0 31 2 *` never does).

        Every (month, day) pair is reached within 28 years (a leap-day repeats every 4, each
        weekday of each date within 28), so one pass over 28 years decides.
        """
        day = date(2000, 1, 1)
        end = date(2028, 1, 1)
        if not (self.minutes and self.hours and self.months):
            return False
        while day < end:
            if self.matches_day(day):
                return True
            day += timedelta(days=1)
        return False


def _parse_value(text: str, spec: _FieldSpec) -> int:
    lowered = text.lower()
    if lowered in spec.names:
        return spec.names[lowered]
    if not text.isdigit():
        raise ValueError(f"{spec.name}: {text!r} is not a number or a known name")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ValueError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def _parse_field(text: str, spec: _FieldSpec) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    restricted = True
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{spec.name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if base in ("*", "?"):
            low, high = spec.low, spec.high
            if not step_text:
                restricted = False
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _parse_value(first, spec), _parse_value(last, spec)
            if low > high:
                raise ValueError(f"{spec.name}: range {base!r} runs backwards")
        else:
            low = _parse_value(base, spec)
            high = spec.high if step_text else low
        values.update(range(low, high + 1, step))
    if spec.name == "day of week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values), restricted


def parse_cron(expression: str) -> CronSchedule:
    """Parse a cron expression; raises ValueError naming the field that is wrong."""
    text = expression.strip()
    text = MACROS.get(text.lower(), text)
    if not re.fullmatch(CRON_PATTERN, text):
        raise ValueError(
            f"cron {expression!r}: expected five fields, minute (0-59) hour (0-23) "
            "day-of-month (1-31) month (1-12 or jan-dec) day-of-week (0-7 or sun-sat), "
            "e.g. '0 */6 * * *', or a macro such as @daily"
        )
    fields = text.split()
    parsed = [_parse_field(field, spec) for field, spec in zip(fields, _FIELDS, strict=True)]
    return CronSchedule(
        expression=expression,
        minutes=parsed[0][0],
        hours=parsed[1][0],
        days_of_month=parsed[2][0],
        months=parsed[3][0],
        days_of_week=parsed[4][0],
        day_of_month_restricted=parsed[2][1],
        day_of_week_restricted=parsed[4][1],
    )


#: The longest zone name offered a correction (the longest IANA name has 32 characters).
MAX_ZONE_NAME = 64


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str) -> str:
    """Return `name` when it is an IANA time zone this machine knows, else raise ValueError.

    Only the zone database's zone names count: a folder (`America`) or a file that is not a
    zone (`posixrules`, `right/UTC`) is refused like an unknown name.
    """
    try:
        if name not in _known_zones():
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # a bounded name (difflib's cost grows with its length, over ~600 zones); a folder
        # (`America`) is not offered its alphabetically closest zone
        zones = sorted(_known_zones())
        folder = any(z.startswith(f"{name}/") for z in zones)
        close = closest(name, zones) if len(name) <= MAX_ZONE_NAME and not folder else None
        advice = f"did you mean {close!r}?" if close else "use an IANA name such as Europe/Berlin"
        raise ValueError(f"unknown time zone {name[:MAX_ZONE_NAME]!r}; {advice}") from exc
    return name
