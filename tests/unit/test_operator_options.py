"""`driftwarden operator`'s numeric options refuse what the operator cannot use (a zero or
negative lease or interval, a port out of range) as a usage error, exit 2, before anything
starts; before, `--lease-seconds 0` and `--retrain-sweep-interval -5` were taken."""

from __future__ import annotations

import pytest

from driftwarden.detectors.cli import build_parser

BAD = {
    "--workers": ["0", "-1", "two", "1e3"],
    "--watch-inactivity-timeout": ["0", "-30", "inf", "nan", "soon"],
    "--lease-seconds": ["0", "-15", "15.5", "x"],
    "--retrain-sweep-interval": ["0", "-5", "1e9", "nan"],
    "--metrics-port": ["-1", "65536", "http"],
    "--metrics-feature-cap": ["-1", "many"],
    "--alert-receiver-port": ["70000"],
    "--alert-sync-interval": ["0"],
}
GOOD = {
    "--workers": ("4", 4),
    "--watch-inactivity-timeout": ("30", 30.0),
    "--lease-seconds": ("15", 15),
    "--retrain-sweep-interval": ("60.5", 60.5),
    "--metrics-port": ("0", 0),
    "--metrics-feature-cap": ("0", 0),
}


@pytest.mark.parametrize(("option", "value"), [(o, v) for o, values in BAD.items() for v in values])
def test_a_value_the_operator_cannot_use_is_a_usage_error(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["operator", f"{option}={value}"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert option in err
    assert "expected" in err


@pytest.mark.parametrize(("option", "given"), sorted(GOOD.items()))
def test_a_usable_value_is_taken(option: str, given: tuple[str, object]) -> None:
    text, expected = given
    args = build_parser().parse_args(["operator", f"{option}={text}"])
    assert getattr(args, option.removeprefix("--").replace("-", "_")) == expected
