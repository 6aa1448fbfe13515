"""A corpus of malformed inputs through the real `driftwarden` command line.

Every case must end with exit 0 (the run did its work) or 2 (invalid input, one line that
names the file or the column), never 1 (reserved for `--fail-on`), never 4 (an internal
error), and never a traceback. The corpus runs in one child process (`python -m
driftwarden.detectors.cli` per case would cost a second of start-up each on a shared
machine); a few cases also run as separate `driftwarden` processes, the entry point users
call, to show the two agree.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

N = 300


def _frame(seed: int, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "region": rng.choice(["n", "s", "e"], n),
            "score": rng.uniform(size=n),
            "y": rng.integers(0, 2, n),
        }
    )


def _csv(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False)


def _write_corpus(root: Path) -> list[tuple[str, list[str], str]]:
    """Files and the cases over them: (case id, argv, text the error must contain)."""
    good_b, good_c = root / "good_b.csv", root / "good_c.csv"
    _csv(good_b, _frame(0))
    _csv(good_c, _frame(1))
    _frame(0).to_parquet(root / "good_b.parquet")

    def write(name: str, content: str | bytes) -> Path:
        path = root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def frame_file(name: str, build: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
        path = root / name
        frame = build(_frame(2))
        if name.endswith(".csv"):
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path)
        return path

    def with_inf(column: str, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
        def build(frame: pd.DataFrame) -> pd.DataFrame:
            frame.loc[5, column] = value
            return frame

        return build

    files: dict[str, Path] = {
        "empty.csv": write("empty.csv", ""),
        "blank.csv": write("blank.csv", "\n\n  \n"),
        "header_only.csv": write("header_only.csv", "x,region,score,y\n"),
        "semicolon.csv": write(
            "semicolon.csv", "x;region\n" + "".join(f"{i};n\n" for i in range(N))
        ),
        "tabs.csv": write("tabs.csv", "x\tregion\n" + "".join(f"{i}\tn\n" for i in range(N))),
        "ragged.csv": write(
            "ragged.csv", "x,region\n" + "".join(f"{i},n\n" for i in range(N)) + "1,n,extra\n"
        ),
        "short_rows.csv": write(
            "short_rows.csv", "x,region\n" + "".join(f"{i}\n" for i in range(N))
        ),
        "garbage.csv": write("garbage.csv", bytes(range(256)) * 40),
        "latin1.csv": write("latin1.csv", ("x,r\n" + "1,caf\xe9\n" * N).encode("latin-1")),
        "garbage.parquet": write("garbage.parquet", b"PAR1" + bytes(500) + b"PAR1"),
        "inf_x.csv": frame_file("inf_x.csv", with_inf("x", np.inf)),
        "neg_inf_x.parquet": frame_file("neg_inf_x.parquet", with_inf("x", -np.inf)),
        "inf_score.csv": frame_file("inf_score.csv", with_inf("score", np.inf)),
        "huge.csv": write(
            "huge.csv", "x,region\n" + "".join(f"{i},n\n" for i in range(N)) + "1e400,n\n"
        ),
        "sentinel.csv": frame_file("sentinel.csv", with_inf("x", 1e300)),
        "logits.csv": frame_file(
            "logits.csv", lambda f: f.assign(score=np.linspace(-5, 5, len(f)))
        ),
        "percent.parquet": frame_file(
            "percent.parquet", lambda f: f.assign(score=np.linspace(0, 100, len(f)))
        ),
        "all_null.csv": frame_file("all_null.csv", lambda f: f.assign(x=np.nan)),
        "all_null.parquet": frame_file("all_null.parquet", lambda f: f.assign(x=None)),
        "nullable.parquet": frame_file(
            "nullable.parquet",
            lambda f: f.assign(
                y=pd.array([None if i % 9 == 0 else bool(i % 2) for i in range(len(f))], "boolean"),
                region=pd.array([None if i % 7 == 0 else "r" for i in range(len(f))], "string"),
                n=pd.array([None if i % 5 == 0 else i % 4 for i in range(len(f))], "Int64"),
            ),
        ),
        "times.parquet": frame_file(
            "times.parquet",
            lambda f: pd.DataFrame(
                {"ts": pd.date_range("2024-01-01", periods=len(f), freq="min", tz="UTC")}
            ),
        ),
        "times.csv": frame_file(
            "times.csv",
            lambda f: pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=len(f), freq="h")}),
        ),
        "ids.csv": frame_file(
            "ids.csv", lambda f: pd.DataFrame({"order": [f"o{i}" for i in range(len(f))]})
        ),
        "three_labels.csv": frame_file(
            "three_labels.csv", lambda f: f.assign(y=np.arange(len(f)) % 3)
        ),
        "text_labels.csv": frame_file(
            "text_labels.csv", lambda f: f.assign(y=np.where(f["y"] == 1, "yes", "no"))
        ),
        "null_labels.csv": frame_file("null_labels.csv", lambda f: f.assign(y=np.nan)),
        "text_x.csv": frame_file("text_x.csv", lambda f: f.assign(x="abc")),
        "dup_header.csv": write(
            "dup_header.csv", "x,x,region\n" + "".join(f"{i},{i},n\n" for i in range(N))
        ),
        "zero_rows.parquet": frame_file("zero_rows.parquet", lambda f: f.iloc[:0]),
        "quoted.csv": write(
            "quoted.csv", "x,region\n" + "".join(f'{i},"a\nb"\n' for i in range(N))
        ),
        "one_row.csv": frame_file("one_row.csv", lambda f: f.iloc[:1]),
        "weird_names.csv": write(
            "weird_names.csv", ',"a b",é,"x,y"\n' + "".join(f"{i},{i},n,{i}\n" for i in range(N))
        ),
        "bools.csv": frame_file(
            "bools.csv", lambda f: f.assign(y=np.where(f["y"] == 1, "True", "False"))
        ),
    }
    pq.write_table(
        pa.table({"nested": pa.array([[1, 2]] * N), "x": pa.array(np.arange(N, dtype=float))}),
        root / "nested.parquet",
    )
    files["nested.parquet"] = root / "nested.parquet"
    rng = np.random.default_rng(0)
    pq.write_table(
        pa.table(
            {
                "tod": pa.array([dt.time(i % 24, i % 60) for i in range(N)], pa.time64("us")),
                "dur": pa.array([dt.timedelta(seconds=i % 97) for i in range(N)], pa.duration("s")),
                "bin": pa.array([bytes([i % 5]) for i in range(N)], pa.binary()),
                "fsb": pa.array([bytes([i % 3, 1]) for i in range(N)], pa.binary(2)),
                "st": pa.array([{"a": i % 4} for i in range(N)]),
                "f16": pa.array(rng.normal(size=N).astype(np.float16)),
                "u64": pa.array(rng.integers(0, 2**63, N).astype(np.uint64)),
                "d256": pa.array([Decimal(i % 10) for i in range(N)], pa.decimal256(40, 0)),
                "nul": pa.nulls(N),
                "x": rng.normal(size=N),
            }
        ),
        root / "arrow_types.parquet",
    )
    files["arrow_types.parquet"] = root / "arrow_types.parquet"
    (root / "dir.csv").mkdir()
    files["dir.csv"] = root / "dir.csv"
    (root / "typo.yaml").write_text("operational: {latencyColumn: latnecy}\n")
    (root / "bad.yaml").write_text("features: [{name: x, type: numerc}]\n")

    def detect(b: Path, c: Path, *extra: str) -> list[str]:
        return ["detect", "--baseline", str(b), "--current", str(c), *extra]

    cases: list[tuple[str, list[str], str]] = []
    for name, path in files.items():
        # every file in both windows: the file is named in the message
        cases.append((f"{name}-current", detect(good_b, path, "--format", "json"), name))
        # (or the other file, when it lacks a column this one has)
        cases.append((f"{name}-baseline", detect(path, good_c), f"{name}|good_c.csv"))
    cases += [
        ("logits-prob", detect(good_b, files["logits.csv"], "--prediction", "score"), "'score'"),
        ("logits-binary", detect(files["logits.csv"], good_c, "--prediction", "score",
                                 "--label", "y", "--task", "binary"), "'score'"),
        ("percent-prob", detect(good_b, files["percent.parquet"], "--prediction", "score"),
         "'score'"),
        ("inf-score-pred", detect(good_b, files["inf_score.csv"], "--prediction", "score",
                                  "--prediction-type", "regression"), "'score'"),
        ("misspelt-feature", detect(good_b, good_c, "--features", "x,regoin"), "'regoin'"),
        ("misspelt-categorical", detect(good_b, good_c, "--categorical", "regoin"), "'regoin'"),
        ("misspelt-prediction", detect(good_b, good_c, "--prediction", "scroe"), "'scroe'"),
        ("misspelt-label", detect(good_b, good_c, "--prediction", "score", "--label", "yy",
                                  "--task", "binary"), "'yy'"),
        ("misspelt-operational", detect(good_b, good_c, "--config", str(root / "typo.yaml")),
         "'latnecy'"),
        ("bad-kind", detect(good_b, good_c, "--config", str(root / "bad.yaml")), "type"),
        ("three-labels-binary", detect(files["three_labels.csv"], good_c, "--prediction", "score",
                                       "--label", "y", "--task", "binary"), "'y'"),
        ("text-labels-binary", detect(files["text_labels.csv"], files["text_labels.csv"],
                                      "--prediction", "score", "--label", "y", "--task", "binary"),
         "'y'"),
        ("null-labels", detect(files["null_labels.csv"], good_c, "--prediction", "score",
                               "--label", "y", "--task", "binary"), ""),
        ("regression-text-label", detect(files["text_labels.csv"], good_c, "--prediction", "score",
                                         "--prediction-type", "regression", "--label", "y",
                                         "--task", "regression"), "'y'"),
        ("class-pred-multiclass", detect(files["three_labels.csv"], good_c, "--prediction",
                                         "region", "--prediction-type", "class", "--label", "y",
                                         "--task", "multiclass"), ""),
        ("bool-labels", detect(files["bools.csv"], files["bools.csv"], "--prediction", "score",
                               "--label", "y", "--task", "binary"), ""),
        ("declared-time", detect(files["times.parquet"], files["times.parquet"], "--features",
                                 "ts"), ""),
        ("categorical-time", detect(files["times.csv"], files["times.csv"], "--features", "ts",
                                    "--categorical", "ts"), "'ts'"),
        ("numeric-declared-text", detect(good_b, files["text_x.csv"], "--features", "x"), ""),
        ("profile-empty", ["profile", "--input", str(files["empty.csv"]),
                           "--output", str(root / "p.dwprofile")], "empty.csv"),
        ("profile-inf", ["profile", "--input", str(files["inf_x.csv"]),
                         "--output", str(root / "p.dwprofile")], "inf_x.csv"),
        ("profile-garbage", detect(files["garbage.parquet"], good_c), "garbage.parquet"),
        ("chunk-rows-1", detect(good_b, files["nullable.parquet"], "--chunk-rows", "1"), ""),
        ("parquet-vs-csv", detect(root / "good_b.parquet", good_c), ""),
        ("arrow-types-alone", detect(files["arrow_types.parquet"], files["arrow_types.parquet"]),
         ""),
    ]  # fmt: skip
    return cases


_RUNNER = r"""
import contextlib, io, json, sys
from driftwarden.detectors.cli import main
results = []
for case_id, argv, _ in json.load(open(sys.argv[1])):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # a crash the CLI let through
            import traceback
            traceback.print_exc(file=err)
            code = -1
    results.append([case_id, code, out.getvalue(), err.getvalue()])
json.dump(results, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[str, list[str], str]]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, _write_corpus(root)


@pytest.fixture(scope="module")
def outcomes(
    corpus: tuple[Path, list[tuple[str, list[str], str]]],
) -> dict[str, tuple[int, str, str]]:
    root, cases = corpus
    (root / "cases.json").write_text(json.dumps(cases))
    subprocess.run(
        [sys.executable, "-c", _RUNNER, str(root / "cases.json"), str(root / "results.json")],
        check=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
    )
    results = json.loads((root / "results.json").read_text())
    return {case_id: (code, out, err) for case_id, code, out, err in results}


def test_corpus_is_large(corpus: tuple[Path, list[tuple[str, list[str], str]]]) -> None:
    assert len(corpus[1]) >= 80


def test_every_case_ends_in_0_or_2_with_one_line(
    corpus: tuple[Path, list[tuple[str, list[str], str]]],
    outcomes: dict[str, tuple[int, str, str]],
) -> None:
    failures = []
    for case_id, _, needle in corpus[1]:
        code, out, err = outcomes[case_id]
        problems = []
        if code not in (0, 2):
            problems.append(f"exit {code}")
        if "Traceback" in out + err:
            problems.append("traceback")
        if code == 2:
            lines = err.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("driftwarden: error: "):
                problems.append(f"not one line: {err!r}")
            elif needle and not any(n in lines[0] for n in needle.split("|")):
                problems.append(f"does not name {needle!r}: {lines[0]}")
        elif code == 0 and err.strip():
            problems.append(f"stderr on success: {err[:200]!r}")
        if problems:
            failures.append(f"{case_id}: {', '.join(problems)} | {err.strip()[:300]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("case_id", "code"),
    [
        ("empty.csv-current", 2),
        ("inf_x.csv-baseline", 2),
        ("logits-prob", 2),
        ("parquet-vs-csv", 0),
    ],
)
def test_the_console_script_agrees(
    corpus: tuple[Path, list[tuple[str, list[str], str]]],
    outcomes: dict[str, tuple[int, str, str]],
    case_id: str,
    code: int,
) -> None:
    argv = next(argv for cid, argv, _ in corpus[1] if cid == case_id)
    script = Path(sys.executable).with_name("driftwarden")
    done = subprocess.run(
        [str(script), *argv], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == code == outcomes[case_id][0]
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == outcomes[case_id][2]
