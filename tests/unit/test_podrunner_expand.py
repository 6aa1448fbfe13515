"""The pod runner's $(VAR) expansion follows Kubernetes' rules (pure, no cluster)."""

from __future__ import annotations

import pytest
from cluster.podrunner import expand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "1"),
        ("x-$(A)-$(B)", "x-1-two"),
        ("$(MISSING)", "$(MISSING)"),  # undefined references stay as written
        ("$$(A)", "$(A)"),  # $$ escapes
        ("$$", "$"),
        ("$A", "$A"),  # only the $(...) form expands
        ("", ""),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "two"}) == expected
