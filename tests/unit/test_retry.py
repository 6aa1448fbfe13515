"""The operator's one retry queue: failed work comes back with a growing delay until it
succeeds; a success from elsewhere cancels the pending retry."""

from __future__ import annotations

import threading
import time

import pytest

from driftwarden.operator.handlers import retry


def _wait(condition: threading.Event, what: str) -> None:
    assert condition.wait(10), what


def test_failed_work_is_retried_until_it_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY", 0.01)
    calls: list[retry.Key] = []
    done = threading.Event()

    def work(key: retry.Key) -> None:
        calls.append(key)
        if len(calls) < 3:
            raise RuntimeError("API server unavailable")
        done.set()

    queue = retry.RetryQueue(work)
    queue.failed(("monitor", "ns", "m"))
    _wait(done, "the work never succeeded")
    assert calls == [("monitor", "ns", "m")] * 3
    deadline = time.monotonic() + 10
    while queue.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.pending() == 0


def test_a_success_from_a_newer_event_cancels_the_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY", 0.2)
    calls: list[retry.Key] = []
    other = threading.Event()
    queue = retry.RetryQueue(calls.append)
    queue.failed(("job", "ns", "cancelled"))
    queue.succeeded(("job", "ns", "cancelled"))
    queue.failed(("job", "ns", "kept"))
    queue_kept = retry.RetryQueue(lambda key: other.set())
    queue_kept.failed(("job", "ns", "probe"))
    _wait(other, "the probe never ran")
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == [("job", "ns", "kept")]
