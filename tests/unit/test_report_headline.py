"""The verdict line says the drifted-feature count once (the demo printed it twice)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main
from driftwarden.detectors.report import Report, verdict_line
from driftwarden.detectors.report_sections import PerformanceSection, QualitySection, Sections
from driftwarden.detectors.stats.severity import Severity


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


def test_the_verdict_line_says_which_section_set_the_severity_without_data_drift() -> None:
    def report(drift: bool, severity: Severity) -> Report:
        return Report(
            drift_detected=drift, severity=severity, health_score=40.0, status="ok",
            verdict="no drift: the run's p-value 0.5 >= 0.05", p_value=0.5, alpha=0.05,
            rows_baseline=100, rows_current=100, features=(), detector_version="test",
            sections=Sections(
                performance=PerformanceSection(
                    Severity.CRITICAL, "precision fell", 0.0, rows_baseline=100, rows_current=100
                ),
                quality=QualitySection(Severity.NONE, "no quality findings", 1.0),
            ),
        )  # fmt: skip

    line = verdict_line(report(False, Severity.CRITICAL))
    assert line.startswith("verdict: no data drift - severity critical (from performance),")
    assert "(from" not in verdict_line(report(True, Severity.CRITICAL))


def test_hostile_column_names_are_shown_escaped_not_obeyed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["\x1b[31mred\x1b[0m", "line\nbreak", "rtl\u202eabc"]
    base = pd.DataFrame({n: np.arange(500.0) for n in names})
    cur = base.copy()
    cur["line\nbreak"] += 300
    base.to_parquet(tmp_path / "b.parquet")
    cur.to_parquet(tmp_path / "c.parquet")
    code = main(["detect", "--baseline", str(tmp_path / "b.parquet"), "--current",
                 str(tmp_path / "c.parquet")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\\x1b[31mred\\x1b[0m" in out
    verdict = out.splitlines()[-1]
    assert verdict.startswith("verdict: DRIFT")
    assert verdict.endswith("(line\\nbreak)")
