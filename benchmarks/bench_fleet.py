"""A fleet of ModelMonitors applied at once: time until every one is Ready, the operator's
memory, API requests in flight, and API writes while nothing changes.

Starts the control plane the operator tests start (built from Go modules) and `driftwarden
operator` as a subprocess with the rights it ships with, applies `--monitors` monitors of
`--features` features each from `--clients` concurrent clients (as a GitOps sync does), and
prints:

1. apply: the time the clients took to create them all (the baseline: the API server alone);
2. ready: the time from the first create until every monitor is `Ready=True` for its
   generation (target <= 60 s for 1,000), and its ratio to the apply time;
3. the operator's peak RSS (VmHWM, target <= 300 MB) and its RSS before the fleet;
4. the API server's requests in flight (`apiserver_current_inflight_requests`, sampled every
   0.5 s once the creates are done, so they are the operator's): the maximum;
5. idle: the API writes of any client over `--idle` seconds after the fleet is Ready and
   settled, scaled to an hour (target 0).

    python benchmarks/bench_fleet.py                    # 1,000 monitors of 25 features
    python benchmarks/bench_fleet.py --monitors 200

The monitors' schedules fire once a year, so no detector Job runs: this measures the
operator's reconcile, not the detector (see bench_operator.py for a run's latency).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import ssl
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_operator import _install  # noqa: E402
from cluster.controlplane import ControlPlane, locate_binaries, wait_for  # noqa: E402
from cluster.plugin import start_control_plane  # noqa: E402
from cluster.test_operator import (  # noqa: E402
    GROUP,
    VERSION,
    OperatorProcess,
    _monitor,
    _write_counts,
)
from kubernetes import client as k8s  # noqa: E402

_INFLIGHT = re.compile(r"^apiserver_current_inflight_requests\{[^}]*\} ([0-9.e+]+)$", re.M)


def _metrics(plane: ControlPlane) -> str:
    context = ssl.create_default_context(cafile=str(plane.ca_file))
    request = urllib.request.Request(
        f"{plane.server}/metrics", headers={"Authorization": f"Bearer {plane.tokens['admin']}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return str(response.read().decode())


def _in_flight(plane: ControlPlane) -> float:
    # The metric counts this scrape too (one read-only request): leave it out.
    return max(0.0, sum(float(v) for v in _INFLIGHT.findall(_metrics(plane))) - 1)


def _histogram(text: str, name: str) -> tuple[float, float]:
    """(sum, count) of a histogram over all its label sets but long-running watches."""
    total = count = 0.0
    for line in text.splitlines():
        if 'verb="WATCH"' in line:
            continue
        if line.startswith(name + "_sum"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            count += float(line.rsplit(" ", 1)[1])
    return total, count


_REQUEST = re.compile(
    r"^apiserver_request_duration_seconds_(sum|count)\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M
)


def _by_request(plane: ControlPlane) -> dict[tuple[str, str, str], list[float]]:
    """(verb, resource, subresource) -> [sum, count] of the API server's request durations."""
    found: dict[tuple[str, str, str], list[float]] = {}
    for match in _REQUEST.finditer(_metrics(plane)):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        key = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
        entry = found.setdefault(key, [0.0, 0.0])
        entry[0 if match[1] == "sum" else 1] += float(match["value"])
    return found


def _latencies(plane: ControlPlane) -> dict[str, tuple[float, float]]:
    text = _metrics(plane)
    return {
        name: _histogram(text, name)
        for name in (
            "apiserver_request_duration_seconds",
            "apiserver_flowcontrol_request_wait_duration_seconds",
            "etcd_request_duration_seconds",
        )
    }


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _ready(monitor: dict[str, Any]) -> bool:
    status = monitor.get("status") or {}
    generation = monitor["metadata"].get("generation")
    return any(
        c.get("type") == "Ready"
        and c.get("status") == "True"
        and c.get("observedGeneration") == generation
        for c in status.get("conditions") or []
    )


def _count_ready(custom: k8s.CustomObjectsApi, namespace: str) -> int:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "modelmonitors")
    return sum(1 for item in items["items"] if _ready(item))


def _fleet_monitor(i: int, features: int) -> dict[str, Any]:
    body = _monitor(f"fleet-{i:05d}", "bench")
    body["spec"]["features"] = [
        {"name": f"f{j}", "type": "numeric" if j % 5 else "categorical"} for j in range(features)
    ]
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--features", type=int, default=25)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle", type=float, default=120.0, help="seconds watched when idle")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    plane = start_control_plane(locate_binaries(work / "build.log"), work)
    process: OperatorProcess | None = None
    try:
        admin = plane.client("admin")
        namespace = "fleet"
        urls = {
            "source": "postgresql://nobody@127.0.0.1:1/none",
            "results": "postgresql://x@127.0.0.1:1/x",
        }
        _install(admin, namespace, urls)
        process = OperatorProcess(plane, namespace, work / "operator.log")
        process.start()
        assert process.process is not None
        pid = process.process.pid
        rss_before = _rss_kib(pid, "VmRSS")
        custom = k8s.CustomObjectsApi(admin)
        bodies = [_fleet_monitor(i, args.features) for i in range(args.monitors)]

        latency_before = _latencies(plane)
        requests_before = _by_request(plane)
        began = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(
                pool.map(
                    lambda body: custom.create_namespaced_custom_object(
                        GROUP, VERSION, namespace, "modelmonitors", body
                    ),
                    bodies,
                )
            )
        applied = time.perf_counter() - began

        peak_in_flight = 0.0
        sampling = threading.Event()

        def sample() -> None:
            nonlocal peak_in_flight
            while not sampling.is_set():
                with contextlib.suppress(OSError):
                    peak_in_flight = max(peak_in_flight, _in_flight(plane))
                sampling.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        wait_for(
            lambda: _count_ready(custom, namespace) == args.monitors,
            args.timeout,
            lambda: (
                f"{_count_ready(custom, namespace)} of {args.monitors} Ready; " + process.tail()
            ),
            interval=0.5,
            max_interval=1.0,
        )
        ready = time.perf_counter() - began
        latency_after = _latencies(plane)
        requests_after = _by_request(plane)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu_ticks = int(fields[11]) + int(fields[12])  # utime + stime (proc(5))
        sampling.set()
        sampler.join()
        peak_rss = _rss_kib(pid, "VmHWM")

        time.sleep(10)  # settle: the last status writes' own watch events
        before = _write_counts(plane)
        time.sleep(args.idle)
        after = _write_counts(plane)
        idle_writes = {
            k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)
        }
        # Leases are renewed by the API server itself (its identity Lease, every 10 s) and by
        # leader election; the operator here runs without election, so none of them is its.
        ours = {k: v for k, v in idle_writes.items() if k[1] != "leases"}
        per_hour = sum(ours.values()) * 3600 / args.idle

        print(
            f"fleet: {args.monitors} ModelMonitors of {args.features} features, "
            f"{args.clients} clients"
        )
        print(f"apply (baseline, the API server alone): {applied:.1f} s")
        print(
            f"all Ready: {ready:.1f} s after the first create ({ready / applied:.2f}x the apply; "
            f"target <= 60 s for 1,000)"
        )
        print(
            f"operator RSS: {rss_before / 1024:.0f} MiB before, peak {peak_rss / 1024:.0f} MiB "
            "(target <= 300 MB)"
        )
        print(f"API requests in flight while the operator reconciled: max {peak_in_flight:.0f}")
        for name, (total, count) in latency_after.items():
            before_total, before_count = latency_before[name]
            n = count - before_count
            mean = (total - before_total) / n * 1000 if n else 0.0
            print(f"  {name}: {n:.0f} observations, mean {mean:.1f} ms")
        spent = []
        for key, (total, count) in requests_after.items():
            before = requests_before.get(key, [0.0, 0.0])
            if count > before[1]:
                spent.append((total - before[0], count - before[1], key))
        spent = [entry for entry in spent if entry[2][0] != "WATCH"]
        for total, count, (verb, resource, sub) in sorted(spent, reverse=True)[:6]:
            name = f"{resource}/{sub}" if sub else resource
            print(f"    {verb} {name}: {count:.0f} requests, mean {total / count * 1000:.1f} ms")
        ticks = os.sysconf("SC_CLK_TCK")
        print(
            f"operator CPU until all Ready: {cpu_ticks / ticks:.1f} s of {ready:.1f} s "
            f"({cpu_ticks / ticks / ready:.0%}: the rest is waiting on the API server)"
        )
        print(
            f"idle: {sum(ours.values()):.0f} API writes to the operator's resources in "
            f"{args.idle:.0f} s ({per_hour:.0f} per hour; target 0); all writes: {idle_writes}"
        )
    finally:
        if process is not None:
            process.stop()
        plane.stop()


if __name__ == "__main__":
    main()
