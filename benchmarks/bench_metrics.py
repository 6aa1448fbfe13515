"""Scrape cost of the operator's metrics, and the time from a run's verdict to the pager.

1. Scrape: a view of `--monitors` monitors (1,000) with `--features` features (25) of two
   methods each, rendered by the collector exactly as `/metrics` serves it, over HTTP
   from the real endpoint, median of `--scrapes`. Baseline: prometheus-client's own
   registry of plain labelled Gauges holding the same series (what a module-level
   `Gauge(...).labels(...).set(...)` design would serve), rendered the same way.
2. Latency: with the documented default intervals (Prometheus scrape 15 s, the rules'
   15 s evaluation, examples/alertmanager.yaml's 10 s group wait), a real Prometheus and
   Alertmanager on loopback: from the moment the view takes a critical verdict (what the
   operator does when it reads a finished run, measured separately in bench_operator.py)
   to the notification at the pager webhook, `--trials` times at random phases. Baseline:
   the intervals' worst case, 15 + 15 + 10 = 40 s; the target is under 60 s.

    python benchmarks/bench_metrics.py                 # both (about 5 minutes)
    python benchmarks/bench_metrics.py --skip-latency  # the scrape only (seconds)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import Gauge
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from promstack import Alertmanager, Prometheus, WebhookReceiver, poll  # noqa: E402

from driftwarden.detectors.config import Severity  # noqa: E402
from driftwarden.detectors.storage.types import DriftResultRow, PerformanceRow  # noqa: E402
from driftwarden.operator.metrics.collector import FleetCollector  # noqa: E402
from driftwarden.operator.metrics.server import serve  # noqa: E402
from driftwarden.operator.metrics.view import FleetView, details_from_rows  # noqa: E402

RULES = REPO / "charts" / "driftwarden" / "files" / "alert-rules.yaml"
EXAMPLE = REPO / "examples" / "alertmanager.yaml"


def monitor(index: int, severity: str = "warning", drift: str = "WarningDrift") -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    name = f"model-{index:04d}"
    return {
        "apiVersion": "driftwarden.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {
            "name": name,
            "namespace": f"team-{index % 20:02d}",
            "uid": f"uid-{index}",
            "creationTimestamp": now,
        },
        "spec": {
            "model": {"name": name, "version": "1.0.0"},
            "schedule": {"cron": "0 */6 * * *"},
            "source": {
                "postgres": {
                    "connectionSecretRef": {"name": "db", "key": "url"},
                    "table": "log",
                    "timestampColumn": "ts",
                }
            },
            "baseline": {"relative": {"length": "14d", "endOffset": "2d"}},
            "current": {"relative": {"length": "1d"}},
            "features": [{"name": "f0", "type": "numeric"}],
            "alerting": {"labels": {"team": f"team-{index % 20:02d}"}},
        },
        "status": {
            "lastRun": {"id": f"{name}-run", "startTime": now, "completionTime": now},
            "lastEvaluatedRunId": f"{name}-run",
            "severity": severity,
            "healthScore": 80,
            "driftedFeatures": 3,
            "totalFeatures": 25,
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": "", "lastTransitionTime": now}
                for t, s, r in (
                    ("LastRunSucceeded", "True", "RunSucceeded"),
                    ("DriftDetected", "True" if drift != "NoDrift" else "False", drift),
                )
            ],
        },
    }


def fleet(monitors: int, features: int) -> FleetView:
    view = FleetView()
    rng = random.Random(1)
    for index in range(monitors):
        obj = monitor(index)
        run_id = view.observe(obj)
        assert run_id is not None
        rows = [
            DriftResultRow(
                f"feature_{f:02d}",
                method,
                rng.random(),
                rng.random() if method == "ks" else None,
                0.2 if method == "psi" else 0.05,
                f < 3,
                Severity.WARNING if f < 3 else Severity.NONE,
            )
            for f in range(features)
            for method in ("psi", "ks")
        ]
        perf = [PerformanceRow("roc_auc", 0.8), PerformanceRow("accuracy", 0.9)]
        ns = obj["metadata"]["namespace"]
        view.attach(
            ns, obj["metadata"]["name"], run_id, details_from_rows(run_id, rows, perf, None)
        )
    return view


def baseline_registry(text: str) -> CollectorRegistry:
    """prometheus-client's plain Gauges holding exactly the samples of `text`."""
    from prometheus_client.parser import text_string_to_metric_families

    registry = CollectorRegistry(auto_describe=False)
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("driftwarden_"):
            continue
        gauges: dict[tuple[str, ...], Gauge] = {}
        for sample in family.samples:
            names = tuple(sorted(sample.labels))
            if names not in gauges:
                suffix = f"_{len(gauges)}" if gauges else ""
                gauges[names] = Gauge(
                    sample.name + suffix, family.documentation, names, registry=registry
                )
            gauge = gauges[names]
            (gauge.labels(**sample.labels) if names else gauge).set(sample.value)
    return registry


def median_seconds(action: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def bench_scrape(monitors: int, features: int, scrapes: int) -> None:
    began = time.perf_counter()
    view = fleet(monitors, features)
    built = time.perf_counter() - began
    print(f"view: {monitors} monitors x {features} features x 2 methods, built in {built:.1f} s")
    ours = CollectorRegistry(auto_describe=False)
    ours.register(FleetCollector(view))
    text = generate_latest(ours).decode()
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))

    def fetch(url: str, gzip: bool) -> int:
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip else {})
        with urllib.request.urlopen(request, timeout=60) as response:
            return len(response.read())

    cold, warm, zipped = [], [], []
    size = 0
    for _ in range(scrapes):
        server = serve(view, 0, "127.0.0.1")  # a fresh server: nothing rendered yet
        url = f"http://127.0.0.1:{server.port}/metrics"
        try:
            cold.append(median_seconds(lambda url=url: fetch(url, False), 1))
            warm.append(median_seconds(lambda url=url: fetch(url, False), 1))
            zipped.append(median_seconds(lambda url=url: fetch(url, True), 1))
            size = fetch(url, True)
        finally:
            server.stop()
    collector = median_seconds(lambda: generate_latest(ours), scrapes)
    plain = baseline_registry(text)
    base = median_seconds(lambda: generate_latest(plain), scrapes)
    rows = [
        ("baseline: prometheus-client plain Gauges, render", base),
        ("FleetCollector through generate_latest", collector),
        ("/metrics, first scrape (every monitor rendered)", statistics.median(cold)),
        ("/metrics, next scrape (no monitor changed)", statistics.median(warm)),
        ("/metrics, next scrape, gzip (as Prometheus asks)", statistics.median(zipped)),
    ]
    print(f"series: {series:,}; text {len(text) / 1e6:.1f} MB, gzip {size / 1e6:.1f} MB")
    for label, seconds in rows:
        print(f"  {label:<52} {seconds:7.3f} s  {seconds / base:5.2f}x")
    print("  target: a scrape under 1 s")


def bench_latency(trials: int) -> None:
    with WebhookReceiver.start() as hook:
        config = yaml.safe_load(EXAMPLE.read_text())
        config["receivers"] = [
            {"name": r["name"], "webhook_configs": [{"url": f"{hook.url}/{r['name']}"}]}
            for r in config["receivers"]
        ]
        view = FleetView()
        for index in range(trials):
            view.observe(monitor(index, "none", "NoDrift"))
        server = serve(view, 0, "127.0.0.1")
        try:
            with (
                Alertmanager.start(config) as am,
                Prometheus.start(
                    scrape=[f"127.0.0.1:{server.port}"],
                    rule_files=[RULES],
                    alertmanager=am.address,
                    scrape_interval="15s",
                    evaluation_interval="15s",
                    resend_delay="1m",
                ) as prom,
            ):
                poll(prom.targets_up, 60, "Prometheus did not scrape the view")
                poll(lambda: _discovered(prom), 60, "Prometheus did not find Alertmanager")
                delays = []
                for index in range(trials):
                    time.sleep(random.uniform(0, 15))  # a random phase against the intervals
                    began = time.monotonic()
                    view.observe(monitor(index, "critical", "CriticalDrift"))
                    name = f"model-{index:04d}"
                    poll(
                        lambda name=name: [
                            n
                            for n, _ in hook.alerts("firing", {"monitor": name})
                            if n["path"] == "/pager"
                        ],
                        120,
                        f"no notification for {name}",
                    )
                    delays.append(time.monotonic() - began)
                    print(f"  trial {index + 1}: {delays[-1]:.1f} s")
        finally:
            server.stop()
    bound = 15 + 15 + 10
    print(
        f"verdict -> pager, default intervals: median {statistics.median(delays):.1f} s, "
        f"max {max(delays):.1f} s; baseline (worst case of the intervals) {bound} s: "
        f"{statistics.median(delays) / bound:.2f}x / {max(delays) / bound:.2f}x; target < 60 s"
    )


def _discovered(prom: Prometheus) -> bool:
    with urllib.request.urlopen(f"{prom.url}/api/v1/alertmanagers", timeout=5) as response:
        return b'"activeAlertmanagers":[{' in response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--features", type=int, default=25)
    parser.add_argument("--scrapes", type=int, default=5)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory():
        bench_scrape(args.monitors, args.features, args.scrapes)
        if not args.skip_latency:
            bench_latency(args.trials)


if __name__ == "__main__":
    main()
