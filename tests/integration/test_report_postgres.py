"""`driftwarden report` and `driftwarden history` against a real PostgreSQL 15 server,
with runs written by the repository functions the detector Job uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli as _run
from report_history import HOSTILE, MONITOR, NAMESPACE, seed
from sqlalchemy.engine import Engine

pytestmark = pytest.mark.postgres
MON = f"{NAMESPACE}/{MONITOR}"


@pytest.fixture
def seeded(history: Engine, history_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    seed(history)
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", history_url)
    return history


def test_report_of_a_run_and_of_the_monitor(
    seeded: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.html"
    code, _, err = _run(["report", "--run", "credit-3", "--output", str(out)], capsys)
    assert code == 0, err
    page = out.read_text()
    assert 'data-feature="income"' in page
    assert "&lt;script&gt;" in page
    assert "<script" not in page
    code, page, err = _run(["report", "--monitor", MON, "--since", "2d"], capsys)
    assert code == 0, err
    assert "Drift severity by feature and run" in page
    assert "credit-retrain-1" in page


def test_history_reads_the_same_runs(seeded: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["history", "runs", "--monitor", MON, "--format", "json"], capsys)
    assert code == 0
    assert [r["run_id"] for r in json.loads(out)] == [f"credit-{i}" for i in (3, 2, 1, 0)]
    code, out, _ = _run(["history", "show", "credit-1", "--format", "json"], capsys)
    assert HOSTILE in {r["feature"] for r in json.loads(out)["drift_results"]}
    code, out, _ = _run(
        ["history", "feature", "--monitor", MON, "--feature", HOSTILE, "--format", "csv"], capsys
    )
    assert code == 0
    assert len(out.strip().splitlines()) == 1 + 4 * 4  # header, four runs x four methods


def test_unknown_run_and_empty_history_are_exit_2(
    history: Engine, history_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", history_url)
    for argv in (["report", "--run", "nope"], ["report", "--monitor", MON]):
        code, out, err = _run(argv, capsys)
        assert code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1
