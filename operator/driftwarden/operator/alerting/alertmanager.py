"""Alertmanager's API v2, the four silence calls the operator makes (the only code that
talks to Alertmanager). Standard library HTTP, bounded timeouts, typed errors: network
failures and 5xx are `AlertmanagerUnavailableError` (retried by the next sync), 4xx
`AlertmanagerRejectedError`. Responses are parsed by models too (a proxy may answer
anything).

https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 5.0


class AlertmanagerError(Exception):
    """A silence call failed (the message says which and why, one line)."""


class AlertmanagerUnavailableError(AlertmanagerError):
    """Alertmanager could not be reached or answered 5xx: try again later."""


class AlertmanagerRejectedError(AlertmanagerError):
    """Alertmanager refused the request (4xx): retrying the same request will not help."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Matcher(_Loose):
    name: str = Field(max_length=1024)
    value: str = Field(max_length=4096)
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")


class _SilenceStatus(_Loose):
    state: str = Field(max_length=32)


class Silence(_Loose):
    """A silence as Alertmanager returns it (state: active, pending or expired)."""

    id: str = Field(max_length=64)
    status: _SilenceStatus
    matchers: list[Matcher]
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy", max_length=4096)
    comment: str = Field(max_length=65536)

    @property
    def state(self) -> str:
        return self.status.state


@dataclass(frozen=True, slots=True)
class NewSilence:
    """What the operator asks for: equality matchers, a time range, who and why."""

    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def body(self) -> dict[str, Any]:
        return {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in sorted(self.matchers.items())
            ],
            "startsAt": self.starts_at.isoformat(),
            "endsAt": self.ends_at.isoformat(),
            "createdBy": self.created_by,
            "comment": self.comment,
        }


class AlertmanagerClient:
    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"--alertmanager-url must be http(s)://host:port, got {url[:100]!r}")
        self.base = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        what = f"Alertmanager {method} {path.split('?')[0]}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip().replace("\n", " ")
            error = AlertmanagerUnavailableError if exc.code >= 500 else AlertmanagerRejectedError
            raise error(f"{what}: HTTP {exc.code} {detail[:200]}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AlertmanagerUnavailableError(f"{what}: {reason}") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise AlertmanagerUnavailableError(f"{what}: response larger than allowed")
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            raise AlertmanagerUnavailableError(f"{what}: the answer is not JSON") from None

    def silences(self, matchers: Mapping[str, str]) -> list[Silence]:
        """Silences whose matchers include these equality matchers (any state)."""
        query = urllib.parse.urlencode(
            [("filter", f"{k}={json.dumps(v)}") for k, v in sorted(matchers.items())]
        )
        found = self._call("GET", f"/api/v2/silences?{query}")
        if not isinstance(found, list):
            raise AlertmanagerUnavailableError("Alertmanager GET /api/v2/silences: not a list")
        try:
            return [Silence.model_validate(item) for item in found]
        except ValidationError as exc:
            raise AlertmanagerUnavailableError(
                f"Alertmanager GET /api/v2/silences: unexpected answer ({exc.error_count()} "
                "problems)"
            ) from None

    def silence(self, silence_id: str) -> Silence | None:
        try:
            found = self._call("GET", f"/api/v2/silence/{urllib.parse.quote(silence_id)}")
        except AlertmanagerRejectedError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise
        try:
            return Silence.model_validate(found)
        except ValidationError:
            raise AlertmanagerUnavailableError("Alertmanager: unexpected silence") from None

    def create_silence(self, silence: NewSilence) -> str:
        """Create a silence; its id."""
        answer = self._call("POST", "/api/v2/silences", silence.body())
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(silence_id, str) or not silence_id or len(silence_id) > 64:
            raise AlertmanagerUnavailableError("Alertmanager POST /api/v2/silences: no silenceID")
        return silence_id

    def expire_silence(self, silence_id: str) -> None:
        """Expire a silence; nothing when it is unknown or expired already."""
        current = self.silence(silence_id)
        if current is None or current.state == "expired":
            return
        self._call("DELETE", f"/api/v2/silence/{urllib.parse.quote(silence_id)}")
