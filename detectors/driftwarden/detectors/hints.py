"""The one "did you mean ...?" hint of every unknown name: a column of a file, a stored
feature, method, monitor or run.

Standard library only (`difflib`): the history commands import it before their storage
loads, and building the CLI's parser must stay cheap.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

#: How alike a name must be to be offered (`difflib.SequenceMatcher.ratio`): 0.7 offers
#: `age` for `agee` (0.86) and `income` for `incme` (0.91), not `age` for `region` (0.44).
CUTOFF = 0.7
#: How many known names a hint lists when none is close.
SHOWN = 8


def hint(name: str, available: Sequence[str], noun: str = "columns") -> str:
    """A parenthesised suffix for a message about an unknown `name`: the closest of
    `available`, else the first few of them, else that there are none.

    >>> hint("agee", ["age", "income"], "features")
    " (did you mean 'age'?)"
    >>> hint("zzz", ["age", "income"], "features")
    " (its features: 'age', 'income')"
    """
    close = closest(name, available)
    if close is not None:
        return f" (did you mean {close!r}?)"
    shown = ", ".join(repr(c) for c in available[:SHOWN])
    more = " ..." if len(available) > SHOWN else ""
    return f" (its {noun}: {shown}{more})" if available else f" (it has no {noun})"


def closest(name: str, available: Sequence[str]) -> str | None:
    """The one of `available` most like `name` when one is alike enough (`CUTOFF`), else
    None: for a message that has its own advice when nothing is close."""
    close = difflib.get_close_matches(name, available, n=1, cutoff=CUTOFF)
    return close[0] if close else None
