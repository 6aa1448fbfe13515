"""The result of one comparison, as the CLI, the Job and the storage layer see it.

`Report.to_dict()` is the JSON contract of `driftwarden detect --format json`: the field
names below and in `report_sections` (the typed sections, each written by its own
`to_dict`) are stable (add, never rename).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from driftwarden.detectors.report_sections import (
    JSON,
    Sections,
    json_number,
    json_value,
    method_dict,
)
from driftwarden.detectors.stats.decision import MethodVerdict
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.terminal import terminal_text

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_data"


@dataclass(frozen=True)
class FeatureReport:
    name: str
    kind: str
    kind_inferred: bool
    status: str  # ok | insufficient_data
    drift_detected: bool
    severity: Severity
    p_value: float | None
    p_value_adjusted: float | None
    n_baseline: int
    n_current: int
    methods: tuple[MethodVerdict, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "kind": self.kind,
            "kind_inferred": self.kind_inferred,
            "status": self.status,
            "drift_detected": self.drift_detected,
            "severity": str(self.severity),
            "p_value": json_number(self.p_value),
            "p_value_adjusted": json_number(self.p_value_adjusted),
            "n_baseline": self.n_baseline,
            "n_current": self.n_current,
            "note": self.note,
            "methods": [method_dict(m) for m in self.methods],
        }


@dataclass(frozen=True)
class Report:
    drift_detected: bool
    severity: Severity
    health_score: float
    status: str
    verdict: str
    p_value: float | None
    alpha: float
    rows_baseline: int
    rows_current: int
    features: tuple[FeatureReport, ...]
    sections: Sections
    detector_version: str
    notes: tuple[str, ...] = ()
    multivariate: Mapping[str, JSON] | None = None

    @property
    def drifted_features(self) -> list[FeatureReport]:
        return [f for f in self.features if f.drift_detected]

    def to_dict(self) -> dict[str, JSON]:
        result: dict[str, JSON] = {
            "drift_detected": self.drift_detected,
            "severity": str(self.severity),
            "health_score": round(self.health_score, 2),
            "status": self.status,
            "verdict": self.verdict,
            "p_value": json_number(self.p_value),
            "alpha": self.alpha,
            "rows": {"baseline": self.rows_baseline, "current": self.rows_current},
            "drifted_features": len(self.drifted_features),
            "total_features": len(self.features),
            "features": [f.to_dict() for f in self.features],
            "multivariate": None if self.multivariate is None else json_value(self.multivariate),
            "detector_version": self.detector_version,
            "notes": list(self.notes),
        }
        for name, section in self.sections.items():
            result[name] = section.to_dict()
        return result


def render_table(report: Report) -> str:
    """A readable table sorted by severity, then a one-line verdict."""
    rows: list[tuple[str, ...]] = []
    ordered = sorted(
        report.features,
        key=lambda f: (-f.severity.rank, f.p_value if f.p_value is not None else 2.0, f.name),
    )
    for feature in ordered:
        kind = feature.kind + ("*" if feature.kind_inferred else "")
        name = terminal_text(feature.name)
        if feature.status != STATUS_OK:
            rows.append((name, kind, "-", "-", "-", "-", "-", "-", feature.status))
            continue
        for m in feature.methods:
            rows.append(
                (
                    name,
                    kind,
                    m.method,
                    _fmt(m.statistic),
                    _fmt(m.effect),
                    _fmt(m.threshold),
                    _fmt(m.p_value),
                    _fmt(m.p_value_adjusted),
                    str(m.severity),
                )
            )
    # `effect` is what the thresholds apply to; a statistic may be in the column's units
    # (Wasserstein), so the threshold beside it alone would mislead.
    header = (
        "feature", "kind", "method", "statistic", "effect", "threshold", "p-value",
        "p-adjusted", "severity",
    )  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(header))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)
    if any(f.kind_inferred for f in report.features):
        lines.append("(* kind inferred from the data)")
    for title, section in report.sections.items():
        lines.append(f"{title}: {section.severity} - {terminal_text(section.summary)}")
    for note in report.notes:
        lines.append(f"note: {terminal_text(note)}")
    lines.append(terminal_text(verdict_line(report)))
    return "\n".join(lines)


_COUNT = re.compile(r"^\d+/\d+ features drifted")


def headline(report: Report) -> str:
    """The drifted-feature count and the verdict's reason, the count said once: a drifted
    run's reason starts with its own count over the features tested ("1/2 features drifted
    (income)"), which gives way to the count over every feature the report lists (a feature
    with too few values is listed, not tested), so the line never holds two counts."""
    counts = f"{len(report.drifted_features)}/{len(report.features)} features drifted"
    own = _COUNT.match(report.verdict)
    if own is not None:
        return counts + report.verdict[own.end() :]
    return f"{counts}; {report.verdict}"


def verdict_line(report: Report) -> str:
    """The one line a terminal user reads: the data-drift verdict, then the run's severity
    with the sections it came from when the features' drift is not what set it."""
    head = "DRIFT" if report.drift_detected else "no data drift"
    if report.status != STATUS_OK:
        head = "INSUFFICIENT DATA"
    severity = str(report.severity)
    if report.severity is not Severity.NONE and not report.drift_detected:
        worst = [name for name, sec in report.sections.items() if sec.severity is report.severity]
        if worst:
            severity += f" (from {', '.join(worst)})"
    return (
        f"verdict: {head} - severity {severity}, health {report.health_score:.0f}/100, "
        f"rows {report.rows_baseline} baseline / {report.rows_current} current; "
        f"{headline(report)}"
    )


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    return f"{value:.4f}"
