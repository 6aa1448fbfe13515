"""The API server's errors as our own exceptions (kopf's `clients/errors.py` is the model).

Every failed call raises an `ApiError` subclass carrying the HTTP status, the Status
payload's `reason` and `message`; callers never see the Kubernetes client's exception.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException


class ApiError(Exception):
    """A request the API server refused or could not answer."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message


class NotFoundError(ApiError):
    """404: the object (or its namespace, or its kind) does not exist."""


class AlreadyExistsError(ApiError):
    """409 AlreadyExists: an object of that name exists."""


class ConflictError(ApiError):
    """409 Conflict: the object changed since it was read (resourceVersion precondition)."""


class InvalidError(ApiError):
    """422 Invalid (or 400 BadRequest): the server's validation refused the object."""


class ForbiddenError(ApiError):
    """403: the operator's ServiceAccount lacks the right."""


class GoneError(ApiError):
    """410 Gone: a resourceVersion too old to watch or list from."""


class TransientApiError(ApiError):
    """429, 5xx or no answer at all: worth retrying later."""


def _payload(body: str | bytes | None) -> dict[str, Any]:
    try:
        parsed = json.loads(body or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def translate(exc: ApiException) -> ApiError:
    """The `ApiError` subclass for a Kubernetes client exception."""
    return error_from(int(exc.status or 0), exc.body, str(exc.reason or ""))


def error_from(status: int, body: str | bytes | None, fallback: str = "") -> ApiError:
    """The `ApiError` subclass for an HTTP status and the API's Status payload."""
    payload = _payload(body)
    reason = str(payload.get("reason") or fallback or "Unknown")
    message = str(payload.get("message") or "")[:1024]
    if status == 404:
        return NotFoundError(status, reason, message)
    if status == 409:
        kind = AlreadyExistsError if reason == "AlreadyExists" else ConflictError
        return kind(status, reason, message)
    if status in (400, 422):
        return InvalidError(status, reason, message)
    if status in (401, 403):
        return ForbiddenError(status, reason, message)
    if status == 410:
        return GoneError(status, reason, message)
    return TransientApiError(status, reason, message)
