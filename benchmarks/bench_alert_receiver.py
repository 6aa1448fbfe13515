"""Alert receiver figures: notifications recorded per second through the HTTP receiver,
against the baseline of the same `record_notifications` calls made directly, same run.

Starts its own PostgreSQL 15 (default durable settings, `tests/pg.py`) and the receiver on
loopback, then for each case posts `--notifications` Alertmanager notifications of
`--alerts` alerts each, one after another (as Alertmanager sends one group's), and prints
alerts/s and the receiver's overhead as a ratio to the direct calls.

    python benchmarks/bench_alert_receiver.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from pg import PostgresServer  # noqa: E402

from driftwarden.detectors.storage import create_engine, upgrade  # noqa: E402
from driftwarden.detectors.storage.alerts import record_notifications  # noqa: E402
from driftwarden.operator.alerting.payload import (  # noqa: E402
    parse_notification,
    received_alerts,
)
from driftwarden.operator.alerting.receiver import PATH, ReceiverServer, build_app  # noqa: E402

T0 = datetime(2026, 11, 29, tzinfo=UTC)


def _notification(batch: int, alerts: int, offset: int) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "driftwarden",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "DriftwardenDriftCritical",
                        "namespace": f"ns{batch % 20}",
                        "monitor": f"monitor-{batch}",
                        "feature": f"feature_{i}",
                        "severity": "critical",
                    },
                    "annotations": {"summary": "feature drifted", "runbook_url": "https://x"},
                    "startsAt": (T0 + timedelta(minutes=offset)).isoformat(),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"{offset:04x}{batch:06x}{i:06x}",
                }
                for i in range(alerts)
            ],
        }
    ).encode()


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"direct": [], "http": [], "http re-sent": []}
    with PostgresServer.start(durable=True) as server:
        engine = create_engine(server.create_database("bench_alerts"))
        upgrade(engine)
        receiver = ReceiverServer(build_app(engine), "127.0.0.1", 0)
        url = f"http://127.0.0.1:{receiver.start()}{PATH}"
        try:
            for repeat in range(args.repeats):
                bodies = {
                    case: [
                        _notification(b, args.alerts, offset=repeat * 3 + n)
                        for b in range(args.notifications)
                    ]
                    for n, case in enumerate(("direct", "http"))
                }
                began = time.perf_counter()
                for body in bodies["direct"]:  # baseline: parse + record, no HTTP
                    rows = received_alerts(parse_notification(body))
                    record_notifications(engine, rows, datetime.now(UTC))
                results["direct"].append(time.perf_counter() - began)
                began = time.perf_counter()
                for body in bodies["http"]:
                    _post(url, body)
                results["http"].append(time.perf_counter() - began)
                began = time.perf_counter()
                for body in bodies["http"]:  # the same notifications again: the update path
                    _post(url, body)
                results["http re-sent"].append(time.perf_counter() - began)
        finally:
            receiver.stop()
            engine.dispose()
    alerts = args.notifications * args.alerts
    base = statistics.median(results["direct"])
    print(
        f"{args.notifications} notifications x {args.alerts} alerts, median of {args.repeats}, "
        "PostgreSQL 15 with default durability"
    )
    report: dict[str, Any] = {}
    for case, seconds in results.items():
        median = statistics.median(seconds)
        report[case] = median
        print(
            f"  {case:13s} {alerts / median:9.0f} alerts/s  "
            f"{args.notifications / median:7.1f} notifications/s  {median / base:5.2f}x direct"
        )


if __name__ == "__main__":
    main()
