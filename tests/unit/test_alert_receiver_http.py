"""The receiver as a real HTTP server on loopback over the embedded SQLite history: the
answers Alertmanager and a stranger get (200, 400, 401, 405, 413, 415)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url

from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.detectors.storage.alerts import list_alerts
from driftwarden.operator.alerting.payload import MAX_BODY_BYTES
from driftwarden.operator.alerting.receiver import PATH, ReceiverServer, build_app

NOTIFICATION = {
    "version": "4",
    "status": "firing",
    "receiver": "driftwarden",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "A", "namespace": "risk", "monitor": "m"},
            "annotations": {"summary": "drift"},
            "startsAt": "2026-11-29T12:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "00000000000000aa",
        }
    ],
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(make_url(f"sqlite:///{tmp_path / 'h.db'}"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def url(engine: Engine) -> Iterator[str]:
    server = ReceiverServer(build_app(engine, token="s3cret"), "127.0.0.1", 0)
    port = server.start()
    yield f"http://127.0.0.1:{port}{PATH}"
    server.stop()


def _post(
    url: str,
    body: bytes,
    content_type: str = "application/json",
    token: str | None = "s3cret",
    method: str = "POST",
) -> tuple[int, str]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_notification_is_recorded_once(url: str, engine: Engine) -> None:
    body = json.dumps(NOTIFICATION).encode()
    assert _post(url, body) == (200, '{"new": 1, "updated": 0}')
    assert _post(url, body) == (200, '{"new": 0, "updated": 1}')
    (row,) = list_alerts(engine)
    assert row.notifications == 2


def test_what_a_stranger_gets(url: str, engine: Engine) -> None:
    body = json.dumps(NOTIFICATION).encode()
    assert _post(url, body, token=None)[0] == 401
    assert _post(url, body, token="guess")[0] == 401
    assert _post(url, body, content_type="text/plain")[0] == 415
    status, text = _post(url, b'{"version": "4", "status": "firing", "alerts": [{}]}')
    assert status == 400
    assert text.startswith("invalid Alertmanager notification: alerts.0.status: Field required")
    assert _post(url, b"{" * (MAX_BODY_BYTES + 10))[0] == 413
    assert _post(url, b"", method="PUT")[0] == 405
    assert list_alerts(engine) == []
