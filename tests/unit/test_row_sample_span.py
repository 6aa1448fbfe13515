"""The row sample is the window's, whatever the chunk size, and the joint test's rows are
drawn from all of it.

A new user found both faults: at `--chunk-rows 2000` a 60,000-row window's sample held
2,000 rows (performance was computed on those, and its direction flipped), and the joint
test took the sample's first 5,000 rows, which in a time-ordered log are the oldest: drift
after row 40,000 of 200,000 went unseen (p = 0.53; the same rows reversed gave 0.005).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import detect_frames
from driftwarden.detectors.profile import DEFAULT_ROW_SAMPLE, WindowProfiler


@pytest.mark.parametrize(("rows", "chunk"), [(60_000, 2_000), (60_000, 100_000), (30_000, 2_000)])
def test_the_row_sample_does_not_depend_on_the_chunk_size(rows: int, chunk: int) -> None:
    frame = pd.DataFrame({"index": np.arange(rows, dtype=np.float64)})
    builder = WindowProfiler({"index": "numeric"}, row_sample_columns=["index"], seed=1)
    for start in range(0, rows, chunk):
        builder.add(frame.iloc[start : start + chunk].reset_index(drop=True))
    sample = builder.profile().row_sample["index"].to_numpy()
    assert sample.shape[0] == min(rows, DEFAULT_ROW_SAMPLE)
    assert np.unique(sample).shape[0] == sample.shape[0]
    # uniform over the window: each tenth of it holds about a tenth of the sample
    tenths = np.bincount((sample * 10 // rows).astype(int), minlength=10) / sample.shape[0]
    assert np.all(np.abs(tenths - 0.1) < 0.02)


def test_the_joint_test_sees_drift_late_in_the_window() -> None:
    rng = np.random.default_rng(7)
    rows, columns = 200_000, [f"x{i}" for i in range(5)]
    baseline = pd.DataFrame(rng.normal(0.0, 1.0, (rows, 5)), columns=columns)
    late = rng.normal(0.0, 1.0, (rows, 5))
    late[40_000:] += 0.1  # the last four fifths of the window moved, the first fifth not
    early = late[::-1].copy()
    spec = DetectionSpec.model_validate({})
    p_late = detect_frames(baseline, pd.DataFrame(late, columns=columns), spec).multivariate
    p_early = detect_frames(baseline, pd.DataFrame(early, columns=columns), spec).multivariate
    assert p_late is not None
    assert p_early is not None
    assert p_late["p_value"] < 0.01
    assert p_early["p_value"] < 0.01
