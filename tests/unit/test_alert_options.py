"""`driftwarden operator`'s alerting options: defaults, refusals, the token file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from driftwarden.operator.alerting.options import add_alerting_options
from driftwarden.operator.alerting.runtime import AlertingConfigError, _token


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="driftwarden operator", exit_on_error=False)
    add_alerting_options(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    args = _parse()
    assert args.alert_receiver_port == 9809
    assert args.alertmanager_url == ""
    assert args.alert_sync_interval == 300.0
    assert args.maintenance_lookahead == 24.0
    assert _parse("--alert-receiver-port", "0").alert_receiver_port == 0


@pytest.mark.parametrize(
    "argv",
    [
        ("--alert-receiver-port", "65536"),
        ("--alert-receiver-port", "-1"),
        ("--alert-receiver-port", "http"),
        ("--alert-sync-interval", "0"),
        ("--maintenance-lookahead", "nan"),
    ],
)
def test_bad_values_are_refused(argv: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises((SystemExit, argparse.ArgumentError)):
        _parse(*argv)


def test_the_token_file(tmp_path: Path) -> None:
    assert _token(None) is None
    good = tmp_path / "token"
    good.write_text("s3cret\n")
    assert _token(str(good)) == "s3cret"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(AlertingConfigError, match="expected one printable token"):
        _token(str(empty))
    with pytest.raises(AlertingConfigError, match="No such file"):
        _token(str(tmp_path / "missing"))
    two_lines = tmp_path / "two"
    two_lines.write_text("a\nb\n")
    with pytest.raises(AlertingConfigError, match="printable"):
        _token(str(two_lines))
