"""The explicit table of drift methods: name -> what it applies to and how it is computed.

Nothing registers itself on import; adding a method means adding a row here, a branch in
`stats.univariate`, and passing the contract tests (tests/unit/test_method_contract.py),
which run over every row.
"""

from __future__ import annotations

from dataclasses import dataclass

from driftwarden.detectors.config import FeatureKind, Method


@dataclass(frozen=True, slots=True)
class MethodInfo:
    method: Method
    kinds: frozenset[FeatureKind]
    statistic: str
    effect: str
    p_value: str | None


_BOTH = frozenset({FeatureKind.NUMERIC, FeatureKind.CATEGORICAL})
_NUMERIC = frozenset({FeatureKind.NUMERIC})
_CATEGORICAL = frozenset({FeatureKind.CATEGORICAL})

REGISTRY: dict[Method, MethodInfo] = {
    Method.KS: MethodInfo(
        Method.KS, _NUMERIC, "KS D = max |F_b - F_c|", "D", "two-sample KS (as scipy ks_2samp)"
    ),
    Method.WASSERSTEIN: MethodInfo(
        Method.WASSERSTEIN,
        _NUMERIC,
        "W1 = integral |F_b - F_c| dx (feature units)",
        "W1 / baseline standard deviation",
        "two-sample KS on the same ECDFs",
    ),
    Method.PSI: MethodInfo(
        Method.PSI,
        _BOTH,
        "sum (q - p) ln(q / p), 0.5-smoothed, baseline-quantile bins or categories",
        "PSI - (k - 1)(1/B + 1/Q)",
        "chi-square homogeneity on the same bins",
    ),
    Method.JS: MethodInfo(
        Method.JS,
        _BOTH,
        "sqrt(JSD), base 2, same bins",
        "sqrt(JSD - (k - 1)(1/B + 1/Q) / (8 ln 2))",
        "chi-square homogeneity on the same bins",
    ),
    Method.KL: MethodInfo(
        Method.KL,
        _BOTH,
        "KL(current || baseline), nats, 0.5-smoothed",
        "KL - (k - 1)(1/B + 1/Q) / 2",
        "chi-square homogeneity on the same bins",
    ),
    Method.HELLINGER: MethodInfo(
        Method.HELLINGER,
        _BOTH,
        "sqrt(1 - sum sqrt(p q))",
        "sqrt(H^2 - (k - 1)(1/B + 1/Q) / 8)",
        "chi-square homogeneity on the same bins",
    ),
    Method.CHI2: MethodInfo(
        Method.CHI2,
        _CATEGORICAL,
        "Pearson X^2 on the 2 x k table (no continuity correction)",
        "Cramér's V with the null mean removed: sqrt(max(0, X^2 - dof) / N)",
        "chi-square distribution, dof = k - 1",
    ),
}


def methods_for(kind: FeatureKind) -> list[Method]:
    return [m for m, info in REGISTRY.items() if kind in info.kinds]
