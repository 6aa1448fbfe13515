"""Window profiles: a window summarised once, merged chunk by chunk, compared many times.

A baseline window is read and summarised once into a `WindowProfile`; every later run
compares its current window with the stored profile without re-reading the baseline. The
current window goes through the same structure, chunk by chunk, so memory is bounded by the
chunk size plus the profile's size, not by the window.

Per numeric column: the sorted sample itself while it has at most `max_points` values (then
every statistic is exact), else a compressed weighted sample of at most `max_points` points
(each point the weighted mean of a run of at most 2/(max_points - 1) of the window's
weight, so ECDF ranks are off by at most 2/(max_points - 1), at every chunk size); plus
count, missing, min, max, sum and sum of squares.
Per categorical column: counts per category (at most `max_categories`, the rarest beyond
that folded into one `__other__` bucket), missing.
Per window: a uniform random sample of whole rows (bottom-k by a random key, so it merges
exactly) for what needs rows: performance with labels and concept drift.

A window read in chunks is built by `WindowProfiler`: the profile that folding
`window_profile` of each chunk with `merge_windows` gives, value for value, with the work
done once where the fold repeated it (sorted runs merged at the end, the row sample chosen
on its keys before any row is copied), and Arrow chunks (`ArrowChunk`) profiled from their
buffers (docs/storage.md, "Reading a window into the profiles").

Serialised as a NumPy `.npz` archive with a JSON header. Loading (`loads`, `load_profile`)
never unpickles and never calls `np.load`: each member's npy header is read and its size
checked against the counts the JSON header declares before anything is decompressed, and
every invariant (finite sorted values, counts that add up, shapes that match) is checked
before the profile is used (docs/limits.md). The header carries `PROFILE_FORMAT`; a file of
another version is refused with a clear message.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from driftwarden.detectors.errors import InputError
from driftwarden.detectors.stats.univariate import NumericSample
from driftwarden.detectors.userfiles import PROFILE_MAX_BYTES, UserFileError, read_user_file

F64 = npt.NDArray[np.float64]

PROFILE_FORMAT = "driftwarden.io/profile/v1"
DEFAULT_MAX_POINTS = 1 << 20  # 1,048,576: windows up to a million rows stay exact
DEFAULT_MAX_CATEGORIES = 10_000
DEFAULT_ROW_SAMPLE = 50_000
OTHER_CATEGORY = "__other__"


class ProfileFormatError(InputError, ValueError):
    """A serialised profile that this version cannot read."""


#: numeric values beyond this magnitude are refused: their squares (the profile's moments)
#: would overflow float64 over a large window; real features never come near it, sentinels
#: such as 1e300 do
MAX_MAGNITUDE = 1e100


class ColumnValueError(InputError, ValueError):
    """A numeric column holds values no statistic has a place for: +inf, -inf, or a
    magnitude beyond `MAX_MAGNITUDE`. Refused, naming the column."""


@dataclass(frozen=True)
class NumericProfile:
    values: F64  # sorted, NaN-free
    weights: F64 | None  # None: every value has weight 1 (exact)
    count: int  # non-missing rows summarised
    missing: int
    minimum: float
    maximum: float
    total: float
    total_squares: float
    type_errors: int = 0  # non-numeric entries in a column declared numeric (counted as missing)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    @property
    def std(self) -> float:
        """Population standard deviation.

        `total_squares / count - mean**2` cancels to 0 for values far from zero with a
        small spread (Unix seconds, 1.7e9 +- 0.01) and underflows for tiny values (1e-200),
        so a varying baseline read as constant. An exact column is computed two-pass over
        its values (scaled); a compressed one from its moments while they do not cancel
        (variance at least 1e-8 of mean**2), else two-pass over its weighted points.
        """
        if not self.count or not self.values.size:
            return float("nan")
        if self.minimum == self.maximum:
            return 0.0
        if self.weights is not None:
            moments = self.total_squares / self.count - self.mean**2
            if self.total_squares > 0 and moments >= 1e-8 * self.mean**2:
                return float(np.sqrt(moments))
        scale = max(abs(self.minimum), abs(self.maximum))
        scaled = self.values / scale
        centre = float(np.average(scaled, weights=self.weights))
        variance = float(np.average((scaled - centre) ** 2, weights=self.weights))
        return float(np.sqrt(max(variance, 0.0))) * scale

    @property
    def exact(self) -> bool:
        return self.weights is None

    def sample(self) -> NumericSample:
        """The view the statistics take."""
        return NumericSample(
            self.values, self.weights, self.count, self.std, self.minimum, self.maximum
        )


@dataclass(frozen=True)
class CategoricalProfile:
    counts: Mapping[str, float]
    missing: int

    @property
    def count(self) -> int:
        return round(sum(self.counts.values()))


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class WindowProfile:
    """All columns of one window, plus a row sample."""

    rows: int
    columns: Mapping[str, ColumnProfile]
    row_sample: pd.DataFrame = field(repr=False)
    row_sample_keys: F64 = field(repr=False)
    max_points: int = DEFAULT_MAX_POINTS

    def numeric(self, name: str) -> NumericProfile:
        column = self.columns[name]
        if not isinstance(column, NumericProfile):
            raise TypeError(f"column {name!r} is profiled as categorical")
        return column

    def categorical(self, name: str) -> CategoricalProfile:
        column = self.columns[name]
        if not isinstance(column, CategoricalProfile):
            raise TypeError(f"column {name!r} is profiled as numeric")
        return column


# --- building -----------------------------------------------------------------------------


def numeric_profile(
    values: npt.ArrayLike | pd.Series, max_points: int = DEFAULT_MAX_POINTS
) -> NumericProfile:
    """Profile of one chunk of a numeric column. NaN and None count as missing.

    Non-numeric entries (strings that do not parse) count as missing and as type errors.
    """
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        # A time column declared as a feature is compared as time: seconds since 1970, UTC.
        stamps = values.dt.tz_convert(None) if values.dt.tz is not None else values
        nanos = stamps.to_numpy(dtype="datetime64[ns]")
        raw = nanos.astype(np.int64).astype(np.float64) / 1e9
        raw[np.isnat(nanos)] = np.nan
    elif isinstance(values, pd.Series) and pd.api.types.is_timedelta64_dtype(values.dtype):
        # A duration (Parquet/Arrow duration, a pandas timedelta) is compared in seconds.
        span = values.to_numpy(dtype="timedelta64[ns]")
        raw = span.astype(np.int64).astype(np.float64) / 1e9
        raw[np.isnat(span)] = np.nan
    elif isinstance(values, pd.Series) and pd.api.types.is_numeric_dtype(values.dtype):
        raw = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = np.asarray(values)
    type_errors = 0
    if raw.dtype.kind in "fiub":
        arr = raw.astype(np.float64, copy=False)
    else:
        converted = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
        arr = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~pd.isna(pd.Series(raw, dtype=object)).to_numpy()
        type_errors = int(np.count_nonzero(present & np.isnan(arr)))
    return _numeric_from_floats(arr, type_errors, max_points)


def _numeric_from_floats(arr: F64, type_errors: int, max_points: int) -> NumericProfile:
    """The profile of a chunk's values as float64, NaN missing."""
    if arr.ndim != 1:
        raise ValueError(f"a column must be one-dimensional, got shape {arr.shape}")
    # One argument type for the kernel (C-contiguous, writable), so the image's warmed numba
    # cache (numba_cache.warm) serves frames and Arrow buffers (read-only views) alike.
    present_values, infinite = _finite_sorted(np.require(arr, np.float64, ["C", "W"]))
    if infinite:
        raise ColumnValueError(
            f"holds {infinite} infinite value(s) (inf or -inf, or "
            "text such as 1e400 beyond a float's range); replace or drop them"
        )
    if present_values.shape[0] and max(-present_values[0], present_values[-1]) > MAX_MAGNITUDE:
        huge = int(np.count_nonzero(np.abs(present_values) > MAX_MAGNITUDE))
        raise ColumnValueError(
            f"holds {huge} value(s) beyond ±{MAX_MAGNITUDE:.0e} (a sentinel such as 1e300?); "
            "replace or drop them"
        )
    missing = int(arr.shape[0] - present_values.shape[0])
    profile = NumericProfile(
        values=present_values,
        weights=None,
        count=int(present_values.shape[0]),
        missing=missing,
        minimum=float(present_values[0]) if present_values.shape[0] else float("nan"),
        maximum=float(present_values[-1]) if present_values.shape[0] else float("nan"),
        total=float(present_values.sum()),
        # numpy's pairwise sum, not np.dot: BLAS splits a dot product over its threads, and
        # 1 and 2 threads round differently, so a profile's digest (and a pinned baseline's
        # check) would depend on the node's CPU count.
        total_squares=float(np.square(present_values).sum()),
        type_errors=type_errors,
    )
    return _compress(profile, max_points)


def categorical_profile(
    values: npt.ArrayLike | pd.Series, max_categories: int = DEFAULT_MAX_CATEGORIES
) -> CategoricalProfile:
    """Profile of one chunk of a categorical column; categories are compared as strings."""
    series = (
        values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    )
    missing = int(series.isna().sum())
    counts: dict[str, float] = {}
    for key, value in series.value_counts(dropna=True, sort=False).items():
        if value:  # a pandas Categorical lists unused categories with count 0
            label = str(key)
            counts[label] = counts.get(label, 0.0) + float(value)
    return _cap_categories(CategoricalProfile(counts, missing), max_categories)


def bottom_k(keys: F64, k: int) -> npt.NDArray[np.intp]:
    """Positions of the `k` smallest of `keys` (all of them when there are at most `k`), in
    row order: the rows of a bottom-k sample by uniform random keys, a uniform sample that
    merges exactly (the bottom-k of a union is the bottom-k of the parts' bottom-k)."""
    if keys.shape[0] <= k:
        return np.arange(keys.shape[0])
    return np.sort(np.argpartition(keys, k)[:k])


def window_profile(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    row_sample_columns: Iterable[str] = (),
    row_sample_size: int = DEFAULT_ROW_SAMPLE,
    max_points: int = DEFAULT_MAX_POINTS,
    seed: int | np.random.Generator = 0,
    workers: int = 1,
) -> WindowProfile:
    """Profile of one chunk of a window. `kinds` maps column -> "numeric" | "categorical".

    `workers` > 1 profiles columns in threads (numpy's sorts release the GIL).
    """
    missing_columns = [c for c in kinds if c not in frame.columns]
    if missing_columns:
        raise KeyError(f"columns not in the data: {', '.join(missing_columns)}")
    bad = {name: kind for name, kind in kinds.items() if kind not in ("numeric", "categorical")}
    if bad:
        name, kind = next(iter(bad.items()))
        raise ValueError(f"kind of {name!r} must be numeric or categorical, got {kind!r}")

    def one(item: tuple[str, str]) -> ColumnProfile:
        name, kind = item
        if kind == "numeric":
            try:
                return numeric_profile(frame[name], max_points)
            except ColumnValueError as exc:
                raise ColumnValueError(f"column {name!r} {exc}") from None
        return categorical_profile(frame[name])

    items = list(kinds.items())
    if workers > 1 and len(items) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            profiles = list(pool.map(one, items))
    else:
        profiles = [one(item) for item in items]
    columns: dict[str, ColumnProfile] = {
        name: profile for (name, _), profile in zip(items, profiles, strict=True)
    }
    rng = np.random.default_rng(seed)
    sample_columns = list(dict.fromkeys(row_sample_columns))
    keys = rng.random(len(frame))
    keep = bottom_k(keys, row_sample_size)
    sample = frame.iloc[keep][sample_columns].reset_index(drop=True)
    return WindowProfile(
        rows=len(frame),
        columns=columns,
        row_sample=sample,
        row_sample_keys=keys[keep],
        max_points=max_points,
    )


# --- building a window chunk by chunk ------------------------------------------------------

#: Converts rows of an Arrow chunk (`None`: all of them) to the pandas form its reader gives.
ToFrame = Callable[[pa.Table, "npt.NDArray[np.intp] | None"], pd.DataFrame]


@dataclass(frozen=True)
class ArrowChunk:
    """A chunk kept as Arrow: its numeric and text columns are profiled from Arrow buffers,
    never through a pandas frame; `to_frame` gives the pandas form the reader would have
    given (for the row sample and for any column without a fast path), so the profile is
    the one the pandas frame gives. `plain` lists the columns whose pandas form is Arrow's
    own (integers and floats as float64, text as text): only those take the fast paths."""

    table: pa.Table
    to_frame: ToFrame
    plain: frozenset[str]

    @classmethod
    def of(cls, table: pa.Table) -> ArrowChunk:
        """A chunk whose pandas form is `Table.to_pandas()`, every column plain."""
        return cls(table, _to_pandas, frozenset(table.column_names))

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def frame(self) -> pd.DataFrame:
        return self.to_frame(self.table, None)


Chunk = pd.DataFrame | ArrowChunk


def chunk_columns(chunk: Chunk) -> list[str]:
    return (
        [str(c) for c in chunk.columns]
        if isinstance(chunk, pd.DataFrame)
        else list(chunk.table.column_names)
    )


def chunk_rows(chunk: Chunk) -> int:
    return len(chunk) if isinstance(chunk, pd.DataFrame) else chunk.num_rows


def as_frame(chunk: Chunk) -> pd.DataFrame:
    """The chunk as the pandas frame its reader gives."""
    return chunk if isinstance(chunk, pd.DataFrame) else chunk.frame()


def _to_pandas(table: pa.Table, rows: npt.NDArray[np.intp] | None) -> pd.DataFrame:
    """`table.to_pandas()`, or of some of its rows with the dtypes the whole table gives
    (a column of integers with a null is float64 there, of booleans object)."""
    if rows is None:
        whole: pd.DataFrame = table.to_pandas()
        return whole
    frame: pd.DataFrame = table.take(pa.array(rows, type=pa.int64())).to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not column.null_count:
            continue
        kind = column.type
        if pa.types.is_integer(kind) and frame[name].dtype.kind in "iu":
            frame[name] = frame[name].astype(np.float64)
        elif pa.types.is_boolean(kind) and frame[name].dtype == np.bool_:
            frame[name] = frame[name].astype(object)
    return frame


class _NumericBuilder:
    """One numeric column folded chunk by chunk as `merge_numeric` folds it; exact chunks'
    sorted values wait as runs and are merged once, not re-merged at every chunk."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self.profile: NumericProfile | None = None  # scalars always, values unless `runs`
        self.runs: list[F64] = []
        self.stored = 0

    def add(self, chunk: NumericProfile) -> None:
        current = self.profile
        if current is None:
            self.profile = chunk
            self.runs = [chunk.values] if chunk.weights is None else []
            self.stored = chunk.values.shape[0]
            return
        size = self.stored + chunk.values.shape[0]
        if self.runs and chunk.weights is None and size <= self.max_points:
            # `merge_numeric`'s exact branch, with its values merged later (the same sorted
            # union) and its scalars folded now, in the same order.
            self.runs.append(chunk.values)
            self.stored = size
            self.profile = _folded(current, chunk, _EMPTY, None)
            return
        merged = merge_numeric(self.finish(), chunk, self.max_points)
        self.profile = merged
        self.runs = [merged.values] if merged.weights is None else []
        self.stored = merged.values.shape[0]

    def finish(self) -> NumericProfile:
        assert self.profile is not None
        if self.runs:
            runs = self.runs
            while len(runs) > 1:  # balanced: every value is copied log2(runs) times
                paired = [_merge_sorted(a, b) for a, b in zip(runs[::2], runs[1::2], strict=False)]
                runs = paired + ([runs[-1]] if len(runs) % 2 else [])
            self.runs = runs
            self.profile = replace(self.profile, values=runs[0])
        return self.profile


def _arrow_floats(column: pa.ChunkedArray) -> F64 | None:
    """An integer or float column as float64 with NaN for nulls (the values pandas' frame
    holds), or None for any other type."""
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return None
    floats = column.cast(pa.float64(), safe=False)  # integers past 2**53 round, as in pandas
    return np.asarray(floats.to_numpy(), dtype=np.float64)


def _arrow_counts(column: pa.ChunkedArray) -> CategoricalProfile | None:
    """Counts of a text column, plain or dictionary-encoded (first-seen order, as pandas'
    Arrow strings count), or None for any other type."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        # Counted on the indices, in order of first appearance: the strings' order. A
        # string listed twice in a dictionary is added up below.
        kind = kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    found = pc.value_counts(column)
    counts: dict[str, float] = {}
    for key, value in zip(found.field(0).to_pylist(), found.field(1).to_pylist(), strict=True):
        if key is not None and value:
            counts[key] = counts.get(key, 0.0) + float(value)
    return _cap_categories(
        CategoricalProfile(counts, int(column.null_count)), DEFAULT_MAX_CATEGORIES
    )


class WindowProfiler:
    """A window's profile built from its chunks in order: the profile that folding
    `window_profile` of every chunk (seeded `seed + index`) with `merge_windows` gives,
    value for value, with less work. Exact numeric columns keep their chunks' sorted values
    and merge them once at the end; the row sample's keys are folded alone and only the
    rows that survive a chunk's merge are taken; an `ArrowChunk`'s plain numeric and text
    columns are profiled from Arrow. Memory: the profile's bounds plus one chunk."""

    def __init__(
        self,
        kinds: Mapping[str, str],
        *,
        row_sample_columns: Iterable[str] = (),
        row_sample_size: int = DEFAULT_ROW_SAMPLE,
        max_points: int = DEFAULT_MAX_POINTS,
        seed: int = 0,
        workers: int = 1,
    ) -> None:
        bad = {name: kind for name, kind in kinds.items() if kind not in ("numeric", "categorical")}
        if bad:
            name, kind = next(iter(bad.items()))
            raise ValueError(f"kind of {name!r} must be numeric or categorical, got {kind!r}")
        self.kinds = dict(kinds)
        self.sample_columns = list(dict.fromkeys(row_sample_columns))
        self.row_sample_size = row_sample_size
        self.max_points = max_points
        self.seed = seed
        self.workers = workers
        self.rows = 0
        self.chunks = 0
        self._numeric = {n: _NumericBuilder(max_points) for n, k in kinds.items() if k == "numeric"}
        self._categorical: dict[str, CategoricalProfile | None] = {
            n: None for n, k in kinds.items() if k == "categorical"
        }
        self._keys = _EMPTY  # the merged sample's keys, in row order
        self._origin = np.empty(0, dtype=np.intp)  # their rows among `_frames`' rows
        self._frames: list[pd.DataFrame] = []  # rows taken from each chunk, in order
        self._stored = 0  # rows in `_frames`

    def add(self, chunk: Chunk) -> None:
        """Fold one chunk in (a pandas frame or an `ArrowChunk`)."""
        available = set(chunk_columns(chunk))
        missing = [c for c in self.kinds if c not in available]
        if missing:
            raise KeyError(f"columns not in the data: {', '.join(missing)}")
        items = list(self.kinds.items())

        def one(item: tuple[str, str]) -> ColumnProfile | None:
            name, kind = item
            if kind == "numeric":
                try:
                    numeric = _chunk_numeric(chunk, name, self.max_points)
                except ColumnValueError as exc:
                    raise ColumnValueError(f"column {name!r} {exc}") from None
                # Folded in the same thread: each column's builder is its own, and its
                # merges (compressing beyond `max_points`) release the GIL as the sorts do.
                self._numeric[name].add(numeric)
                return None
            return _chunk_categorical(chunk, name)

        if self.workers > 1 and len(items) > 1:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                profiles = list(pool.map(one, items))
        else:
            profiles = [one(item) for item in items]
        for (name, _), profile in zip(items, profiles, strict=True):
            if profile is not None:
                assert isinstance(profile, CategoricalProfile)
                before = self._categorical[name]
                self._categorical[name] = (
                    profile if before is None else merge_categorical(before, profile)
                )
        self._sample(chunk)
        self.rows += chunk_rows(chunk)
        self.chunks += 1

    def _sample(self, chunk: Chunk) -> None:
        """`window_profile`'s bottom-k of the chunk, then `merge_windows`' bottom-k of the
        union, on the keys alone; only the chunk's surviving rows are converted and kept."""
        n = chunk_rows(chunk)
        keys = np.random.default_rng(self.seed + self.chunks).random(n)
        own = bottom_k(keys, self.row_sample_size)
        held = self._keys.shape[0]
        union = np.concatenate((self._keys, keys[own]))
        origin = np.concatenate((self._origin, self._stored + np.arange(own.shape[0])))
        if self.chunks:
            size = self.row_sample_size  # as `merge_windows`: not capped at a chunk's rows
            if union.shape[0] > size:
                keep = bottom_k(union, size)
                union, origin = union[keep], origin[keep]
                taken = keep[keep >= held] - held  # the chunk's rows (positions in `own`)
            else:
                taken = np.arange(own.shape[0])
        else:
            taken = np.arange(own.shape[0])
        rows = own[taken]
        # renumber the chunk's survivors to their rows among the stored frames
        survivors = origin >= self._stored
        origin[survivors] = self._stored + np.searchsorted(taken, origin[survivors] - self._stored)
        if isinstance(chunk, pd.DataFrame):
            frame = chunk.iloc[rows][self.sample_columns].reset_index(drop=True)
        elif not self.sample_columns:  # Arrow's column-less table converts to no rows
            frame = pd.DataFrame(index=pd.RangeIndex(rows.shape[0]))
        else:
            frame = chunk.to_frame(chunk.table.select(self.sample_columns), rows)
            frame = frame.reset_index(drop=True)
        self._frames.append(frame)
        self._stored += rows.shape[0]
        self._keys, self._origin = union, origin
        if self._stored > 4 * max(self._keys.shape[0], 1) and len(self._frames) > 1:
            self._compact()

    def _compact(self) -> None:
        """Drop the stored rows no longer in the sample (their dtypes stay in the concat)."""
        joined = pd.concat(self._frames, ignore_index=True)
        self._frames = [joined.iloc[self._origin].reset_index(drop=True)]
        self._stored = self._origin.shape[0]
        self._origin = np.arange(self._stored)

    def profile(self) -> WindowProfile:
        if not self.chunks:
            raise ValueError("no chunk was added")
        numeric = list(self._numeric.values())
        if self.workers > 1 and len(numeric) > 1:  # the final merges of sorted runs
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                list(pool.map(_NumericBuilder.finish, numeric))
        columns: dict[str, ColumnProfile] = {}
        for name, kind in self.kinds.items():
            if kind == "numeric":
                columns[name] = self._numeric[name].finish()
            else:
                categorical = self._categorical[name]
                assert categorical is not None
                columns[name] = categorical
        joined = (
            pd.concat(self._frames, ignore_index=True) if len(self._frames) > 1 else self._frames[0]
        )
        sample = joined.iloc[self._origin].reset_index(drop=True)
        return WindowProfile(
            rows=self.rows,
            columns=columns,
            row_sample=sample,
            row_sample_keys=self._keys,
            max_points=self.max_points,
        )


def _chunk_numeric(chunk: Chunk, name: str, max_points: int) -> NumericProfile:
    if isinstance(chunk, ArrowChunk) and name in chunk.plain:
        floats = _arrow_floats(chunk.table.column(name))
        if floats is not None:
            return _numeric_from_floats(floats, 0, max_points)
    return numeric_profile(_column(chunk, name), max_points)


def _chunk_categorical(chunk: Chunk, name: str) -> CategoricalProfile:
    if isinstance(chunk, ArrowChunk) and name in chunk.plain:
        counts = _arrow_counts(chunk.table.column(name))
        if counts is not None:
            return counts
    return categorical_profile(_column(chunk, name))


def _column(chunk: Chunk, name: str) -> pd.Series:
    if isinstance(chunk, pd.DataFrame):
        return chunk[name]
    series: pd.Series = chunk.to_frame(chunk.table.select([name]), None)[name]
    return series


# --- merging ------------------------------------------------------------------------------


def merge_numeric(a: NumericProfile, b: NumericProfile, max_points: int) -> NumericProfile:
    """Profile of the union of two chunks (commutative up to floating-point sums)."""
    weights: F64 | None
    size = a.values.shape[0] + b.values.shape[0]
    if a.weights is None and b.weights is None and size <= max_points:
        # Both runs are sorted: a linear merge, not a sort of their concatenation (which
        # took 0.1 s per column at 1M values, and grew with every chunk of a window).
        values = _merge_sorted(a.values, b.values)
        weights = None
    else:
        # Merge and compress in one pass: no temporary of the merged size.
        wa = a.weights if a.weights is not None else np.ones(a.values.shape[0])
        wb = b.weights if b.weights is not None else np.ones(b.values.shape[0])
        values, weights = _merge_compress(a.values, wa, b.values, wb, min(size, max_points))
    return _compress(_folded(a, b, values, weights), max_points)


def _folded(
    a: NumericProfile, b: NumericProfile, values: F64, weights: F64 | None
) -> NumericProfile:
    """`a` and `b`'s counts and moments added (in this order: a merge's scalars must not
    depend on which path merged it), over the merged `values` and `weights`."""
    return NumericProfile(
        values=values,
        weights=weights,
        count=a.count + b.count,
        missing=a.missing + b.missing,
        minimum=float(np.fmin(a.minimum, b.minimum)),
        maximum=float(np.fmax(a.maximum, b.maximum)),
        total=a.total + b.total,
        total_squares=a.total_squares + b.total_squares,
        type_errors=a.type_errors + b.type_errors,
    )


def merge_categorical(
    a: CategoricalProfile, b: CategoricalProfile, max_categories: int = DEFAULT_MAX_CATEGORIES
) -> CategoricalProfile:
    counts = dict(a.counts)
    for key, value in b.counts.items():
        counts[key] = counts.get(key, 0.0) + value
    return _cap_categories(CategoricalProfile(counts, a.missing + b.missing), max_categories)


def merge_windows(
    a: WindowProfile, b: WindowProfile, row_sample_size: int = DEFAULT_ROW_SAMPLE
) -> WindowProfile:
    """Profile of two chunks of one window (same columns and kinds); the row sample keeps
    the `row_sample_size` rows of the union with the smallest keys (all when fewer)."""
    if set(a.columns) != set(b.columns):
        raise ValueError("cannot merge profiles of different columns")
    max_points = min(a.max_points, b.max_points)
    columns: dict[str, ColumnProfile] = {}
    for name, left in a.columns.items():
        right = b.columns[name]
        if isinstance(left, NumericProfile) and isinstance(right, NumericProfile):
            columns[name] = merge_numeric(left, right, max_points)
        elif isinstance(left, CategoricalProfile) and isinstance(right, CategoricalProfile):
            columns[name] = merge_categorical(left, right)
        else:
            raise ValueError(f"column {name!r} has different kinds in the two profiles")
    # Not the larger of the two samples: chunks smaller than the sample size would cap the
    # window's sample at a chunk's rows (2,000 rows of a 60,000-row window at --chunk-rows
    # 2000, and performance computed on those).
    size = row_sample_size
    sample = pd.concat([a.row_sample, b.row_sample], ignore_index=True)
    keys = np.concatenate((a.row_sample_keys, b.row_sample_keys))
    if len(sample) > size:
        # Bottom-k by the random keys: the union's sample is a uniform sample of the union.
        keep = bottom_k(keys, size)
        sample = sample.iloc[keep].reset_index(drop=True)
        keys = keys[keep]
    return WindowProfile(a.rows + b.rows, columns, sample, keys, max_points)


_SIGN = np.uint64(1 << 63)
_DIGIT = np.uint64(0xFFFF)
#: below this many values a comparison sort beats the radix sort's bucket tables
_RADIX_FROM = 4096


@numba.njit(cache=True, nogil=True)
def _finite_sorted(arr: F64) -> tuple[F64, int]:  # pragma: no cover - compiled
    """The finite values of `arr`, sorted, and how many were +-inf (NaN is missing).

    An LSD radix sort on 16-bit digits of the values' bits, mapped so that unsigned order is
    float order (negative: all bits flipped; positive: the sign bit set): four linear passes,
    a pass skipped where every value has the same digit. The same array as np.sort of the
    finite values (-0.0 sorts before 0.0; they are equal), in a quarter of its time at 100k.
    """
    n = arr.shape[0]
    bits = arr.view(np.uint64)
    keys = np.empty(n, dtype=np.uint64)
    m = 0
    infinite = 0
    for i in range(n):
        x = arr[i]
        if x - x == 0.0:  # finite: inf - inf and NaN - NaN are NaN
            b = bits[i]
            keys[m] = ~b if b & _SIGN else b | _SIGN
            m += 1
        elif x == x:
            infinite += 1
    if m < _RADIX_FROM:
        out = np.empty(m, dtype=np.uint64)
        for i in range(m):
            k = keys[i]
            out[i] = k & ~_SIGN if k & _SIGN else ~k
        result = out.view(np.float64)
        result.sort()
        return result, infinite
    counts = np.zeros((4, 65536), dtype=np.int64)
    for i in range(m):
        k = keys[i]
        counts[0, k & _DIGIT] += 1
        counts[1, (k >> np.uint64(16)) & _DIGIT] += 1
        counts[2, (k >> np.uint64(32)) & _DIGIT] += 1
        counts[3, k >> np.uint64(48)] += 1
    src = keys[:m]
    dst = np.empty(m, dtype=np.uint64)
    for p in range(4):
        shift = np.uint64(16 * p)
        table = counts[p]
        if table[(src[0] >> shift) & _DIGIT] == m:
            continue  # every value has this digit: the pass would not move anything
        total = 0
        for d in range(65536):
            here = table[d]
            table[d] = total
            total += here
        for i in range(m):
            k = src[i]
            d = (k >> shift) & _DIGIT
            dst[table[d]] = k
            table[d] += 1
        src, dst = dst, src
    for i in range(m):
        k = src[i]
        dst[i] = k & ~_SIGN if k & _SIGN else ~k
    return dst.view(np.float64), infinite


@numba.njit(cache=True, nogil=True)
def _merge_sorted(a: F64, b: F64) -> F64:  # pragma: no cover - compiled
    """The sorted union of two sorted arrays (ties: `a`'s first)."""
    na, nb = a.shape[0], b.shape[0]
    out = np.empty(na + nb)
    i = 0
    j = 0
    k = 0
    while i < na and j < nb:
        if b[j] < a[i]:
            out[k] = b[j]
            j += 1
        else:
            out[k] = a[i]
            i += 1
        k += 1
    while i < na:
        out[k] = a[i]
        i += 1
        k += 1
    while j < nb:
        out[k] = b[j]
        j += 1
        k += 1
    return out


@numba.njit(cache=True, nogil=True)
def _merge_compress(
    a: F64, wa: F64, b: F64, wb: F64, points: int
) -> tuple[F64, F64]:  # pragma: no cover - compiled
    """Merge two sorted weighted samples into at most `points` weighted points.

    When both fit (len(a) + len(b) <= points) the merge is exact. Otherwise, walking the
    merged order, an element joins the open bucket unless that would take the bucket's
    weight above the capacity c = 2 W / (points - 1); a bucket becomes one point at its
    weighted mean with its total weight. Every point then weighs at most c, whatever the
    inputs were, because an input point weighs at most the capacity it was built under and
    W only grows: merging chunk after chunk never coarsens the sample, and the ECDF of
    the points is within c / W = 2 / (points - 1) of the window's at every x (only the one
    bucket that straddles x is misplaced). Two neighbouring buckets weigh more than c
    together, so there are at most `points` of them.
    """
    na, nb = a.shape[0], b.shape[0]
    exact = na + nb <= points
    total = wa.sum() + wb.sum()
    capacity = 2.0 * total / max(points - 1, 1)
    values = np.empty(min(na + nb, points))
    weights = np.empty(min(na + nb, points))
    out = -1
    i = 0
    j = 0
    while i < na or j < nb:
        if j >= nb or (i < na and a[i] <= b[j]):
            x = a[i]
            w = wa[i]
            i += 1
        else:
            x = b[j]
            w = wb[j]
            j += 1
        if out < 0 or exact or (weights[out] + w > capacity and out + 1 < values.shape[0]):
            out += 1
            values[out] = 0.0
            weights[out] = 0.0
        values[out] += w * x
        weights[out] += w
    used = out + 1
    result_values = values[:used] / weights[:used]
    for k in range(1, used):  # weighted means of sorted runs are sorted up to rounding
        if result_values[k] < result_values[k - 1]:
            result_values[k] = result_values[k - 1]
    return result_values, weights[:used].copy()


def _compress(profile: NumericProfile, max_points: int) -> NumericProfile:
    """At most `max_points` weighted points, by the bucket rule of `_merge_compress`."""
    n = profile.values.shape[0]
    if n <= max_points:
        return profile
    weights = profile.weights if profile.weights is not None else np.ones(n)
    values, merged_weights = _merge_compress(profile.values, weights, _EMPTY, _EMPTY, max_points)
    return replace(profile, values=values, weights=merged_weights)


_EMPTY = np.empty(0, dtype=np.float64)


def _cap_categories(profile: CategoricalProfile, max_categories: int) -> CategoricalProfile:
    if len(profile.counts) <= max_categories:
        return profile
    ranked = sorted(profile.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[: max_categories - 1])
    kept[OTHER_CATEGORY] = kept.get(OTHER_CATEGORY, 0.0) + sum(
        v for _, v in ranked[max_categories - 1 :]
    )
    return CategoricalProfile(kept, profile.missing)


# --- serialisation ------------------------------------------------------------------------


def dumps(profile: WindowProfile) -> bytes:
    """Serialise to bytes (npz + JSON header; no pickle)."""
    header: dict[str, Any] = {
        "format": PROFILE_FORMAT,
        "rows": profile.rows,
        "max_points": profile.max_points,
        "columns": {},
        "row_sample_columns": list(profile.row_sample.columns),
    }
    arrays: dict[str, npt.NDArray[Any]] = {}
    for index, (name, column) in enumerate(profile.columns.items()):
        if isinstance(column, NumericProfile):
            header["columns"][name] = {
                "kind": "numeric",
                "index": index,
                "count": column.count,
                "missing": column.missing,
                "minimum": column.minimum,
                "maximum": column.maximum,
                "total": column.total,
                "total_squares": column.total_squares,
                "type_errors": column.type_errors,
                "weighted": column.weights is not None,
            }
            arrays[f"values_{index}"] = column.values
            if column.weights is not None:
                arrays[f"weights_{index}"] = column.weights
        else:
            header["columns"][name] = {
                "kind": "categorical",
                "counts": dict(column.counts),
                "missing": column.missing,
            }
    for index, name in enumerate(profile.row_sample.columns):
        series = profile.row_sample[name]
        if series.dtype.kind in "fiub":
            arrays[f"sample_{index}"] = series.to_numpy(dtype=np.float64)
        else:
            header.setdefault("sample_text", {})[str(index)] = [
                None if pd.isna(v) else str(v) for v in series.tolist()
            ]
    arrays["sample_keys"] = profile.row_sample_keys
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    # What np.savez_compressed writes (an npz: one .npy member per array, deflated), at
    # deflate level 1 rather than zlib's default 6: sorted float64 values barely compress
    # (a 1M-row profile is 101 MB of 171 at level 1, 102 MB at level 6) and level 6 took
    # twice as long (about 7 s of a 10 s `driftwarden profile`). A fixed timestamp makes
    # the same profile the same bytes.
    with zipfile.ZipFile(buffer, "w") as out:
        for key, array in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asanyarray(array), allow_pickle=False)
            member = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            out.writestr(
                member, npy.getbuffer(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1
            )
    return buffer.getvalue()


# --- loading untrusted profiles -------------------------------------------------------------
#
# A profile file may come from anywhere (a shared volume, a pipeline's artefact), so it is
# read with bounded work and checked against every invariant before use; the limits and
# invariants are listed in docs/limits.md. Nothing is decompressed before its size is
# known to match what the header declares.

#: Largest `max_points` a profile may declare (16 times the default).
MAX_POINTS_LIMIT = 1 << 24
#: Largest header (JSON: column summaries, category counts, the row sample's text).
HEADER_MAX_BYTES = 256 << 20
#: Largest sum of the archive's members once decompressed.
UNPACKED_MAX_BYTES = 4 << 30
#: Most rows a row sample may hold, and most categories a column may list.
MAX_SAMPLE_ROWS = 1 << 20
MAX_CATEGORIES_LIMIT = 1 << 20
#: Most columns (numeric and categorical) a profile may hold.
MAX_COLUMNS = 100_000
_MAX_COUNT = 1 << 53  # integers above this are not exact in float64
_MEMBER = re.compile(r"(header|sample_keys|values_\d{1,6}|weights_\d{1,6}|sample_\d{1,6})\.npy")
_F8 = np.dtype("<f8")
#: Threads that inflate a profile's members (zipfile reads distinct members concurrently).
_LOAD_THREADS = 2
_U1 = np.dtype("|u1")


def load_profile(path: Path) -> WindowProfile:
    """The profile stored at `path`: a regular file of at most `PROFILE_MAX_BYTES`, parsed
    by `loads`. Raises ProfileFormatError (exit 2) naming the problem."""
    try:
        data = read_user_file(path, what="profile", max_bytes=PROFILE_MAX_BYTES)
    except UserFileError as exc:
        raise ProfileFormatError(str(exc).removeprefix(f"{path}: ")) from None
    return loads(data)


def _fail(message: str) -> NoReturn:
    raise ProfileFormatError(message)


def _read_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dtype: np.dtype[Any],
    length: int | None,
    limit: int,
) -> npt.NDArray[Any]:
    """One `.npy` member: a 1-D array of `dtype` with `length` elements (at most `limit`
    when None). The npy header is read first; the member's stored uncompressed size must
    equal header + data before a byte of data is decompressed."""
    name = info.filename
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _fortran, found = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _fortran, found = np.lib.format.read_array_header_2_0(handle)
        else:
            _fail(f"member {name}: unsupported npy version {version}")
        if found != dtype:
            _fail(f"member {name}: holds {found}, expected {dtype}")
        if len(shape) != 1:
            _fail(f"member {name}: has shape {shape}, expected one dimension")
        count = int(shape[0])
        if length is not None and count != length:
            _fail(f"member {name}: holds {count} values, the header declares {length}")
        if count > limit:
            _fail(f"member {name}: holds {count} values, more than the limit of {limit}")
        size = count * dtype.itemsize
        if info.file_size != handle.tell() + size:
            _fail(f"member {name}: its stored size does not match its {count} values")
        raw = handle.read(size)
    if len(raw) != size:
        _fail(f"member {name}: truncated")
    return np.frombuffer(raw, dtype=dtype).copy()


def _int(meta: Mapping[str, Any], key: str, where: str, upper: int = _MAX_COUNT) -> int:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(f"{where}: {key} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= upper:
        _fail(f"{where}: {key} {value} is outside [0, {upper}]")
    return value


def _float(meta: Mapping[str, Any], key: str, where: str) -> float:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(f"{where}: {key} must be a number, got {type(value).__name__}")
    return float(value)


def _numeric_column(
    name: str,
    meta: Mapping[str, Any],
    members: Mapping[str, npt.NDArray[Any]],
    rows: int,
    max_points: int,
) -> NumericProfile:
    where = f"column {name!r}"
    index = _int(meta, "index", where, MAX_COLUMNS)
    count = _int(meta, "count", where)
    missing = _int(meta, "missing", where)
    type_errors = _int(meta, "type_errors", where)
    if count + missing != rows:
        _fail(f"{where}: count {count} + missing {missing} differ from the {rows} rows")
    if type_errors > missing:
        _fail(f"{where}: type_errors {type_errors} exceed missing {missing}")
    weighted = meta.get("weighted")
    if not isinstance(weighted, bool):
        _fail(f"{where}: weighted must be true or false")
    values = members.get(f"values_{index}")
    if values is None:
        _fail(f"{where}: member values_{index}.npy is missing")
    weights = members.get(f"weights_{index}") if weighted else None
    if weighted and weights is None:
        _fail(f"{where}: member weights_{index}.npy is missing")
    minimum = _float(meta, "minimum", where)
    maximum = _float(meta, "maximum", where)
    total = _float(meta, "total", where)
    total_squares = _float(meta, "total_squares", where)
    n = values.shape[0]
    if not np.all(np.isfinite(values)):
        _fail(f"{where}: stored values are not all finite")
    if n > 1 and np.any(values[1:] < values[:-1]):
        _fail(f"{where}: stored values are not sorted")
    if n > max_points:
        _fail(f"{where}: {n} stored values exceed max_points {max_points}")
    if weights is None:
        if n != count:
            _fail(f"{where}: {n} stored values but a count of {count}")
    else:
        if weights.shape[0] != n:
            _fail(f"{where}: {weights.shape[0]} weights for {n} values")
        if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
            _fail(f"{where}: weights must be finite and positive")
        if abs(float(weights.sum()) - count) > 1e-9 * max(count, 1):
            _fail(f"{where}: weights add up to {float(weights.sum()):g}, not the count {count}")
    if count == 0:
        if n:
            _fail(f"{where}: values stored for a column with count 0")
    else:
        if n == 0:
            _fail(f"{where}: no values stored for a count of {count}")
        bounds = (minimum, maximum, total, total_squares)
        if not all(math.isfinite(x) for x in bounds):
            _fail(f"{where}: minimum, maximum, total and total_squares must be finite")
        if not minimum <= values[0] <= values[-1] <= maximum:
            _fail(f"{where}: stored values lie outside [minimum, maximum]")
        if weights is None and (values[0] != minimum or values[-1] != maximum):
            _fail(f"{where}: minimum and maximum differ from the stored values")
        tolerance = 1e-6 * max(1.0, abs(minimum), abs(maximum))
        if not minimum - tolerance <= total / count <= maximum + tolerance:
            _fail(f"{where}: the mean total/count lies outside [minimum, maximum]")
        if total_squares < 0:
            _fail(f"{where}: total_squares is negative")
    return NumericProfile(
        values=values, weights=weights, count=count, missing=missing, minimum=minimum,
        maximum=maximum, total=total, total_squares=total_squares, type_errors=type_errors,
    )  # fmt: skip


def _categorical_column(name: str, meta: Mapping[str, Any], rows: int) -> CategoricalProfile:
    where = f"column {name!r}"
    missing = _int(meta, "missing", where)
    counts = meta.get("counts")
    if not isinstance(counts, dict):
        _fail(f"{where}: counts must be a mapping")
    if len(counts) > MAX_CATEGORIES_LIMIT:
        _fail(f"{where}: {len(counts)} categories, more than {MAX_CATEGORIES_LIMIT}")
    parsed: dict[str, float] = {}
    total = 0
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(f"{where}: the count of a category is not a number")
        if not (math.isfinite(value) and value > 0 and float(value).is_integer()):
            _fail(f"{where}: category counts must be positive whole numbers")
        parsed[str(key)] = float(value)
        total += int(value)
    if total + missing != rows:
        _fail(f"{where}: category counts {total} + missing {missing} differ from {rows} rows")
    return CategoricalProfile(parsed, missing)


def loads(data: bytes) -> WindowProfile:
    """Inverse of `dumps`, for bytes from anywhere: bounded work (member sizes checked
    against the header before decompressing, `UNPACKED_MAX_BYTES` in all) and every
    invariant checked (docs/limits.md). Raises ProfileFormatError naming the problem."""
    try:
        return _loads(data)
    except ProfileFormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ProfileFormatError(f"corrupt driftwarden profile: {_short(exc)}") from None
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError, OSError) as exc:
        raise ProfileFormatError(f"corrupt driftwarden profile: {_short(exc)}") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _loads(data: bytes) -> WindowProfile:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        _fail("not a driftwarden profile (not an npz archive)")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > 3 * MAX_COLUMNS + 2:
            _fail(f"the archive has {len(infos)} members, too many for a profile")
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not _MEMBER.fullmatch(info.filename) or info.filename in by_name:
                _fail(f"unexpected archive member {info.filename[:80]!r}")
            by_name[info.filename] = info
        unpacked = sum(info.file_size for info in infos)
        if unpacked > UNPACKED_MAX_BYTES:
            _fail(f"the archive unpacks to {unpacked} bytes, more than {UNPACKED_MAX_BYTES}")
        if "header.npy" not in by_name:
            _fail("not a driftwarden profile (no header)")
        raw_header = _read_member(archive, by_name["header.npy"], _U1, None, HEADER_MAX_BYTES)
        try:
            header = json.loads(raw_header.tobytes().decode())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ProfileFormatError(f"not a driftwarden profile: {_short(exc)}") from None
        if not isinstance(header, dict) or header.get("format") != PROFILE_FORMAT:
            found = header.get("format") if isinstance(header, dict) else None
            shown = found[:80] if isinstance(found, str) else found
            _fail(
                f"profile format {shown!r} is not supported (this version reads {PROFILE_FORMAT})"
            )
        rows = _int(header, "rows", "header")
        max_points = _int(header, "max_points", "header", MAX_POINTS_LIMIT)
        if max_points < 1:
            _fail("header: max_points must be at least 1")
        columns_meta = header.get("columns")
        if not isinstance(columns_meta, dict) or len(columns_meta) > MAX_COLUMNS:
            _fail(f"header: columns must be a mapping of at most {MAX_COLUMNS} columns")
        # The members each numeric column declares, with their declared lengths.
        expected: dict[str, int | None] = {}
        for name, meta in columns_meta.items():
            if not isinstance(meta, dict) or meta.get("kind") not in ("numeric", "categorical"):
                kind = meta.get("kind") if isinstance(meta, dict) else None
                _fail(f"column {name!r}: unknown kind {str(kind)[:40]!r}")
            if meta["kind"] == "numeric":
                index = _int(meta, "index", f"column {name!r}", MAX_COLUMNS)
                if f"values_{index}.npy" in expected:
                    _fail(f"column {name!r}: index {index} is used twice")
                exact = meta.get("weighted") is False
                declared = _int(meta, "count", f"column {name!r}") if exact else None
                expected[f"values_{index}.npy"] = declared
                if not exact:
                    expected[f"weights_{index}.npy"] = None
        sample_columns = header.get("row_sample_columns")
        if not isinstance(sample_columns, list) or not all(
            isinstance(c, str) for c in sample_columns
        ):
            _fail("header: row_sample_columns must be a list of names")
        if len(set(sample_columns)) != len(sample_columns) or len(sample_columns) > MAX_COLUMNS:
            _fail("header: row_sample_columns must be distinct names")
        text = header.get("sample_text", {})
        if not isinstance(text, dict):
            _fail("header: sample_text must be a mapping")
        if "sample_keys.npy" not in by_name:
            _fail("member sample_keys.npy is missing")
        keys = _read_member(archive, by_name["sample_keys.npy"], _F8, None, MAX_SAMPLE_ROWS)
        n_sample = keys.shape[0]
        for index in range(len(sample_columns)):
            if str(index) not in text:
                expected[f"sample_{index}.npy"] = n_sample
        unexpected = set(by_name) - set(expected) - {"header.npy", "sample_keys.npy"}
        if unexpected:
            _fail(f"unexpected archive member {sorted(unexpected)[0][:80]!r}")
        wanted = list(expected.items())
        absent = next((i for i, (member, _) in enumerate(wanted) if member not in by_name), None)

        def read(item: tuple[str, int | None]) -> npt.NDArray[Any]:
            member, length = item
            limit = MAX_SAMPLE_ROWS if member.startswith("sample_") else max_points
            return _read_member(archive, by_name[member], _F8, length, limit)

        # In threads: zlib inflates with the GIL released, and a 1M-row profile is 100 MB
        # to inflate. Problems are raised in the members' order, as one by one would.
        present = wanted if absent is None else wanted[:absent]
        with ThreadPoolExecutor(max_workers=_LOAD_THREADS) as pool:
            arrays = list(pool.map(read, present))
        if absent is not None:
            _fail(f"member {wanted[absent][0]} is missing")
        members = {
            member.removesuffix(".npy"): array
            for (member, _), array in zip(present, arrays, strict=True)
        }
    columns: dict[str, ColumnProfile] = {}
    for name, meta in columns_meta.items():
        if meta["kind"] == "numeric":
            columns[name] = _numeric_column(name, meta, members, rows, max_points)
        else:
            columns[name] = _categorical_column(name, meta, rows)
    if n_sample > rows:
        _fail(f"row sample: {n_sample} rows sampled from a window of {rows}")
    if not np.all((keys >= 0) & (keys < 1)):
        _fail("row sample: keys must lie in [0, 1)")
    sample_data: dict[str, Any] = {}
    for index, name in enumerate(sample_columns):
        if str(index) in text:
            cells = text[str(index)]
            if not isinstance(cells, list) or len(cells) != n_sample:
                _fail(f"row sample column {name!r}: expected {n_sample} cells")
            if not all(c is None or isinstance(c, str) for c in cells):
                _fail(f"row sample column {name!r}: cells must be text or null")
            sample_data[name] = pd.Series(cells, dtype=object)
        else:
            column = members[f"sample_{index}"]
            if np.any(np.isinf(column)):
                _fail(f"row sample column {name!r}: holds infinite values")
            sample_data[name] = column
    return WindowProfile(
        rows=rows,
        columns=columns,
        row_sample=pd.DataFrame(sample_data, index=pd.RangeIndex(n_sample)),
        row_sample_keys=keys,
        max_points=max_points,
    )
