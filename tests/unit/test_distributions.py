"""Stored feature distributions: what the Job writes reads back as the same overlay, and a
damaged row (the database is untrusted input) is refused with a reason, then left out of
the page with a note instead of breaking it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from driftwarden.detectors.distributions import (
    CATEGORICAL,
    Overlay,
    categorical_overlay,
    numeric_overlay,
)
from driftwarden.detectors.htmlreport.stored import render_stored_run, stored_overlays
from driftwarden.detectors.profile import NumericProfile
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.reads import RunRows
from driftwarden.detectors.storage.types import (
    DistributionRow,
    DriftResultRow,
    RunOutcome,
    RunRecord,
)


def _numeric(values: np.ndarray) -> NumericProfile:
    ordered = np.sort(values)
    return NumericProfile(
        count=len(values),
        missing=0,
        values=ordered,
        weights=None,
        minimum=float(ordered[0]),
        maximum=float(ordered[-1]),
        total=float(ordered.sum()),
        total_squares=float((ordered**2).sum()),
    )


def test_overlays_round_trip_through_their_stored_shape() -> None:
    rng = np.random.default_rng(3)
    numeric = numeric_overlay(
        _numeric(rng.normal(0, 1, 500)), _numeric(rng.normal(1, 1, 400)), bins=10
    )
    categorical = categorical_overlay({"a": 3.0, "b": 1.0}, {"a": 1.0, "c": 1.0})
    for overlay in (numeric, categorical):
        assert Overlay.from_dict(overlay.kind, overlay.to_dict()) == overlay
    assert categorical.to_dict()["new"] == ["c"]
    assert categorical.to_dict()["vanished"] == ["b"]


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        ("histogram", {}, "unknown distribution kind"),
        (CATEGORICAL, {"labels": "a"}, "labels must be a list of strings"),
        (CATEGORICAL, {"baseline": [0.5]}, "differ in length"),
        (CATEGORICAL, {"current": [2.0, 0.0]}, "outside [0, 1]"),
        (CATEGORICAL, {"current": [float("nan"), 0.0]}, "not a finite number"),
        (CATEGORICAL, {"baseline": ["x", 0.5]}, "not a finite number"),
        (CATEGORICAL, {"n_current": -1}, "negative"),
        (CATEGORICAL, {"new": [1]}, "new must be a list of strings"),
    ],
)
def test_a_damaged_stored_distribution_is_refused_with_a_reason(
    kind: str, change: dict[str, Any], message: str
) -> None:
    shape = categorical_overlay({"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 3.0}).to_dict()
    shape.update(change)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Overlay.from_dict(kind, shape)


def test_the_stored_page_draws_what_reads_back_and_names_what_does_not() -> None:
    good = categorical_overlay({"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 3.0})
    rows = RunRows(
        drift=[
            DriftResultRow(
                feature=name,
                method="chi2",
                statistic=4.0,
                p_value=0.01,
                threshold=0.05,
                drift_detected=True,
                severity=Severity.WARNING,
                feature_kind="categorical",
                p_value_adjusted=0.02,
            )
            for name in ("plan", "region")
        ],
        performance=[],
        quality=[],
        distributions=[
            DistributionRow("plan", good.kind, good.to_dict()),
            DistributionRow("region", "categorical", {"labels": ["a"], "baseline": "oops"}),
        ],
    )
    shapes, unreadable = stored_overlays(rows)
    assert set(shapes) == {"plan"}
    assert unreadable == ["region"]
    run = RunRecord(
        run_id="r-1",
        monitor_namespace="risk",
        monitor_name="credit",
        started_at=datetime(2026, 11, 29, tzinfo=UTC),
        finished_at=datetime(2026, 11, 29, 0, 1, tzinfo=UTC),
        outcome=RunOutcome.SUCCEEDED,
        severity=Severity.WARNING,
        health_score=50.0,
    )
    page = render_stored_run(run, rows)
    plan = page[page.index('data-feature="plan"') :]
    assert "<svg" in plan[: plan.index("</details>")]
    assert "could not be read and are not drawn: region" in page
    assert "0.02" in page  # the adjusted p-value is shown
