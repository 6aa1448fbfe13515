"""Entry points of the HTML report: a fresh comparison (`detect --format html`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from driftwarden.detectors.config import DetectionSpec, PredictionType, Task
from driftwarden.detectors.distributions import run_overlays
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
    calibration = calibration_curves(spec, baseline, current)
    if calibration and isinstance(doc.get("performance"), dict):
        doc["performance"]["calibration"] = calibration
    record = {
        "rows baseline": report.rows_baseline,
        "rows current": report.rows_current,
        "settings": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    return render_run(
        doc,
        overlays=run_overlays(report, spec, baseline, current),
        record=record,
        title=title,
        max_plots=max_plots,
        generated_at=now or datetime.now(UTC),
    )


#: Bins of the calibration curve (equal-count bins of the predicted probability).
CALIBRATION_BINS = 10


def calibration_curves(
    spec: DetectionSpec, baseline: WindowProfile, current: WindowProfile
) -> dict[str, Any]:
    """Reliability curves of a binary probability model on each window's row sample (the
    rows the performance section scores): per equal-count bin of the predicted probability,
    its mean and the observed fraction of positives (scikit-learn's `calibration_curve`,
    strategy "quantile"). Empty when the task is not binary with probabilities."""
    if spec.labels is None or spec.prediction is None:
        return {}
    if (
        spec.labels.task is not Task.BINARY
        or spec.prediction.type is not PredictionType.PROBABILITY
    ):
        return {}
    from sklearn.calibration import calibration_curve

    label, column = spec.labels.column, spec.prediction.column
    curves: dict[str, Any] = {}
    for window, profile in (("baseline", baseline), ("current", current)):
        rows = profile.row_sample
        if label not in rows or column not in rows:
            return {}
        y = pd.to_numeric(rows[label], errors="coerce").to_numpy(dtype=float)
        p = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
        keep = np.isfinite(y) & np.isfinite(p)
        y, p = y[keep], p[keep]
        if len(y) < 2 * CALIBRATION_BINS or len(np.unique(y)) != 2:
            return {}
        positive = float(np.max(y))
        fraction, mean = calibration_curve(
            y == positive, p, n_bins=CALIBRATION_BINS, strategy="quantile"
        )
        curves[window] = {
            "mean_predicted": [float(v) for v in mean],
            "fraction_positive": [float(v) for v in fraction],
            "rows": len(y),
        }
    return curves
