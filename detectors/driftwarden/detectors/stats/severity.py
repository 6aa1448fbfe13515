"""The one severity scale shared by every detector."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Severity(StrEnum):
    """Ordered none < warning < critical."""

    NONE = "none"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def worst(cls, severities: Iterable[Severity]) -> Severity:
        return max(severities, key=lambda s: s.rank, default=cls.NONE)


_SEVERITY_RANK = {Severity.NONE: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def severity_from_levels(value: float, warning: float, critical: float) -> Severity:
    """Severity of an effect that grows with trouble (value >= level)."""
    if value >= critical:
        return Severity.CRITICAL
    if value >= warning:
        return Severity.WARNING
    return Severity.NONE
