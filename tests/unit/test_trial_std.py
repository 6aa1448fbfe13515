"""A baseline's standard deviation must survive a large offset and tiny values.

Found by trial: `NumericProfile.std` came from `total_squares / count - mean**2`, which
cancels to 0 for Unix seconds (1.7e9 + N(0, 0.01)) and underflows for values near 1e-200:
the baseline was noted "constant", and Wasserstein's effect was the raw distance (0.0049
instead of 0.49, severity none on a half-sd shift). Right: `numpy.std` of the baseline,
and W / std equal to `scipy.stats.wasserstein_distance` / `numpy.std`.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from driftwarden.detectors.cli import main

CASES = [(1.7e9, 0.01), (1e9, 1.0), (1e12, 1.0), (0.0, 1e-200), (0.0, 1e-310), (5.0, 1e-12)]


@pytest.mark.parametrize(("offset", "scale"), CASES)
def test_wasserstein_effect_uses_the_true_spread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offset: float, scale: float
) -> None:
    rng = np.random.default_rng(1)
    base = offset + rng.normal(size=2000) * scale
    current = offset + (rng.normal(size=2000) + 0.5) * scale
    pd.DataFrame({"x": base}).to_parquet(tmp_path / "b.parquet")
    pd.DataFrame({"x": current}).to_parquet(tmp_path / "c.parquet")
    files = ["--baseline", str(tmp_path / "b.parquet"), "--current", str(tmp_path / "c.parquet")]
    code = main(["detect", *files, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (feature,) = json.loads(out)["features"]
    assert "constant" not in feature["note"]
    wasserstein = {m["method"]: m for m in feature["methods"]}["wasserstein"]
    unit = float(np.abs(base).max())  # numpy's std squares: scale first (1e-200**2 == 0)
    spread = float(np.std(base / unit))
    expected = stats.wasserstein_distance(base / unit, current / unit) / spread
    assert wasserstein["effect"] == pytest.approx(expected, rel=1e-3)
    assert wasserstein["severity"] != "none"
