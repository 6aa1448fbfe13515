"""`driftwarden detect`'s fast path: Parquet chunks go into the profiles as Arrow
(`cli.profile_chunks`, `tables.iter_arrow_chunks`), and the profiles and the report are
the ones the pandas frames of `tables.iter_chunks` give, byte for byte and key for key.

The files hold every type the reader converts (integers with and without nulls, floats
with NaN, booleans, timestamps with a zone, dictionary-encoded and large strings, integer
codes read as categories, decimals), several row groups and chunk sizes that do and do not
divide the windows, so the row sample's merge and the categories' first-seen order are
exercised too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwarden.detectors.cli import (
    _column_types,
    _needed_columns,
    _read_head,
    _resolve,
    build_parser,
    build_spec,
    profile_chunks,
)
from driftwarden.detectors.engine import compare, profile_frames
from driftwarden.detectors.profile import ArrowChunk, dumps
from driftwarden.detectors.tables import iter_chunks


def _write(path: Path, rows: int, seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    levels = np.array(["north", "south", "east", "west", "x"])
    with_nulls = rng.integers(0, 50, rows).astype(np.float64)
    with_nulls[rng.random(rows) < 0.05] = np.nan
    floats = rng.normal(shift, 1.0, rows)
    floats[rng.random(rows) < 0.02] = np.nan
    region = levels[rng.choice(5, rows, p=[0.4, 0.3, 0.2, 0.09, 0.01])].astype(object)
    region[rng.random(rows) < 0.03] = None
    table = pa.table(
        {
            "count": pa.array(rng.integers(0, 1000, rows), type=pa.int32()),
            "visits": pa.array(with_nulls, from_pandas=True).cast(pa.int64()),
            "score": pa.array(floats, from_pandas=True),
            "rounded": pa.array(np.round(rng.normal(shift, 1.0, rows) * 10)),
            "flag": pa.array(rng.random(rows) < 0.3 + shift),
            "seen": pa.array(
                (1_700_000_000 + rng.integers(0, 86_400 * 30, rows)) * 1_000_000,
                type=pa.timestamp("us", tz="Europe/Berlin"),
            ),
            "region": pa.array(region, type=pa.string()).dictionary_encode(),
            "city": pa.array(region, type=pa.large_string()),
            "code": pa.array(rng.integers(0, 7, rows), type=pa.int16()),
            "amount": pa.array(
                [Decimal(int(v)) / 100 for v in rng.integers(0, 100_000, rows)],
                type=pa.decimal128(12, 2),
            ),
        }
    )
    pq.write_table(table, path, row_group_size=max(rows // 3, 1))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("fast")
    baseline, current = folder / "baseline.parquet", folder / "current.parquet"
    _write(baseline, 7_000, 1, 0.0)
    _write(current, 5_500, 2, 0.1)
    return baseline, current


@pytest.mark.parametrize("chunk_rows", [1_000_000, 2_500, 999])
def test_arrow_chunks_give_the_frames_profiles_and_report(
    files: tuple[Path, Path], chunk_rows: int
) -> None:
    baseline, current = files
    args = build_parser().parse_args(
        [
            "detect",
            "--baseline",
            str(baseline),
            "--current",
            str(current),
            "--categorical",
            "code",
        ]
    )
    spec = build_spec(args)
    head = _read_head(baseline)
    features = _resolve(spec, head, baseline, args).features
    assert {f.name for f in features} >= {"count", "visits", "score", "region", "code"}
    columns = _needed_columns(spec, features)
    types = _column_types(spec, features, head)

    def profiles(fast: bool) -> list[bytes]:
        out = []
        for seed, path in enumerate((baseline, current)):
            read = profile_chunks if fast else iter_chunks
            chunks = list(read(path, columns, chunk_rows=chunk_rows, types=types))
            assert all(isinstance(c, ArrowChunk) for c in chunks) == fast
            if fast:  # the columns that skip the frame; the others take it
                # text is read dictionary-encoded, so "region" (written as a dictionary)
                # and "city" (large strings) both take the fast path
                plain = {"count", "visits", "score", "rounded", "region", "city"}
                assert all(isinstance(c, ArrowChunk) and c.plain == plain for c in chunks)
            profile = profile_frames(chunks, spec, features, seed=seed * 10_000, workers=2)
            out.append(profile)
        return out

    fast, frames = profiles(True), profiles(False)
    for ours, theirs in zip(fast, frames, strict=True):
        assert dumps(ours) == dumps(theirs)
        assert ours.row_sample.dtypes.to_dict() == theirs.row_sample.dtypes.to_dict()
    report = compare(spec, features, *fast, workers=2).to_dict()
    expected = compare(spec, features, *frames, workers=2).to_dict()
    assert json.dumps(report, sort_keys=False) == json.dumps(expected, sort_keys=False)
