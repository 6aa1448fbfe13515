"""A column the files or a stored profile lack is named with the closest column the other
side has, in every message of that kind (a renamed column is the usual cause)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import run_cli


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _, err = run_cli(argv, capsys)
    return code, err


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rows = "\n".join(f"{i},{i * 2},{'ab'[i % 2]}" for i in range(200))
    good = tmp_path / "good.csv"
    good.write_text("age,income,region\n" + rows + "\n")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("age,incme,region\n" + rows + "\n")
    return good, renamed


def test_a_current_file_without_a_baseline_column(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good, renamed = files
    code, err = _run(["detect", "--baseline", str(good), "--current", str(renamed)], capsys)
    assert code == 2
    assert err.endswith("column(s) not found: income (did you mean 'incme'?)\n")


def test_a_current_file_without_a_stored_profiles_column(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, renamed = files
    profile = tmp_path / "good.dwprofile"
    assert _run(["profile", "--input", str(good), "--output", str(profile)], capsys)[0] == 0
    code, err = _run(["detect", "--baseline", str(profile), "--current", str(renamed)], capsys)
    assert code == 2
    assert err.endswith(
        "column(s) of the baseline profile not found: income (did you mean 'incme'?)\n"
    )


def test_categorical_beside_a_config_names_the_closest_feature(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, _ = files
    config = tmp_path / "settings.yaml"
    config.write_text("features:\n  - name: age\n  - name: income\n")
    argv = ["detect", "--baseline", str(good), "--current", str(good), "--config", str(config)]
    code, err = _run([*argv, "--categorical", "incme"], capsys)
    assert code == 2
    assert err.endswith(
        "--categorical names column(s) not among the features: incme (did you mean 'income'?)\n"
    )
