"""Acknowledgements and maintenance windows of a ModelMonitor (docs/alerting.md).

- `spec.alerting.maintenanceWindows`: declared, kept in Git like the rest of the spec; each
  a recurring window (a cron expression for its start, a time zone and a duration) or an
  absolute range. The operator turns their occurrences into Alertmanager silences ahead of
  time.
- The acknowledgement is an operational act, so it is an annotation, like run-now:
  `driftwarden.io/acknowledge: '{"by": "alice@example.com", "until":
  "2026-12-01T18:00:00Z", "reason": "retraining, ML-123"}'`. It does not change the spec (no
  new generation, no new run ConfigMap); removing the annotation withdraws it.
- `status.alerting`: the silences the operator keeps for the monitor, with their ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Final, Self

from pydantic import AwareDatetime, ConfigDict, Field, field_validator, model_validator

from driftwarden.detectors.config import (
    SHORTER_THAN_A_MINUTE_PATTERN,
    CamelModel,
    Duration,
    parse_duration,
)

from .common import DNS_LABEL_PATTERN, cel, validations
from .cron import CRON_PATTERN, check_time_zone, parse_cron

ANNOTATION_ACKNOWLEDGE: Final = "driftwarden.io/acknowledge"
#: Longest acknowledgement and maintenance occurrence (a silence for longer is a decision
#: to turn the alert off: change the rules instead).
MAX_SILENCE: Final = timedelta(days=31)
MAX_WINDOWS: Final = 16
_TIME_ZONE_PATTERN = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"


class MaintenanceWindow(CamelModel):
    """A time during which this monitor's alerts are silenced: recurring (cron + duration)
    or absolute (start + end)."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.cron) == has(self.duration) && has(self.start) == has(self.end) "
                "&& has(self.cron) != has(self.start)",
                "a maintenance window sets cron and duration, or start and end",
            ),
            cel(
                "!has(self.start) || self.start < self.end",
                "a maintenance window's start must be before its end",
                ".start",
            ),
        )
    )

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL_PATTERN,
        description="Name of the window (unique in the monitor), shown in the silence's comment.",
    )
    cron: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=CRON_PATTERN,
        description="Recurring window: when each occurrence starts, a cron expression in "
        "timeZone, e.g. `0 2 * * sat`.",
    )
    time_zone: str = Field(
        default="Etc/UTC",
        min_length=1,
        max_length=64,
        pattern=_TIME_ZONE_PATTERN,
        description="IANA time zone of the cron expression, e.g. Europe/Berlin.",
    )
    duration: Duration | None = Field(
        default=None,
        description="Recurring window: how long each occurrence lasts, 1m to 31d, e.g. 2h.",
        json_schema_extra=validations(
            cel(
                f"!self.matches('{SHORTER_THAN_A_MINUTE_PATTERN}')",
                "duration must be at least 1m",
            )
        ),
    )
    start: AwareDatetime | None = Field(
        default=None, description="Absolute window: start, e.g. 2026-12-05T20:00:00Z."
    )
    end: AwareDatetime | None = Field(
        default=None, description="Absolute window: end (after start, at most 31d later)."
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not parse_cron(value).fires():
            raise ValueError(f"cron {value!r} never fires")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = tuple(v is not None for v in (self.cron, self.duration, self.start, self.end))
        if given not in ((True, True, False, False), (False, False, True, True)):
            raise ValueError(
                f"maintenance window {self.name}: set cron and duration, or start and end"
            )
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"maintenance window {self.name}: start must be before end")
        if self.length() > MAX_SILENCE or self.length() < timedelta(minutes=1):
            raise ValueError(f"maintenance window {self.name}: lasts 1m to 31d")
        return self

    def length(self) -> timedelta:
        if self.duration is not None:
            return parse_duration(self.duration)
        assert self.start is not None
        assert self.end is not None
        return self.end - self.start


MaintenanceWindows = Annotated[
    list[MaintenanceWindow],
    Field(
        max_length=MAX_WINDOWS,
        description="Times this monitor's alerts are silenced (planned maintenance, known "
        "data gaps): the operator creates an Alertmanager silence for each occurrence ahead "
        "of time. See docs/alerting.md.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    ),
]


def window_problems(windows: list[MaintenanceWindow]) -> list[str]:
    names = [w.name for w in windows]
    return [
        f"maintenance window {n} is declared twice"
        for n in sorted(set(names))
        if names.count(n) > 1
    ]


class AcknowledgementRequest(CamelModel):
    """The value of the `driftwarden.io/acknowledge` annotation (JSON)."""

    by: str = Field(min_length=1, max_length=253, description="Who acknowledges.")
    until: AwareDatetime = Field(description="When the acknowledgement (the silence) ends.")
    reason: str = Field(min_length=1, max_length=1024, description="Why.")


class SilenceRef(CamelModel):
    """An Alertmanager silence the operator keeps for this monitor."""

    silence_id: str = Field(max_length=64, description="The silence's id in Alertmanager.")
    starts_at: datetime = Field(description="When the silence starts.")
    ends_at: datetime = Field(description="When the silence ends.")
    window: str | None = Field(
        default=None, max_length=63, description="The maintenance window it is for."
    )


class AcknowledgementStatus(CamelModel):
    """The acknowledgement acted on (or refused)."""

    by: str | None = Field(default=None, max_length=253, description="Who acknowledged.")
    until: datetime | None = Field(default=None, description="When it ends.")
    reason: str | None = Field(default=None, max_length=1024, description="Why.")
    silence_id: str | None = Field(
        default=None, max_length=64, description="The Alertmanager silence made for it."
    )
    request_hash: str = Field(
        max_length=64, description="Hash of the annotation's value this status is about."
    )
    message: str = Field(
        default="", max_length=1024, description="Why the request was refused, when it was."
    )


class AlertingStatus(CamelModel):
    """Silences of this monitor in Alertmanager (written by the operator)."""

    acknowledgement: AcknowledgementStatus | None = Field(
        default=None, description="The current acknowledgement (driftwarden.io/acknowledge)."
    )
    maintenance_silences: list[SilenceRef] = Field(
        default_factory=list,
        max_length=64,
        description="Silences of the next maintenance-window occurrences.",
    )
