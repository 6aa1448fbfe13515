"""argparse types of `driftwarden operator`'s numeric options (argparse only: the CLI stays
light). Each refuses a value the operator cannot use with a one-line usage error, exit 2,
instead of failing later (a zero lease, a negative sweep interval, a port out of range).
Integers are checked by the detectors' one `argtypes.bounded_int`."""

from __future__ import annotations

import argparse
import math

from driftwarden.detectors.argtypes import bounded_int

#: The largest number of seconds or hours an option takes (about 11.6 days in seconds).
MAX_NUMBER = 1e6
#: The largest count an integer option takes.
MAX_COUNT = 100_000

#: A TCP port, 0 to 65535 (0: the server is off).
port = bounded_int("port", 65535, low=0)
#: An integer from 1 to MAX_COUNT (threads, seconds of a lease).
positive_count = bounded_int("count", MAX_COUNT)
#: An integer from 0 to MAX_COUNT (0 has the option's own meaning: none, no cap).
count = bounded_int("count", MAX_COUNT, low=0)


def positive(text: str) -> float:
    """A number of seconds or hours, above 0 and at most MAX_NUMBER."""
    try:
        value = float(text[:20])
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and 0 < value <= MAX_NUMBER):
        raise argparse.ArgumentTypeError(
            f"expected a positive number up to {MAX_NUMBER:g}, got {text[:20]!r}"
        )
    return value
