"""Make the demo's sample data: an inference log of a credit-scoring model, two windows.

The current window has drifted on purpose: incomes fell, a new region appeared, and the
relation between debt ratio and default changed. Deterministic (fixed seed).

    python examples/make_sample_data.py examples/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def make_window(rows: int, *, drifted: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(41, 11, rows).clip(18, 90).round()
    income = rng.lognormal(10.6 if not drifted else 10.45, 0.45, rows)
    debt_ratio = rng.beta(2, 5, rows)
    tenure_months = rng.gamma(3.0, 14.0, rows).round()
    regions = ["north", "south", "east", "west"]
    region_p = [0.3, 0.3, 0.2, 0.2]
    if drifted:
        regions = [*regions, "islands"]
        region_p = [0.27, 0.27, 0.18, 0.18, 0.10]
    region = rng.choice(regions, rows, p=region_p)
    channel = rng.choice(["web", "branch", "partner"], rows, p=[0.6, 0.3, 0.1])
    slope = 3.0 if not drifted else 1.2  # concept drift: debt matters less than it did
    logit = -2.0 + slope * debt_ratio - 0.6 * (np.log(income) - 10.5) - 0.01 * (age - 40)
    p_default = 1 / (1 + np.exp(-logit))
    defaulted = (rng.random(rows) < p_default).astype(int)
    # The model was trained on the old relation, so its score follows the old slope.
    model_logit = -2.0 + 3.0 * debt_ratio - 0.6 * (np.log(income) - 10.5) - 0.01 * (age - 40)
    score = 1 / (1 + np.exp(-(model_logit + rng.normal(0, 0.3, rows))))
    latency_ms = rng.gamma(4.0, 6.0 if not drifted else 7.5, rows)
    is_error = (rng.random(rows) < (0.004 if not drifted else 0.012)).astype(int)
    start = pd.Timestamp("2026-10-01" if not drifted else "2026-11-15", tz="UTC")
    ts = start + pd.to_timedelta(
        np.sort(rng.uniform(0, 86400 * (30 if not drifted else 1), rows)), unit="s"
    )
    missing = rng.random(rows) < (0.01 if not drifted else 0.04)
    tenure = pd.Series(tenure_months)
    tenure[missing] = np.nan
    return pd.DataFrame(
        {
            "ts": ts,
            "age": age,
            "income": income.round(2),
            "debt_ratio": debt_ratio,
            "tenure_months": tenure,
            "region": region,
            "channel": channel,
            "score": score,
            "defaulted": defaulted,
            "latency_ms": latency_ms,
            "is_error": is_error,
        }
    )


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    make_window(60_000, drifted=False, seed=1).to_parquet(out / "baseline.parquet", index=False)
    make_window(20_000, drifted=True, seed=2).to_parquet(out / "current.parquet", index=False)
    make_window(20_000, drifted=False, seed=3).to_parquet(
        out / "current_nodrift.parquet", index=False
    )
    print(f"sample data written to {out}/")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/data")
