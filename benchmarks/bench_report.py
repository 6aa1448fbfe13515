"""The HTML report's size and render time for 25 and 2,000 features.

Usage: python benchmarks/bench_report.py [--rows 5000] [--features 25,2000] [--repeat 3]

For each width: two windows of `--rows` rows (four numeric features in five, the rest
categorical with 8 values; the current window shifted on a tenth of the features), profiled
and compared by the engine once; then the page is rendered `--repeat` times. Printed per
width: the page's size, its median render time, the number of plots drawn, and — as the
named baseline of the same run — the JSON report's size and serialisation time, with the
ratios page / JSON. The comparison itself is timed too, for scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import compare, profile_frames, resolve_features
from driftwarden.detectors.htmlreport.render import detect_page


def window(rng: np.random.Generator, rows: int, features: int, shifted: bool) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for i in range(features):
        shift = 0.5 if shifted and i % 10 == 0 else 0.0
        if i % 5 == 4:
            values = [f"v{k}" for k in range(8)] + (["new"] if shift else [])
            columns[f"c{i:04d}"] = rng.choice(values, rows)
        else:
            columns[f"n{i:04d}"] = rng.normal(shift, 1, rows)
    return pd.DataFrame(columns)


def measure(features: int, rows: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(features)
    base, cur = window(rng, rows, features, False), window(rng, rows, features, True)
    spec = DetectionSpec.model_validate(
        {"features": [
            {"name": c, "type": "categorical" if c.startswith("c") else "numeric"}
            for c in base.columns
        ]}
    )  # fmt: skip
    resolved = resolve_features(spec, base)
    start = time.perf_counter()
    bp = profile_frames([base], spec, resolved)
    cp = profile_frames([cur], spec, resolved, seed=10_000)
    report = compare(spec, resolved, bp, cp)
    compare_s = time.perf_counter() - start
    page_times, json_times = [], []
    page = text = ""
    for _ in range(repeat):
        t = time.perf_counter()
        page = detect_page(report, spec, bp, cp)
        page_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        text = json.dumps(report.to_dict(), indent=2, allow_nan=False)
        json_times.append(time.perf_counter() - t)
    return {
        "features": features,
        "compare_s": compare_s,
        "page_bytes": len(page.encode()),
        "page_s": statistics.median(page_times),
        "plots": page.count("<svg"),
        "json_bytes": len(text.encode()),
        "json_s": statistics.median(json_times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--features", default="25,2000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"rows per window {args.rows}; median of {args.repeat} renders; baseline: the JSON report"
    )
    header = ("features", "plots", "page size", "page render", "JSON size", "JSON dump",
              "size ratio", "time ratio", "compare")  # fmt: skip
    print("  ".join(f"{h:>12}" for h in header))
    for width in (int(w) for w in args.features.split(",")):
        r = measure(width, args.rows, args.repeat)
        cells = (
            f"{r['features']:.0f}",
            f"{r['plots']:.0f}",
            f"{r['page_bytes'] / 1e6:.2f} MB",
            f"{r['page_s']:.2f} s",
            f"{r['json_bytes'] / 1e6:.2f} MB",
            f"{r['json_s'] * 1e3:.1f} ms",
            f"{r['page_bytes'] / r['json_bytes']:.1f}x",
            f"{r['page_s'] / r['json_s']:.0f}x",
            f"{r['compare_s']:.2f} s",
        )
        print("  ".join(f"{c:>12}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
