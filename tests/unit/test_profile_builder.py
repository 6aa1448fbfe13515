"""`WindowProfiler` (what `engine.profile_frames` uses) gives the profile that folding
`window_profile` of every chunk with `merge_windows` gives, value for value: the same
sorted values and weights, scalars, category counts in the same order, and the same row
sample with the same dtypes, from pandas frames and from Arrow chunks alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from driftwarden.detectors.profile import (
    ArrowChunk,
    CategoricalProfile,
    NumericProfile,
    WindowProfile,
    WindowProfiler,
    merge_windows,
    window_profile,
)

KINDS = {
    "f": "numeric",
    "i": "numeric",
    "u": "numeric",
    "b": "numeric",
    "t": "numeric",
    "s": "categorical",
    "code": "categorical",
    "d": "categorical",
}


def _table(rng: np.random.Generator, rows: int, nulls: bool) -> pa.Table:
    mask = rng.random(rows) < 0.2 if nulls else np.zeros(rows, dtype=bool)
    floats = np.round(rng.normal(0, 3, rows), 1)  # ties across chunks
    floats[rng.random(rows) < 0.05] = np.nan  # NaN, not null
    words = np.array(["north", "south", "east", "west", "centre"])[rng.integers(0, 5, rows)]
    return pa.table(
        {
            "f": pa.array(floats, mask=mask),
            "i": pa.array(rng.integers(-50, 50, rows), mask=mask),
            "u": pa.array(rng.integers(0, 2**62, rows).astype(np.uint64)),
            "b": pa.array(rng.random(rows) < 0.3, mask=mask),
            "t": pa.array(rng.integers(0, 10**15, rows), pa.timestamp("us", tz="UTC"), mask=mask),
            "s": pa.array(words, mask=mask),
            "code": pa.array(rng.integers(0, 7, rows), mask=mask),
            "d": pa.array(words, mask=mask).dictionary_encode(),
        }
    )


def _folded(frames: Sequence[pd.DataFrame], **options: object) -> WindowProfile:
    profile: WindowProfile | None = None
    for index, frame in enumerate(frames):
        chunk = window_profile(
            frame,
            KINDS,
            row_sample_columns=list(KINDS),
            row_sample_size=options["row_sample_size"],  # type: ignore[arg-type]
            max_points=options["max_points"],  # type: ignore[arg-type]
            seed=3 + index,
        )
        size: int = options["row_sample_size"]  # type: ignore[assignment]
        profile = chunk if profile is None else merge_windows(profile, chunk, size)
    assert profile is not None
    return profile


def _same(ours: WindowProfile, theirs: WindowProfile) -> None:
    assert ours.rows == theirs.rows
    assert list(ours.columns) == list(theirs.columns)
    for name, column in theirs.columns.items():
        mine = ours.columns[name]
        if isinstance(column, NumericProfile):
            assert isinstance(mine, NumericProfile)
            assert np.array_equal(mine.values, column.values), name
            assert (mine.weights is None) == (column.weights is None), name
            if column.weights is not None:
                assert np.array_equal(mine.weights, column.weights), name  # type: ignore[arg-type]
            for field in ("count", "missing", "type_errors"):
                assert getattr(mine, field) == getattr(column, field), (name, field)
            for field in ("minimum", "maximum", "total", "total_squares"):
                np.testing.assert_equal(getattr(mine, field), getattr(column, field))
        else:
            assert isinstance(column, CategoricalProfile)
            assert isinstance(mine, CategoricalProfile)
            assert list(mine.counts.items()) == list(column.counts.items()), name
            assert mine.missing == column.missing, name
    assert np.array_equal(ours.row_sample_keys, theirs.row_sample_keys)
    pd.testing.assert_frame_equal(ours.row_sample, theirs.row_sample, check_exact=True)


@pytest.mark.parametrize(
    ("sizes", "row_sample_size", "max_points"),
    [
        ([400], 50, 10_000),  # one chunk
        ([120, 30, 300, 7, 250, 90], 50, 10_000),  # exact: runs merged at the end
        ([120, 30, 300, 7, 250, 90], 50, 500),  # exact, then compressed from the 4th chunk
        ([20, 10, 200, 15, 40], 60, 10_000),  # chunks smaller than the sample
        ([900, 300], 1000, 400),  # a chunk compressed on its own
        ([0, 50, 0, 80], 30, 10_000),  # empty chunks
    ],
)
@pytest.mark.parametrize("arrow", [False, True])
def test_builder_matches_the_fold(
    sizes: list[int], row_sample_size: int, max_points: int, arrow: bool
) -> None:
    rng = np.random.default_rng(sum(sizes))
    tables = [_table(rng, n, nulls=index % 2 == 1) for index, n in enumerate(sizes)]
    frames = [table.to_pandas() for table in tables]
    options: dict[str, object] = {"row_sample_size": row_sample_size, "max_points": max_points}
    builder = WindowProfiler(
        KINDS,
        row_sample_columns=list(KINDS),
        row_sample_size=row_sample_size,
        max_points=max_points,
        seed=3,
    )
    for table, frame in zip(tables, frames, strict=True):
        builder.add(ArrowChunk.of(table) if arrow else frame)
    _same(builder.profile(), _folded(frames, **options))


def test_builder_mixes_frames_and_arrow_chunks() -> None:
    """A Job masks late labels in pandas: such chunks arrive as frames among Arrow ones."""
    rng = np.random.default_rng(7)
    tables = [_table(rng, n, nulls=True) for n in (200, 150, 220, 90)]
    frames = [table.to_pandas() for table in tables]
    builder = WindowProfiler(KINDS, row_sample_columns=list(KINDS), row_sample_size=80, seed=3)
    for index, (table, frame) in enumerate(zip(tables, frames, strict=True)):
        builder.add(frame if index % 2 else ArrowChunk.of(table))
    _same(builder.profile(), _folded(frames, row_sample_size=80, max_points=1 << 20))


def test_builder_without_row_sample_columns() -> None:
    """Arrow converts a column-less table to no rows; the sample still has its rows."""
    rng = np.random.default_rng(11)
    tables = [_table(rng, n, nulls=False) for n in (40, 25)]
    frames = [table.to_pandas() for table in tables]
    builder = WindowProfiler({"f": "numeric"}, row_sample_size=30, seed=3)
    for table in tables:
        builder.add(ArrowChunk.of(table))
    folded = merge_windows(
        window_profile(frames[0], {"f": "numeric"}, row_sample_size=30, seed=3),
        window_profile(frames[1], {"f": "numeric"}, row_sample_size=30, seed=4),
        30,
    )
    ours = builder.profile()
    assert ours.row_sample.shape == folded.row_sample.shape == (30, 0)
    assert np.array_equal(ours.row_sample_keys, folded.row_sample_keys)


def test_a_profiles_digest_does_not_depend_on_the_cpu_count() -> None:
    """The same values give the same digest with 1 and 2 BLAS threads (np.dot gave
    different last bits from 100k values up, so a pinned baseline's check depended on the
    node it ran on)."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from driftwarden.detectors.profile import numeric_profile\n"
        "x = np.random.default_rng(3).normal(size=300_000) * 1e3\n"
        "print(repr(numeric_profile(x).total_squares))\n"
    )
    seen = set()
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        seen.add(done.stdout.strip())
    assert len(seen) == 1, seen
