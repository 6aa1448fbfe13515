"""The whole report on the demo's inference log: every section, no alarm without drift."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from driftwarden.detectors.cli import load_config
from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import compare, detect_frames, profile_frames, resolve_features
from driftwarden.detectors.stats.proportions import two_proportion_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def windows() -> dict[str, pd.DataFrame]:
    spec = importlib.util.spec_from_file_location("sample", ROOT / "examples/make_sample_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        "baseline": module.make_window(30_000, drifted=False, seed=1),
        "drifted": module.make_window(8_000, drifted=True, seed=2),
        "same": module.make_window(8_000, drifted=False, seed=3),
    }


@pytest.fixture(scope="module")
def spec() -> DetectionSpec:
    return DetectionSpec.model_validate(load_config(ROOT / "examples/detect-config.yaml"))


def test_no_drift_means_a_quiet_report(
    windows: dict[str, pd.DataFrame], spec: DetectionSpec
) -> None:
    report = detect_frames(windows["baseline"], windows["same"], spec)
    document = report.to_dict()
    assert document["drift_detected"] is False
    assert document["severity"] == "none"
    for section in ("prediction", "performance", "concept", "quality", "operational"):
        assert document[section]["severity"] == "none", (section, document[section]["summary"])
    assert document["health_score"] == 100.0
    json.dumps(document, allow_nan=False)  # the contract is strict JSON


def test_drift_shows_in_every_section(
    windows: dict[str, pd.DataFrame], spec: DetectionSpec
) -> None:
    report = detect_frames(windows["baseline"], windows["drifted"], spec, workers=2)
    document = report.to_dict()
    assert document["drift_detected"] is True
    assert {f["name"] for f in document["features"] if f["drift_detected"]} >= {"income", "region"}
    assert document["quality"]["columns"][0]["column"] == "region"
    assert document["operational"]["error_rate"]["current_rate"] > 0.008
    assert document["performance"]["severity"] != "none"
    assert document["prediction"]["positive_rate"]["current_rate"] > 0
    assert document["multivariate"]["p_value"] < 1e-6
    assert document["health_score"] < 60


def test_chunked_windows_give_the_same_report(
    windows: dict[str, pd.DataFrame], spec: DetectionSpec
) -> None:
    base, cur = windows["baseline"], windows["drifted"]
    features = resolve_features(spec, base)
    whole = compare(
        spec,
        features,
        profile_frames([base], spec, features),
        profile_frames([cur], spec, features),
    ).to_dict()
    chunks = [cur.iloc[i : i + 3000] for i in range(0, len(cur), 3000)]
    chunked = compare(
        spec,
        features,
        profile_frames([base], spec, features),
        profile_frames(chunks, spec, features),
    ).to_dict()
    assert chunked["features"] == whole["features"]
    assert chunked["quality"] == whole["quality"]
    assert chunked["operational"] == whole["operational"]


def test_positive_rate_equals_the_windows_shares_and_the_two_proportion_test(
    windows: dict[str, pd.DataFrame], spec: DetectionSpec
) -> None:
    """The prediction section's positive rate, against the shares counted on the rows."""
    assert spec.prediction is not None
    column, threshold = spec.prediction.column, spec.prediction.threshold
    base, cur = windows["baseline"][column], windows["drifted"][column]
    rate = detect_frames(windows["baseline"], windows["drifted"], spec).to_dict()["prediction"][
        "positive_rate"
    ]
    b_pos, c_pos = int((base >= threshold).sum()), int((cur >= threshold).sum())
    expected = two_proportion_test(b_pos, int(base.notna().sum()), c_pos, int(cur.notna().sum()))
    assert rate["threshold"] == threshold
    assert rate["baseline_rate"] == pytest.approx(expected.baseline_rate, rel=1e-12)
    assert rate["current_rate"] == pytest.approx(expected.current_rate, rel=1e-12)
    assert rate["p_value"] == pytest.approx(expected.p_value, rel=1e-9)
    assert rate["test"] == expected.method
