"""The shipped Grafana dashboard (charts/driftwarden/files/dashboard.json) against Grafana's
own generated schema and the dashboard linter's rules, by tests/controlplane/dashlint."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gotools import go_tool

from driftwarden.operator.metrics.collector import METRICS

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "charts" / "driftwarden" / "files" / "dashboard.json"
)


def _lint(board: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps(board))
    return subprocess.run(
        [str(go_tool("dashlint")), str(path)], capture_output=True, text=True, timeout=60
    )


def _board() -> dict[str, Any]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return board


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def test_the_shipped_dashboard_passes_the_schema_and_the_linter(tmp_path: Path) -> None:
    done = _lint(_board(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda p: p["options"].update(bogus=1), "unexpected field 'bogus'"),
        (
            lambda p: p.update(datasource={"type": "prometheus", "uid": "prom"}),
            "panel-datasource-rule",
        ),
        (lambda p: p.update(description=""), "panel-title-description-rule"),
        (lambda p: p["fieldConfig"]["defaults"].pop("unit"), "panel-units-rule"),
        (lambda p: p.update(targets=[]), "panel-no-targets-rule"),
        (
            lambda p: p["targets"][0].update(expr="sum(rate(driftwarden_monitor_runs_total[5m]))"),
            "target-rate-interval-rule",
        ),
        (lambda p: p["gridPos"].update(x=20), "panel-grid-rule"),
    ],
)
def test_the_linter_names_each_broken_rule(breakage: Any, expected: str, tmp_path: Path) -> None:
    board = copy.deepcopy(_board())
    stat = next(p for p in _panels(board) if p["type"] == "stat")
    breakage(stat)
    done = _lint(board, tmp_path)
    assert done.returncode == 1
    assert expected in done.stdout, done.stdout


def test_queries_use_only_driftwarden_series_and_the_panel_variables() -> None:
    """Every query reads our metrics (or Prometheus' ALERTS) and, outside fleet-wide operator
    panels, follows the namespace selector, so the variables filter every monitor panel."""
    names: set[str] = set()
    for panel in _panels(_board()):
        for target in panel["targets"]:
            expr = target["expr"]
            names |= set(re.findall(r"\b(driftwarden_[a-z_]+|ALERTS)\b", expr))
            if "driftwarden_operator_" not in expr:
                assert '$namespace"' in expr, (panel["title"], expr)
    assert "ALERTS" in names
    assert {n for n in names if n != "ALERTS"} <= _EXPORTED, names - _EXPORTED - {"ALERTS"}


# The series the operator's /metrics exports (docs/metrics.md); the dashboard may not read others.
_EXPORTED = set(METRICS)
