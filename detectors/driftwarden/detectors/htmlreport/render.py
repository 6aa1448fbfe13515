"""Entry points of the HTML report: a fresh comparison (`detect --format html`)."""

from __future__ import annotations

from datetime import UTC, datetime

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.htmlreport.overlays import overlays
from driftwarden.detectors.htmlreport.page import DEFAULT_MAX_PLOTS, render_run
from driftwarden.detectors.profile import WindowProfile
from driftwarden.detectors.report import Report


def detect_page(
    report: Report,
    spec: DetectionSpec,
    baseline: WindowProfile,
    current: WindowProfile,
    *,
    max_plots: int = DEFAULT_MAX_PLOTS,
    title: str = "driftwarden drift report",
    now: datetime | None = None,
) -> str:
    """The page of one comparison: the report's numbers and the features' distributions
    from the two profiles (the engine's bins), never from the raw windows."""
    doc = report.to_dict()
    names = [f.name for f in report.features]
    if spec.prediction is not None:
        names.append(spec.prediction.column)
    record = {
        "rows baseline": report.rows_baseline,
        "rows current": report.rows_current,
        "settings": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    return render_run(
        doc,
        overlays=overlays(baseline, current, names, bins=spec.decision.bins),
        record=record,
        title=title,
        max_plots=max_plots,
        generated_at=now or datetime.now(UTC),
    )
