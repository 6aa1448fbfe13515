"""How a column's kind is inferred when the settings do not declare it (one rule for the
CLI, the engine and the data sources), and which columns are not features at all.

Two kinds of column are never compared as categories, because every value is its own
category and a chi-square on one category per row says nothing (p about 0.5 beside a
Jensen-Shannon distance of 1, its maximum):

- time columns (datetime dtypes): each window covers its own span of time, so they differ
  by construction. Left out of the inferred features with a note; a user who declares one
  as a feature gets it compared as time (seconds since 1970, UTC) with the numeric methods.
- identifiers: text columns whose values are almost all distinct (at least `ID_MIN_DISTINCT`
  distinct values and at least `ID_DISTINCT_SHARE` of the non-missing ones: two rows or
  fewer per category), and integer columns named like an id (`id`, `user_id`, `orderId`,
  `uuid`, `key`) whose values are all distinct. Left out with a note, declared or not.
"""

from __future__ import annotations

import re

import pandas as pd

from driftwarden.detectors.chunks import HEAD_ROWS
from driftwarden.detectors.config import FeatureKind

#: a text column with at least this share of distinct values is an identifier ...
ID_DISTINCT_SHARE = 0.5
#: ... once it has at least this many distinct values (a tiny window stays a category)
ID_MIN_DISTINCT = 20
_ID_NAME = re.compile(r"(^|[_\-\s.])(id|uuid|guid|key)$|[a-z0-9](Id|ID|Uuid|UUID|Key)$", re.I)


def infer_kind(series: pd.Series) -> FeatureKind:
    """Numeric for integer, float and duration columns (not booleans; durations compare as
    seconds), categorical otherwise (time columns are the engine's to leave out or compare
    as time, see the module docstring)."""
    dtype = series.dtype
    if pd.api.types.is_timedelta64_dtype(dtype):
        return FeatureKind.NUMERIC
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return FeatureKind.CATEGORICAL
    return FeatureKind.NUMERIC


def is_time(series: pd.Series) -> bool:
    """A column of dates or timestamps (naive or with a zone)."""
    return bool(pd.api.types.is_datetime64_any_dtype(series.dtype))


def time_note(name: str) -> str:
    return (
        f"{name!r} holds times: each window covers its own span, so it differs by "
        "construction; left out (declare it as a feature to compare it as time)"
    )


def identifier_note(name: str, series: pd.Series) -> str | None:
    """A note when `series` looks like an identifier (see the module docstring), else None."""
    present = series.dropna()
    if present.empty:
        return None
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    text = pd.api.types.is_object_dtype(dtype)
    distinct = int((present.astype(str) if text else present).nunique())
    if pd.api.types.is_numeric_dtype(dtype):
        integral = bool((present == present.round()).all())
        if not (
            integral
            and _ID_NAME.search(name)
            and distinct == len(present)
            and distinct >= ID_MIN_DISTINCT
        ):
            return None
    elif distinct < ID_MIN_DISTINCT or distinct < ID_DISTINCT_SHARE * len(present):
        return None
    # The engine infers kinds from a file's head (`chunks.HEAD_ROWS` rows): a cut head's
    # counts are said to be of its rows, not of the column (20,000 rows said "10,000 of
    # 10,000 values").
    counted = f"{len(present):,} values"
    if len(series) >= HEAD_ROWS:
        counted += f" in the first {len(series):,} rows"
    return (
        f"{name!r} looks like an identifier ({distinct:,} distinct of {counted}): "
        "not tested as categories"
    )
