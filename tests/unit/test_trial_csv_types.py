"""A stray unparseable cell in a CSV baseline must not change its column's type.

Found by trial: one `abc` among 300 numbers in the baseline made column `a` text, then an
"identifier", left out even when named by `--features`: a shift of two standard deviations
in the current window read "no drift" (exit 0). Right: `a` stays numeric, the stray cell
is a type error, and KS equals `scipy.stats.ks_2samp` on the numbers.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clirun import run_cli as _run
from scipy import stats

from driftwarden.detectors.tables import ColumnType, column_types, read_head

STRAY = ["abc", "-", "?", " ", "1.2.3", "$5", "12%", "true", "--"]


def _frames(stray: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    a = rng.normal(size=300).round(3)
    b = rng.normal(size=300).round(3)
    base = pd.DataFrame({"a": a.astype(object), "b": b})
    base.loc[7, "a"] = stray
    current = pd.DataFrame({"a": a + 2.0, "b": b})
    return base, current, np.delete(a, 7), a + 2.0


@pytest.mark.parametrize("stray", STRAY)
@pytest.mark.parametrize("extra", [[], ["--features", "a,b"]])
def test_stray_cell_in_baseline_keeps_column_numeric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stray: str, extra: list[str]
) -> None:
    base, current, numbers, shifted = _frames(stray)
    base.to_csv(tmp_path / "b.csv", index=False)
    current.to_csv(tmp_path / "c.csv", index=False)
    files = ["--baseline", str(tmp_path / "b.csv"), "--current", str(tmp_path / "c.csv")]
    code, out, err = _run(["detect", *files, "--format", "json", *extra], capsys)
    assert code == 0, err
    report = json.loads(out)
    (feature,) = [f for f in report["features"] if f["name"] == "a"]
    assert feature["kind"] == "numeric"
    assert report["drift_detected"] is True
    ks = {m["method"]: m for m in feature["methods"]}["ks"]
    expected = stats.ks_2samp(numbers, shifted)
    assert ks["statistic"] == pytest.approx(expected.statistic, abs=1e-9)


def test_head_type_tolerates_one_percent(tmp_path: Path) -> None:
    numbers = [str(x) for x in range(1, 201)]
    ok = numbers[:]
    ok[5] = "oops"
    ok[9] = "n.a."  # 2 of 200: 1 %
    text = numbers[:]
    for i in range(3):
        text[i] = f"x{i}"  # 3 of 200: a text column
    times = [f"2024-01-{1 + i % 28:02d}" for i in range(200)]
    times[3] = "soon"
    pd.DataFrame({"n": ok, "t": text, "w": times}).to_csv(tmp_path / "h.csv", index=False)
    types = column_types(read_head(tmp_path / "h.csv"))
    assert types == {"n": ColumnType.NUMBER, "t": ColumnType.TEXT, "w": ColumnType.DATETIME}
