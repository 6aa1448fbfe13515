"""`driftwarden report` and `driftwarden history`: the history database, read from the
command line.

    driftwarden report --run RUN_ID [--output report.html]
    driftwarden report --monitor NS/NAME [--since 30d] [--output monitor.html]
    driftwarden history runs --monitor NS/NAME [--since 30d] [--limit 50]
    driftwarden history show RUN_ID
    driftwarden history feature --monitor NS/NAME --feature income [--method psi]
    driftwarden history alerts --monitor NS/NAME
    driftwarden history retrains --monitor NS/NAME
    (history: --format table|json|csv)

`--monitor` takes NAMESPACE/NAME, or a bare NAME when one namespace holds a monitor of that
name (in two or more it is refused, listing them: one never reads staging's history for
production's).

The database is the one `driftwarden db` uses (DRIFTWARDEN_DATABASE_URL, the PG* variables,
else the local SQLite file), opened read-only where the backend allows; nothing is written.
A name that is not there (a run, a monitor, a feature of the monitor, a method of the
feature) is invalid input: exit 2, one line naming it, with the closest stored name as a
hint (`hints.hint`). A listing (`history runs`, `feature`, `alerts`, `retrains`, and
`driftwarden alerts`) of names that exist with nothing in its period prints an empty result
(`(no ...)`, `[]` or no CSV rows) and exits 0.
This module imports only the standard library at the top: the storage, the renderers and
matplotlib load when a command runs, so `driftwarden --help` stays fast.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftwarden.detectors.argtypes import bounded_int
from driftwarden.detectors.errors import InputError
from driftwarden.detectors.hints import hint
from driftwarden.detectors.terminal import terminal_text

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEFAULT_SINCE = "30d"
#: The longest `--since`: ten years; longer is a typo.
MAX_SINCE = timedelta(days=3653)
MAX_LIMIT = 100_000
MONITOR_HELP = "NAMESPACE/NAME, or NAME when one namespace has a monitor of that name"
#: A name typed on the command line is cut to this length in messages.
SHOWN_NAME = 253
SINCE_HELP = "how far back, e.g. 30d, 12h or 2w (default: %(default)s)"
LIMIT_HELP = f"at most this many, newest first (1 to {MAX_LIMIT}; default: %(default)s)"


def add_report_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`report` and `history` with their options; handlers set on each leaf."""
    report = sub.add_parser(
        "report",
        help="an HTML report of a stored run or of a monitor's history",
        description="Write one self-contained HTML page from the history database.",
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", help="a run id (as `history runs` lists them)")
    which.add_argument("--monitor", type=_monitor, help=MONITOR_HELP)
    report.add_argument("--since", type=_since, default=DEFAULT_SINCE, help=SINCE_HELP)
    report.add_argument("--output", type=Path, help="the HTML file (default: stdout)")
    report.set_defaults(handler=_report)

    history = sub.add_parser(
        "history",
        help="runs, results, alerts and retraining decisions from the history database",
        description="Read the history database the operator and detector Jobs write.",
    )
    history.set_defaults(handler=_needs_command(history))
    commands = history.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> Any:
        parser = commands.add_parser(name, help=help_text)
        parser.add_argument(
            "--format",
            choices=("table", "json", "csv"),
            default="table",
            help="the output's form (default: %(default)s)",
        )
        parser.set_defaults(handler=handler)
        return parser

    runs = command("runs", "list a monitor's runs, newest first", _runs)
    runs.add_argument("--monitor", type=_monitor, required=True, help=MONITOR_HELP)
    runs.add_argument("--since", type=_since, default=DEFAULT_SINCE, help=SINCE_HELP)
    runs.add_argument("--limit", type=_limit, default=100, help=LIMIT_HELP)

    show = command("show", "one run in full: record, drift results, metrics, quality", _show)
    show.add_argument("run", help="the run id")

    feature = command("feature", "a feature's statistic over time", _feature)
    feature.add_argument("--monitor", type=_monitor, required=True, help=MONITOR_HELP)
    feature.add_argument("--feature", required=True, help="the feature's name (a column)")
    feature.add_argument("--method", help="one method, e.g. psi or ks (default: all)")
    feature.add_argument("--since", type=_since, default=DEFAULT_SINCE, help=SINCE_HELP)

    alerts = command("alerts", "a monitor's alerts in every state", _alerts)
    alerts.add_argument("--monitor", type=_monitor, required=True, help=MONITOR_HELP)
    alerts.add_argument("--since", type=_since, default=DEFAULT_SINCE, help=SINCE_HELP)

    retrains = command("retrains", "retraining decisions about a monitor", _retrains)
    retrains.add_argument("--monitor", type=_monitor, required=True, help=MONITOR_HELP)
    retrains.add_argument("--since", type=_since, default=DEFAULT_SINCE, help=SINCE_HELP)


# --- argument types ---------------------------------------------------------------------------


#: `--monitor` as typed: (namespace or None for a bare name, name).
Monitor = tuple[str | None, str]


def _monitor(text: str) -> Monitor:
    namespace, slash, name = text.rpartition("/")
    if (slash and not namespace) or not name or "/" in namespace or len(text) > 507:
        raise argparse.ArgumentTypeError(f"expected NAMESPACE/NAME or NAME, got {text[:60]!r}")
    return (namespace if slash else None), name


def _since(text: str) -> timedelta:
    from driftwarden.detectors.config import parse_duration

    try:
        value = parse_duration(text[:32])
    except (ValueError, OverflowError):
        value = None
    if value is None or len(text) > 32 or not timedelta(0) < value <= MAX_SINCE:
        raise argparse.ArgumentTypeError(
            f"expected a duration up to 3653d such as 30d, 12h or 2w, got {text[:32]!r}"
        )
    return value


#: argparse type of `--limit` (history and alerts).
_limit = bounded_int("limit", MAX_LIMIT)


def _needs_command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def handler(_args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        raise InputError("history needs a command: runs, show, feature, alerts or retrains")

    return handler


# --- the database -----------------------------------------------------------------------------


class HistoryEmptyError(InputError):
    """Nothing in the history matches (an unknown run or monitor, an empty period)."""


@contextmanager
def _engine() -> Iterator[Engine]:
    """The history database, read-only where possible, its schema checked first."""
    from driftwarden.detectors.storage.database import (
        create_engine,
        mask_url,
        resolve_database_url,
    )
    from driftwarden.detectors.storage.migrate import check_schema_compatible

    url = resolve_database_url()
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if url.query.get("uri") is None and not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise HistoryEmptyError(
                f"no history: the database {mask_url(url)} {what} (set DRIFTWARDEN_DATABASE_URL"
                " or DRIFTWARDEN_SQLITE_PATH; `driftwarden db upgrade` creates a local one)"
            )
    engine = create_engine(url, read_only=True)
    try:
        check_schema_compatible(engine)
        yield engine
    finally:
        engine.dispose()


def _start(since: timedelta) -> datetime:
    return datetime.now(UTC) - since


def _name(monitor: tuple[str, str]) -> str:
    return f"{monitor[0]}/{monitor[1]}"


def resolve_monitor(
    engine: Engine, namespace: str | None, name: str, *, namespace_option: str = ""
) -> tuple[str, str]:
    """The monitor a command names: NAMESPACE/NAME when it exists; a bare NAME when exactly
    one namespace holds a monitor of that name. Anything else is an InputError naming it,
    with the closest stored name or the namespaces to choose from. `namespace_option` is
    the command's namespace option, offered beside NAMESPACE/NAME when a name is ambiguous.
    """
    from driftwarden.detectors.storage import names

    shown = name[:SHOWN_NAME]
    if namespace is not None:
        if names.monitor_exists(engine, namespace, name):
            return namespace, name
        label = f"{namespace[:SHOWN_NAME]}/{shown}"
        known = [_name(m) for m in names.monitors(engine)]
        raise HistoryEmptyError(
            f"monitor {label!r} is not in the history database{hint(label, known, 'monitors')}"
        )
    found = names.monitor_namespaces(engine, name)
    if len(found) == 1:
        return found[0], name
    if found:
        listed = ", ".join(found[:20]) + (f" and {len(found) - 20} more" if len(found) > 20 else "")
        also = f" or {namespace_option}" if namespace_option else ""
        raise HistoryEmptyError(
            f"monitor {shown!r} exists in namespaces {listed}: give NAMESPACE/NAME{also}"
        )
    known = sorted({n for _, n in names.monitors(engine)})
    raise HistoryEmptyError(
        f"monitor {shown!r} is not in the history database{hint(name, known, 'monitors')}"
    )


def _resolve(engine: Engine, monitor: Monitor) -> tuple[str, str]:
    return resolve_monitor(engine, monitor[0], monitor[1])


def _unknown_run(engine: Engine, run_id: str) -> HistoryEmptyError:
    from driftwarden.detectors.storage.names import recent_run_ids

    recent = recent_run_ids(engine)
    return HistoryEmptyError(
        f"run {run_id[:SHOWN_NAME]!r} is not in the history database"
        f"{hint(run_id, recent, 'newest runs')}"
    )


# --- report -----------------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from driftwarden.detectors.htmlreport.stored import render_monitor, render_stored_run
    from driftwarden.detectors.storage import reads
    from driftwarden.detectors.storage.repository import get_run, monitor_history

    now = datetime.now(UTC)
    with _engine() as engine:
        if args.run is not None:
            run = get_run(engine, args.run)
            if run is None:
                raise _unknown_run(engine, args.run)
            text = render_stored_run(run, reads.run_rows(engine, run.run_id), now=now)
        else:
            namespace, name = _resolve(engine, args.monitor)
            start = _start(args.since)
            runs = monitor_history(engine, namespace, name, since=start, limit=MAX_LIMIT)
            if not runs:
                raise HistoryEmptyError(
                    f"no runs of monitor {_name((namespace, name))!r} "
                    f"since {start:%Y-%m-%d %H:%M} UTC"
                )
            text = render_monitor(
                namespace,
                name,
                runs,
                reads.drift_matrix(engine, namespace, name, since=start),
                reads.metric_series(engine, namespace, name, since=start),
                reads.monitor_alerts(engine, namespace, name, since=start),
                reads.monitor_retrain_events(engine, namespace, name, since=start),
                period=f"the last {_duration_text(args.since)}",
                now=now,
            )
    _write(text, args.output)
    return 0


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from driftwarden.detectors.userfiles import write_atomic

    write_atomic(output, text.encode(), what="report")
    print(f"report -> {output}", file=sys.stderr)


def _duration_text(value: timedelta) -> str:
    if value.total_seconds() % 86400 == 0:
        return f"{value.days}d"
    return f"{int(value.total_seconds() // 3600)}h"


# --- history ----------------------------------------------------------------------------------


def _runs(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.repository import monitor_history

    with _engine() as engine:
        namespace, name = _resolve(engine, args.monitor)
        runs = monitor_history(engine, namespace, name, since=_start(args.since), limit=args.limit)
    rows = [
        {
            "run_id": r.run_id,
            "started_at": r.started_at,
            "outcome": str(r.outcome),
            "severity": str(r.severity),
            "health_score": r.health_score,
            "baseline_rows": r.baseline_rows,
            "current_rows": r.current_rows,
            "model_version": r.model_version,
        }
        for r in runs
    ]
    monitor = _name((namespace, name))
    _print(rows, args.format, empty=f"no runs of monitor {monitor!r} in that period")
    return 0


def _show(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage import reads
    from driftwarden.detectors.storage.repository import get_run

    with _engine() as engine:
        run = get_run(engine, args.run)
        if run is None:
            raise _unknown_run(engine, args.run)
        rows = reads.run_rows(engine, run.run_id)
    record = {k: getattr(run, k) for k in run.__dataclass_fields__ if getattr(run, k) is not None}
    drift = [
        {
            "drift_type": str(r.drift_type),
            "feature": r.feature,
            "kind": r.feature_kind,
            "method": r.method,
            "statistic": r.statistic,
            "p_value": r.p_value,
            # The threshold applies to the method's scale-free effect, not always to the
            # statistic beside it (Wasserstein's is in the column's units).
            "effect_threshold": r.threshold,
            "drift_detected": r.drift_detected,
            "severity": str(r.severity),
        }
        for r in rows.drift
    ]
    performance = [
        {"metric": p.metric, "split": p.split, "value": p.value, "baseline": p.baseline_value}
        for p in rows.performance
    ]
    quality = [
        {"column": q.column, "kind": q.kind, "severity": str(q.severity), "details": q.details}
        for q in rows.quality
    ]
    if args.format == "json":
        document = {
            "run": record,
            "drift_results": drift,
            "performance": performance,
            "quality": quality,
        }
        print(json.dumps(_plain(document), indent=2, sort_keys=False))
    elif args.format == "csv":  # one table: the drift results (the run's largest part)
        _print(drift, "csv")
    else:
        _print([{"field": k, "value": v} for k, v in record.items() if k != "settings"], "table")
        for title, table in (
            ("drift results", drift),
            ("performance", performance),
            ("quality", quality),
        ):
            print(f"\n{title}:")
            _print(table, "table") if table else print("(none)")
    return 0


def _feature(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.repository import feature_trend

    with _engine() as engine:
        namespace, name = _resolve(engine, args.monitor)
        start = _start(args.since)
        points = feature_trend(
            engine,
            namespace,
            name,
            args.feature,
            method=args.method,
            since=start,
            limit=MAX_LIMIT,
        )
        if not points:
            _check_feature(engine, (namespace, name), args.feature, args.method, start)
    rows = [
        {
            "observed_at": p.observed_at,
            "run_id": p.run_id,
            "method": p.method,
            "statistic": p.statistic,
            "p_value": p.p_value,
            "drift_detected": p.drift_detected,
            "severity": str(p.severity),
        }
        for p in points
    ]
    feature = args.feature[:253]
    _print(rows, args.format, empty=f"no results for feature {feature!r} in that period")
    return 0


def _check_feature(
    engine: Engine, monitor: tuple[str, str], feature: str, method: str | None, since: datetime
) -> None:
    """Refuse a feature (or a method of it) that the monitor never stored a result of; one
    that it did, with nothing in the period, is an empty listing."""
    from driftwarden.detectors.storage import names

    if names.feature_exists(engine, *monitor, feature, method):
        return
    label = f"{feature[:SHOWN_NAME]!r} of monitor {_name(monitor)!r}"
    if method is not None and names.feature_exists(engine, *monitor, feature):
        methods = names.monitor_features(engine, *monitor, feature=feature)
        raise HistoryEmptyError(
            f"method {method[:SHOWN_NAME]!r} has no results for feature {label}"
            f"{hint(method, methods, 'methods')}"
        )
    features = names.monitor_features(engine, *monitor, since=since)
    raise HistoryEmptyError(
        f"feature {label} is not in the history database"
        f"{hint(feature, features, 'features in that period')}"
    )


def _alerts(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.reads import monitor_alerts

    with _engine() as engine:
        namespace, name = _resolve(engine, args.monitor)
        alerts = monitor_alerts(engine, namespace, name, since=_start(args.since))
    rows = [
        {
            "fired_at": a.fired_at,
            "alert_id": a.alert_id,
            "severity": str(a.severity),
            "state": str(a.state),
            "drift_type": a.drift_type and str(a.drift_type),
            "features": ",".join(a.affected_features),
            "message": a.message,
            "resolved_at": a.resolved_at,
            "acknowledged_by": a.acknowledged_by,
        }
        for a in alerts
    ]
    _print(rows, args.format, empty="no alerts in that period")
    return 0


def _retrains(args: argparse.Namespace) -> int:
    from driftwarden.detectors.storage.reads import monitor_retrain_events

    with _engine() as engine:
        namespace, name = _resolve(engine, args.monitor)
        events = monitor_retrain_events(engine, namespace, name, since=_start(args.since))
    rows = [
        {
            "created_at": e.created_at,
            "event_id": e.event_id,
            "policy": e.policy_name,
            "decision": str(e.decision),
            "reason": e.reason,
            "run_id": e.run_id,
            "job": e.job_name,
            "outcome": e.outcome,
        }
        for e in events
    ]
    _print(rows, args.format, empty="no retraining decisions in that period")
    return 0


# --- output -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN: JSON has none
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value) if not isinstance(value, Mapping) else json.dumps(_plain(value))
    return terminal_text(text)  # one line per row: a name is untrusted


def _print(rows: Sequence[Mapping[str, Any]], fmt: str, *, empty: str = "") -> None:
    if fmt == "json":
        print(json.dumps(_plain(list(rows)), indent=2))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        sys.stdout.write(buffer.getvalue())
        return
    if not rows:
        print(f"({empty or 'none'})")
        return
    header = list(rows[0])
    cells = [[_cell(row.get(k)) for k in header] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)).rstrip())
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.ljust(widths[i]) for i, v in enumerate(c)).rstrip())


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return json.dumps(_plain(value))
    text = "" if value is None else str(value)
    # A cell opened by a spreadsheet must not start a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
