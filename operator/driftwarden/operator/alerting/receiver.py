"""The Alertmanager webhook receiver: `POST /alertmanager/webhook` on its own port.

It runs on an event loop of its own, in its own thread, in every replica (leader or not):
recording is idempotent, so any replica behind the Service may answer, and a slow database
never blocks the operator's watches. Writes go to a worker thread.

Answers (Alertmanager retries 5xx, never 4xx):

- 200 `{"new": N, "updated": M}`: every alert of the notification is recorded;
- 400 one line naming the first wrong field; 401 a missing or wrong bearer token (when
  `--alert-receiver-token-file` is set); 413 a body over `MAX_BODY_BYTES`; 415 not JSON;
- 503 the results database is unreachable (retry); 500 anything else (logged).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from aiohttp import web
from sqlalchemy.engine import Engine

from driftwarden.detectors.errors import DriftwardenError, TransientError
from driftwarden.detectors.storage.alerts import record_notifications

from .payload import MAX_BODY_BYTES, PayloadError, parse_notification, received_alerts

log = logging.getLogger("driftwarden.operator.alerting")

PATH: Final = "/alertmanager/webhook"
DEFAULT_PORT: Final = 9809


def _now() -> datetime:
    return datetime.now(UTC)


def build_app(
    engine: Engine, token: str | None = None, clock: Callable[[], datetime] = _now
) -> web.Application:
    """The aiohttp application (one route)."""

    async def webhook(request: web.Request) -> web.Response:
        if token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return _text(401, "missing or wrong bearer token")
        if request.content_type != "application/json":
            return _text(415, "expected Content-Type: application/json")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _text(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _text(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            alerts = received_alerts(parse_notification(body))
        except PayloadError as exc:
            return _text(400, f"invalid Alertmanager notification: {exc}")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, record_notifications, engine, alerts, clock())
        except TransientError as exc:
            log.warning("alert receiver: %s", exc)
            return _text(503, "the results database is unavailable; retry")
        except DriftwardenError as exc:
            log.error("alert receiver: %s", exc)
            return _text(500, "the notification could not be recorded")
        return web.json_response({"new": result.new, "updated": result.updated})

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post(PATH, webhook)
    return app


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")


class ReceiverServer:
    """The receiver on `host:port` in a thread with its own event loop."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app, self._host, self._port = app, host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self, timeout: float = 30.0) -> int:
        """Bind and serve; returns the bound port (raises OSError when it is taken)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self._app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self._host, self._port)
                loop.run_until_complete(site.start())
                self.port = int(runner.addresses[0][1])
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.run_until_complete(runner.cleanup())
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=serve, name="alert-receiver", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise OSError(f"the alert receiver did not start within {timeout:g}s")
        if failure:
            raise failure[0]
        log.info("alert receiver on %s:%d%s", self._host, self.port, PATH)
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
