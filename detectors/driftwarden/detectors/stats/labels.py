"""Class labels compared by their string form (shared by performance and concept drift)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def label_strings(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """Each label's string form: integral floats and booleans print as integers, so 1,
    1.0 (a label column read as float), True and "1" are one class, "1.5" stays "1.5"."""
    if values.dtype.kind == "f":
        as_int = np.isfinite(values) & (values == np.round(values))
        if as_int.all():
            return values.astype(np.int64).astype(str)
    if values.dtype.kind in "biu":
        return values.astype(np.int64).astype(str)
    if values.dtype.kind == "U":
        return values.astype(str)
    if values.size == 0:
        return np.array([], dtype=str)
    return np.array([label_str(v) for v in values.tolist()], dtype=str)


def label_str(value: Any) -> str:
    """One label's string form (see `label_strings`)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
