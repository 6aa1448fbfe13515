"""`readahead.prefetched`: a reader's chunks produced in a thread one ahead of their
consumer, in order, with the reader's error raised to the consumer and the reader closed
in its own thread when the consumer stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from driftwarden.detectors.readahead import prefetched


def test_items_arrive_in_order() -> None:
    assert list(prefetched(iter(range(1000)), depth=2)) == list(range(1000))


def test_the_readers_error_is_raised_to_the_consumer() -> None:
    def reader() -> Iterator[int]:
        yield 1
        raise LookupError("table vanished")

    items = prefetched(reader())
    assert next(items) == 1
    with pytest.raises(LookupError, match="table vanished"):
        next(items)


def test_stopping_early_closes_the_reader_in_its_thread() -> None:
    closed_in: list[str] = []

    def reader() -> Iterator[int]:
        try:
            yield from range(10**9)
        finally:
            closed_in.append(threading.current_thread().name)

    items = prefetched(reader())
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()  # joins the reader's thread
    assert closed_in == ["driftwarden-reader"]
    assert not any(t.name == "driftwarden-reader" for t in threading.enumerate())
