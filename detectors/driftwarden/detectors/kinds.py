"""How a column's kind is inferred when the settings do not declare it (one rule for the
CLI, the engine and the data sources)."""

from __future__ import annotations

import pandas as pd

from driftwarden.detectors.config import FeatureKind


def infer_kind(series: pd.Series) -> FeatureKind:
    """Numeric for integer and float columns (not booleans), categorical otherwise."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return FeatureKind.CATEGORICAL
    return FeatureKind.NUMERIC
