"""The HTML report: the numbers of the JSON report, escaped names, one plot per feature,
nothing fetched from the network, and paging for wide monitors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.cli import main
from driftwarden.detectors.distributions import Overlay, categorical_overlay
from driftwarden.detectors.htmlreport.page import PAGE_SIZE, render_run

HOSTILE_COLUMN = '<script>alert("col")</script>'
HOSTILE_CATEGORY = "<img src=x onerror=alert(1)>"
QUOTE_COLUMN = "a\"b'c&d"


class PageReader(HTMLParser):
    """Collects the tags, the method rows' exact values and the plots of each feature."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.values: dict[tuple[str, str, str], float] = {}
        self.row: tuple[str, str] | None = None
        self.feature: str | None = None
        self.plots: dict[str, int] = {}
        self.health: float | None = None
        self.titles = 0
        self.desc = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-method" in a:
            self.row = (a["data-feature"], a["data-method"])
        elif tag == "td" and self.row is not None and "data-value" in a:
            self.values[(*self.row, a["data-col"])] = float(a["data-value"])
        elif tag == "details" and a.get("class") == "feature":
            self.feature = a["data-feature"]
            self.plots[self.feature] = 0
        elif tag == "svg" and self.feature is not None:
            assert a.get("role") == "img"
            assert a.get("aria-labelledby")
            self.plots[self.feature] += 1
        elif tag == "div" and a.get("id") == "health":
            self.health = float(a["data-value"])
        elif tag == "title":
            self.titles += 1
        elif tag == "desc":
            self.desc += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        elif tag == "details":
            self.feature = None


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    rng = np.random.default_rng(7)

    def window(n: int, shift: float, drifted: bool) -> pd.DataFrame:
        regions = ["north", "south", HOSTILE_CATEGORY] + (["islands"] if drifted else [])
        p = [0.4, 0.3, 0.3] if not drifted else [0.3, 0.2, 0.2, 0.3]
        score = rng.uniform(0, 1, n)
        return pd.DataFrame(
            {
                "age": rng.normal(40 + shift, 10, n),
                HOSTILE_COLUMN: rng.normal(0, 1, n),
                QUOTE_COLUMN: rng.exponential(1 + shift / 10, n),
                "region": rng.choice(regions, n, p=p),
                "score": score,
                "label": (rng.uniform(0, 1, n) < score).astype(int),
            }
        )

    window(3000, 0.0, False).to_parquet(root / "baseline.parquet")
    window(2000, 3.0, True).to_parquet(root / "current.parquet")
    return root


def _detect(data: Path, fmt: str, out: Path) -> int:
    return main(
        [
            "detect",
            "--baseline",
            str(data / "baseline.parquet"),
            "--current",
            str(data / "current.parquet"),
            "--categorical",
            "region",
            "--features",
            f"age,{HOSTILE_COLUMN},{QUOTE_COLUMN},region",
            "--prediction",
            "score",
            "--label",
            "label",
            "--task",
            "binary",
            "--workers",
            "1",
            "--format",
            fmt,
            "--output",
            str(out),
        ]
    )


@pytest.fixture(scope="module")
def pages(data: Path) -> tuple[dict[str, Any], str]:
    assert _detect(data, "json", data / "report.json") == 0
    assert _detect(data, "html", data / "report.html") == 0
    doc = json.loads((data / "report.json").read_text())
    return doc, (data / "report.html").read_text()


def test_numbers_in_the_page_equal_the_json_report(pages: tuple[dict[str, Any], str]) -> None:
    doc, page = pages
    reader = PageReader()
    reader.feed(page)
    assert reader.health == doc["health_score"]
    checked = 0
    for feature in doc["features"]:
        for m in feature["methods"]:
            for column in ("statistic", "p_value", "p_value_adjusted", "threshold"):
                expected = m[column]
                key = (feature["name"], m["method"], column)
                if expected is None:
                    assert key not in reader.values
                    continue
                assert reader.values[key] == expected, key
                checked += 1
    assert checked >= 4 * 4 * 3  # four features, four methods, at least three numbers each
    # The prediction section's methods too.
    for m in doc["prediction"]["methods"]:
        assert reader.values[("score", m["method"], "statistic")] == m["statistic"]


def test_features_sorted_by_severity(pages: tuple[dict[str, Any], str]) -> None:
    doc, page = pages
    reader = PageReader()
    reader.feed(page)
    rank = {"none": 0, "warning": 1, "critical": 2}
    order = list(reader.plots)  # the order of the feature sections
    severities = {f["name"]: rank[f["severity"]] for f in doc["features"]}
    assert [severities[name] for name in order] == sorted(severities.values(), reverse=True)


def test_hostile_names_are_escaped(pages: tuple[dict[str, Any], str]) -> None:
    _, page = pages
    reader = PageReader()
    reader.feed(page)
    assert "script" not in reader.tags
    assert "img" not in reader.tags
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert HOSTILE_COLUMN in reader.plots  # the name read back from its escaped attribute
    assert QUOTE_COLUMN in reader.plots


def test_every_feature_has_a_plot_with_a_text_alternative(
    pages: tuple[dict[str, Any], str],
) -> None:
    doc, page = pages
    reader = PageReader()
    reader.feed(page)
    assert set(reader.plots) == {f["name"] for f in doc["features"]}
    assert all(count == 1 for count in reader.plots.values())
    svgs = page.count("<svg")
    assert reader.titles >= svgs + 1  # every plot and the page itself
    assert reader.desc == svgs
    assert "(new)" in page  # the new category is marked
    assert "Calibration curves, baseline and current" in page  # from the row samples
    assert "Confusion matrix of the current window" in page


def test_the_page_is_self_contained(pages: tuple[dict[str, Any], str]) -> None:
    _, page = pages
    reader = PageReader()
    reader.feed(page)
    assert not {"script", "link", "iframe", "object", "embed", "img"} & set(reader.tags)
    without_namespaces = page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    assert "http://" not in without_namespaces
    assert "https://" not in without_namespaces
    assert "default-src 'none'" in page
    assert len(page.encode()) < 2_000_000


def _doc(features: int) -> dict[str, Any]:
    return {
        "drift_detected": True,
        "severity": "warning",
        "health_score": 80.0,
        "status": "ok",
        "verdict": "many",
        "features": [
            {
                "name": f"f{i:04d}",
                "kind": "categorical",
                "severity": "warning" if i % 97 == 0 else "none",
                "drift_detected": i % 97 == 0,
                "p_value_adjusted": 0.5,
                "methods": [{"method": "chi2", "statistic": 1.0, "p_value": 0.5}],
            }
            for i in range(features)
        ],
    }


def test_two_thousand_features_are_paged_and_plots_capped() -> None:
    doc = _doc(2000)
    overlay = categorical_overlay({"a": 1.0, "b": 2.0}, {"a": 2.0, "c": 1.0})
    overlays: Mapping[str, Overlay] = {f["name"]: overlay for f in doc["features"]}
    page = render_run(doc, overlays=overlays, max_plots=5)
    assert page.count('<details class="page"') == 2000 // PAGE_SIZE
    assert page.count('<details class="page" open>') == 1
    assert page.count("<svg") == 5
    assert page.count("Plot left out") == 1995
    # Drifted features come first.
    first = page.index('data-feature="f0000"')
    assert first < page.index('data-feature="f0001"')


def test_categorical_overlay_marks_new_and_vanished() -> None:
    overlay = categorical_overlay({"a": 3.0, "b": 1.0}, {"a": 1.0, "c": 1.0})
    assert overlay.new == frozenset({"c"})
    assert overlay.vanished == frozenset({"b"})
    shares = dict(zip(overlay.labels, overlay.baseline, strict=True))
    assert shares == {"a": 0.75, "b": 0.25, "c": 0.0}
    assert sum(overlay.current) == pytest.approx(1.0)


def test_max_plots_from_the_command_line(data: Path) -> None:
    out = data / "one-plot.html"
    argv = ["detect", "--baseline", str(data / "baseline.parquet"), "--current",
            str(data / "current.parquet"), "--categorical", "region", "--features",
            f"age,{HOSTILE_COLUMN},region", "--format", "html", "--max-plots", "1",
            "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    reader = PageReader()
    reader.feed(out.read_text())
    assert sorted(reader.plots.values()) == [0, 0, 1]
    assert out.read_text().count("Plot left out") == 2
