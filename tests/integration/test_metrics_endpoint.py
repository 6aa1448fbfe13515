"""The metrics endpoint over HTTP, scraped by a real Prometheus: the exposition is accepted,
values and labels arrive, and a forgotten monitor's series go stale at once (Prometheus
marks series that vanish from a scrape)."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from promstack import Prometheus, poll, require

from driftwarden.operator.metrics.server import serve
from driftwarden.operator.metrics.view import FleetView

pytestmark = [pytest.mark.monitoring]

ROOT = Path(__file__).resolve().parents[2]


def _monitor() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "examples" / "modelmonitor-postgres.yaml").read_text())
    doc["metadata"] |= {"uid": "uid-1", "generation": 1}
    now = datetime.now(UTC).isoformat()
    doc["status"] = {
        "lastRun": {"id": "run-1", "startTime": now, "completionTime": now},
        "lastEvaluatedRunId": "run-1",
        "severity": "critical",
        "healthScore": 61,
        "driftedFeatures": 1,
        "totalFeatures": 5,
        "topDriftedFeatures": [
            {"name": "income", "method": "psi", "statistic": 0.4, "severity": "critical"}
        ],
        "conditions": [
            {
                "type": "LastRunSucceeded",
                "status": "True",
                "reason": "RunSucceeded",
                "message": "",
                "lastTransitionTime": now,
            }
        ],
    }
    return doc


def test_prometheus_scrapes_the_endpoint() -> None:
    require("prometheus")
    view = FleetView()
    view.observe(_monitor())
    server = serve(view, 0, "127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        assert 'driftwarden_monitor_severity{namespace="risk",monitor="credit-scoring"' in text
        assert "process_cpu_seconds_total" in text
        with Prometheus.start(scrape=[f"127.0.0.1:{server.port}"]) as prom:
            found = poll(
                lambda: prom.query('driftwarden_feature_statistic{feature="income"}'),
                30,
                "Prometheus did not scrape the feature statistic",
            )
            labels = found[0]["metric"]
            assert labels["team"] == "risk-ml"
            assert labels["namespace"] == "risk"
            assert labels["method"] == "psi"
            assert float(found[0]["value"][1]) == 0.4
            view.forget("risk", "credit-scoring")
            poll(
                lambda: not prom.query("driftwarden_monitor_severity"),
                30,
                "the forgotten monitor's series are still there",
            )
    finally:
        server.stop()
