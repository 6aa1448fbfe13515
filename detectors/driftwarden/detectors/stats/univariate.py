"""Per-feature drift statistics: every method's statistic, effect size and p-value.

Inputs are summaries, not raw rows: a numeric feature is a sorted sample (with optional
weights, from a compressed profile), a categorical feature is a category -> count mapping.
Deciding drift from these numbers is `stats.decision`'s job.

Numeric methods
- ks: two-sample KS statistic D (`stats.ecdf`), p-value as scipy's ks_2samp (`stats.ks`);
  effect = D.
- wasserstein: W1 distance in the feature's units; effect = W1 / baseline standard deviation
  (scale-free), so one threshold fits income and age; p-value = the KS test on the same
  ECDFs (W1 has no cheap exact null distribution; KS is its natural companion).
- psi, js, kl, hellinger: on `bins` baseline-quantile bins plus one below the baseline's
  minimum and one above its maximum (`stats.binning`); effect = the statistic minus its
  no-drift expectation (`stats.divergence.bias_corrected`); p-value (one test shared by the
  four) = weighted Bonferroni of the chi-square homogeneity test on the quantile bins (the
  outer bins pooled into their neighbours; weight 0.9) and the exact exceedance test of
  each outer bin (`divergence.exceedance_p_value`; weight 0.05 each). The outer bins are
  empty in the baseline, so a chi-square over them is anti-conservative (expected counts
  near 1: 0.066 at alpha 0.05 on 200 vs 200 normal rows, against 0.044 without them); the
  exceedance test is exact, and a window that left the baseline's range gets a p-value
  of about 2^-k for k values beyond it.
Categorical methods
- chi2: 2 x k contingency chi-square over the union of categories; effect = Cramér's V with
  the null mean removed.
- psi, js, kl, hellinger over categories as above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.stats import divergence
from driftwarden.detectors.stats.binning import quantile_edges, sorted_bin_counts
from driftwarden.detectors.stats.divergence import chi_square_homogeneity, cramers_v_corrected
from driftwarden.detectors.stats.ecdf import EcdfComparison, compare_sorted, compare_weighted
from driftwarden.detectors.stats.ks import ks_p_value

F64 = npt.NDArray[np.float64]

BINNED_METHODS = ("psi", "js", "kl", "hellinger")
NUMERIC_METHOD_NAMES = frozenset({"ks", "wasserstein", *BINNED_METHODS})
CATEGORICAL_METHOD_NAMES = frozenset({"chi2", *BINNED_METHODS})


@dataclass(frozen=True, slots=True)
class NumericSample:
    """A NaN-free numeric sample, sorted, as a profile keeps it.

    `weights` is None for a full sample, or per-point weights for a compressed one;
    `minimum` and `maximum` are the range of the values summarised (a compressed sample's
    points are bucket means, inside that range), None to take the values' ends.
    """

    values: F64
    weights: F64 | None
    count: int
    std: float
    minimum: float | None = None
    maximum: float | None = None

    @property
    def exact(self) -> bool:
        return self.weights is None


@dataclass(frozen=True, slots=True)
class MethodStatistic:
    """One method's numbers for one feature; no thresholds applied yet."""

    method: str
    statistic: float
    effect: float
    p_value: float | None
    n_baseline: int
    n_current: int
    detail: Mapping[str, float]
    #: the hypothesis test behind p_value ("ks" or "chi2"); methods sharing one count once
    test: str = ""


def numeric_statistics(
    baseline: NumericSample, current: NumericSample, methods: Iterable[str], bins: int
) -> list[MethodStatistic]:
    """Statistics of the requested numeric methods between two samples."""
    wanted = list(dict.fromkeys(methods))
    unknown = set(wanted) - NUMERIC_METHOD_NAMES
    if unknown:
        raise ValueError(f"unknown numeric methods: {sorted(unknown)}")
    if baseline.count == 0 or current.count == 0:
        raise ValueError("both samples must be non-empty")
    n_b, n_c = baseline.count, current.count
    results: list[MethodStatistic] = []
    ecdf: EcdfComparison | None = None
    if "ks" in wanted or "wasserstein" in wanted:
        if baseline.exact and current.exact:
            ecdf = compare_sorted(baseline.values, current.values)
        else:
            ecdf = compare_weighted(
                baseline.values, _weights(baseline), current.values, _weights(current)
            )
    ks_p = ks_p_value(ecdf.ks_statistic, n_b, n_c) if ecdf is not None else None
    for method in wanted:
        if method == "ks":
            assert ecdf is not None
            d = ecdf.ks_statistic
            results.append(MethodStatistic("ks", d, d, ks_p, n_b, n_c, {}, test="ks"))
        elif method == "wasserstein":
            assert ecdf is not None
            spread = baseline.std if baseline.std > 0 else 1.0
            w = ecdf.wasserstein
            detail = {"baseline_std": baseline.std}
            results.append(
                MethodStatistic("wasserstein", w, w / spread, ks_p, n_b, n_c, detail, test="ks")
            )
    binned = [m for m in wanted if m in BINNED_METHODS]
    if binned:
        edges = quantile_edges(
            baseline.values, bins, baseline.weights, low=baseline.minimum, high=baseline.maximum
        )
        b_counts = sorted_bin_counts(baseline.values, edges, baseline.weights)
        c_counts = sorted_bin_counts(current.values, edges, current.weights)
        test = _range_aware_test(b_counts, c_counts)
        results.extend(_binned_statistics(b_counts, c_counts, binned, n_b, n_c, chi=test))
    order = {m: i for i, m in enumerate(wanted)}
    results.sort(key=lambda r: order[r.method])
    return results


def categorical_statistics(
    baseline_counts: Mapping[str, float],
    current_counts: Mapping[str, float],
    methods: Iterable[str],
) -> list[MethodStatistic]:
    """Statistics of the requested categorical methods over the union of categories."""
    wanted = list(dict.fromkeys(methods))
    unknown = set(wanted) - CATEGORICAL_METHOD_NAMES
    if unknown:
        raise ValueError(f"unknown categorical methods: {sorted(unknown)}")
    categories = sorted(set(baseline_counts) | set(current_counts))
    b = np.array([baseline_counts.get(k, 0.0) for k in categories], dtype=np.float64)
    c = np.array([current_counts.get(k, 0.0) for k in categories], dtype=np.float64)
    n_b, n_c = round(float(b.sum())), round(float(c.sum()))
    if n_b == 0 or n_c == 0:
        raise ValueError("both windows need at least one categorical value")
    results: list[MethodStatistic] = []
    chi = chi_square_homogeneity(b, c)
    for method in wanted:
        if method == "chi2":
            effect = cramers_v_corrected(chi, float(b.sum() + c.sum()))
            results.append(
                MethodStatistic(
                    "chi2",
                    chi.statistic,
                    effect,
                    chi.p_value,
                    n_b,
                    n_c,
                    {"dof": float(chi.dof), "cramers_v": chi.cramers_v},
                    test="chi2",
                )
            )
    binned = [m for m in wanted if m in BINNED_METHODS]
    results.extend(_binned_statistics(b, c, binned, n_b, n_c, chi=chi))
    order = {m: i for i, m in enumerate(wanted)}
    results.sort(key=lambda r: order[r.method])
    return results


def _binned_statistics(
    b_counts: F64,
    c_counts: F64,
    methods: list[str],
    n_b: int,
    n_c: int,
    chi: divergence.ChiSquareResult | None = None,
) -> list[MethodStatistic]:
    if not methods:
        return []
    if chi is None:
        chi = chi_square_homogeneity(b_counts, c_counts)
    n_bins = int(np.count_nonzero((b_counts + c_counts) > 0))
    functions = {
        "psi": divergence.psi,
        "js": divergence.js_distance,
        "kl": divergence.kl_divergence,
        "hellinger": divergence.hellinger_distance,
    }
    out: list[MethodStatistic] = []
    for method in methods:
        raw = functions[method](b_counts, c_counts)
        effect = divergence.bias_corrected(method, raw, b_counts.sum(), c_counts.sum(), n_bins)
        out.append(
            MethodStatistic(
                method,
                raw,
                effect,
                chi.p_value,
                n_b,
                n_c,
                {"bins": float(b_counts.shape[0])},
                test="chi2",
            )
        )
    return out


#: weight of each outer bin's exceedance test in the binned methods' p-value (module doc)
RANGE_TEST_WEIGHT = 0.05


def _range_aware_test(b_counts: F64, c_counts: F64) -> divergence.ChiSquareResult:
    """The binned methods' test on numeric bins whose first and last bins lie outside the
    baseline's range (see the module docstring)."""
    inner_b, inner_c = b_counts[1:-1].copy(), c_counts[1:-1].copy()
    inner_b[0] += b_counts[0]
    inner_b[-1] += b_counts[-1]
    inner_c[0] += c_counts[0]
    inner_c[-1] += c_counts[-1]
    chi = chi_square_homogeneity(inner_b, inner_c)
    n_b, n_c = float(b_counts.sum()), float(c_counts.sum())
    tails = [
        divergence.exceedance_p_value(c, n_c, n_b) if b == 0 else 1.0
        for b, c in ((b_counts[0], c_counts[0]), (b_counts[-1], c_counts[-1]))
    ]
    p_value = min(
        1.0,
        chi.p_value / (1.0 - 2 * RANGE_TEST_WEIGHT),
        *(p / RANGE_TEST_WEIGHT for p in tails),
    )
    return replace(chi, p_value=p_value)


def _weights(sample: NumericSample) -> F64:
    if sample.weights is not None:
        return sample.weights
    return np.ones(sample.values.shape[0], dtype=np.float64)


def sample_from_values(values: npt.ArrayLike) -> NumericSample:
    """A NumericSample from raw values; NaN removed (the caller counts them as missing)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {arr.shape}")
    arr = arr[~np.isnan(arr)]
    if np.any(np.isinf(arr)):
        raise ValueError("values must be finite (infinite values found)")
    arr = np.sort(arr)
    std = float(arr.std()) if arr.shape[0] else math.nan
    return NumericSample(arr, None, int(arr.shape[0]), std)
