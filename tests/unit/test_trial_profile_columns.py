"""A column the baseline profile holds but the current window lacks is refused.

Found by trial: with a stored profile of five columns and a current window holding one of
them, `detect` compared that one and said "no drift" (exit 0, no note), while the same
baseline as a Parquet file is refused with "column(s) not found". Right: exit 2 naming the
current file and the missing columns, as for a file baseline.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize("kept", [["age"], ["age", "region"], ["region", "score", "y", "lat"]])
def test_profile_columns_missing_from_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kept: list[str]
) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 400),
            "region": rng.choice(["n", "s"], 400),
            "score": rng.uniform(size=400),
            "y": rng.integers(0, 2, 400),
            "lat": rng.exponential(1, 400),
        }
    )
    frame.to_parquet(tmp_path / "b.parquet")
    frame[kept].to_parquet(tmp_path / "c.parquet")
    profile = str(tmp_path / "b.dwprofile")
    assert main(["profile", "--input", str(tmp_path / "b.parquet"), "--output", profile]) == 0
    capsys.readouterr()
    code = _main(["detect", "--baseline", profile, "--current", str(tmp_path / "c.parquet")])
    _, err = capsys.readouterr()
    assert code == 2
    missing = [c for c in frame.columns if c not in kept]
    assert "c.parquet" in err
    assert all(name in err for name in missing)
    assert len(err.strip().splitlines()) == 1
    # The whole window still compares.
    frame.to_parquet(tmp_path / "same.parquet")
    assert main(["detect", "--baseline", profile, "--current", str(tmp_path / "same.parquet")]) == 0
