"""`driftwarden ARGV` run in-process, as the CLI's tests see it (one helper for every test
module: each had its own copy)."""

from __future__ import annotations

import pytest

from driftwarden.detectors.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `driftwarden ARGV`; argparse's exits included."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one-line message of `driftwarden ARGV` refused as bad input: exit 2, nothing on
    stdout, no traceback."""
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()
