"""Text bound for a terminal. Standard library only: the CLI's light commands import it."""

from __future__ import annotations


def terminal_text(text: str) -> str:
    """`text` for a terminal: control characters, line breaks and bidirectional overrides
    (a column name, a label: untrusted) are shown escaped, not obeyed."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
