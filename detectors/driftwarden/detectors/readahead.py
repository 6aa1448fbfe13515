"""Reading ahead: an iterator's items produced in a thread while the consumer works.

Apart from `sources` (whose package imports SQLAlchemy and the ADBC driver) so that the
command line's file reader uses it without importing either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import TypeVar

_T = TypeVar("_T")
_END = object()


def prefetched(items: Iterator[_T], depth: int = 1) -> Iterator[_T]:
    """`items`, produced in a thread at most `depth` items ahead of the consumer: a reader
    that releases the GIL (Arrow, ADBC's COPY parsing) reads the next chunk while this one
    is profiled. The producer's exception is raised here; closing this iterator stops the
    producer and closes `items` in its own thread (a database connection is used and closed
    by one thread only). Memory: `depth` + 2 chunks."""
    queue: Queue[tuple[object, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_END, None))
        except BaseException as exc:  # handed to the consumer, raised there
            offer((_END, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="driftwarden-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
