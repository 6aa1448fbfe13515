"""`driftwarden operator`: registered through an entry point, one line when it cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwarden.detectors.cli import build_parser, main


def test_the_cli_finds_the_operator_subcommand_through_its_entry_point() -> None:
    help_text = build_parser().format_help()
    assert "operator" in help_text


def test_no_kubernetes_configuration_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code = main(["operator", "--kubeconfig", str(tmp_path / "missing.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "no Kubernetes configuration" in err
    assert "Traceback" not in err
