"""Three small faults a fresh user met: `--features '  sp  '` could not name a column
`'  sp  '` and the error showed it as `' sp '`; the identifier note said "10,000 distinct of
10,000 values" of a 20,000-row column (the counts are of the head that decides kinds); a
stored run's page showed "–" for every critical threshold, which the history does not keep."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main
from driftwarden.detectors.htmlreport.stored import render_stored_run
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.reads import RunRows
from driftwarden.detectors.storage.types import DriftResultRow, RunOutcome, RunRecord
from driftwarden.detectors.tables import HEAD_ROWS


def _spaced(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    paths = []
    for name in ("base", "cur"):
        frame = pd.DataFrame({"  sp  ": rng.normal(0, 1, 300), "x": rng.normal(0, 1, 300)})
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        paths.append(tmp_path / f"{name}.csv")
    return paths[0], paths[1]


@pytest.mark.parametrize("given", ["  sp  ", "sp", "sp,x", " sp , x"])
def test_an_option_names_a_column_with_spaces_around_its_name(
    tmp_path: Path, given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Option names are stripped (`a, b`), and so are the file's names to match them."""
    base, cur = _spaced(tmp_path)
    code = main(["detect", "--baseline", str(base), "--current", str(cur),
                 "--features", given, "--format", "json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert '"name": "  sp  "' in out


def test_the_error_shows_a_spaced_name_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cur = _spaced(tmp_path)
    with pytest.raises(SystemExit):
        main(["detect", "--baseline", str(base), "--current", str(cur), "--features", "spx"])
    err = capsys.readouterr().err
    assert "'  sp  '" in err  # not collapsed to ' sp '


@pytest.mark.parametrize(("rows", "said"), [
    (2 * HEAD_ROWS, f"({HEAD_ROWS:,} distinct of {HEAD_ROWS:,} values in the first "
                    f"{HEAD_ROWS:,} rows)"),
    (300, "(300 distinct of 300 values)"),
])  # fmt: skip
def test_the_identifier_note_says_what_it_counted(
    tmp_path: Path, rows: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.DataFrame({"code": [f"c{i}" for i in range(rows)], "x": np.arange(rows) % 7})
    path = tmp_path / "w.csv"
    frame.to_csv(path, index=False)
    assert main(["detect", "--baseline", str(path), "--current", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"'code' looks like an identifier {said}: not tested as categories" in out


def test_a_stored_run_says_its_critical_thresholds_are_not_stored() -> None:
    rows = RunRows(
        drift=[
            DriftResultRow(
                feature="income", method="ks", statistic=0.3, p_value=0.001, threshold=0.05,
                drift_detected=True, severity=Severity.CRITICAL, feature_kind="numeric",
                p_value_adjusted=0.002,
            )
        ],
        performance=[], quality=[], distributions=[],
    )  # fmt: skip
    run = RunRecord(
        run_id="r-1", monitor_namespace="risk", monitor_name="credit",
        started_at=datetime(2026, 11, 29, tzinfo=UTC),
        finished_at=datetime(2026, 11, 29, 0, 1, tzinfo=UTC),
        outcome=RunOutcome.SUCCEEDED, severity=Severity.CRITICAL, health_score=50.0,
    )  # fmt: skip
    page = render_stored_run(run, rows)
    row = page[page.index('data-method="ks"') :]
    row = row[: row.index("</tr>")]
    assert '<td data-col="critical_threshold" class="muted">not stored</td>' in row
    assert "not its critical threshold" in page
