"""The HTML report in a real headless browser (Debian's chromium, installed when missing):
it loads offline with no console message, and every feature's plot is in the DOM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import load, screenshot

from driftwarden.detectors.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("browser")
    rng = np.random.default_rng(11)

    def window(n: int, shift: float) -> pd.DataFrame:
        columns: dict[str, object] = {
            f"num_{i}": rng.normal(shift * (i % 3), 1, n) for i in range(20)
        }
        for i in range(5):
            values = ["a", "b", "c", "<script>x</script>"] + (["new"] if shift else [])
            columns[f"cat_{i}"] = rng.choice(values, n)
        columns["score"] = rng.random(n)
        columns["label"] = (rng.random(n) < columns["score"]).astype(int)  # type: ignore[operator]
        return pd.DataFrame(columns)

    window(4000, 0.0).to_parquet(root / "b.parquet")
    window(3000, 0.4).to_parquet(root / "c.parquet")
    common = ["detect", "--baseline", str(root / "b.parquet"), "--current",
              str(root / "c.parquet"), "--categorical", ",".join(f"cat_{i}" for i in range(5)),
              "--prediction", "score", "--label", "label", "--task", "binary",
              "--workers", "1"]  # fmt: skip
    assert main([*common, "--format", "html", "--output", str(root / "r.html")]) == 0
    assert main([*common, "--format", "json", "--output", str(root / "r.json")]) == 0
    return root / "r.html", json.loads((root / "r.json").read_text())


def test_the_page_loads_offline_without_console_messages(
    page: tuple[Path, dict[str, object]],
) -> None:
    path, doc = page
    loaded = load(path)
    assert loaded.console == [], loaded.console
    assert "<svg" in loaded.dom
    assert len(path.read_bytes()) < 2_000_000  # 25 features: small enough for a ticket
    features = doc["features"]
    assert isinstance(features, list)
    assert len(features) == 25
    for feature in features:
        name = feature["name"].replace("<", "&lt;").replace(">", "&gt;")
        start = loaded.dom.index(f'data-feature="{name}" ')
        section = loaded.dom[start : loaded.dom.index("</details>", start)]
        assert "<svg" in section, feature["name"]
        assert 'role="img"' in section, feature["name"]


def test_the_console_check_sees_an_error(tmp_path: Path) -> None:
    """The negative control: a page that logs an error is seen to log it."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><title>t</title><script>console.error('boom')</script>")
    assert any("boom" in message for message in load(bad).console)


def test_a_screenshot_is_taken(page: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    path, _ = page
    shot = screenshot(path, tmp_path / "report.png")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a rendered page, not a blank one


def test_two_thousand_features_load_paged(tmp_path: Path) -> None:
    from driftwarden.detectors.distributions import categorical_overlay
    from driftwarden.detectors.htmlreport.page import render_run

    features = [
        {"name": f"f{i:04d}", "kind": "categorical", "severity": "none", "p_value_adjusted": 0.5,
         "methods": [{"method": "chi2", "statistic": 1.0, "p_value": 0.5}]}
        for i in range(2000)
    ]  # fmt: skip
    overlay = categorical_overlay({"a": 1.0, "b": 2.0}, {"a": 2.0, "new": 1.0})
    page = tmp_path / "wide.html"
    page.write_text(
        render_run(
            {"severity": "none", "health_score": 100.0, "features": features},
            overlays={f["name"]: overlay for f in features},
            max_plots=10,
        )
    )
    loaded = load(page)
    assert loaded.console == []
    assert loaded.dom.count('<details class="page"') == 40
    assert loaded.dom.count("<svg") == 10
