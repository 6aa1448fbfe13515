"""`driftwarden alerts`: the alert history the operator's Alertmanager receiver records.

    driftwarden alerts [-n NAMESPACE] [--monitor NAME | NAMESPACE/NAME]
                       [--state open|firing|acknowledged|resolved|all] [--since 7d]
                       [--limit 100] [--format table|json|csv]

The database is the one `driftwarden db` and `driftwarden history` use, opened read-only.
Invalid options exit 2 with one line; no match prints "(no alerts match)" and exits 0.

`--monitor NAME` without `-n` means the one monitor of that name: when monitors of that
name live in two or more namespaces (staging and production, say) it exits 2 listing them
rather than mixing their alerts; a monitor the history does not hold exits 2 with the
closest name (`historycli.resolve_monitor`, as `history --monitor` does). `-n` alone is a
filter, as in kubectl: a namespace without alerts lists none.
Only the standard library is imported here: storage loads when the command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from driftwarden.detectors.errors import InputError
from driftwarden.detectors.historycli import (
    LIMIT_HELP,
    SINCE_HELP,
    _engine,
    _limit,
    _plain,
    _print,
    _since,
    _start,
    resolve_monitor,
)

STATES = {
    "open": ("firing", "acknowledged"),
    "firing": ("firing",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
    "all": (),
}
DEFAULT_SINCE = "7d"


def add_alerts_subcommand(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "alerts",
        help="alerts Alertmanager notified (the operator's receiver records them)",
        description="List the alert history, newest first.",
    )
    parser.add_argument("--namespace", "-n", help="only this namespace")
    parser.add_argument(
        "--monitor",
        help="only this monitor: NAMESPACE/NAME, or NAME (with -n, or when one namespace has "
        "a monitor of that name)",
    )
    parser.add_argument(
        "--state",
        choices=sorted(STATES),
        default="open",
        help="open is firing or acknowledged (default: %(default)s)",
    )
    parser.add_argument("--since", type=_since, default=DEFAULT_SINCE, help=SINCE_HELP)
    parser.add_argument("--limit", type=_limit, default=100, help=LIMIT_HELP)
    # --format as in `driftwarden history`; -o as kubectl users type it. (--output names a
    # file in `detect`, `profile` and `report`, so it is not an alias here.)
    parser.add_argument(
        "--format",
        "-o",
        choices=("table", "json", "csv"),
        default="table",
        help="the output's form (default: %(default)s)",
    )
    parser.set_defaults(handler=_alerts)


def _scope(args: argparse.Namespace) -> tuple[str | None, str | None]:
    namespace: str | None = args.namespace
    monitor: str | None = args.monitor
    if monitor is not None and "/" in monitor:
        given, _, name = monitor.partition("/")
        if not given or not name or "/" in name:
            raise InputError(f"--monitor: expected NAME or NAMESPACE/NAME, got {monitor[:60]!r}")
        if namespace is not None and namespace != given:
            raise InputError(f"--monitor {monitor[:60]!r} is not in --namespace {namespace[:60]!r}")
        namespace, monitor = given, name
    for option, value in (("--namespace", namespace), ("--monitor", monitor)):
        if value is not None and not 0 < len(value) <= 253:
            raise InputError(f"{option}: expected 1 to 253 characters")
    return namespace, monitor


def _alerts(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.alerts import list_alerts
    from driftwarden.detectors.storage.types import AlertState

    namespace, monitor = _scope(args)
    states = [AlertState(s) for s in STATES[args.state]]
    with _engine() as engine:
        if monitor is not None:
            namespace, monitor = resolve_monitor(engine, namespace, monitor, namespace_option="-n")
        found = list_alerts(
            engine,
            namespace=namespace,
            monitor=monitor,
            states=states,
            since=_start(args.since),
            limit=args.limit,
        )
    if args.format == "json":
        print(json.dumps([_plain(_document(a)) for a in found], indent=2))
        return 0
    rows = [
        {
            "fired_at": a.fired_at,
            "monitor": f"{a.monitor_namespace}/{a.monitor_name}" if a.monitor_name else "-",
            "alert": a.alertname,
            "severity": str(a.severity),
            "state": str(a.state),
            "features": ",".join(a.affected_features[:5]) or None,
            "message": a.message[:80],
            "resolved_at": a.resolved_at,
            "acknowledged_by": a.acknowledged_by,
        }
        for a in found
    ]
    _print(rows, args.format, empty="no alerts match")
    return 0


def _document(alert: Any) -> dict[str, Any]:
    return {
        name: getattr(alert, name)
        for name in alert.__dataclass_fields__
        if name not in ("labels", "annotations")
    } | {"labels": dict(alert.labels), "annotations": dict(alert.annotations)}
