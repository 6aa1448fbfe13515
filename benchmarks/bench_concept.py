"""Concept drift at the default settings: false alarms on same-population pairs, detection of
a changed feature–target relation, and time per call.

Usage: python benchmarks/bench_concept.py [--pairs 100] [--baseline 20000] [--current 2000]

Simulation: 8 standard-normal features; y depends on x0, x1, x2 (logistic-like threshold
for classification, linear plus noise for regression). "No drift": current from the same
population. "Weak": x3 enters the relation with coefficient 0.6 (X unchanged). "Strong":
x3 replaces x0. Figures printed are counts of alarms (p <= 0.05) over the pairs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats.concept import ConceptTask, concept_drift


def window(
    rng: np.random.Generator, n: int, *, lead: int = 0, extra: float = 0.0, regression: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = rng.normal(size=(n, 8))
    signal = 1.2 * x[:, lead] + 0.8 * x[:, 1] - 0.5 * x[:, 2] + extra * x[:, 3]
    noisy = signal + rng.normal(size=n)
    return x, (noisy if regression else (noisy > 0).astype(np.float64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--baseline", type=int, default=20_000)
    parser.add_argument("--current", type=int, default=2_000)
    args = parser.parse_args()
    for task in ("classification", "regression"):
        t: ConceptTask = "regression" if task == "regression" else "classification"
        reg = t == "regression"
        counts = {"no drift": 0, "weak": 0, "strong": 0}
        seconds = 0.0
        for seed in range(args.pairs):
            rng = np.random.default_rng(10_000 + seed)
            xb, yb = window(rng, args.baseline, regression=reg)
            currents = {
                "no drift": window(rng, args.current, regression=reg),
                "weak": window(rng, args.current, extra=0.6, regression=reg),
                "strong": window(rng, args.current, lead=3, regression=reg),
            }
            for name, (xc, yc) in currents.items():
                start = time.process_time()
                result = concept_drift(xb, yb, xc, yc, task=t, seed=seed)
                seconds += time.process_time() - start
                counts[name] += result.drift_detected
        per_call = seconds / (3 * args.pairs)
        print(
            f"{task:15s} alarms over {args.pairs} pairs: "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + f"; CPU seconds per call {per_call:.2f}"
        )


if __name__ == "__main__":
    main()
