"""False alarms and detection of the report's quality section, beside today's rule.

Two windows are drawn from one distribution (numeric columns N(0, 1), categorical columns
with 8 levels of Zipf-like frequencies, 1% of each column missing at random) at several
window sizes and numbers of columns, and the quality section is computed on their
profiles (`sections.quality_section`, the shipped rule: a chance allowance for the window
sizes and a Bonferroni correction for the number of columns) and by today's rule on main
before issue 11 (the same checks and levels with no chance allowance, the missing-rate test
at alpha 0.05 per column). A rate is the share of window pairs whose section severity is at
least warning, with a 95% Wilson interval.

Detection scenarios change one column of the current window (the others unchanged):
- out of range: 5% of the values shifted past the baseline's maximum;
- missing: 10 percentage points more missing values;
- new category: 5% of the values in a category the baseline never had.

    python benchmarks/bench_quality.py [--reps 200] [--sizes 200,2000,20000] [--columns 20,1000]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from driftwarden.detectors.profile import (
    CategoricalProfile,
    NumericProfile,
    WindowProfile,
    window_profile,
)
from driftwarden.detectors.sections import _outside, quality_section
from driftwarden.detectors.stats import quality
from driftwarden.detectors.stats.severity import Severity

LEVELS = np.array([f"level{i}" for i in range(8)])
WEIGHTS = 1.0 / np.arange(1, 9)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
SCENARIOS = ("no change", "out of range", "missing +10pp", "new category 5%")


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion (Wilson 1927)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def make_window(
    rng: np.random.Generator, rows: int, columns: int, scenario: str = "no change"
) -> tuple[pd.DataFrame, dict[str, str]]:
    n_categorical = max(1, columns // 5)
    data: dict[str, object] = {}
    kinds: dict[str, str] = {}
    for i in range(columns - n_categorical):
        values = rng.normal(size=rows)
        values[rng.random(rows) < 0.01] = np.nan
        data[f"x{i}"] = values
        kinds[f"x{i}"] = "numeric"
    for i in range(n_categorical):
        cats = rng.choice(LEVELS, size=rows, p=WEIGHTS).astype(object)
        cats[rng.random(rows) < 0.01] = None
        data[f"c{i}"] = cats
        kinds[f"c{i}"] = "categorical"
    frame = pd.DataFrame(data)
    changed = rng.random(rows)
    if scenario == "out of range":
        frame.loc[changed < 0.05, "x0"] = 10.0 + rng.random(int((changed < 0.05).sum()))
    elif scenario == "missing +10pp":
        frame.loc[changed < 0.10, "x0"] = np.nan
    elif scenario == "new category 5%":
        frame.loc[changed < 0.05, "c0"] = "unseen"
    return frame, kinds


def todays_rule(
    columns: Sequence[tuple[str, str]], base: WindowProfile, cur: WindowProfile
) -> Severity:
    """The quality section as on main before issue 11: no chance allowance, alpha per column."""
    severities = []
    for name, _kind in columns:
        b, c = base.columns[name], cur.columns[name]
        checks = [
            quality.missing_rate_from_counts(
                b.missing - (b.type_errors if isinstance(b, NumericProfile) else 0), base.rows,
                c.missing - (c.type_errors if isinstance(c, NumericProfile) else 0), cur.rows,
            ).severity
        ]  # fmt: skip
        if isinstance(b, NumericProfile) and isinstance(c, NumericProfile) and b.count:
            below, above = _outside(c, b.minimum, b.maximum)
            checks.append(
                quality.out_of_range_from_counts(
                    b.minimum, b.maximum, below, above, c.count
                ).severity
            )
        elif isinstance(b, CategoricalProfile) and isinstance(c, CategoricalProfile):
            checks.append(quality.category_changes_from_counts(b.counts, c.counts).severity)
        severities.append(Severity.worst(checks))
    return Severity.worst(severities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--sizes", default="200,2000,20000")
    parser.add_argument("--columns", default="20,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    widths = [int(s) for s in args.columns.split(",")]
    rng = np.random.default_rng(20261129)
    started = time.perf_counter()
    print("quality section: share of window pairs at warning or worse, 95% Wilson interval")
    print(f"{args.reps} pairs per cell; 'today' = main before issue 11, 'shipped' = this rule")
    print()
    header = f"{'scenario':16s} {'rows':>6s} {'cols':>5s}  {'today':>22s}  {'shipped':>22s}"
    print(header)
    print("-" * len(header))
    for scenario in SCENARIOS:
        for width in widths:
            for rows in sizes:
                reps = args.reps if rows * width <= 4_000_000 else max(20, args.reps // 10)
                today = shipped = 0
                for _ in range(reps):
                    base_frame, kinds = make_window(rng, rows, width)
                    cur_frame, _ = make_window(rng, rows, width, scenario)
                    base = window_profile(base_frame, kinds)
                    cur = window_profile(cur_frame, kinds)
                    columns = list(kinds.items())
                    today += todays_rule(columns, base, cur) is not Severity.NONE
                    shipped += quality_section(columns, base, cur).severity is not Severity.NONE
                cells = []
                for hits in (today, shipped):
                    low, high = wilson(hits, reps)
                    cells.append(f"{hits / reps:6.1%} [{low:5.1%}, {high:5.1%}]")
                print(f"{scenario:16s} {rows:6d} {width:5d}  {cells[0]:>22s}  {cells[1]:>22s}")
    print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
