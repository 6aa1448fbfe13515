"""`driftwarden detect` as a user runs it: the same report as before the start-up work, and
no heavy library imported where it is not needed.

The golden reports in golden/detect-*.json were written by the code before the lazy imports
and the `stats.tails` routines (main at 949c779) on the windows `write_case` generates; the
three cases reach the three KS null distributions (exact below 10,000 rows, `kstwo` up to
50,000 effective rows, Kolmogorov's limit above), the chi-square, Hotelling and proportion
tests, and, with labels, the performance and concept sections. Floats must agree to a
relative 1e-12 (the same floats on one machine; the margin is for another BLAS). Refresh
after an intended change with UPDATE_GOLDEN=1 and review the diff. Refreshed for the
verdict's Bonferroni rule and the permutation Hotelling test on 5,000 rows: only the run's
`p_value` and `multivariate` changed (wasserstein effects moved in the 16th digit).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main

GOLDEN_DIR = Path(__file__).parent / "golden"

# name -> (baseline rows, current rows, with a prediction and labels)
CASES = {
    "small-labelled": (3_000, 2_500, True),
    "medium": (30_000, 20_000, False),
    "large": (120_000, 110_000, False),
}


def write_case(name: str, folder: Path) -> list[str]:
    """Write the case's two windows as Parquet; return the `detect` arguments for them."""
    n_baseline, n_current, labelled = CASES[name]
    rng = np.random.default_rng(sorted(CASES).index(name))
    paths = []
    for window, rows, shift in (("baseline", n_baseline, 0.0), ("current", n_current, 0.08)):
        frame = pd.DataFrame(
            {
                "age": np.round(rng.normal(40 + 10 * shift, 10, rows)),  # ties
                "income": rng.lognormal(10 - shift, 0.5, rows),
                "tenure": rng.exponential(3, rows),
                "region": rng.choice(["n", "s", "e", "w"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            }
        )
        frame.loc[rng.random(rows) < 0.0005 + 0.01 * shift, "tenure"] = np.nan  # a few missing
        if labelled:
            score = rng.beta(2, 5, rows)
            frame["score"] = score
            frame["label"] = (rng.random(rows) < score + shift).astype(np.int64)
        path = folder / f"{name}-{window}.parquet"
        frame.to_parquet(path)
        paths.append(str(path))
    arguments = ["detect", "--baseline", paths[0], "--current", paths[1], "--format", "json"]
    if labelled:
        arguments += ["--prediction", "score", "--label", "label", "--task", "binary"]
    return arguments


def _same(ours: Any, golden: Any, where: str = "report") -> None:
    if isinstance(golden, dict):
        assert isinstance(ours, dict), where
        assert sorted(ours) == sorted(golden), f"{where}: keys differ"
        for key in golden:
            _same(ours[key], golden[key], f"{where}.{key}")
    elif isinstance(golden, list):
        assert isinstance(ours, list), where
        assert len(ours) == len(golden), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(ours, golden, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(golden, float) and not isinstance(ours, bool):
        assert isinstance(ours, int | float), where
        assert math.isclose(ours, golden, rel_tol=1e-12, abs_tol=0.0), (
            f"{where}: {ours} != {golden}"
        )
    else:
        assert ours == golden, f"{where}: {ours!r} != {golden!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_detect_report_is_the_golden_one(name: str, tmp_path: Path) -> None:
    arguments = write_case(name, tmp_path)
    output = tmp_path / "report.json"
    assert main([*arguments, "--output", str(output)]) in (0, 1)
    report = json.loads(output.read_text())
    report.pop("detector_version")
    path = GOLDEN_DIR / f"detect-{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        return
    _same(report, json.loads(path.read_text()))


# Run in a fresh interpreter: which top-level packages each command leaves in sys.modules.
PROBE = r"""
import json, sys
from driftwarden.detectors.cli import main

def loaded():
    return sorted({name.split(".")[0] for name in sys.modules})

seen = {}
for step, argv in json.loads(sys.argv[1]):
    try:
        main(argv)
    except SystemExit:
        pass
    seen[step] = loaded()
with open(sys.argv[2], "w") as out:  # stdout carries --help
    json.dump(seen, out)
"""

DATA_LIBRARIES = {"numpy", "pandas", "pyarrow", "scipy", "numba"}
HEAVY = {"sklearn", "sqlalchemy", "alembic", "kopf", "kubernetes"}


def test_start_up_imports_only_what_the_command_needs(tmp_path: Path) -> None:
    unlabelled = write_case("small-labelled", tmp_path)[:7]  # the same files, no labels
    labelled = write_case("small-labelled", tmp_path)
    steps = [
        ["version", ["--version"]],
        ["help", ["--help"]],
        ["db help", ["db", "--help"]],
        ["detect", [*unlabelled, "--output", str(tmp_path / "a.json")]],
        ["labelled detect", [*labelled, "--output", str(tmp_path / "b.json")]],
    ]
    result = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(steps), str(result)],
        capture_output=True,
        check=True,
        timeout=300,
    )
    seen = {step: set(modules) for step, modules in json.loads(result.read_text()).items()}
    for step in ("version", "help", "db help"):
        assert not seen[step] & (DATA_LIBRARIES | HEAVY), step
    assert not seen["detect"] & HEAVY
    assert "sklearn" in seen["labelled detect"]  # the probe does see an import when it happens
