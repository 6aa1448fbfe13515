"""The health score 0–100: a weighted mean of part scores in [0, 1] (1 = healthy).

Parts (the field names of `config.HealthWeights`): data_drift, prediction_drift,
performance, concept_drift, data_quality, operational.

From severities to a part score (`severity_score`): none -> 1.0, warning -> 0.6,
critical -> 0.2. A critical part never scores 0, so one critical part among healthy ones
lowers the score clearly without erasing what the other parts say; insufficient data is
no evidence, so such a part is left out (None), not scored.

A part made of many findings (25 features' drift, every column's quality) scores
`aggregate_score`: the mean of its worst finding's score and the mean of all findings'
scores. The worst finding weighs half, so a single critical feature among 25 already
takes the part to 0.59, and breadth counts too: 10 critical features score lower than one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from driftwarden.detectors.stats.severity import Severity

PARTS: tuple[str, ...] = (
    "data_drift",
    "prediction_drift",
    "performance",
    "concept_drift",
    "data_quality",
    "operational",
)

SEVERITY_SCORES: Mapping[Severity, float] = {
    Severity.NONE: 1.0,
    Severity.WARNING: 0.6,
    Severity.CRITICAL: 0.2,
}


def severity_score(severity: Severity) -> float:
    """Part score of one severity: none 1.0, warning 0.6, critical 0.2."""
    return SEVERITY_SCORES[Severity(severity)]


def aggregate_score(severities: Iterable[Severity]) -> float | None:
    """Score of a part made of many findings: 0.5 * score(worst) + 0.5 * mean(scores).

    None when there is no finding (the part is absent, not healthy).
    """
    scores = [severity_score(s) for s in severities]
    if not scores:
        return None
    return 0.5 * min(scores) + 0.5 * sum(scores) / len(scores)


def health_score(parts: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """Health = 100 * sum_p w_p s_p / sum_p w_p over the parts p present (score not None).

    Weights are normalised over the parts present, so a run without labels (no
    performance, no concept drift) is scored from what it measured. Parts with weight 0
    do not count. Raises ValueError naming the argument for an unknown part name, a score
    outside [0, 1] or NaN, a negative or non-finite weight, a present part without a
    weight, or when no present part has a positive weight (nothing to score).
    """
    for name in parts:
        if name not in PARTS:
            raise ValueError(f"parts: unknown part {name!r}; expected one of {', '.join(PARTS)}")
    for name, w in weights.items():
        if name not in PARTS:
            raise ValueError(f"weights: unknown part {name!r}; expected one of {', '.join(PARTS)}")
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weights[{name!r}] must be a finite number >= 0, got {w}")
    total = 0.0
    weighted = 0.0
    for name, score in parts.items():
        if score is None:
            continue
        if not 0.0 <= score <= 1.0:  # also rejects NaN
            raise ValueError(f"parts[{name!r}] must be in [0, 1], got {score}")
        if name not in weights:
            raise ValueError(f"weights: no weight for the present part {name!r}")
        total += weights[name]
        weighted += weights[name] * score
    if total <= 0.0:
        raise ValueError("parts: no present part has a positive weight")
    return 100.0 * weighted / total
