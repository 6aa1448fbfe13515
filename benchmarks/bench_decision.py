"""Case-level false alarm rate and detection rate of the default decision rule.

Simulates pairs of windows with 25 correlated features (20 numeric, 5 categorical, from a
latent factor model so that columns are correlated as in real tables; some numeric columns
are rounded, so tests see ties) at sizes 200 to 50,000 rows, with no drift and with weak and
medium drift, and prints, for each size and scenario, how often each rule says "drift":

- default: driftwarden's rule (stats.decision: Cauchy combination of the features' p-values
  and the multivariate rank Hotelling test, BH-named features, effect-size gate),
- univariate: the same rule without the multivariate test,
- bonferroni: per-feature tests (KS for numeric, chi-square for categorical), alarm when
  any p < 0.05 / 25,
- bh: the same per-feature tests, alarm when any Benjamini–Hochberg adjusted p < 0.05,
- any@0.05: per-feature tests uncorrected (what most notebooks do).

    python benchmarks/bench_decision.py [--reps 300] [--sizes 200,1000,5000,50000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from driftwarden.detectors.config import (
    DEFAULT_CATEGORICAL_METHODS,
    DEFAULT_NUMERIC_METHODS,
    DEFAULT_THRESHOLDS,
)
from driftwarden.detectors.stats.combine import benjamini_hochberg
from driftwarden.detectors.stats.decision import FeatureEvidence, Levels, decide
from driftwarden.detectors.stats.multivariate import hotelling_rank_test
from driftwarden.detectors.stats.univariate import (
    categorical_statistics,
    numeric_statistics,
    sample_from_values,
)

N_NUMERIC = 20
N_CATEGORICAL = 5
N_FACTORS = 4
ALPHA = 0.05
LEVELS = {m.value: Levels(t.warning, t.critical) for m, t in DEFAULT_THRESHOLDS.items()}
NUMERIC_METHODS = [str(m) for m in DEFAULT_NUMERIC_METHODS]
CATEGORICAL_METHODS = [str(m) for m in DEFAULT_CATEGORICAL_METHODS]


@dataclass(frozen=True)
class Scenario:
    name: str
    shift: float  # latent mean shift in sd units on the drifted columns
    drifted: tuple[int, ...]  # column indices (numeric 0..19, categorical 20..24)
    scale: float = 1.0
    factor_shift: float = 0.0  # shift of latent factor 0: moves its columns together


SCENARIOS = [
    Scenario("no drift", 0.0, ()),
    Scenario("weak: 0.15 sd on 3 features", 0.15, (0, 7, 21)),
    Scenario("weak: 0.1 sd on 8 features", 0.1, (1, 3, 5, 8, 11, 14, 20, 23)),
    Scenario("medium: 0.3 sd on 2 features", 0.3, (2, 22)),
    Scenario("medium: variance x1.3 on 2 features", 0.0, (4, 9), scale=1.3),
    # Drift along the correlation structure (a common cause moved): the case where the
    # multivariate test has the least advantage over per-feature tests.
    Scenario("weak: 0.15 sd shift of one latent factor", 0.0, (), factor_shift=0.15),
]


def make_loadings(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 0.6, (N_NUMERIC + N_CATEGORICAL, N_FACTORS))


Window = tuple[list[np.ndarray], list[dict[str, float]], np.ndarray]


def window(
    n: int, loadings: np.ndarray, rng: np.random.Generator, scenario: Scenario | None
) -> Window:
    factors = rng.normal(size=(n, N_FACTORS))
    if scenario is not None:
        factors[:, 0] += scenario.factor_shift
    noise_scale = np.sqrt(np.maximum(1.0 - (loadings**2).sum(axis=1), 0.2))
    latent = factors @ loadings.T + rng.normal(size=(n, loadings.shape[0])) * noise_scale
    latent /= np.sqrt((loadings**2).sum(axis=1) + noise_scale**2)  # unit variance columns
    if scenario is not None:
        for column in scenario.drifted:
            latent[:, column] = latent[:, column] * scenario.scale + scenario.shift
    numeric = []
    for j in range(N_NUMERIC):
        column = latent[:, j]
        if j % 4 == 0:
            column = np.round(column * 3)  # an integer-valued column: ties
        elif j % 4 == 1:
            column = np.exp(column)  # skewed
        numeric.append(column)
    categorical = []
    indicators = []
    cut = np.array([-0.8, 0.0, 0.6, 1.4])
    for j in range(N_CATEGORICAL):
        codes = np.searchsorted(cut, latent[:, N_NUMERIC + j])
        values, counts = np.unique(codes, return_counts=True)
        categorical.append({f"c{v}": float(c) for v, c in zip(values, counts, strict=True)})
        indicators.extend((codes == level).astype(float) for level in range(1, cut.shape[0] + 1))
    matrix = np.column_stack([*numeric, *indicators])
    return numeric, categorical, matrix


def evaluate(base: Window, cur: Window) -> dict[str, bool]:
    evidence = []
    per_feature_p = []
    for j in range(N_NUMERIC):
        stats = numeric_statistics(
            sample_from_values(base[0][j]), sample_from_values(cur[0][j]), NUMERIC_METHODS, 10
        )
        evidence.append(FeatureEvidence(f"x{j}", "numeric", stats, LEVELS))
        per_feature_p.append(next(s.p_value for s in stats if s.method == "ks"))
    for j in range(N_CATEGORICAL):
        stats = categorical_statistics(base[1][j], cur[1][j], CATEGORICAL_METHODS)
        evidence.append(FeatureEvidence(f"c{j}", "categorical", stats, LEVELS))
        per_feature_p.append(next(s.p_value for s in stats if s.method == "chi2"))
    p = np.array(per_feature_p, dtype=float)
    joint = hotelling_rank_test(base[2], cur[2])
    return {
        "default": decide(
            evidence, ALPHA, multivariate_p=None if joint is None else joint.p_value
        ).drift_detected,
        "univariate": decide(evidence, ALPHA).drift_detected,
        "bonferroni": bool(np.any(p < ALPHA / p.shape[0])),
        "bh": bool(np.any(benjamini_hochberg(p) < ALPHA)),
        "any@0.05": bool(np.any(p < ALPHA)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="pairs per size and scenario")
    parser.add_argument("--sizes", default="200,1000,5000,50000")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(args.seed)
    loadings = make_loadings(rng)
    rules = ["default", "univariate", "bonferroni", "bh", "any@0.05"]
    print(
        f"decision rules on {N_NUMERIC} numeric + {N_CATEGORICAL} categorical correlated features"
    )
    print(f"alpha {ALPHA}; {args.reps} window pairs per cell; rate = share of pairs called drift")
    print()
    header = f"{'scenario':40s} {'rows':>6s} " + " ".join(f"{r:>11s}" for r in rules)
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    summary: dict[tuple[str, str], list[float]] = {}
    for scenario in SCENARIOS:
        for n in sizes:
            reps = args.reps if n <= 5000 else max(args.reps // 3, 50)
            hits = dict.fromkeys(rules, 0)
            for _ in range(reps):
                base = window(n, loadings, rng, None)
                cur = window(n, loadings, rng, scenario)
                for rule, alarm in evaluate(base, cur).items():
                    hits[rule] += int(alarm)
            rates = {r: hits[r] / reps for r in rules}
            for r in rules:
                summary.setdefault((scenario.name.split(":")[0], r), []).append(rates[r])
            print(
                f"{scenario.name:40s} {n:6d} "
                + " ".join(f"{rates[r]:11.3f}" for r in rules)
                + f"   (n={reps})",
                flush=True,
            )
    print()
    for kind in ("no drift", "weak", "medium"):
        cells = " ".join(f"{r}={np.mean(summary[(kind, r)]):.3f}" for r in rules)
        label = "false alarm rate" if kind == "no drift" else "detection rate"
        print(f"mean {label:16s} over sizes, {kind:8s}: {cells}")
    print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
