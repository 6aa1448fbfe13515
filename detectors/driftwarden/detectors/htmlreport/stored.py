"""Pages from the history database: one stored run, and one monitor over time.

A stored run keeps its statistics and, per feature, the baseline's and the current window's
shares over the engine's bins (`feature_distributions`), never its windows, so its page has
the same tables and overlays as `detect --format html`. Runs written before revision 0005
have neither adjusted p-values nor distributions, and a distribution row that does not read
back is left out; the page says which. The run's JSON-shaped document is rebuilt from the
rows `history.drift_rows` and its siblings wrote, with the same field names.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from driftwarden.detectors.distributions import Overlay
from driftwarden.detectors.htmlreport import plots
from driftwarden.detectors.htmlreport.page import (
    Ids,
    esc,
    fmt,
    num,
    page_head,
    render_run,
    severity_badge,
)
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage.reads import MatrixCell, MetricPoint, RunRows
from driftwarden.detectors.storage.types import (
    AlertRow,
    DriftType,
    RetrainEventRow,
    RunRecord,
)

#: Features drawn in the monitor's heatmap (the most often drifted); the rest are counted.
HEATMAP_FEATURES = 60
#: Runs drawn in the heatmap (the newest).
HEATMAP_RUNS = 120


def run_document(run: RunRecord, rows: RunRows) -> dict[str, Any]:
    """The run as `Report.to_dict()` shapes it, from what the history kept."""
    features: dict[str, dict[str, Any]] = {}
    prediction: dict[str, Any] | None = None
    concept: dict[str, Any] | None = None
    for r in rows.drift:
        method = {
            "method": r.method,
            "statistic": r.statistic,
            "p_value": r.p_value,
            "p_value_adjusted": r.p_value_adjusted,  # None in rows written before 0005
            "threshold": r.threshold,
            # no "critical_threshold": not a column of drift_results (the page says so)
            "drift_detected": r.drift_detected,
            "severity": str(r.severity),
        }
        if r.drift_type is DriftType.DATA:
            f = features.setdefault(
                r.feature,
                {"name": r.feature, "kind": r.feature_kind, "methods": [], "status": "ok"},
            )
            f["methods"].append(method)
        elif r.drift_type is DriftType.PREDICTION:
            prediction = prediction or {"column": r.feature, "methods": []}
            prediction["methods"].append(method)
        else:
            concept = {k: v for k, v in method.items() if k != "p_value_adjusted"}
    for f in features.values():
        methods = f["methods"]
        f["severity"] = str(Severity.worst([Severity(m["severity"]) for m in methods]))
        f["drift_detected"] = any(m["drift_detected"] for m in methods)
        ps = [m["p_value"] for m in methods if m["p_value"] is not None]
        f["p_value"] = min(ps) if ps else None
    drifted = [f for f in features.values() if f["drift_detected"]]
    doc: dict[str, Any] = {
        "drift_detected": bool(drifted),
        "severity": str(run.severity),
        "health_score": run.health_score,
        "status": "ok" if str(run.outcome) == "Succeeded" else str(run.outcome),
        "verdict": (
            f"{len(drifted)}/{len(features)} features drifted"
            + (f" ({', '.join(sorted(f['name'] for f in drifted)[:10])})" if drifted else "")
        ),
        "rows": {"baseline": run.baseline_rows, "current": run.current_rows},
        "drifted_features": len(drifted),
        "total_features": len(features),
        "features": list(features.values()),
        "detector_version": run.detector_version,
    }
    if prediction is not None:
        worst = Severity.worst([Severity(m["severity"]) for m in prediction["methods"]])
        prediction.update(
            severity=str(worst), summary=f"prediction drift on {prediction['column']}"
        )
        doc["prediction"] = prediction
    current = [p for p in rows.performance if p.split == "current"]
    if current:
        doc["performance"] = {  # no severity: the history keeps the metrics, not the verdict
            "summary": "metrics of the current window against the baseline's (as stored)",
            "changes": [
                {
                    "metric": p.metric,
                    "baseline": p.baseline_value,
                    "current": p.value,
                    "absolute_change": _difference(p.value, p.baseline_value),
                }
                for p in current
            ],
        }
    if concept is not None:
        doc["concept"] = {**concept, "summary": "feature-target relation (stored statistics)"}
    if rows.quality:
        doc["quality"] = {
            "severity": str(Severity.worst([q.severity for q in rows.quality])),
            "summary": f"{len(rows.quality)} column(s) with quality findings",
            "columns": [
                {"column": q.column, "kind": q.kind, "severity": str(q.severity), **q.details}
                for q in rows.quality
            ],
        }
    return doc


def run_record_facts(run: RunRecord) -> dict[str, Any]:
    """The reproducible record of a stored run, for the page's last section."""
    facts: dict[str, Any] = {
        "run id": run.run_id,
        "monitor": f"{run.monitor_namespace}/{run.monitor_name}",
        "model": " ".join(x for x in (run.model_name, run.model_version) if x) or None,
        "outcome": str(run.outcome),
        "failure reason": run.failure_reason,
        "scheduled at": run.scheduled_at,
        "started at": run.started_at,
        "finished at": run.finished_at,
        "baseline window": _window(run.baseline_start, run.baseline_end),
        "current window": _window(run.current_start, run.current_end),
        "labelled rows baseline / current": (
            f"{fmt(run.baseline_labelled_rows)} / {fmt(run.current_labelled_rows)}"
        ),
        "spec hash": run.spec_hash,
        "settings hash": run.settings_hash,
        "baseline profile": run.baseline_profile_name,
        "baseline profile digest": run.baseline_profile_hash,
        "settings": run.settings,
    }
    return {k: v for k, v in facts.items() if v is not None}


def stored_overlays(rows: RunRows) -> tuple[dict[str, Overlay], list[str]]:
    """The overlays a run stored, and the features whose stored row did not read back."""
    result: dict[str, Overlay] = {}
    unreadable: list[str] = []
    for row in rows.distributions:
        try:
            result[row.feature] = Overlay.from_dict(row.kind, row.distribution)
        except (ValueError, TypeError, AttributeError):  # a row edited by hand, or damaged
            unreadable.append(row.feature)
    return result, unreadable


def render_stored_run(run: RunRecord, rows: RunRows, *, now: datetime | None = None) -> str:
    shapes, unreadable = stored_overlays(rows)
    notes = [
        "From the history database: statistics and distributions as the run stored them. "
        "The history keeps each method's threshold, not its critical threshold (the "
        "settings' critical level when the run was made): that column reads 'not stored'."
    ]
    if not rows.distributions:
        notes.append(
            "This run stored no distributions (written before driftwarden kept them, or it "
            "had too little data); `driftwarden detect --format html` draws them."
        )
    if unreadable:
        notes.append(
            f"{len(unreadable)} stored distribution(s) could not be read and are not drawn: "
            + ", ".join(sorted(unreadable)[:10])
            + ("..." if len(unreadable) > 10 else "")
            + "."
        )
    return render_run(
        run_document(run, rows),
        overlays=shapes,
        record=run_record_facts(run),
        title=f"driftwarden run {run.run_id}",
        generated_at=now,
        source_note=" ".join(notes),
    )


def render_monitor(
    namespace: str,
    name: str,
    runs: Sequence[RunRecord],
    cells: Sequence[MatrixCell],
    metrics: Sequence[MetricPoint],
    alerts: Sequence[AlertRow],
    events: Sequence[RetrainEventRow],
    *,
    period: str,
    now: datetime | None = None,
) -> str:
    """One monitor's history: drift heatmap, health and performance over time, alerts."""
    ids = Ids()
    title = f"driftwarden monitor {namespace}/{name}"
    ordered = sorted(runs, key=lambda r: (r.started_at, r.run_id))
    parts = [page_head(title), f"<h1>{esc(title)}</h1>"]
    if now is not None:
        parts.append(f'<p class="muted">generated {esc(now.isoformat())}</p>')
    latest = ordered[-1]
    parts.append(
        '<section class="banner" aria-label="latest run">'
        f'<div><div class="muted">runs in {esc(period)}</div>'
        f'<div class="big">{len(ordered)}</div></div>'
        f'<div><div class="muted">latest severity</div><div class="big">'
        f"{severity_badge(latest.severity)}</div></div>"
        f'<div><div class="muted">latest health</div><div class="big">'
        f"{esc(fmt(latest.health_score))}</div></div>"
        f'<div><div class="muted">alerts</div><div class="big">{len(alerts)}</div></div>'
        "</section>"
    )
    parts.append("<h2>Health over time</h2>")
    parts.append(_health_plot(ordered, ids))
    parts.append(_heatmap(ordered, cells, ids))
    parts.append(_performance(metrics, ids))
    parts.append(_alerts(alerts))
    parts.append(_events(events))
    parts.append(_runs_table(list(reversed(ordered))))
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _health_plot(runs: Sequence[RunRecord], ids: Ids) -> str:
    xs = [r.started_at for r in runs]
    ys = [r.health_score for r in runs]
    desc = "; ".join(f"{x.isoformat()}: {fmt(y)}" for x, y in list(zip(xs, ys, strict=True))[-50:])
    return plots.to_svg(
        plots.lines(xs, [("health score", ys)], ylabel="health score (0-100)"),
        plot_id=ids.next(),
        title="Health score per run",
        desc=f"Health score by run start time (latest 50 shown in words): {desc}",
    )


def _heatmap(runs: Sequence[RunRecord], cells: Sequence[MatrixCell], ids: Ids) -> str:
    shown_runs = list(runs)[-HEATMAP_RUNS:]
    column = {r.run_id: i for i, r in enumerate(shown_runs)}
    worst: dict[tuple[str, int], int] = {}
    drifted: dict[str, int] = defaultdict(int)
    for c in cells:
        j = column.get(c.run_id)
        if j is None:
            continue
        key = (c.feature, j)
        worst[key] = max(worst.get(key, 0), c.severity.rank)
    features = sorted({f for f, _ in worst})
    if not features:
        return "<h2>Drift by feature and run</h2><p>No feature results in this period.</p>"
    for (feature, _), rank in worst.items():
        if rank > 0:
            drifted[feature] += 1
    ranked = sorted(features, key=lambda f: (-drifted[f], f))
    top = ranked[:HEATMAP_FEATURES]
    matrix = [[float(worst.get((f, j), math.nan)) for j in range(len(shown_runs))] for f in top]
    labels = [r.started_at.strftime("%m-%d %H:%M") for r in shown_runs]
    desc = "; ".join(f"{f}: drifted in {drifted[f]} of {len(shown_runs)} runs" for f in top[:100])
    parts = [
        "<h2>Drift by feature and run</h2>",
        f'<p class="muted">The worst severity of each feature\'s methods per run; '
        f"{len(top)} of {len(features)} features (the most often drifted), "
        f"the newest {len(shown_runs)} runs; grey: no result.</p>",
        plots.to_svg(
            plots.heatmap(top, labels, matrix),
            plot_id=ids.next(),
            title="Drift severity by feature and run",
            desc=desc,
        ),
    ]
    rest = [f for f in ranked[HEATMAP_FEATURES:] if drifted[f]]
    if rest:
        items = ", ".join(f"{esc(f)} ({drifted[f]})" for f in rest[:500])
        parts.append(f"<p>Also drifted (runs): {items}</p>")
    return "\n".join(parts)


def _performance(metrics: Sequence[MetricPoint], ids: Ids) -> str:
    if not metrics:
        return "<h2>Performance over time</h2><p>No performance metrics in this period.</p>"
    times = sorted({p.observed_at for p in metrics})
    index = {t: i for i, t in enumerate(times)}
    series: dict[str, list[float | None]] = {}
    for p in metrics:
        series.setdefault(p.metric, [None] * len(times))[index[p.observed_at]] = p.value
    return "<h2>Performance over time</h2>" + plots.to_svg(
        plots.lines(times, sorted(series.items()), ylabel="metric value"),
        plot_id=ids.next(),
        title="Performance metrics per run",
        desc="; ".join(
            f"{metric}: latest {fmt(next((v for v in reversed(vs) if v is not None), None))}"
            for metric, vs in sorted(series.items())
        ),
    )


def _alerts(alerts: Sequence[AlertRow]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p>No alerts in this period.</p>"
    rows = "".join(
        f"<tr><td>{esc(a.fired_at.isoformat())}</td><td>{severity_badge(a.severity)}</td>"
        f"<td>{esc(a.state)}</td><td>{esc(a.drift_type or '')}</td>"
        f"<td>{esc(', '.join(a.affected_features[:20]))}</td><td>{esc(a.message)}</td>"
        f"<td>{esc(a.resolved_at.isoformat() if a.resolved_at else '')}</td></tr>"
        for a in sorted(alerts, key=lambda a: a.fired_at)
    )
    return (
        "<h2>Alerts timeline</h2><table><thead><tr><th>fired</th><th>severity</th>"
        "<th>state</th><th>type</th><th>features</th><th>message</th><th>resolved</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _events(events: Sequence[RetrainEventRow]) -> str:
    if not events:
        return "<h2>Retraining decisions</h2><p>None in this period.</p>"
    rows = "".join(
        f"<tr><td>{esc(e.created_at.isoformat())}</td><td>{esc(e.policy_name)}</td>"
        f"<td>{esc(e.decision)}</td><td>{esc(e.reason)}</td><td>{esc(e.job_name or '')}</td>"
        f"<td>{esc(e.outcome or '')}</td></tr>"
        for e in sorted(events, key=lambda e: e.created_at)
    )
    return (
        "<h2>Retraining decisions</h2><table><thead><tr><th>when</th><th>policy</th>"
        "<th>decision</th><th>reason</th><th>job</th><th>outcome</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _runs_table(runs: Sequence[RunRecord]) -> str:
    rows = "".join(
        f'<tr data-run="{esc(r.run_id)}"><td>{esc(r.run_id)}</td>'
        f"<td>{esc(r.started_at.isoformat())}</td><td>{esc(r.outcome)}</td>"
        f"<td>{severity_badge(r.severity)}</td>{num(r.health_score, 'health_score')}"
        f"{num(r.current_rows, 'current_rows')}</tr>"
        for r in runs
    )
    return (
        "<h2>Runs</h2><details><summary>all runs, newest first</summary><table><thead><tr>"
        "<th>run</th><th>started</th><th>outcome</th><th>severity</th><th>health</th>"
        f"<th>current rows</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )


def _window(start: datetime | None, end: datetime | None) -> str | None:
    if start is None and end is None:
        return None
    return f"{start.isoformat() if start else '…'} – {end.isoformat() if end else '…'}"


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
