"""The verdict line says the drifted-feature count once (the demo printed it twice)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main


def _run(tmp_path: Path, shift: float, capsys: pytest.CaptureFixture[str]) -> str:
    rng = np.random.default_rng(7)
    base = pd.DataFrame({"a": rng.normal(0, 1, 2000), "b": rng.normal(0, 1, 2000)})
    cur = pd.DataFrame({"a": rng.normal(shift, 1, 2000), "b": rng.normal(0, 1, 2000)})
    base.to_parquet(tmp_path / "b.parquet")
    cur.to_parquet(tmp_path / "c.parquet")
    main(
        [
            "detect",
            "--baseline",
            str(tmp_path / "b.parquet"),
            "--current",
            str(tmp_path / "c.parquet"),
        ]
    )
    return next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("verdict:")
    )


def test_a_drifted_run_says_its_count_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _run(tmp_path, 1.0, capsys)
    assert line.count("features drifted") == 1
    assert "1/2 features drifted (a)" in line


def test_a_clean_run_still_says_its_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _run(tmp_path, 0.0, capsys)
    assert line.count("0/2 features drifted") == 1
    assert "no drift" in line
