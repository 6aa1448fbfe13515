"""The detector engine: settings + two window profiles -> a Report.

No I/O here: callers bring data frames or profiles (the CLI from files, the Job from a
source). One code path for everything: an in-memory window is profiled as a single chunk,
a large one chunk by chunk (`profile.merge_windows`), a baseline may come from a stored
profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from driftwarden.detectors import __version__
from driftwarden.detectors.config import (
    DEFAULT_CATEGORICAL_METHODS,
    DEFAULT_NUMERIC_METHODS,
    MAX_FEATURE_NAME,
    DetectionSpec,
    FeatureKind,
    FeatureSpec,
    Method,
    PredictionType,
)
from driftwarden.detectors.errors import InputError
from driftwarden.detectors.hints import hint as _hint
from driftwarden.detectors.kinds import identifier_note, infer_kind, is_time, time_note
from driftwarden.detectors.profile import (
    DEFAULT_MAX_POINTS,
    Chunk,
    NumericProfile,
    WindowProfile,
    WindowProfiler,
    bottom_k,
    chunk_columns,
)
from driftwarden.detectors.registry import methods_for
from driftwarden.detectors.report import STATUS_INSUFFICIENT, STATUS_OK, FeatureReport, Report
from driftwarden.detectors.report_sections import Sections
from driftwarden.detectors.sections import (
    concept_section,
    operational_section,
    performance_section,
    prediction_section,
    quality_section,
)
from driftwarden.detectors.stats.decision import (
    MULTIVARIATE_WEIGHT,
    CaseVerdict,
    FeatureEvidence,
    FeatureVerdict,
    Levels,
    decide,
)
from driftwarden.detectors.stats.health import PARTS as HEALTH_PARTS
from driftwarden.detectors.stats.health import health_score, severity_score
from driftwarden.detectors.stats.multivariate import (
    MultivariateResult,
    hotelling_rank_test,
    one_hot,
    permutations_for,
)
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.stats.univariate import (
    MethodStatistic,
    categorical_statistics,
    numeric_statistics,
)


class DetectionInputError(InputError, ValueError):
    """Bad input that the user must fix (unknown column, wrong kind, empty window)."""


@dataclass(frozen=True)
class ResolvedFeature:
    """A feature with its kind and methods settled."""

    spec: FeatureSpec
    kind: FeatureKind
    kind_inferred: bool
    methods: tuple[Method, ...]

    @property
    def name(self) -> str:
        return self.spec.name


def reserved_columns(spec: DetectionSpec, extra: Iterable[str] = ()) -> set[str]:
    """Columns that are never features: prediction, label, operational, and `extra`."""
    names = set(extra)
    if spec.prediction is not None:
        names.add(spec.prediction.column)
    if spec.labels is not None:
        names.add(spec.labels.column)
    if spec.operational is not None:
        names.update(
            c for c in (spec.operational.latency_column, spec.operational.error_column) if c
        )
    return names


@dataclass(frozen=True)
class Resolution:
    """The features to compare, and the columns left out with the reason for each."""

    features: list[ResolvedFeature]
    left_out: dict[str, str]

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self.left_out.values())


def resolve_features(
    spec: DetectionSpec,
    frame: pd.DataFrame,
    exclude: Iterable[str] = (),
    *,
    stored: WindowProfile | None = None,
) -> list[ResolvedFeature]:
    """Settle each feature's kind (declared, held by a `stored` baseline profile, or
    inferred from `frame`) and methods."""
    return resolve_columns(spec, frame, exclude, stored=stored).features


def stored_kinds(profile: WindowProfile) -> dict[str, FeatureKind]:
    """The kind each column of a stored baseline profile was summarised as."""
    return {
        name: FeatureKind.NUMERIC if isinstance(column, NumericProfile) else FeatureKind.CATEGORICAL
        for name, column in profile.columns.items()
    }


def resolve_columns(
    spec: DetectionSpec,
    frame: pd.DataFrame,
    exclude: Iterable[str] = (),
    *,
    kinds: Mapping[str, FeatureKind] | None = None,
    stored: WindowProfile | None = None,
) -> Resolution:
    """Settle each feature's kind and methods, and leave out what is not a feature.

    Features are `spec.features`, else every column that is not the prediction, the label,
    an operational column or in `exclude`; `kinds` declares the kind of some of those
    (`--categorical` without `--features`) and must name columns of `frame`. Time columns
    are left out unless declared (declared, they are compared as time); identifiers are
    left out declared or not (`kinds` module). Every column the settings name must be in
    `frame`, and the prediction's type must suit the labels' task.

    With a `stored` baseline profile, a feature whose kind is not declared takes the kind
    the profile summarised it as, as a baseline file's own head would settle it: the
    current window's values never retype it (a few text cells in a numeric column are type
    errors of that column, not a reason to compare it as categories, or drop it as an id).
    """
    check_settings(spec)
    settled = stored_kinds(stored) if stored is not None else {}
    check_columns(spec, frame.columns)
    overrides = dict(kinds or {})
    available = [str(c) for c in frame.columns]
    for name in overrides:
        if name not in available:
            raise DetectionInputError(
                f"{overrides[name]} column {name!r} is not in the data{_hint(name, available)}"
            )
    reserved = reserved_columns(spec, exclude)
    declared = bool(spec.features)
    left_out: dict[str, str] = {}
    features = list(spec.features)
    if not features:
        for position, c in enumerate(frame.columns, start=1):
            name = str(c)
            if name in reserved:
                continue
            if not 0 < len(name) <= MAX_FEATURE_NAME:  # a feature must be named to be reported
                left_out[name] = (
                    f"column {position} has no name: not compared (name it to compare it)"
                    if not name
                    else f"column {position}'s name is longer than {MAX_FEATURE_NAME} "
                    "characters: not compared"
                )
                continue
            features.append(FeatureSpec(name=name, type=overrides.get(name)))
    resolved: list[ResolvedFeature] = []
    for feature in features:
        series = frame[feature.name]
        if is_time(series) and feature.type is not FeatureKind.CATEGORICAL:
            if not declared:
                left_out[feature.name] = time_note(feature.name)
                continue
            kind = FeatureKind.NUMERIC  # compared as time (seconds since 1970, UTC)
        elif feature.type is not None:
            kind = feature.type
        else:
            kind = settled.get(feature.name) or infer_kind(series)
        # Never compared as categories; an inferred numeric id column is left out too (a
        # stored baseline's column was checked when the profile was made).
        profiled = feature.type is None and feature.name in settled
        if not profiled and (
            kind is FeatureKind.CATEGORICAL or (feature.type is None and not declared)
        ):
            note = identifier_note(feature.name, series)
            if note is not None:
                left_out[feature.name] = note
                continue
        allowed = methods_for(kind)
        defaults = (
            DEFAULT_NUMERIC_METHODS if kind is FeatureKind.NUMERIC else DEFAULT_CATEGORICAL_METHODS
        )
        methods = tuple(feature.methods) if feature.methods else defaults
        bad = [m for m in methods if m not in allowed]
        if bad:
            raise DetectionInputError(
                f"feature {feature.name!r} is {kind}: method(s) {', '.join(bad)} do not apply"
            )
        resolved.append(ResolvedFeature(feature, kind, feature.type is None, methods))
    if not resolved:
        why = "; ".join(left_out.values()) if left_out else "the data has no columns left"
        raise DetectionInputError(f"no features to compare: {why}")
    return Resolution(resolved, left_out)


# Prediction types that make sense for each labelled task (performance needs them).
_PREDICTION_FOR_TASK = {
    "binary": ("probability", "class"),
    "multiclass": ("class",),
    "regression": ("regression", "probability"),
}


def check_settings(spec: DetectionSpec) -> None:
    """Refuse settings that cannot be evaluated together (a task and an unfit prediction)."""
    if spec.labels is None or spec.prediction is None:
        return
    task, kind = str(spec.labels.task), str(spec.prediction.type)
    fits = _PREDICTION_FOR_TASK.get(task, ())
    if kind not in fits:
        raise DetectionInputError(
            f"a {task} task needs a prediction of type {' or '.join(fits)}; "
            f"prediction column {spec.prediction.column!r} is of type {kind}"
        )


def check_probabilities(spec: DetectionSpec, profile: WindowProfile) -> None:
    """Refuse a probability prediction column with values outside [0, 1] (logits, 0-100
    scores): its positive rate and every classification metric would be meaningless."""
    if spec.prediction is None or spec.prediction.type is not PredictionType.PROBABILITY:
        return
    column = spec.prediction.column
    stored = profile.columns.get(column)
    if not isinstance(stored, NumericProfile) or not stored.count:
        return
    if stored.minimum < 0.0 or stored.maximum > 1.0:
        hint = "logits?" if stored.minimum < 0.0 else "a 0-100 score?"
        fix = "give probabilities (the sigmoid of logits, a 0-100 score divided by 100)"
        if spec.labels is None:
            fix += ", or --prediction-type regression to compare it as a number"
        raise DetectionInputError(
            f"prediction column {column!r} is a probability but holds values from "
            f"{stored.minimum:.4g} to {stored.maximum:.4g}, outside [0, 1] ({hint}): {fix}"
        )


def named_columns(spec: DetectionSpec) -> dict[str, str]:
    """Every column the settings name, with the setting that names it."""
    named: dict[str, str] = {}
    for feature in spec.features:
        named.setdefault(feature.name, "feature")
    if spec.prediction is not None:
        named.setdefault(spec.prediction.column, "prediction column")
    if spec.labels is not None:
        named.setdefault(spec.labels.column, "label column")
    if spec.operational is not None:
        if spec.operational.latency_column:
            named.setdefault(spec.operational.latency_column, "latency column")
        if spec.operational.error_column:
            named.setdefault(spec.operational.error_column, "error column")
    return named


def check_columns(spec: DetectionSpec, columns: Iterable[object], where: str = "the data") -> None:
    """Refuse a settings column that `columns` lacks, with the closest name as a hint."""
    available = [str(c) for c in columns]
    for name, role in named_columns(spec).items():
        if name not in available:
            raise DetectionInputError(f"{role} {name!r} is not in {where}{_hint(name, available)}")


def profile_columns(
    spec: DetectionSpec, features: Sequence[ResolvedFeature]
) -> tuple[dict[str, str], list[str]]:
    """What to profile: column kinds for the statistics, and the row-sample columns."""
    kinds = {f.name: str(f.kind) for f in features}
    sample_columns = [f.name for f in features]
    if spec.prediction is not None:
        prediction_kind = (
            "categorical" if spec.prediction.type is PredictionType.CLASS else "numeric"
        )
        kinds[spec.prediction.column] = prediction_kind
        sample_columns.append(spec.prediction.column)
    if spec.labels is not None:
        sample_columns.append(spec.labels.column)
    if spec.operational is not None:
        for column in (spec.operational.latency_column, spec.operational.error_column):
            if column:
                kinds.setdefault(column, "numeric")
                sample_columns.append(column)
    return kinds, list(dict.fromkeys(sample_columns))


def profile_frames(
    frames: Iterable[Chunk],
    spec: DetectionSpec,
    features: Sequence[ResolvedFeature],
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    seed: int = 0,
    workers: int = 1,
) -> WindowProfile:
    """Profile a window given as one or more chunks (pandas frames, or Arrow chunks whose
    numeric and text columns are profiled without a frame): `profile.WindowProfiler`, the
    same profile as `merge_windows` over each chunk's `window_profile`."""
    kinds, sample_columns = profile_columns(spec, features)
    builder = WindowProfiler(
        kinds,
        row_sample_columns=sample_columns,
        seed=seed,
        workers=workers,
        max_points=max_points,
    )
    for frame in frames:
        available = set(chunk_columns(frame))
        missing = [c for c in [*kinds, *sample_columns] if c not in available]
        if missing:
            raise DetectionInputError(
                f"column(s) not in the data: {', '.join(dict.fromkeys(missing))}"
            )
        builder.add(frame)
    if not builder.chunks:
        raise DetectionInputError("the window is empty (no rows)")
    return builder.profile()


def compare(
    spec: DetectionSpec,
    features: Sequence[ResolvedFeature],
    baseline: WindowProfile,
    current: WindowProfile,
    *,
    workers: int = 1,
) -> Report:
    """Compare two profiled windows under `spec` and return the run's `Report`.

    1. Gate: a feature with fewer than `minSamples` non-missing values in either window is
       reported as insufficient data and takes no part in the verdict.
    2. Evidence: each remaining feature's methods (`stats.univariate`) with its thresholds,
       and one joint test over the row samples (`stats.multivariate`), in `workers` threads.
    3. Verdict: `stats.decision.decide` turns the evidence into per-feature verdicts and
       one case verdict whose false-alarm rate is controlled at `decision.alpha`.
    4. Sections: prediction, performance, concept, quality and operational findings
       (`sections`), each with a severity and a part score.
    5. Severity and health: the worst of the verdict and the sections; the health score
       weighs the parts by `healthWeights` (`stats.health`).

    With no feature evaluable, the report's status is insufficient data, its severity none.
    """
    evaluable = [f for f in features if _enough(spec, f, baseline, current)]
    case, joint = _verdict(spec, evaluable, baseline, current, workers)
    by_name: dict[str, FeatureVerdict] = {v.name: v for v in case.features}
    reports = tuple(
        _feature_report(spec, f, baseline, current, by_name.get(f.name)) for f in features
    )
    sections = _sections(spec, features, evaluable, baseline, current)
    notes: list[str] = []
    status = STATUS_OK
    if not evaluable:
        status = STATUS_INSUFFICIENT
        notes.append(
            f"no feature has minSamples={spec.min_samples} values in both windows: "
            "neither drift nor no drift can be said"
        )
    severity = Severity.worst([case.severity, *(s.severity for s in sections.values())])
    prediction = sections.prediction
    drift = case.drift_detected or (
        prediction is not None and prediction.severity is not Severity.NONE
    )
    return Report(
        drift_detected=drift,
        severity=severity if status == STATUS_OK else Severity.NONE,
        health_score=_health(spec, case, sections, status),
        status=status,
        verdict=case.reason if status == STATUS_OK else "insufficient data",
        p_value=case.p_value if evaluable else None,
        alpha=spec.decision.alpha,
        rows_baseline=baseline.rows,
        rows_current=current.rows,
        features=reports,
        sections=sections,
        detector_version=__version__,
        notes=tuple(notes),
        multivariate=None if joint is None else _multivariate_dict(joint),
    )


def _enough(
    spec: DetectionSpec, feature: ResolvedFeature, baseline: WindowProfile, current: WindowProfile
) -> bool:
    return min(_count(baseline, feature.name), _count(current, feature.name)) >= spec.min_samples


def _verdict(
    spec: DetectionSpec,
    evaluable: Sequence[ResolvedFeature],
    baseline: WindowProfile,
    current: WindowProfile,
    workers: int,
) -> tuple[CaseVerdict, MultivariateResult | None]:
    """Per-feature evidence and the joint test, decided into one case verdict."""

    def evidence(feature: ResolvedFeature) -> FeatureEvidence:
        return FeatureEvidence(
            name=feature.name,
            kind=str(feature.kind),
            statistics=_statistics(feature, baseline, current, spec.decision.bins),
            levels=_levels(spec, feature),
        )

    if workers > 1 and len(evaluable) > 1:
        # numpy's sorts and the compiled ECDF walk release the GIL: threads use every core.
        # The joint test is submitted first; it is the longest single task.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            joint_future = pool.submit(
                _multivariate, evaluable, baseline, current, spec.decision.alpha
            )
            evidences = list(pool.map(evidence, evaluable))
            joint = joint_future.result()
    else:
        evidences = [evidence(f) for f in evaluable]
        joint = _multivariate(evaluable, baseline, current, spec.decision.alpha)
    case = decide(
        evidences, spec.decision.alpha, multivariate_p=None if joint is None else joint.p_value
    )
    return case, joint


def _feature_report(
    spec: DetectionSpec,
    feature: ResolvedFeature,
    baseline: WindowProfile,
    current: WindowProfile,
    verdict: FeatureVerdict | None,
) -> FeatureReport:
    """One feature's line of the report; `verdict` None: it had too few values."""
    report = FeatureReport(
        name=feature.name,
        kind=str(feature.kind),
        kind_inferred=feature.kind_inferred,
        status=STATUS_INSUFFICIENT,
        drift_detected=False,
        severity=Severity.NONE,
        p_value=None,
        p_value_adjusted=None,
        n_baseline=_count(baseline, feature.name),
        n_current=_count(current, feature.name),
        note=f"fewer than minSamples={spec.min_samples} non-missing values",
    )
    if verdict is None:
        return report
    return replace(
        report,
        status=STATUS_OK,
        drift_detected=verdict.drift_detected,
        severity=verdict.severity,
        p_value=verdict.p_value,
        p_value_adjusted=verdict.p_value_adjusted,
        methods=verdict.methods,
        note=_feature_note(feature, baseline, current),
    )


def _sections(
    spec: DetectionSpec,
    features: Sequence[ResolvedFeature],
    evaluable: Sequence[ResolvedFeature],
    baseline: WindowProfile,
    current: WindowProfile,
) -> Sections:
    """The report's sections that apply to this spec."""
    return Sections(
        prediction=(
            None if spec.prediction is None else prediction_section(spec, baseline, current)
        ),
        performance=performance_section(spec, baseline, current),
        concept=concept_section(spec, evaluable, baseline, current),
        quality=quality_section(_quality_columns(spec, features), baseline, current),
        operational=operational_section(spec, baseline, current),
    )


def detect_frames(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    spec: DetectionSpec,
    *,
    exclude: Iterable[str] = (),
    workers: int = 1,
) -> Report:
    """Convenience: compare two in-memory data frames."""
    features = resolve_features(spec, baseline, exclude)
    base_profile = profile_frames([baseline], spec, features, workers=workers)
    current_profile = profile_frames([current], spec, features, seed=10_000, workers=workers)
    return compare(spec, features, base_profile, current_profile, workers=workers)


# --- internals ----------------------------------------------------------------------------

# Rows per window for the multivariate test: its permutation p-value costs about 0.3 s on
# 2 x 5,000 rows and 50 columns (benchmarks/bench_decision.py prints it); above 5,000 rows the
# univariate tests see a weak drift on their own.
MULTIVARIATE_ROWS = 5_000
# Most frequent categories of a feature that get an indicator column in the joint test.
MULTIVARIATE_CATEGORIES = 12


def _multivariate(
    features: Sequence[ResolvedFeature],
    baseline: WindowProfile,
    current: WindowProfile,
    alpha: float,
) -> MultivariateResult | None:
    """The joint test over the row samples (its share of alpha sets its permutations);
    None when it cannot run (too few rows)."""
    if len(features) < 2:
        return None
    b_rows = _subsample(baseline, MULTIVARIATE_ROWS)
    c_rows = _subsample(current, MULTIVARIATE_ROWS)
    b_parts: list[np.ndarray] = []
    c_parts: list[np.ndarray] = []
    for feature in features:
        if feature.name not in b_rows.columns or feature.name not in c_rows.columns:
            return None
        if feature.kind is FeatureKind.NUMERIC:
            b_parts.append(
                pd.to_numeric(b_rows[feature.name], errors="coerce").to_numpy(float)[:, None]
            )
            c_parts.append(
                pd.to_numeric(c_rows[feature.name], errors="coerce").to_numpy(float)[:, None]
            )
        else:
            counts = baseline.categorical(feature.name).counts
            top = sorted(counts, key=lambda k: (-counts[k], k))[:MULTIVARIATE_CATEGORIES]
            b_parts.append(one_hot(_objects(b_rows[feature.name]), top))
            c_parts.append(one_hot(_objects(c_rows[feature.name]), top))
    # One BLAS thread: the test runs beside the per-feature tests in `workers` threads, and
    # OpenBLAS' own threads spinning for a core made its covariance and eigendecomposition
    # (measured on 40,000 x 75) take 0.2-0.9 s instead of 0.01 s on a busy 2-core node. Its
    # numbers then no longer depend on the node's CPU count either.
    with threadpool_limits(limits=1, user_api="blas"):
        return hotelling_rank_test(
            np.hstack(b_parts),
            np.hstack(c_parts),
            permutations=permutations_for(MULTIVARIATE_WEIGHT * alpha),
        )


def _subsample(profile: WindowProfile, rows: int) -> pd.DataFrame:
    """A uniform sample of at most `rows` of the window's rows: the row sample's rows with
    the smallest keys (bottom-k of uniform keys), in row order. Not the sample's first rows:
    the sample is kept in row order, so those are the window's oldest."""
    sample = profile.row_sample
    if len(sample) <= rows:
        return sample
    keep = bottom_k(profile.row_sample_keys, rows)
    return sample.iloc[keep].reset_index(drop=True)


def _objects(series: pd.Series) -> np.ndarray:
    """Values as Python objects, every kind of missing (pd.NA, NaT, NaN) as None."""
    return series.astype(object).where(series.notna(), None).to_numpy(dtype=object)


def _multivariate_dict(result: MultivariateResult) -> dict[str, object]:
    return {
        "method": "hotelling_rank",
        "statistic": result.statistic,
        "p_value": result.p_value,
        "permutations": result.permutations,
        "dof": result.dof,
        "rows": {"baseline": result.n_baseline, "current": result.n_current},
    }


def _count(profile: WindowProfile, name: str) -> int:
    return profile.columns[name].count


def _statistics(
    feature: ResolvedFeature, baseline: WindowProfile, current: WindowProfile, bins: int
) -> list[MethodStatistic]:
    methods = [str(m) for m in feature.methods]
    if feature.kind is FeatureKind.NUMERIC:
        return numeric_statistics(
            baseline.numeric(feature.name).sample(),
            current.numeric(feature.name).sample(),
            methods,
            bins,
        )
    return categorical_statistics(
        baseline.categorical(feature.name).counts, current.categorical(feature.name).counts, methods
    )


def _levels(spec: DetectionSpec, feature: ResolvedFeature) -> dict[str, Levels]:
    levels: dict[str, Levels] = {}
    for method in feature.methods:
        t = spec.thresholds_for(feature.spec, method)
        levels[str(method)] = Levels(t.warning, t.critical)
    return levels


def _feature_note(feature: ResolvedFeature, baseline: WindowProfile, current: WindowProfile) -> str:
    if feature.kind is FeatureKind.CATEGORICAL:
        b = baseline.categorical(feature.name)
        c = current.categorical(feature.name)
        new = sorted(set(c.counts) - set(b.counts))
        vanished = sorted(set(b.counts) - set(c.counts))
        parts = []
        if new:
            parts.append("new categories: " + ", ".join(new[:5]) + (" ..." if len(new) > 5 else ""))
        if vanished:
            parts.append(
                "vanished categories: "
                + ", ".join(vanished[:5])
                + (" ..." if len(vanished) > 5 else "")
            )
        return "; ".join(parts)
    bn = baseline.numeric(feature.name)
    if bn.count and bn.std == 0:
        return "constant in the baseline: wasserstein is reported unnormalised"
    return ""


def _health(
    spec: DetectionSpec,
    case: CaseVerdict,
    sections: Sections,
    status: str,
) -> float:
    """The health score (stats.health): part scores weighted by spec.healthWeights.

    Data drift's part: the severity score of the run's verdict, times (1 - half the share
    of drifted features), so three drifted features of 25 weigh less than 20 of 25.
    """
    parts: dict[str, float | None] = dict.fromkeys(HEALTH_PARTS)
    if status == STATUS_OK and case.features:
        share = sum(f.drift_detected for f in case.features) / len(case.features)
        parts["data_drift"] = severity_score(case.severity) * (1.0 - 0.5 * share)
    for section in sections.values():
        parts[section.health_part] = section.score
    weights = spec.health_weights.model_dump()
    if not any(score is not None and weights[name] > 0 for name, score in parts.items()):
        return 100.0
    return health_score(parts, weights)


def _quality_columns(
    spec: DetectionSpec, features: Sequence[ResolvedFeature]
) -> list[tuple[str, str]]:
    columns = [(f.name, str(f.kind)) for f in features]
    if spec.prediction is not None:
        kind = "categorical" if spec.prediction.type is PredictionType.CLASS else "numeric"
        columns.append((spec.prediction.column, kind))
    return columns
