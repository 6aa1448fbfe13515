"""The run's verdict: case false-alarm rate per stratum (feature count x window size) and
detection of weak, medium and strong drift, for the verdict and the former rule beside it,
with Wilson 95% intervals, in one run; the multivariate test's cost is printed.

    python benchmarks/bench_decision.py [--null-pairs 40] [--drift-pairs 8]
                                        [--sizes 1000,5000,20000] [--mmd]

Tables (each window pair drawn afresh; both windows have `size` rows):

- census-17: the US census employment table shipped in the NannyML wheel (examples/demo;
  the 68,785 answers of 2015): age, the model's predicted probability and 15 coded answers
  as categorical features (2 to 25 categories). Skipped, with a line saying so, when the
  wheel is neither cached nor downloadable.
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
  variation distances are both 0.8 eps; less on discrete and categorical columns, ties at
  the quantile).

Rules:
- driftwarden: the verdict (stats.decision, rule "bonferroni"): Bonferroni over the
  features' p-values with alpha / 2, the rank Hotelling test with a permutation p-value on
  up to 5,000 rows per window with alpha / 2, BH-named features, effect gate;
- former: the rule before it (rule "cauchy"): Cauchy combination of the features' p-values
  and Hotelling's F-reference p-value on up to 20,000 rows, at 0.8 alpha;
- bh: per-feature tests (KS numeric, chi-square categorical), alarm when any
  Benjamini-Hochberg adjusted p < 0.05;
- +mmd (with --mmd): the verdict with the kernel MMD permutation test on 500 rows per
  window as a third family (alpha / 3 each).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn import datasets

from driftwarden.detectors.config import (
    DEFAULT_CATEGORICAL_METHODS,
    DEFAULT_NUMERIC_METHODS,
    DEFAULT_THRESHOLDS,
)
from driftwarden.detectors.engine import MULTIVARIATE_CATEGORIES, MULTIVARIATE_ROWS
from driftwarden.detectors.stats.combine import benjamini_hochberg
from driftwarden.detectors.stats.decision import FeatureEvidence, Levels, decide
from driftwarden.detectors.stats.multivariate import (
    MMD_ROWS,
    hotelling_rank_test,
    mmd_permutation_test,
    one_hot,
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
FORMER_ROWS = 20_000  # the former rule's Hotelling rows (F reference)


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


def resampled(name: str, data: F64, n_categorical: int = 0) -> Table:
    def draw(rng: np.random.Generator, n: int) -> F64:
        return data[rng.integers(data.shape[0], size=n)]

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
    return resampled(name, data)


def census_table() -> Table | None:
    """The 2015 census answers (examples/demo/census.py), categories as integer codes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "demo"))
    try:
        import census  # examples/demo is not a package

        frame = census.read_census(census.fetch_wheel())
    except (ImportError, RuntimeError, OSError) as error:
        print(f"census-17 skipped: {error}")
        return None
    frame = frame[frame["year"] == 2015]
    numeric = frame[["agep", "predicted_probability"]].to_numpy(np.float64)
    codes = [frame[c].astype("category").cat.codes.to_numpy(np.float64) for c in census.CODED]
    return resampled("census-17", np.column_stack([numeric, *codes]), len(census.CODED))


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


def joint_columns(table: Table, base: F64, cur: F64, rows: int) -> tuple[F64, F64]:
    """The multivariate test's input as the engine builds it: numeric columns as they are,
    each categorical one as indicators of its 12 most frequent baseline categories."""
    first_cat = base.shape[1] - table.n_categorical
    b, c = base[:rows], cur[:rows]
    b_parts, c_parts = [b[:, :first_cat]], [c[:, :first_cat]]
    for j in range(first_cat, base.shape[1]):
        values, counts = np.unique(base[:, j], return_counts=True)
        top = [str(v) for v in values[np.argsort(-counts, kind="stable")]][:MULTIVARIATE_CATEGORIES]
        b_parts.append(one_hot(b[:, j].astype(str).astype(object), top))
        c_parts.append(one_hot(c[:, j].astype(str).astype(object), top))
    return np.hstack(b_parts), np.hstack(c_parts)


def evaluate(
    table: Table, base: F64, cur: F64, seed: int, with_mmd: bool, cost: dict[str, float]
) -> dict[str, bool]:
    d = base.shape[1]
    first_cat = d - table.n_categorical
    t0 = time.perf_counter()
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
    t1 = time.perf_counter()
    hot = hotelling_rank_test(*joint_columns(table, base, cur, MULTIVARIATE_ROWS), seed=seed)
    t2 = time.perf_counter()
    former = hotelling_rank_test(*joint_columns(table, base, cur, FORMER_ROWS), permutations=0)
    cost["univariate"] += t1 - t0
    cost["hotelling permutation"] += t2 - t1
    cost["former hotelling"] += time.perf_counter() - t2
    p = np.array(per_feature_p, dtype=float)
    alarms = {
        "driftwarden": decide(
            evidence, ALPHA, multivariate_p=None if hot is None else hot.p_value
        ).drift_detected,
        "former": decide(
            evidence,
            ALPHA,
            multivariate_p=None if former is None else former.p_value,
            rule="cauchy",
        ).drift_detected,
        "bh": bool(np.any(benjamini_hochberg(p) < ALPHA)),
    }
    if with_mmd:
        t3 = time.perf_counter()
        mmd = mmd_permutation_test(*joint_columns(table, base, cur, len(base)), seed=seed)
        cost["mmd"] += time.perf_counter() - t3
        joint = [q.p_value for q in (hot, mmd) if q is not None]
        # Hotelling and MMD share the joint family's alpha / 2 (Bonferroni inside it).
        alarms["+mmd"] = decide(
            evidence, ALPHA, multivariate_p=min(1.0, len(joint) * min(joint)) if joint else None
        ).drift_detected
    return alarms


def fmt(hits: list[int]) -> str:
    k, n = sum(hits), len(hits)
    if n == 0:
        return "-"
    low, high = wilson(k, n)
    return f"{k / n:.3f} [{low:.3f},{high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--null-pairs", type=int, default=40, help="no-drift pairs per stratum")
    parser.add_argument("--drift-pairs", type=int, default=8, help="per stratum and band")
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--tables", default="", help="comma-separated names (default: all)")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--mmd", action="store_true", help="also the +mmd rule (slower)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    candidates = [
        real_table("diabetes-10"),
        census_table(),
        factor_table("factor-25", 20, 5, args.seed),
        real_table("breast-cancer-30"),
        factor_table("factor-50", 50, 0, args.seed + 1),
        real_table("digits-50"),
    ]
    tables = [t for t in candidates if t is not None]
    if args.tables:
        wanted = args.tables.split(",")
        tables = [t for t in tables if t.name in wanted]
    rules = ["driftwarden", "former", "bh"] + (["+mmd"] if args.mmd else [])
    print(
        f"alpha {ALPHA}; {args.null_pairs} no-drift pairs per stratum, {args.drift_pairs} per "
        f"stratum and drift band; {len(tables)} tables x sizes {sizes}; Hotelling permutation "
        f"test on {MULTIVARIATE_ROWS} rows per window"
        + (f"; MMD on {MMD_ROWS}" if args.mmd else "")
    )
    head = f"{'table':17s} {'rows':>6s} {'band':8s} " + " ".join(f"{r:>21s}" for r in rules)
    print(head)
    print("-" * len(head))
    pooled: dict[tuple[str, str], list[int]] = {}
    by_width: dict[tuple[str, str, str], list[int]] = {}
    worst_null: dict[str, tuple[float, str]] = {}
    cost = {"univariate": 0.0, "hotelling permutation": 0.0, "former hotelling": 0.0, "mmd": 0.0}
    calls = 0
    started = time.perf_counter()
    for t_index, table in enumerate(tables):
        width = "10-17 columns" if table.name.split("-")[-1] in ("10", "17") else "25-50 columns"
        for n in sizes:
            for band in ("no drift", *BANDS):
                rng = np.random.default_rng([args.seed, t_index, n, len(band)])
                reps = args.null_pairs if band == "no drift" else args.drift_pairs
                if reps == 0:
                    continue
                hits: dict[str, list[int]] = {r: [] for r in rules}
                for rep in range(reps):
                    base = table.draw(rng, n)
                    cur = table.draw(rng, n)
                    if band != "no drift":
                        cur = contaminate(rng, cur, BANDS[band])
                    alarms = evaluate(table, base, cur, rep, args.mmd, cost)
                    calls += 1
                    for rule, alarm in alarms.items():
                        hits[rule].append(int(alarm))
                        pooled.setdefault((band, rule), []).append(int(alarm))
                        by_width.setdefault((band, rule, width), []).append(int(alarm))
                        by_width.setdefault((band, rule, f"{n} rows"), []).append(int(alarm))
                if band == "no drift":
                    for rule in rules:
                        rate = sum(hits[rule]) / reps
                        if rate >= worst_null.get(rule, (-1.0, ""))[0]:
                            worst_null[rule] = (rate, f"{table.name} at {n} rows")
                print(
                    f"{table.name:17s} {n:6d} {band:8s} "
                    + " ".join(f"{fmt(hits[r]):>21s}" for r in rules)
                    + f"  n={reps}",
                    flush=True,
                )
    print()
    print("pooled over strata (rate [Wilson 95%]):")
    for band in ("no drift", *BANDS):
        cells = "; ".join(f"{r} {fmt(pooled.get((band, r), []))}" for r in rules)
        print(f"  {band:8s} n={len(pooled.get((band, rules[0]), [])):4d}: {cells}")
    drift = {r: [hit for b in BANDS for hit in pooled.get((b, r), [])] for r in rules}
    cells = "; ".join(f"{r} {fmt(drift[r])}" for r in rules)
    print(f"  all drift n={len(drift[rules[0]])}: {cells}")
    print("by feature count and by window size:")
    groups = sorted({g for (_, _, g) in by_width})
    for group in groups:
        for band in ("no drift", "weak"):
            cells = "; ".join(f"{r} {fmt(by_width.get((band, r, group), []))}" for r in rules)
            n_pairs = len(by_width.get((band, rules[0], group), []))
            print(f"  {group:14s} {band:8s} n={n_pairs:4d}: {cells}")
    for rule in rules:
        rate, where = worst_null[rule]
        print(f"  worst stratum false-alarm rate, {rule}: {rate:.3f} ({where})")
    per_pair = {k: v / calls for k, v in cost.items()}
    print(
        f"cost per pair: univariate tests {per_pair['univariate']:.3f} s; Hotelling "
        f"permutation test {per_pair['hotelling permutation']:.3f} s, former F-reference "
        f"Hotelling {per_pair['former hotelling']:.3f} s (ratio "
        f"{per_pair['hotelling permutation'] / per_pair['former hotelling']:.2f})"
        + (f", MMD {per_pair['mmd']:.3f} s" if args.mmd else "")
        + f"; {calls} pairs; elapsed {time.perf_counter() - started:.0f} s"
    )
    rng = np.random.default_rng(args.seed)
    big_b, big_c = rng.normal(size=(1_000_000, 50)), rng.normal(size=(1_000_000, 50))
    t0 = time.perf_counter()
    hotelling_rank_test(big_b[:MULTIVARIATE_ROWS], big_c[:MULTIVARIATE_ROWS])
    permuted = time.perf_counter() - t0
    t0 = time.perf_counter()
    hotelling_rank_test(big_b[:FORMER_ROWS], big_c[:FORMER_ROWS], permutations=0)
    reference = time.perf_counter() - t0
    print(
        f"joint test on two 1,000,000 x 50 windows: permutation on {MULTIVARIATE_ROWS} rows "
        f"{permuted:.3f} s; former F reference on {FORMER_ROWS} rows {reference:.3f} s "
        f"(ratio {permuted / reference:.2f})"
    )


if __name__ == "__main__":
    main()
