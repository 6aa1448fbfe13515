"""One operator-wide retry queue for work that failed on a transient API error.

Event handlers fire once per watch event; when a reconcile or an ingest fails on a
transient error (a timeout, a 5xx, a conflict that kept repeating), its key goes here and
is retried with a doubling delay (1 s to 5 min) until it succeeds, or until a newer event
succeeds first. One thread for the whole operator, not a timer per monitor.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from typing import Final

log = logging.getLogger("driftwarden.operator.retry")

FIRST_DELAY: Final = 1.0
MAX_DELAY: Final = 300.0

Key = tuple[str, str, str]  # (what, namespace, name)


class RetryQueue:
    def __init__(self, work: Callable[[Key], None]) -> None:
        self._work = work
        self._heap: list[tuple[float, Key]] = []
        self._delays: dict[Key, float] = {}
        self._due: dict[Key, float] = {}
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="retry", daemon=True)
        self._thread.start()

    def failed(self, key: Key) -> None:
        """`key` failed: retry it after its next delay."""
        with self._cond:
            delay = min(self._delays.get(key, FIRST_DELAY / 2) * 2, MAX_DELAY)
            self._delays[key] = delay
            due = time.monotonic() + delay
            self._due[key] = due
            heapq.heappush(self._heap, (due, key))
            self._cond.notify()

    def succeeded(self, key: Key) -> None:
        """`key` succeeded (here or from a newer event): forget it."""
        with self._cond:
            self._delays.pop(key, None)
            self._due.pop(key, None)

    def pending(self) -> int:
        with self._cond:
            return len(self._due)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                due, key = heapq.heappop(self._heap)
                if self._due.get(key) != due:
                    continue  # superseded or already done
                del self._due[key]
            try:
                self._work(key)
            except Exception as exc:
                log.warning("retrying %s/%s/%s: %s", *key, exc)
                self.failed(key)
            else:
                self.succeeded(key)
