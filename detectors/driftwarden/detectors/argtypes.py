"""The one check of an integer option a user types (`--chunk-rows`, `--workers`, `--limit`,
the operator's counts): standard library only, so building a parser stays cheap.

Four copies of it had grown (detect's, the Job's parser and its options in code, the
history commands', the operator's), each with its own wording.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

#: The most rows a chunk may hold (`detect`, `profile`, `run`): beyond it a value is a typo.
MAX_CHUNK_ROWS = 100_000_000
#: The most characters of a bad value a message repeats.
_SHOWN = 30


def integer_in(text: str, low: int, high: int) -> int:
    """`text` as an integer in [low, high]. Raises ValueError saying what was expected."""
    text = text.strip()
    shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    if len(text) > _SHOWN or not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"expected an integer between {low} and {high}, got {shown!r}")
    return int(text)


def bounded_int(name: str, high: int, low: int = 1) -> Callable[[str], int]:
    """argparse type: an integer in [low, high]; a bad value is a usage error (exit 2)."""

    def parse(text: str) -> int:
        try:
            return integer_in(text, low, high)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse
