"""The run's verdict: case false-alarm rate per stratum (feature count x window size) and
detection of weak, medium and strong drift, for the default rule and the candidates, with
Wilson 95% intervals, in one run.

    python benchmarks/bench_decision.py [--null-pairs 30] [--drift-pairs 8]
                                        [--sizes 1000,5000,20000]

Tables (each window pair drawn afresh; both windows have `size` rows):

- factor-25, factor-50: a latent four-factor model (correlated columns); every fourth
  numeric column rounded (ties), every fourth + 1 exponentiated (skew); factor-25 has 20
  numeric and 5 categorical columns (the latent value cut into 5 levels), factor-50 has 50
  numeric columns.
- diabetes-10, breast-cancer-30, digits-50: scikit-learn's bundled tables (442, 569 and
  1,797 rows), rows resampled with replacement (digits: the 50 columns of largest
  variance, integers 0-16, so heavy ties). Real correlation, real skew, not Gaussian.

Drift: k features (k uniform on 1..5) move by a target population KS distance drawn
uniformly in the band (weak 0.03-0.1, medium 0.1-0.2, strong 0.2-0.4), in one of two
shapes chosen at random per feature:
- a location shift by delta standard deviations, delta = KS / 0.4 (KS of a normal
  shifted by delta is 2 Phi(delta / 2) - 1, about 0.4 delta for small delta), on columns
  with at least 100 distinct values (shifting a discrete column off its grid would change
  every atom);
- a tail contamination: each value replaced, with probability eps = KS / 0.8, by a value
  drawn from that window's own top 20% of the column (the population KS and total
  variation distances are both 0.8 eps; less on discrete columns, ties at the quantile).

Rules:
- default: driftwarden's verdict (stats.decision: Cauchy combination of the features'
  p-values with the multivariate rank Hotelling test, BH-named features, effect gate);
- +mmd: the same with the multivariate p-value the Cauchy combination of Hotelling's and
  the kernel MMD permutation test on a bounded subsample (stats.multivariate);
- bh: per-feature tests (KS numeric, chi-square categorical), alarm when any
  Benjamini-Hochberg adjusted p < 0.05.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn import datasets

from driftwarden.detectors.config import (
    DEFAULT_CATEGORICAL_METHODS,
    DEFAULT_NUMERIC_METHODS,
    DEFAULT_THRESHOLDS,
)
from driftwarden.detectors.stats.combine import benjamini_hochberg, cauchy_combination
from driftwarden.detectors.stats.decision import FeatureEvidence, Levels, decide
from driftwarden.detectors.stats.multivariate import (
    MMD_ROWS,
    hotelling_rank_test,
    mmd_permutation_test,
)
from driftwarden.detectors.stats.univariate import (
    categorical_statistics,
    numeric_statistics,
    sample_from_values,
)

F64 = npt.NDArray[np.float64]
ALPHA = 0.05
LEVELS = {m.value: Levels(t.warning, t.critical) for m, t in DEFAULT_THRESHOLDS.items()}
NUMERIC_METHODS = [str(m) for m in DEFAULT_NUMERIC_METHODS]
CATEGORICAL_METHODS = [str(m) for m in DEFAULT_CATEGORICAL_METHODS]
BANDS = {"weak": (0.03, 0.1), "medium": (0.1, 0.2), "strong": (0.2, 0.4)}
RULES = ("default", "+mmd", "bh")
MULTIVARIATE_ROWS = 20_000  # as the engine


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Table:
    name: str
    n_categorical: int  # the last columns are category codes
    draw: Callable[[np.random.Generator, int], F64]


def factor_table(name: str, n_numeric: int, n_categorical: int, seed: int) -> Table:
    d = n_numeric + n_categorical
    loadings = np.random.default_rng(seed).normal(0, 0.6, (d, 4))
    noise_scale = np.sqrt(np.maximum(1.0 - (loadings**2).sum(axis=1), 0.2))
    norm = np.sqrt((loadings**2).sum(axis=1) + noise_scale**2)
    cut = np.array([-0.8, 0.0, 0.6, 1.4])

    def draw(rng: np.random.Generator, n: int) -> F64:
        latent = rng.normal(size=(n, 4)) @ loadings.T + rng.normal(size=(n, d)) * noise_scale
        latent /= norm
        for j in range(n_numeric):
            if j % 4 == 0:
                latent[:, j] = np.round(latent[:, j] * 3)
            elif j % 4 == 1:
                latent[:, j] = np.exp(latent[:, j])
        for j in range(n_numeric, d):
            latent[:, j] = np.searchsorted(cut, latent[:, j])
        return latent

    return Table(name, n_categorical, draw)


def real_table(name: str) -> Table:
    loader = {
        "diabetes-10": datasets.load_diabetes,
        "breast-cancer-30": datasets.load_breast_cancer,
        "digits-50": datasets.load_digits,
    }[name]
    data = np.asarray(loader().data, dtype=np.float64)
    if name == "digits-50":
        data = data[:, np.argsort(-data.var(axis=0), kind="stable")[:50]]

    def draw(rng: np.random.Generator, n: int) -> F64:
        return data[rng.integers(data.shape[0], size=n)]

    return Table(name, 0, draw)


def contaminate(rng: np.random.Generator, window: F64, band: tuple[float, float]) -> F64:
    out = window.copy()
    k = int(rng.integers(1, 6))
    for j in rng.choice(window.shape[1], size=k, replace=False):
        target = rng.uniform(*band)
        column = out[:, j]
        if rng.random() < 0.5 and np.unique(column).size >= 100:
            column += target / 0.4 * column.std()
            continue
        eps = target / 0.8
        top = column[column >= np.quantile(column, 0.8)]
        hit = rng.random(column.shape[0]) < eps
        column[hit] = rng.choice(top, size=int(hit.sum()))
    return out


def evaluate(table: Table, base: F64, cur: F64, seed: int) -> dict[str, bool]:
    d = base.shape[1]
    first_cat = d - table.n_categorical
    evidence = []
    per_feature_p = []
    for j in range(d):
        if j < first_cat:
            stats = numeric_statistics(
                sample_from_values(base[:, j]), sample_from_values(cur[:, j]), NUMERIC_METHODS, 10
            )
            evidence.append(FeatureEvidence(f"x{j}", "numeric", stats, LEVELS))
            per_feature_p.append(next(s.p_value for s in stats if s.method == "ks"))
        else:
            counts = [
                {f"c{int(v)}": float(c) for v, c in zip(*np.unique(w[:, j], return_counts=True),
                                                         strict=True)}
                for w in (base, cur)
            ]  # fmt: skip
            stats = categorical_statistics(counts[0], counts[1], CATEGORICAL_METHODS)
            evidence.append(FeatureEvidence(f"c{j}", "categorical", stats, LEVELS))
            per_feature_p.append(next(s.p_value for s in stats if s.method == "chi2"))
    p = np.array(per_feature_p, dtype=float)
    hot = hotelling_rank_test(base[:MULTIVARIATE_ROWS], cur[:MULTIVARIATE_ROWS])
    mmd = mmd_permutation_test(base, cur, seed=seed)
    hot_p = None if hot is None else hot.p_value
    joint = [q for q in (hot_p, None if mmd is None else mmd.p_value) if q is not None]
    return {
        "default": decide(evidence, ALPHA, multivariate_p=hot_p).drift_detected,
        "+mmd": decide(
            evidence, ALPHA, multivariate_p=cauchy_combination(joint) if joint else None
        ).drift_detected,
        "bh": bool(np.any(benjamini_hochberg(p) < ALPHA)),
    }


def fmt(hits: list[int]) -> str:
    k, n = sum(hits), len(hits)
    low, high = wilson(k, n)
    return f"{k / n:.3f} [{low:.3f},{high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null-pairs", type=int, default=30, help="no-drift pairs per stratum")
    parser.add_argument("--drift-pairs", type=int, default=8, help="per stratum and band")
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tables = [
        real_table("diabetes-10"),
        factor_table("factor-25", 20, 5, args.seed),
        real_table("breast-cancer-30"),
        factor_table("factor-50", 50, 0, args.seed + 1),
        real_table("digits-50"),
    ]
    print(
        f"alpha {ALPHA}; {args.null_pairs} no-drift pairs per stratum, {args.drift_pairs} per "
        f"stratum and drift band; {len(tables)} tables x sizes {sizes}; MMD on {MMD_ROWS} "
        "rows per window"
    )
    head = f"{'table':17s} {'rows':>6s} {'band':8s} " + " ".join(f"{r:>21s}" for r in RULES)
    print(head)
    print("-" * len(head))
    pooled: dict[tuple[str, str], list[int]] = {}
    worst_null: dict[str, tuple[float, str]] = {}
    cost = {"univariate+hotelling+decide": 0.0, "mmd": 0.0}
    calls = 0
    started = time.perf_counter()
    for t_index, table in enumerate(tables):
        for n in sizes:
            for band in ("no drift", *BANDS):
                rng = np.random.default_rng([args.seed, t_index, n, len(band)])
                reps = args.null_pairs if band == "no drift" else args.drift_pairs
                hits: dict[str, list[int]] = {r: [] for r in RULES}
                for rep in range(reps):
                    base = table.draw(rng, n)
                    cur = table.draw(rng, n)
                    if band != "no drift":
                        cur = contaminate(rng, cur, BANDS[band])
                    mmd_t0 = time.perf_counter()
                    mmd_permutation_test(base, cur, seed=rep)
                    cost["mmd"] += time.perf_counter() - mmd_t0
                    t0 = time.perf_counter()
                    alarms = evaluate(table, base, cur, rep)
                    cost["univariate+hotelling+decide"] += time.perf_counter() - t0
                    calls += 1
                    for rule, alarm in alarms.items():
                        hits[rule].append(int(alarm))
                        pooled.setdefault((band, rule), []).append(int(alarm))
                if band == "no drift":
                    for rule in RULES:
                        rate = sum(hits[rule]) / reps
                        if rate >= worst_null.get(rule, (-1.0, ""))[0]:
                            worst_null[rule] = (rate, f"{table.name} at {n} rows")
                print(
                    f"{table.name:17s} {n:6d} {band:8s} "
                    + " ".join(f"{fmt(hits[r]):>21s}" for r in RULES)
                    + f"  n={reps}",
                    flush=True,
                )
    print()
    print("pooled over strata (rate [Wilson 95%]):")
    for band in ("no drift", *BANDS):
        cells = "; ".join(f"{r} {fmt(pooled[(band, r)])}" for r in RULES)
        print(f"  {band:8s} n={len(pooled[(band, RULES[0])]):4d}: {cells}")
    drift = {r: [hit for b in BANDS for hit in pooled[(b, r)]] for r in RULES}
    cells = "; ".join(f"{r} {fmt(drift[r])}" for r in RULES)
    print(f"  all drift n={len(drift[RULES[0]])}: {cells}")
    for rule in RULES:
        rate, where = worst_null[rule]
        print(f"  worst stratum false-alarm rate, {rule}: {rate:.3f} ({where})")
    # evaluate() includes a second MMD run (for the +mmd rule): subtract it for the default.
    default_cost = (cost["univariate+hotelling+decide"] - cost["mmd"]) / calls
    print(
        f"cost per pair: default rule {default_cost:.3f} s, MMD test {cost['mmd'] / calls:.3f} s "
        f"(ratio {cost['mmd'] / calls / default_cost:.2f}); {calls} pairs; "
        f"elapsed {time.perf_counter() - started:.0f} s"
    )
    rng = np.random.default_rng(args.seed)
    big_b, big_c = rng.normal(size=(1_000_000, 25)), rng.normal(size=(1_000_000, 25))
    t0 = time.perf_counter()
    mmd_permutation_test(big_b, big_c)
    print(f"MMD test on two 1,000,000 x 25 windows: {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
