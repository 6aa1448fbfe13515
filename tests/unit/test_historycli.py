"""`driftwarden report` and `driftwarden history` against the embedded SQLite history."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from clirun import run_cli as run
from report_history import HOSTILE, MONITOR, NAMESPACE, seed

from driftwarden.detectors.storage import create_engine, upgrade

MON = f"{NAMESPACE}/{MONITOR}"


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "history.db"
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    for name in ("PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(path))
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine)
    engine.dispose()
    return tmp_path


def test_report_of_a_stored_run(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = history / "run.html"
    code, _, err = run(["report", "--run", "credit-3", "--output", str(out_file)], capsys)
    assert code == 0, err
    page = out_file.read_text()
    assert "credit-3" in page
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert "Run record" in page
    assert "Performance" in page


def test_report_of_a_monitor(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, page, err = run(["report", "--monitor", MON, "--since", "30d"], capsys)
    assert code == 0, err
    assert page.count("<svg") >= 3  # health, heatmap, performance
    assert "Drift severity by feature and run" in page
    assert "Alerts timeline" in page
    assert "drift in run" in page
    assert "<b>" not in page
    assert "credit-retrain-1" in page


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--run", "no-such-run"],
        ["report", "--monitor", "risk/unknown"],
        ["history", "show", "no-such-run"],
    ],
)
def test_unknown_or_empty_is_exit_2_with_one_line(
    history: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "table"),
    [
        # The newest run is an hour old, its alert 58 minutes, the retrain decision 30.
        (["history", "runs", "--monitor", MON, "--since", "20m"], f"(no runs of monitor '{MON}'"),
        (
            ["history", "feature", "--monitor", MON, "--feature", "income", "--since", "20m"],
            "(no results for",
        ),
        (["history", "alerts", "--monitor", MON, "--since", "20m"], "(no alerts"),
        (["history", "retrains", "--monitor", MON, "--since", "20m"], "(no retraining"),
    ],
)
def test_an_empty_listing_is_exit_0_in_every_format(
    history: Path, argv: list[str], table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert (code, err) == (0, "")
    assert out.startswith(table)
    code, out, _ = run([*argv, "--format", "json"], capsys)
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run([*argv, "--format", "csv"], capsys)
    assert (code, out) == (0, "")


def test_a_file_that_is_not_a_database_is_exit_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a transient failure (exit 3 would have a pipeline retry it forever)."""
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    data = tmp_path / "base.csv"
    data.write_text("a,b\n1,2\n" * 200)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(data))
    for argv in (["history", "runs", "--monitor", "a/b"], ["alerts"], ["report", "--run", "x"]):
        code, out, err = run(argv, capsys)
        assert (code, out) == (2, ""), err
        assert f"sqlite:///{data} is not a driftwarden database" in err
        assert "uri=" not in err
        assert len(err.strip().splitlines()) == 1


def test_no_database_at_all_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(tmp_path / "none.db"))
    code, _, err = run(["report", "--run", "x"], capsys)
    assert code == 2
    assert "does not exist" in err
    assert not (tmp_path / "none.db").exists()


def test_history_runs_in_three_formats(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["history", "runs", "--monitor", MON, "--format", "json"], capsys)
    assert code == 0
    runs = json.loads(out)
    assert [r["run_id"] for r in runs] == ["credit-3", "credit-2", "credit-1", "credit-0"]
    code, out, _ = run(["history", "runs", "--monitor", MON, "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["run_id"] for r in rows] == [r["run_id"] for r in runs]
    code, out, _ = run(["history", "runs", "--monitor", MON], capsys)
    assert out.splitlines()[0].split()[:3] == ["run_id", "started_at", "outcome"]
    assert len(out.splitlines()) == 2 + 4


def test_history_show_feature_alerts_retrains(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["history", "show", "credit-2", "--format", "json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["run"]["run_id"] == "credit-2"
    assert {r["feature"] for r in shown["drift_results"]} >= {"income", HOSTILE, "region"}
    code, out, _ = run(
        ["history", "feature", "--monitor", MON, "--feature", "income", "--method", "ks",
         "--format", "json"],
        capsys,
    )  # fmt: skip
    points = json.loads(out)
    assert [p["run_id"] for p in points] == ["credit-0", "credit-1", "credit-2", "credit-3"]
    assert points[-1]["statistic"] > points[0]["statistic"]
    code, out, _ = run(["history", "alerts", "--monitor", MON, "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)
    code, out, _ = run(["history", "retrains", "--monitor", MON, "--format", "csv"], capsys)
    assert "credit-retrain-1" in out
    code, out, _ = run(["history", "show", "credit-2"], capsys)
    assert "drift results:" in out


def test_csv_cells_never_start_a_formula() -> None:
    from driftwarden.detectors.historycli import _csv_cell

    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("-0.5") == "-0.5"


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "runs", "--monitor", "no-slash"],
        ["history", "runs", "--monitor", MON, "--since", "forever"],
        ["report", "--monitor", MON, "--since", "99999d"],
    ],
)
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "Traceback" not in err
