"""A column declared numeric: refused when a window has values but not one number (a fresh
user's `region` of words was accepted with exit 0, every value a type error with no
example, and a verdict line with two counts); some values that are not numbers stay type
errors, now with up to 3 of them as examples. The verdict line says one count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main
from driftwarden.detectors.errors import ExitCode


def _windows(tmp_path: Path, fmt: str, bad: dict[int, str] | None = None) -> tuple[Path, Path]:
    paths = []
    for name, seed, shift in (("base", 1, 0.0), ("cur", 2, 1.0)):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame(
            {
                "age": rng.normal(40, 5, 500),
                "income": rng.normal(5 + shift, 1, 500),
                "region": rng.choice(["north", "south", "east"], 500),
                "score": [f"{v:.3f}" for v in rng.normal(0, 1, 500)],
            }
        )
        for row, value in (bad or {}).items():
            frame.loc[row, "score"] = value
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path)
        paths.append(path)
    return paths[0], paths[1]


def _settings(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(
        f"features:\n  - name: {name}\n    type: numeric\n  - name: age\n  - name: income\n"
    )
    return path


def _detect(base: Path, cur: Path, settings: Path, *extra: str) -> int:
    return main(["detect", "--baseline", str(base), "--current", str(cur),
                 "--config", str(settings), *extra])  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_of_words_declared_numeric_is_refused(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cur = _windows(tmp_path, fmt)
    with pytest.raises(SystemExit) as exit_:
        _detect(base, cur, _settings(tmp_path, "region"))
    err = capsys.readouterr().err
    assert exit_.value.code == ExitCode.INVALID_INPUT
    assert err.count("\n") == 1
    assert "Traceback" not in err
    said = "column 'region' is declared numeric but none of its values is a number (e.g. '"
    assert f"{base}: {said}" in err
    example = err.split("(e.g. ")[1].rstrip(")\n")
    assert example.strip("'") in {"north", "south", "east"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_some_values_not_numbers_are_type_errors_with_examples(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = 'x"\n\\y'  # a quote, a line break, a backslash: JSON escapes them
    bad = {3: "N/A", 10: odd, 20: "N/A", 30: "abc", 40: "zzz"}
    base, cur = _windows(tmp_path, fmt, bad)
    code = _detect(base, cur, _settings(tmp_path, "score"), "--format", "json")
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    (score,) = [c for c in report["quality"]["columns"] if c["column"] == "score"]
    errors = score["type_errors"]
    assert errors["count"] == 5
    assert errors["examples"] == ["N/A", odd, "abc"]  # the first 3 distinct, in file order
    assert '"x\\"\\n\\\\y"' in out


def test_the_verdict_line_says_one_count_with_an_untested_feature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feature with too few values is listed, not tested: the decision's own count
    ("1/2 features drifted (income)") gives way to the report's ("1/3 ...")."""
    base, cur = _windows(tmp_path, "parquet")
    for path in (base, cur):
        frame = pd.read_parquet(path)
        frame.loc[5:, "score"] = None  # 5 values: below minSamples
        frame.to_parquet(path)
    code = _detect(base, cur, _settings(tmp_path, "score"))
    out = capsys.readouterr().out
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("verdict:")]
    assert line.count("features drifted") == 1
    assert line.endswith("; 1/3 features drifted (income)")


def test_the_html_banner_says_one_count_with_an_untested_feature(tmp_path: Path) -> None:
    base, cur = _windows(tmp_path, "parquet")
    for path in (base, cur):
        frame = pd.read_parquet(path)
        frame.loc[5:, "score"] = None
        frame.to_parquet(path)
    out = tmp_path / "r.html"
    code = _detect(base, cur, _settings(tmp_path, "score"), "--format", "html", "--output",
                   str(out))  # fmt: skip
    assert code == 0
    page = out.read_text()
    assert "1/3 features drifted (income)" in page
    assert "1/2 features drifted" not in page
