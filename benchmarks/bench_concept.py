"""Concept drift: false alarms without drift and under covariate-only shift, detection of a
changed feature–target relation, and time per call — the GCM verdict beside the former
rule (the importance comparison, now the explanation), in the same run.

Usage: python benchmarks/bench_concept.py [--pairs 8] [--old-pairs 2] [--seed N] [--sizes 1000,4000]
       [--families census,SEA] [--observed]

Families (each gives window pairs whose truth is known from how they were made):

- gauss-clf, gauss-reg: 8 standard-normal features, y from x0, x1, x2 (threshold of a
  noisy linear score, or the score itself); concept change: x3 enters with coefficient 0.6.
- river SEA (noise 0.1; threshold 8 -> 9), STAGGER (function 0 -> 1), Agrawal (function
  0 -> 1), Hyperplane (10 features, a new random hyperplane), the concept change through
  river's `ConceptDriftStream` (its transition, 1% of the baseline's rows, left out
  between the windows). Skipped when river is not
  installed (`pip install river`; a benchmark-only dependency).
- breast-cancer, digits (classification), diabetes (regression): scikit-learn's bundled
  tables, resampled with replacement to the window size with 5% jitter of each column's
  standard deviation; concept change by construction: breast-cancer flips 30% of the labels
  where its most label-correlated feature is above its 60% quantile, digits swaps half of
  the labels 3 and 8, diabetes adds 0.5 sd(y) times a standardised weak feature.
- census (classification) and car-price (regression): NannyML's tables, read out of the
  wheel the demo caches (`examples/demo/census.py`; skipped when it cannot be had):
  Massachusetts ACS employment 2015 (68,785 people, 16 answers) and NannyML's synthetic
  used-car prices (60,000 cars); rows drawn without replacement, no jitter (the answers are
  codes). Concept change by construction: census sets 30% of the employed aged 55 or more
  to not employed (earlier retirement at the same answers); car-price cuts diesel cars'
  price by 15% (a diesel ban at the same car). `--observed` adds the census's real pair
  (2015 against 2018, truth unknown), reported and not counted.

Conditions: "no drift" (current from the same population), "covariate" (current rows
selected with probability 1 / (1 + exp(-1.5 z)), z the standardised most label-correlated
feature: P(X) moves, P(y | X) is untouched because labels stay attached to their rows),
"concept" (X's distribution unchanged, P(y | X) changed). The baseline window has
5 x `size` rows, the current `size` (a month against a few days, as monitors run). Rates
are shares of pairs with p <= 0.05, with Wilson 95% intervals, per family and window size
and pooled.
The former rule is run on the first `--old-pairs` pairs of every cell (it costs about
twice the new test).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn import datasets

from driftwarden.detectors.stats.concept import ConceptTask, concept_drift

F64 = npt.NDArray[np.float64]
Pair = tuple[F64, F64, F64, F64]
CONDITIONS = ("no drift", "covariate", "concept")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def tilt(rng: np.random.Generator, x: F64, y: F64, n: int) -> tuple[F64, F64]:
    """n rows of (x, y) chosen with probability rising with the most label-correlated
    feature: covariate shift with P(y | x) untouched."""
    corr = [abs(np.corrcoef(x[:, j], y)[0, 1]) if np.std(x[:, j]) > 0 else 0.0
            for j in range(x.shape[1])]  # fmt: skip
    j = int(np.nanargmax(corr))
    z = (x[:, j] - x[:, j].mean()) / x[:, j].std()
    w = 1.0 / (1.0 + np.exp(-1.5 * z))
    rows = rng.choice(x.shape[0], size=n, replace=x.shape[0] < 2 * n, p=w / w.sum())
    return x[rows], y[rows]


# ----------------------------------------------------------------------------- generators


BASELINE_FACTOR = 5


def gauss(regression: bool) -> Callable[[np.random.Generator, int, str], Pair]:
    def window(rng: np.random.Generator, n: int, extra: float) -> tuple[F64, F64]:
        x = rng.normal(size=(n, 8))
        noisy = 1.2 * x[:, 0] + 0.8 * x[:, 1] - 0.5 * x[:, 2] + extra * x[:, 3]
        noisy = noisy + rng.normal(size=n)
        return x, (noisy if regression else (noisy > 0).astype(np.float64))

    def make(rng: np.random.Generator, n: int, condition: str) -> Pair:
        xb, yb = window(rng, BASELINE_FACTOR * n, 0.0)
        if condition == "concept":
            xc, yc = window(rng, n, 0.6)
        elif condition == "covariate":
            xc, yc = tilt(rng, *window(rng, 4 * n, 0.0), n)
        else:
            xc, yc = window(rng, n, 0.0)
        return xb, yb, xc, yc

    return make


def river_family(name: str) -> Callable[[np.random.Generator, int, str], Pair] | None:
    try:
        from river.datasets import synth
    except ImportError:
        return None

    def stream(seed: int, after: bool) -> Any:
        if name == "SEA":
            return synth.SEA(variant=1 if after else 0, noise=0.1, seed=seed)
        if name == "STAGGER":
            return synth.STAGGER(classification_function=1 if after else 0, seed=seed)
        if name == "Agrawal":
            return synth.Agrawal(classification_function=1 if after else 0, seed=seed)
        return synth.Hyperplane(seed=seed + (1000 if after else 0), n_features=10)

    def rows(source: Any, count: int) -> tuple[F64, F64]:
        xs, ys = [], []
        for x, y in source.take(count):
            xs.append([float(v) for v in x.values()])
            ys.append(float(y))
        return np.asarray(xs), np.asarray(ys)

    def make(rng: np.random.Generator, n: int, condition: str) -> Pair:
        seed = int(rng.integers(1 << 30))
        nb = BASELINE_FACTOR * n
        # A sharp drift (width 1) overflows river's logistic far from the drift point
        # (exp of 4 rows / width); the transition rows are left out between the windows.
        width = max(50, nb // 100)
        if condition == "concept":
            drifting = synth.ConceptDriftStream(
                stream=stream(seed, False), drift_stream=stream(seed + 1, True),
                position=nb + width, width=width, seed=seed + 2,
            )  # fmt: skip
            x, y = rows(drifting, nb + n + 2 * width)
            return x[:nb], y[:nb], x[nb + 2 * width :], y[nb + 2 * width :]
        if condition == "covariate":
            x, y = rows(stream(seed, False), nb + 4 * n)
            return (x[:nb], y[:nb], *tilt(rng, x[nb:], y[nb:], n))
        x, y = rows(stream(seed, False), nb + n)
        return x[:nb], y[:nb], x[nb:], y[nb:]

    return make


def table_family(name: str) -> Callable[[np.random.Generator, int, str], Pair]:
    bunch = {
        "breast-cancer": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
    }[name]()
    data = np.asarray(bunch.data, dtype=np.float64)
    target = np.asarray(bunch.target, dtype=np.float64)
    sd = data.std(axis=0)
    corr = np.array(
        [abs(np.corrcoef(data[:, j], target)[0, 1]) if sd[j] > 0 else 0.0
         for j in range(data.shape[1])]
    )  # fmt: skip
    strong, weak = int(np.argmax(corr)), int(np.argmin(np.where(sd > 0, corr, np.inf)))

    def sample(rng: np.random.Generator, n: int) -> tuple[F64, F64]:
        rows = rng.integers(data.shape[0], size=n)
        return data[rows] + rng.normal(size=(n, data.shape[1])) * 0.05 * sd, target[rows].copy()

    def relabel(rng: np.random.Generator, x: F64, y: F64) -> F64:
        if name == "breast-cancer":
            region = x[:, strong] > np.quantile(data[:, strong], 0.6)
            flip = region & (rng.random(y.shape[0]) < 0.3)
            return np.where(flip, 1.0 - y, y)
        if name == "digits":
            swap = rng.random(y.shape[0]) < 0.5
            return np.where(swap & (y == 3), 8.0, np.where(swap & (y == 8), 3.0, y))
        z = (x[:, weak] - data[:, weak].mean()) / sd[weak]
        return y + 0.5 * target.std() * z

    def make(rng: np.random.Generator, n: int, condition: str) -> Pair:
        xb, yb = sample(rng, BASELINE_FACTOR * n)
        if condition == "covariate":
            xc, yc = tilt(rng, *sample(rng, 4 * n), n)
        else:
            xc, yc = sample(rng, n)
            if condition == "concept":
                yc = relabel(rng, xc, yc)
        return xb, yb, xc, yc

    return make


def _nannyml_wheel() -> zipfile.ZipFile | None:
    """The NannyML wheel the demo caches (downloaded once, SHA-256 checked), or None."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples", "demo"))
    try:
        import census  # examples/demo/census.py

        return zipfile.ZipFile(census.fetch_wheel())
    except (ImportError, RuntimeError, OSError):
        return None
    finally:
        sys.path.pop(0)


def nannyml_family(
    wheel: zipfile.ZipFile, name: str
) -> Callable[[np.random.Generator, int, str], Pair]:
    folder = "nannyml/datasets/data/"
    if name == "census":
        frame = pd.read_parquet(io.BytesIO(wheel.read(folder + "employment_MA_reference.pq")))
        columns = [c for c in frame.columns if c not in
                   ("id", "employed", "year", "prediction", "predicted_probability")]  # fmt: skip
        data = frame[columns].astype(np.float64).to_numpy()
        target = frame["employed"].to_numpy(np.float64)
        age = columns.index("AGEP")
    else:
        frame = pd.read_csv(io.BytesIO(wheel.read(folder + "regression_synthetic_reference.csv")))
        frame["fuel"] = frame["fuel"].map({"gas": 0.0, "diesel": 1.0, "electric": 2.0})
        frame["transmission"] = (frame["transmission"] == "automatic").astype(np.float64)
        columns = ["car_age", "km_driven", "price_new", "accident_count", "door_count",
                   "fuel", "transmission"]  # fmt: skip
        data = frame[columns].astype(np.float64).to_numpy()
        target = frame["y_true"].to_numpy(np.float64)
        fuel = columns.index("fuel")

    def relabel(rng: np.random.Generator, x: F64, y: F64) -> F64:
        if name == "census":
            retire = (x[:, age] >= 55) & (y == 1) & (rng.random(y.shape[0]) < 0.3)
            return np.where(retire, 0.0, y)
        return np.where(x[:, fuel] == 1.0, 0.85 * y, y)

    def make(rng: np.random.Generator, n: int, condition: str) -> Pair:
        nb = BASELINE_FACTOR * n
        pool = nb + (4 * n if condition == "covariate" else n)
        rows = rng.choice(data.shape[0], size=pool, replace=pool > data.shape[0])
        x, y = data[rows], target[rows]
        xb, yb, xc, yc = x[:nb], y[:nb], x[nb:], y[nb:]
        if condition == "covariate":
            xc, yc = tilt(rng, xc, yc, n)
        elif condition == "concept":
            yc = relabel(rng, xc, yc)
        return xb, yb, xc, yc

    return make


def observed_census(wheel: zipfile.ZipFile, n: int, seed: int) -> Pair:
    """The census's real pair: 2015 (NannyML's reference) against 2018, truth unknown."""
    folder = "nannyml/datasets/data/"
    base = pd.read_parquet(io.BytesIO(wheel.read(folder + "employment_MA_reference.pq")))
    rest = pd.read_parquet(io.BytesIO(wheel.read(folder + "employment_MA_analysis.pq")))
    labels = pd.read_parquet(io.BytesIO(wheel.read(folder + "employment_MA_analysis_target.pq")))
    rest = rest.merge(labels, on="id")
    rest = rest[rest["year"] == 2018]
    columns = [c for c in base.columns if c not in
               ("id", "employed", "year", "prediction", "predicted_probability")]  # fmt: skip
    rng = np.random.default_rng(seed)
    b = base.iloc[rng.choice(len(base), size=min(len(base), BASELINE_FACTOR * n), replace=False)]
    c = rest.iloc[rng.choice(len(rest), size=min(len(rest), n), replace=False)]
    xb, xc = b[columns].astype(np.float64).to_numpy(), c[columns].astype(np.float64).to_numpy()
    return xb, b["employed"].to_numpy(np.float64), xc, c["employed"].to_numpy(np.float64)


@dataclass(frozen=True)
class Family:
    name: str
    task: ConceptTask
    make: Callable[[np.random.Generator, int, str], Pair]


def families(wheel: zipfile.ZipFile | None) -> tuple[list[Family], list[str]]:
    out = [
        Family("gauss-clf", "classification", gauss(False)),
        Family("gauss-reg", "regression", gauss(True)),
    ]
    skipped = []
    for name in ("SEA", "STAGGER", "Agrawal", "Hyperplane"):
        make = river_family(name)
        if make is None:
            skipped.append(name)
        else:
            out.append(Family(name, "classification", make))
    out += [
        Family("breast-cancer", "classification", table_family("breast-cancer")),
        Family("digits", "classification", table_family("digits")),
        Family("diabetes", "regression", table_family("diabetes")),
    ]
    if wheel is None:
        skipped += ["census", "car-price"]
    else:
        out += [
            Family("census", "classification", nannyml_family(wheel, "census")),
            Family("car-price", "regression", nannyml_family(wheel, "car-price")),
        ]
    return out, skipped


def rate(hits: list[int]) -> str:
    """'k/n rate [Wilson 95%]'."""
    if not hits:
        return "-"
    low, high = wilson(sum(hits), len(hits))
    return f"{sum(hits)}/{len(hits)} {sum(hits) / len(hits):.3f} [{low:.3f}, {high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8, help="pairs per family, condition, size")
    parser.add_argument("--old-pairs", type=int, default=2, help="of which the former rule runs on")
    parser.add_argument("--sizes", default="1000,4000")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--families", default="", help="comma-separated names (default: all)")
    parser.add_argument("--observed", action="store_true", help="also census 2015 vs 2018")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    wheel = _nannyml_wheel()
    fams, skipped = families(wheel)
    if args.families:
        wanted = set(args.families.split(","))
        fams = [f for f in fams if f.name in wanted]
    if skipped:
        print(f"skipped (river or the NannyML wheel not available): {', '.join(skipped)}")
    print(
        f"{len(fams)} families x {len(CONDITIONS)} conditions x sizes {sizes}; {args.pairs} "
        f"pairs per cell for the GCM verdict, the former rule on the first {args.old_pairs}; "
        f"seed {args.seed}"
    )
    print(f"{'family':14s} {'condition':10s} {'rows':>5s}  {'gcm':32s} former (importances)")
    new: dict[tuple[str, int], list[int]] = {}
    old: dict[tuple[str, int], list[int]] = {}
    seconds = {"gcm": [0.0, 0], "gcm+explanation": [0.0, 0]}
    started = time.perf_counter()
    for index, fam in enumerate(fams):
        for condition in CONDITIONS:
            for n in sizes:
                rng = np.random.default_rng([args.seed, n, CONDITIONS.index(condition), index])
                cell_new: list[int] = []
                cell_old: list[int] = []
                for i in range(args.pairs):
                    xb, yb, xc, yc = fam.make(rng, n, condition)
                    explain = i < args.old_pairs
                    t0 = time.perf_counter()
                    r = concept_drift(xb, yb, xc, yc, task=fam.task, seed=i, explain=explain)
                    key = "gcm+explanation" if explain else "gcm"
                    seconds[key][0] += time.perf_counter() - t0
                    seconds[key][1] += 1
                    cell_new.append(int(r.drift_detected))
                    if explain:
                        alarm = r.importance_p_value is not None and r.importance_p_value <= 0.05
                        cell_old.append(int(alarm))
                new.setdefault((condition, n), []).extend(cell_new)
                old.setdefault((condition, n), []).extend(cell_old)
                print(
                    f"{fam.name:14s} {condition:10s} {n:5d}  {rate(cell_new):32s} {rate(cell_old)}",
                    flush=True,
                )
    print()
    print("pooled over families (alarms/pairs rate [Wilson 95%]):")
    for condition in CONDITIONS:
        for n in sizes:
            what = "false alarms" if condition != "concept" else "detection"
            print(
                f"  {condition:10s} {n:5d} {what:12s}: gcm {rate(new.get((condition, n), []))}"
                f"; former {rate(old.get((condition, n), []))}"
            )
    for key, (total, count) in seconds.items():
        if count:
            print(f"wall seconds per call, {key}: {total / count:.2f} (n={count})")
    if args.observed and wheel is not None:
        print()
        print("census 2015 -> 2018 (real, truth unknown; not counted):")
        for n in sizes:
            r = concept_drift(*observed_census(wheel, n, args.seed), seed=0, explain=False)
            auc = float("nan") if r.domain_auc is None else r.domain_auc
            print(f"  {n:5d} rows: p={r.p_value:.3g} excess={r.excess} domain AUC={auc:.3f}")
    print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
