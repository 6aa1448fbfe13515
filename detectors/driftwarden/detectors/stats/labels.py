"""Class labels compared by their string form (shared by performance and concept drift)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: Integral floats below this print as integers (1.0 -> "1"); larger ones keep the float's
#: own form (1e308 -> "1e+308", not its 309 digits): past 2**53 a float is no exact integer.
EXACT = 2.0**53


def label_strings(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """Each label's string form: integral floats and booleans print as integers, so 1,
    1.0 (a label column read as float), True and "1" are one class, "1.5" stays "1.5"."""
    if values.dtype.kind == "f":
        as_int = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < EXACT)
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
    if isinstance(value, float) and value.is_integer() and abs(value) < EXACT:
        return str(int(value))
    return str(value)


def label_display(label: str, width: int = 24) -> str:
    """A label as a message shows it: at most `width` characters (a label is data: a value
    read wrong, such as a 400-character string, must not flood the message)."""
    return label if len(label) <= width else label[: width - 3] + "..."


def encode_labels(
    *windows: npt.NDArray[Any],
) -> tuple[list[npt.NDArray[np.intp]], list[str]]:
    """One integer code per label across all windows, and the labels' string forms (sorted
    by value for numeric labels, by text otherwise). Numeric and boolean windows take a
    vectorised path (no per-value strings), so million-row windows stay cheap; labels that
    print the same (1 and 1.0) share a code either way."""
    sizes = [w.size for w in windows]
    if all(w.dtype.kind in "biuf" for w in windows):
        joined = np.concatenate([w.astype(np.float64) for w in windows])
        uniq, codes = np.unique(joined, return_inverse=True)
        names = [label_str(float(u)) for u in uniq.tolist()]
    else:
        strings = np.concatenate([label_strings(w) for w in windows])
        uniq_s, codes = np.unique(strings, return_inverse=True)
        names = [str(u) for u in uniq_s.tolist()]
    bounds = np.cumsum([0, *sizes])
    parts = [codes[bounds[i] : bounds[i + 1]] for i in range(len(windows))]
    return parts, names
