"""The webhook payload: what is accepted, what is refused (and how the refusal reads), and
how an alert becomes a history row. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.types import AlertState, DriftType
from driftwarden.operator.alerting.payload import (
    MAX_ALERTS,
    MAX_BODY_BYTES,
    PayloadError,
    parse_notification,
    received_alerts,
)


def _alert(**changes: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {
            "alertname": "DriftwardenDriftCritical",
            "namespace": "risk",
            "monitor": "credit-scoring",
            "severity": "critical",
            "drift_type": "data",
        },
        "annotations": {
            "summary": "2/25 features drifted",
            "description": "income (PSI 0.31), region",
            "features": "income, region, income",
            "runbook_url": "https://example.org/runbook",
        },
        "startsAt": "2026-11-29T12:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "0a1b2c3d4e5f6071",
    }
    alert.update(changes)
    return alert


def _payload(*alerts: dict[str, Any], **changes: Any) -> bytes:
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}:{monitor="credit-scoring"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "driftwarden",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts) or [_alert()],
    }
    body.update(changes)
    return json.dumps(body).encode()


def test_an_alertmanager_notification_becomes_rows() -> None:
    (row,) = received_alerts(parse_notification(_payload()))
    assert row.fingerprint == "0a1b2c3d4e5f6071"
    assert row.state == AlertState.FIRING
    assert (row.namespace, row.monitor) == ("risk", "credit-scoring")
    assert row.severity == Severity.CRITICAL
    assert row.drift_type == DriftType.DATA
    assert row.features == ("income", "region")  # trimmed, repeated once
    assert row.message == "2/25 features drifted"
    assert row.recommended_action == "https://example.org/runbook"  # no recommended_action
    # Go's nanoseconds are cut to microseconds; the zero endsAt means "no end known".
    assert row.starts_at == datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
    assert row.ends_at is None
    assert row.alert_id == "am-0a1b2c3d4e5f6071-20261129T120000.123456Z"


def test_resolved_and_the_fallbacks() -> None:
    alert = _alert(
        status="resolved",
        endsAt="2026-11-29T13:00:00+01:00",
        labels={"alertname": "DriftwardenOperatorDown", "severity": "page", "feature": "age"},
        annotations={"recommended_action": "restart it"},
    )
    (row,) = received_alerts(parse_notification(_payload(alert, status="resolved")))
    assert row.state == AlertState.RESOLVED
    assert row.ends_at == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert (row.namespace, row.monitor) == ("", "")  # about no monitor
    assert row.severity == Severity.NONE  # an unknown severity is not guessed
    assert row.drift_type is None
    assert row.features == ("age",)
    assert row.message == "DriftwardenOperatorDown"
    assert row.recommended_action == "restart it"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Invalid JSON"),
        (b"[]", "Input should be"),
        (_payload(version="3"), "version: Input should be '4'"),
        (_payload(_alert(status="pending")), "alerts.0.status"),
        (_payload(_alert(fingerprint="not hex!")), "alerts.0.fingerprint"),
        (_payload(_alert(startsAt="2026-11-29T12:00:00")), "alerts.0.startsAt"),
        (_payload(_alert(startsAt="yesterday")), "alerts.0.startsAt"),
        (_payload(_alert(labels={"monitor": 3})), "alerts.0.labels.monitor"),
        (_payload(_alert(labels={"x" * 200: "v"})), "alerts.0.labels"),
        (_payload(_alert(labels={f"l{i}": "v" for i in range(65)})), "alerts.0.labels"),
        (_payload(_alert(annotations={"summary": "s" * 9000})), "alerts.0.annotations.summary"),
        (_payload(*[_alert()] * (MAX_ALERTS + 1)), "alerts: List should have at most"),
        (_payload(alerts=None), "alerts: Input should be a valid array"),
    ],
)
def test_malformed_payloads_are_refused_naming_the_field(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_notification(body)
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text
    assert len(text) <= 300


def test_a_label_too_long_for_the_table_is_refused() -> None:
    labels = {"namespace": "risk", "monitor": "m" * 254}
    with pytest.raises(PayloadError, match=r"alerts\.0\.labels\.monitor: longer than 253"):
        received_alerts(parse_notification(_payload(_alert(labels=labels))))


def test_the_body_size_is_capped() -> None:
    with pytest.raises(PayloadError, match="larger than"):
        parse_notification(b" " * (MAX_BODY_BYTES + 1))


def test_unknown_fields_are_ignored_for_newer_alertmanagers() -> None:
    body = json.loads(_payload())
    body["somethingNew"] = {"x": 1}
    body["alerts"][0]["silencedBy"] = []
    assert len(parse_notification(json.dumps(body).encode()).alerts) == 1
