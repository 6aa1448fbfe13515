"""Alertmanager's webhook notification, validated, and mapped onto the alert history.

The body is untrusted (anything that reaches the port can post): it is read only up to
`MAX_BODY_BYTES`, parsed by a pydantic model of Alertmanager's webhook format (version 4,
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config) with a bound on
every list, map and string, and refused with one line naming the first wrong field.

What a row takes from an alert (documented in docs/alerting.md):

- monitor: the `namespace` and `monitor` labels (empty for an alert about no monitor);
- severity: the `severity` label (`warning`, `critical`; anything else is `none`);
- drift type: the `drift_type` label when it is `data`, `prediction` or `concept`;
- features: the `feature` label, else the `features` (or `drifted_features`) annotation, a
  comma-separated list;
- message: the `summary` annotation, else `description`, else the alert's name;
- recommended action: the `recommended_action` annotation, else `runbook_url`.

Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.alerts import ReceivedAlert
from driftwarden.detectors.storage.types import AlertState, DriftType

MAX_BODY_BYTES: Final = 1024 * 1024
MAX_ALERTS: Final = 1000
MAX_LABELS: Final = 64
MAX_FEATURES: Final = 100
NAME_MAX: Final = 253
#: Alertmanager sends endsAt 0001-01-01T00:00:00Z for an alert with no known end.
_NO_TIME_BEFORE: Final = datetime(1970, 1, 1, tzinfo=UTC)

LabelName = Annotated[str, Field(min_length=1, max_length=128)]
LabelValue = Annotated[str, Field(max_length=1024)]
AnnotationValue = Annotated[str, Field(max_length=8192)]


class PayloadError(ValueError):
    """The notification is not one this receiver accepts (the message says why)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WebhookAlert(_Strict):
    status: Literal["firing", "resolved"]
    labels: dict[LabelName, LabelValue] = Field(max_length=MAX_LABELS)
    annotations: dict[LabelName, AnnotationValue] = Field(
        default_factory=dict, max_length=MAX_LABELS
    )
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=4096)
    fingerprint: str = Field(pattern="^[0-9a-fA-F]{1,64}$")


class WebhookPayload(_Strict):
    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=NAME_MAX)
    group_key: str = Field(default="", alias="groupKey", max_length=8192)
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)


def parse_notification(body: bytes) -> WebhookPayload:
    """The notification in `body`, or PayloadError with the first problem in one line."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        return WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:  # pragma: no cover - pydantic always names one
        return "invalid notification"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"[:300]


def received_alerts(payload: WebhookPayload) -> list[ReceivedAlert]:
    """The payload's alerts as history rows (PayloadError when one cannot be stored)."""
    return [_received(index, alert) for index, alert in enumerate(payload.alerts)]


def _received(index: int, alert: WebhookAlert) -> ReceivedAlert:
    labels, annotations = alert.labels, alert.annotations
    for key in ("namespace", "monitor", "alertname"):
        if len(labels.get(key, "")) > NAME_MAX:
            raise PayloadError(f"alerts.{index}.labels.{key}: longer than {NAME_MAX} characters")
    name = labels.get("alertname", "")
    severity = labels.get("severity", "")
    drift = labels.get("drift_type", "")
    ends = alert.ends_at if alert.ends_at and alert.ends_at > _NO_TIME_BEFORE else None
    return ReceivedAlert(
        fingerprint=alert.fingerprint.lower(),
        state=AlertState.RESOLVED if alert.status == "resolved" else AlertState.FIRING,
        alertname=name,
        namespace=labels.get("namespace", ""),
        monitor=labels.get("monitor", ""),
        severity=Severity(severity) if severity in Severity.__members__.values() else Severity.NONE,
        message=annotations.get("summary") or annotations.get("description") or name or "alert",
        starts_at=alert.starts_at.astimezone(UTC),
        ends_at=None if ends is None else ends.astimezone(UTC),
        drift_type=DriftType(drift) if drift in DriftType.__members__.values() else None,
        features=_features(labels, annotations),
        recommended_action=annotations.get("recommended_action") or annotations.get("runbook_url"),
        labels=dict(labels),
        annotations=dict(annotations),
    )


def _features(labels: dict[str, str], annotations: dict[str, str]) -> tuple[str, ...]:
    if labels.get("feature"):
        return (labels["feature"][:NAME_MAX],)
    text = annotations.get("features") or annotations.get("drifted_features") or ""
    names = [part.strip()[:NAME_MAX] for part in text.split(",")]
    return tuple(dict.fromkeys(n for n in names if n))[:MAX_FEATURES]
