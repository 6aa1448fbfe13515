"""What counts as a missing value: the one NaN policy of the quality and performance stats."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

# pandas' missing markers, recognised by type name so that the statistics need not import
# pandas (the stats layer is pure numpy/scipy).
_MISSING_TYPE_NAMES = frozenset({"NAType", "NaTType"})


def _is_missing_scalar(value: Any) -> bool:
    if isinstance(value, str):  # the common case in object columns: decide it first
        return False
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return type(value).__name__ in _MISSING_TYPE_NAMES


def missing_mask(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a value is missing.

    Missing means: None, a float NaN (Python or numpy), numpy NaT, or pandas' NA / NaT.
    Everything else is a value, including empty strings and the strings "nan" or "NA"
    (those are a data-quality finding for the caller, not silently missing). Vectorised for
    numeric, boolean, string and datetime arrays; one pass over the values for object arrays.

    Raises ValueError naming `values` when it is not one-dimensional.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "fc":
        mask: npt.NDArray[np.bool_] = np.isnan(arr)
        return mask
    if kind in "mM":
        nat: npt.NDArray[np.bool_] = np.isnat(arr)
        return nat
    if kind == "O":
        return np.fromiter((_is_missing_scalar(v) for v in arr), dtype=bool, count=arr.size)
    return np.zeros(arr.shape, dtype=bool)
