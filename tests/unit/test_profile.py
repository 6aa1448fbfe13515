"""Profiles: chunked equals in-memory, compression within a stated tolerance, safe files."""

import io

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.config import DetectionSpec, FeatureSpec
from driftwarden.detectors.engine import compare, profile_frames, resolve_features
from driftwarden.detectors.profile import (
    PROFILE_FORMAT,
    ProfileFormatError,
    categorical_profile,
    dumps,
    loads,
    merge_numeric,
    numeric_profile,
)
from driftwarden.detectors.stats.univariate import numeric_statistics, sample_from_values


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.integers(0, 20, n).astype(float),
            "c": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
            "score": rng.random(n),
        }
    )


SPEC = DetectionSpec.model_validate(
    {"features": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "prediction": {"column": "score"}}
)


def _chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def test_chunked_profile_equals_in_memory_exactly() -> None:
    base, cur = _frame(5000, 1), _frame(3000, 2, shift=0.1)
    features = resolve_features(SPEC, base)
    whole = compare(
        SPEC,
        features,
        profile_frames([base], SPEC, features),
        profile_frames([cur], SPEC, features),
    )
    chunked = compare(
        SPEC,
        features,
        profile_frames(_chunks(base, 700), SPEC, features),
        profile_frames(_chunks(cur, 999), SPEC, features),
    )
    assert whole.to_dict()["features"] == chunked.to_dict()["features"]


def test_compressed_profile_is_within_tolerance() -> None:
    """With max_points=2,000 on 200,000 rows, ECDF ranks move by at most ~1/2,000: KS and
    PSI within 2e-3, Wasserstein within 2% of the exact values (the stated tolerance)."""
    rng = np.random.default_rng(5)
    base = rng.normal(size=200_000)
    cur = rng.normal(0.05, 1.1, size=150_000)
    exact = numeric_statistics(
        sample_from_values(base), sample_from_values(cur), ["ks", "wasserstein", "psi", "js"], 10
    )
    profile = numeric_profile(base[:1], max_points=2000)
    for chunk in np.array_split(base[1:], 37):
        profile = merge_numeric(profile, numeric_profile(chunk, max_points=2000), 2000)
    assert not profile.exact
    assert profile.values.shape[0] <= 2000
    assert profile.count == 200_000
    approx = numeric_statistics(
        profile.sample(), sample_from_values(cur), ["ks", "wasserstein", "psi", "js"], 10
    )
    by_method = {s.method: s for s in approx}
    for s in exact:
        tolerance = 0.02 * s.statistic if s.method == "wasserstein" else 2e-3
        assert by_method[s.method].statistic == pytest.approx(s.statistic, abs=tolerance), s.method
    assert profile.mean == pytest.approx(base.mean())
    assert profile.std == pytest.approx(base.std())


def test_round_trip_through_bytes_gives_identical_results() -> None:
    base, cur = _frame(4000, 3), _frame(4000, 4, shift=0.3)
    features = resolve_features(SPEC, base)
    base_profile = profile_frames([base], SPEC, features)
    cur_profile = profile_frames([cur], SPEC, features)
    restored = loads(dumps(base_profile))
    assert restored.rows == base_profile.rows
    assert list(restored.row_sample.columns) == list(base_profile.row_sample.columns)
    first = compare(SPEC, features, base_profile, cur_profile).to_dict()
    second = compare(SPEC, features, restored, cur_profile).to_dict()
    assert first == second


def test_profile_files_are_checked() -> None:
    with pytest.raises(ProfileFormatError, match="not a driftwarden profile"):
        loads(b"definitely not an archive")
    # A future version is refused by name.
    buffer = io.BytesIO()
    header = np.frombuffer(b'{"format": "driftwarden.io/profile/v9"}', dtype=np.uint8)
    np.savez(buffer, header=header)
    with pytest.raises(ProfileFormatError, match=r"v9.*not supported.*" + PROFILE_FORMAT):
        loads(buffer.getvalue())
    # Pickled object arrays are never loaded (allow_pickle=False).
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([{"format": PROFILE_FORMAT}], dtype=object))
    with pytest.raises(ProfileFormatError):
        loads(buffer.getvalue())


def test_type_errors_and_missing_are_counted() -> None:
    profile = numeric_profile(np.array(["1.5", "2", None, "abc", "", "3e2"], dtype=object))
    assert profile.count == 3
    assert profile.missing == 3
    assert profile.type_errors == 2  # "abc" and "" (None is missing, not an error)
    cats = categorical_profile(np.array(["a", None, "b", "a", np.nan], dtype=object))
    assert dict(cats.counts) == {"a": 2.0, "b": 1.0}
    assert cats.missing == 2
    with pytest.raises(ValueError, match="infinite"):
        numeric_profile(np.array([1.0, np.inf]))


def test_unknown_column_is_named() -> None:
    spec = DetectionSpec(features=[FeatureSpec(name="nope")])
    with pytest.raises(ValueError, match="nope"):
        resolve_features(spec, _frame(10, 1))
