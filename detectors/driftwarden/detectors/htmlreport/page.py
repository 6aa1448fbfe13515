"""One run as one HTML page: everything inline, no script, no network.

The page is built from the run's JSON report (`Report.to_dict()`, the contract of
`detect --format json`; `report --run` rebuilds the same shape from the history), the
distributions of the features (`overlays`, present when the profiles are at hand) and the
run's record. Every text that came from a user (column names, category values, messages,
settings) goes through `html.escape`; plots escape their own text (matplotlib's SVG writer).

Numbers are shown rounded and carry their exact value in `data-value` (Python's `repr` of
the float, the text `json.dumps` writes), so a test or a script can read them back.

Large monitors stay usable without script: features are grouped in pages of `PAGE_SIZE`
inside collapsed `<details>` (the first page open), and only the first `max_plots` features
by severity get a plot (the rest say so).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from driftwarden.detectors.distributions import Overlay
from driftwarden.detectors.htmlreport import plots

PAGE_SIZE = 50
DEFAULT_MAX_PLOTS = 200
SEVERITY_RANK = {"none": 0, "warning": 1, "critical": 2}
SECTION_ORDER = ("prediction", "performance", "concept", "quality", "operational")
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1rem 1.5rem;color:#1b1b1b;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccc}h3{font-size:1rem;margin:.8rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d0d0;padding:.15rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td[data-value]{text-align:right;white-space:nowrap}
.sev{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-weight:600;
border:1px solid #333}
.sev-none{background:#c9eee2}.sev-warning{background:#ffe3a8}.sev-critical{background:#f9c4a6}
.banner{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:baseline;padding:.8rem 1rem;
border:1px solid #bbb;border-radius:.4rem;background:#fafafa}
.banner .big{font-size:1.6rem;font-weight:700}
details{margin:.3rem 0}summary{cursor:pointer}
.feature{border-top:1px solid #e2e2e2;padding:.3rem 0}
svg.plot{max-width:100%;height:auto;display:block}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:24rem}
.muted{color:#555}code{overflow-wrap:anywhere}
"""


def render_run(
    doc: Mapping[str, Any],
    *,
    overlays: Mapping[str, Overlay] | None = None,
    record: Mapping[str, Any] | None = None,
    title: str = "driftwarden drift report",
    max_plots: int = DEFAULT_MAX_PLOTS,
    generated_at: datetime | None = None,
    source_note: str = "",
) -> str:
    """The whole page for one run as text."""
    overlays = overlays or {}
    ids = Ids()
    parts = [page_head(title), f"<h1>{esc(title)}</h1>"]
    if generated_at is not None:
        parts.append(f'<p class="muted">generated {esc(generated_at.isoformat())}</p>')
    if source_note:
        parts.append(f'<p class="muted">{esc(source_note)}</p>')
    parts.append(_banner(doc))
    features = sort_features(_list(doc.get("features")))
    parts.append(_drifted_index(features))
    parts.append(_features(features, overlays, max_plots, ids))
    for name in SECTION_ORDER:
        section = doc.get(name)
        if isinstance(section, Mapping):
            parts.append(_SECTIONS[name](section, overlays, ids))
    if doc.get("multivariate"):
        parts.append("<h2>Joint test over the row samples</h2>")
        parts.append(_key_values(doc["multivariate"]))
    notes = _list_any(doc.get("notes"))
    if notes:
        parts.append("<h2>Notes</h2><ul>")
        parts.extend(f"<li>{esc(str(n))}</li>" for n in notes)
        parts.append("</ul>")
    parts.append(_record(doc, record))
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def sort_features(features: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Most severe first, then the smallest adjusted p-value, then the name."""

    def key(f: Mapping[str, Any]) -> tuple[int, float, str]:
        p = f.get("p_value_adjusted")
        return (
            -SEVERITY_RANK.get(str(f.get("severity")), 0),
            float(p) if isinstance(p, int | float) else 2.0,
            str(f.get("name")),
        )

    return sorted(features, key=key)


# --- building blocks ------------------------------------------------------------------------


class Ids:
    """Unique ids for plots and anchors within one page."""

    def __init__(self) -> None:
        self.count = 0

    def next(self, prefix: str = "plot") -> str:
        self.count += 1
        return f"{prefix}-{self.count}"


def esc(text: object) -> str:
    """User text made safe for HTML (both text and attribute values)."""
    return html.escape(str(text), quote=True)


def page_head(title: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No script, no remote anything: the page may be opened offline from a ticket.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><main>"
    )


def fmt(value: Any) -> str:
    """A number for people: 4 significant digits, scientific when tiny or huge."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def num(value: Any, column: str = "") -> str:
    """A table cell with a number, its exact value in `data-value`."""
    col = f' data-col="{esc(column)}"' if column else ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td{col} data-value="{esc(repr(value))}">{esc(fmt(value))}</td>'
    return f"<td{col}>{esc(fmt(value))}</td>"


def severity_badge(severity: Any) -> str:
    s = str(severity or "none")
    s = s if s in SEVERITY_RANK else "none"
    return f'<span class="sev sev-{s}">{esc(s)}</span>'


_COUNT = re.compile(r"^\d+/\d+ features drifted")


def _banner(doc: Mapping[str, Any]) -> str:
    drifted = doc.get("drifted_features")
    total = doc.get("total_features")
    rows_value = doc.get("rows")
    rows: Mapping[str, Any] = rows_value if isinstance(rows_value, Mapping) else {}
    head = "DRIFT" if doc.get("drift_detected") else "no drift"
    if doc.get("status") not in (None, "ok"):
        head = str(doc.get("status")).replace("_", " ").upper()
    health = doc.get("health_score")
    return (
        '<section class="banner" aria-label="verdict">'
        '<div><div class="muted">verdict</div>'
        f'<div class="big" id="verdict">{esc(head)}</div></div>'
        f'<div><div class="muted">severity</div><div class="big" id="severity">'
        f"{severity_badge(doc.get('severity'))}</div></div>"
        '<div><div class="muted">health score</div><div class="big" id="health" '
        f'data-value="{esc(repr(health))}">{esc(fmt(health))}<small>/100</small></div></div>'
        f'<div><div class="muted">features drifted</div><div class="big">'
        f"{esc(fmt(drifted))}/{esc(fmt(total))}</div></div>"
        f'<div><div class="muted">rows baseline / current</div><div>'
        f"{esc(fmt(rows.get('baseline')))} / {esc(fmt(rows.get('current')))}</div></div>"
        f'<div style="flex-basis:100%">{esc(_verdict(doc, drifted, total))}'
        f"{_p_text(doc)}</div></section>"
    )


def _verdict(doc: Mapping[str, Any], drifted: Any, total: Any) -> str:
    """The verdict's reason with the banner's count: a drifted run's reason counts the
    features tested ("1/2 features drifted (income)"), the banner every feature listed."""
    verdict = str(doc.get("verdict", ""))
    own = _COUNT.match(verdict)
    if own is None or not isinstance(drifted, int) or not isinstance(total, int):
        return verdict
    return f"{drifted}/{total} features drifted{verdict[own.end() :]}"


def _p_text(doc: Mapping[str, Any]) -> str:
    if doc.get("p_value") is None:
        return ""
    return f" (case p-value {esc(fmt(doc.get('p_value')))}, alpha {esc(fmt(doc.get('alpha')))})"


def _drifted_index(features: Sequence[Mapping[str, Any]]) -> str:
    drifted = [f for f in features if f.get("drift_detected")]
    if not drifted:
        return "<p>No feature drifted.</p>"
    items = [
        f'<li><a href="#{_anchor(f)}">{esc(f.get("name"))}</a> {severity_badge(f.get("severity"))}'
        f" {_p_label(f)}</li>"
        for f in drifted[:100]
    ]
    more = f"<li>… and {len(drifted) - 100} more</li>" if len(drifted) > 100 else ""
    return f"<h2>Drifted features</h2><ul>{''.join(items)}{more}</ul>"


def _p_label(feature: Mapping[str, Any]) -> str:
    """The adjusted p-value, or the smallest raw one where no adjusted value is kept."""
    if feature.get("p_value_adjusted") is not None:
        return f"adjusted p {esc(fmt(feature.get('p_value_adjusted')))}"
    if feature.get("p_value") is not None:
        return f"p {esc(fmt(feature.get('p_value')))} (unadjusted)"
    return ""


def _anchor(feature: Mapping[str, Any]) -> str:
    # Anchors from the position, never from a user's column name.
    return f"feature-{int(feature.get('_index', 0))}"


def _features(
    features: Sequence[Mapping[str, Any]],
    overlays: Mapping[str, Overlay],
    max_plots: int,
    ids: Ids,
) -> str:
    indexed = [{**f, "_index": i + 1} for i, f in enumerate(features)]
    parts = [
        f"<h2>Features by severity ({len(features)})</h2>",
        '<p class="muted">Each method\'s statistic, its p-value, the p-value adjusted for '
        "testing many features at once, and the thresholds; the plot overlays both windows "
        "(numeric: on the baseline's quantile bins, the bins PSI and JS use).</p>",
    ]
    pages = [indexed[i : i + PAGE_SIZE] for i in range(0, len(indexed), PAGE_SIZE)]
    for number, page in enumerate(pages):
        first, last = number * PAGE_SIZE + 1, number * PAGE_SIZE + len(page)
        label = f"features {first}–{last} of {len(indexed)}"
        parts.append(f'<details class="page"{" open" if number == 0 else ""}>')
        parts.append(f"<summary>{esc(label)}</summary>")
        parts.append(_methods_table(page))
        for feature in page:
            parts.append(_feature_detail(feature, overlays, max_plots, ids))
        parts.append("</details>")
    return "\n".join(parts)


def _methods_table(features: Sequence[Mapping[str, Any]]) -> str:
    head = (
        "<table><thead><tr><th>feature</th><th>kind</th><th>severity</th><th>method</th>"
        "<th>statistic</th><th>p-value</th><th>adjusted p</th><th>threshold</th>"
        "<th>critical threshold</th><th>drift</th></tr></thead><tbody>"
    )
    rows = []
    for f in features:
        methods = _list(f.get("methods"))
        name = esc(f.get("name"))
        link = f'<a href="#{_anchor(f)}">{name}</a>' if "_index" in f else name
        if not methods:
            rows.append(
                f'<tr data-feature="{name}"><td>{link}</td><td>{esc(f.get("kind"))}</td>'
                f"<td>{severity_badge(f.get('severity'))}</td>"
                f'<td colspan="7">{esc(f.get("status", ""))} {esc(f.get("note", ""))}</td></tr>'
            )
            continue
        span = f' rowspan="{len(methods)}"' if len(methods) > 1 else ""
        for k, m in enumerate(methods):
            # The feature's name and kind once, spanning its methods' rows.
            lead = f"<td{span}>{link}</td><td{span}>{esc(f.get('kind'))}</td>" if k == 0 else ""
            rows.append(
                f'<tr data-feature="{name}" data-method="{esc(m.get("method"))}">{lead}'
                f"<td>{severity_badge(m.get('severity'))}</td><td>{esc(m.get('method'))}</td>"
                f"{num(m.get('statistic'), 'statistic')}{num(m.get('p_value'), 'p_value')}"
                f"{num(m.get('p_value_adjusted'), 'p_value_adjusted')}"
                f"{num(m.get('threshold'), 'threshold')}"
                f"{_critical(m)}"
                f"<td>{'yes' if m.get('drift_detected') else 'no'}</td></tr>"
            )
    return head + "".join(rows) + "</tbody></table>"


def _critical(method: Mapping[str, Any]) -> str:
    """The critical threshold's cell; a stored run's methods have none (the history does
    not keep it), said as such rather than as a missing value."""
    if "critical_threshold" not in method:
        return '<td data-col="critical_threshold" class="muted">not stored</td>'
    return num(method.get("critical_threshold"), "critical_threshold")


def _feature_detail(
    feature: Mapping[str, Any],
    overlays: Mapping[str, Overlay],
    max_plots: int,
    ids: Ids,
) -> str:
    name = str(feature.get("name"))
    index = int(feature["_index"])
    is_open = " open" if feature.get("drift_detected") and index <= 25 else ""
    facts = esc(feature.get("kind"))
    if feature.get("n_baseline") is not None:
        counts = f"{fmt(feature.get('n_baseline'))} / {fmt(feature.get('n_current'))}"
        facts += f", n = {esc(counts)}"
    if _p_label(feature):
        facts += f", {_p_label(feature)}"
    parts = [
        f'<details class="feature" id="{_anchor(feature)}" data-feature="{esc(name)}"{is_open}>',
        f"<summary><strong>{esc(name)}</strong> {severity_badge(feature.get('severity'))} "
        f'<span class="muted">{facts}</span></summary>',
    ]
    if feature.get("note"):
        parts.append(f"<p>{esc(feature.get('note'))}</p>")
    overlay = overlays.get(name)
    if overlay is None:
        parts.append(
            '<p class="muted">No distribution plot: no values in a window, or the '
            "windows' profiles are not at hand (a stored run).</p>"
        )
    elif index > max_plots:
        parts.append(
            f'<p class="muted">Plot left out: only the {max_plots} most severe features are '
            "drawn (raise --max-plots to draw more).</p>"
        )
    else:
        parts.append(overlay_svg(name, overlay, ids))
    parts.append("</details>")
    return "\n".join(parts)


def overlay_svg(name: str, overlay: Overlay, ids: Ids) -> str:
    marks = [
        "new" if label in overlay.new else "vanished" if label in overlay.vanished else ""
        for label in overlay.labels
    ]
    xlabel = "baseline quantile bin (upper edge)" if overlay.kind == "numeric" else "category"
    figure = plots.overlay_bars(
        overlay.labels, overlay.baseline, overlay.current, marks=marks, xlabel=xlabel
    )
    pairs = ", ".join(
        f"{label}{' (' + mark + ')' if mark else ''}: {b:.1%} baseline, {c:.1%} current"
        for label, mark, b, c in zip(
            overlay.labels, marks, overlay.baseline, overlay.current, strict=True
        )
    )
    desc = f"Share of rows per {'bin' if overlay.kind == 'numeric' else 'category'}: {pairs}."
    return plots.to_svg(
        figure,
        plot_id=ids.next(),
        title=f"Distribution of {name}: baseline and current",
        desc=desc,
    )


# --- sections --------------------------------------------------------------------------------


def _section_head(title: str, section: Mapping[str, Any]) -> str:
    badge = severity_badge(section.get("severity")) if section.get("severity") else ""
    return (
        f'<h2 id="section-{esc(title.lower())}">{esc(title)} {badge}</h2>'
        f"<p>{esc(section.get('summary', ''))}</p>"
    )


def _prediction(section: Mapping[str, Any], overlays: Mapping[str, Overlay], ids: Ids) -> str:
    column = str(section.get("column", "prediction"))
    parts = [_section_head("Prediction", section)]
    methods = _list(section.get("methods"))
    if methods:
        parts.append(_methods_table([{"name": column, "kind": "prediction", "methods": methods}]))
    rate = section.get("positive_rate")
    if isinstance(rate, Mapping):
        parts.append("<h3>Positive rate</h3>")
        parts.append(_key_values(rate))
    overlay = overlays.get(column)
    if overlay is not None:
        parts.append(overlay_svg(column, overlay, ids))
    return "\n".join(parts)


def _performance(section: Mapping[str, Any], overlays: Mapping[str, Overlay], ids: Ids) -> str:
    del overlays
    parts = [_section_head("Performance", section)]
    changes = _list(section.get("changes"))
    if changes:
        parts.append(
            "<table><thead><tr><th>metric</th><th>baseline</th><th>current</th><th>change</th>"
            "<th>p-value</th><th>severity</th></tr></thead><tbody>"
        )
        for c in changes:
            parts.append(
                f'<tr data-metric="{esc(c.get("metric"))}"><td>{esc(c.get("metric"))}</td>'
                f"{num(c.get('baseline'), 'baseline')}{num(c.get('current'), 'current')}"
                f"{num(c.get('absolute_change'), 'absolute_change')}"
                f"{num(c.get('p_value'), 'p_value')}"
                f"<td>{severity_badge(c['severity']) if c.get('severity') else '–'}</td></tr>"
            )
        parts.append("</tbody></table>")
        drawable = [
            c
            for c in changes
            if isinstance(c.get("baseline"), int | float)
            and isinstance(c.get("current"), int | float)
        ]
        if drawable:
            names = [str(c.get("metric")) for c in drawable]
            b = [float(c["baseline"]) for c in drawable]
            cur = [float(c["current"]) for c in drawable]
            desc = "; ".join(
                f"{n}: {x:.4g} baseline, {y:.4g} current"
                for n, x, y in zip(names, b, cur, strict=True)
            )
            parts.append(
                plots.to_svg(
                    plots.metric_bars(names, b, cur),
                    plot_id=ids.next(),
                    title="Performance metrics, baseline and current",
                    desc=desc,
                )
            )
    for window in ("baseline", "current"):
        matrix = section.get(f"confusion_matrix_{window}")
        if matrix is None and window == "current":
            matrix = section.get("confusion_matrix")
        if isinstance(matrix, Mapping):
            parts.append(_confusion(matrix, window, ids))
    calibration = section.get("calibration")
    if isinstance(calibration, Mapping):
        parts.append(_calibration(calibration, ids))
    return "\n".join(parts)


def _confusion(matrix: Mapping[str, Any], window: str, ids: Ids) -> str:
    labels = [str(v) for v in _list_any(matrix.get("labels"))]
    counts = [[float(v) for v in row] for row in _list_any(matrix.get("counts"))]
    if not labels or len(counts) != len(labels):
        return _key_values(matrix)
    desc = "; ".join(
        f"actual {labels[i]} predicted {labels[j]}: {counts[i][j]:g}"
        for i in range(len(labels))
        for j in range(len(labels))
    )
    return f"<h3>Confusion matrix ({esc(window)} window)</h3>" + plots.to_svg(
        plots.confusion(labels, counts),
        plot_id=ids.next(),
        title=f"Confusion matrix of the {window} window",
        desc=desc,
    )


def _calibration(calibration: Mapping[str, Any], ids: Ids) -> str:
    curves: list[tuple[str, Sequence[float], Sequence[float]]] = []
    words = []
    for window in ("baseline", "current"):
        curve = calibration.get(window)
        if isinstance(curve, Mapping):
            x = [_float(v) for v in _list_any(curve.get("mean_predicted"))]
            y = [_float(v) for v in _list_any(curve.get("fraction_positive"))]
            curves.append((window, x, y))
            pairs = ", ".join(f"{a:.2f} -> {b:.2f}" for a, b in zip(x, y, strict=False))
            words.append(f"{window}: {pairs}")
    if not curves:
        return ""
    return "<h3>Calibration (row samples)</h3>" + plots.to_svg(
        plots.reliability(curves),
        plot_id=ids.next(),
        title="Calibration curves, baseline and current",
        desc="Mean predicted probability -> observed fraction of positives per bin; "
        + "; ".join(words),
    )


def _concept(section: Mapping[str, Any], overlays: Mapping[str, Overlay], ids: Ids) -> str:
    del overlays
    parts = [_section_head("Concept drift", section)]
    scalars = {k: v for k, v in section.items() if not isinstance(v, Mapping | list)}
    scalars = {k: v for k, v in scalars.items() if k not in ("severity", "summary")}
    parts.append(_key_values(scalars))
    rows = _list(section.get("features"))
    if rows:
        parts.append(
            "<h3>Feature importance, baseline and current</h3><table><thead><tr><th>feature</th>"
            "<th>baseline</th><th>current</th><th>change</th><th>z-score</th></tr></thead><tbody>"
        )
        for r in rows:
            parts.append(
                f'<tr data-feature="{esc(r.get("feature"))}"><td>{esc(r.get("feature"))}</td>'
                f"{num(r.get('baseline'), 'baseline')}{num(r.get('current'), 'current')}"
                f"{num(r.get('change'), 'change')}{num(r.get('z_score'), 'z_score')}</tr>"
            )
        parts.append("</tbody></table>")
        top = rows[:30]
        names = [str(r.get("feature")) for r in top]
        b = [_float(r.get("baseline")) for r in top]
        c = [_float(r.get("current")) for r in top]
        parts.append(
            plots.to_svg(
                plots.overlay_bars(names, b, c, xlabel="feature", ylabel="importance"),
                plot_id=ids.next(),
                title="Feature importance, baseline and current",
                desc="; ".join(
                    f"{n}: {x:.3g} baseline, {y:.3g} current"
                    for n, x, y in zip(names, b, c, strict=True)
                ),
            )
        )
    return "\n".join(parts)


def _quality(section: Mapping[str, Any], overlays: Mapping[str, Overlay], ids: Ids) -> str:
    del overlays, ids
    parts = [_section_head("Data quality", section)]
    columns = _list(section.get("columns"))
    if columns:
        parts.append(
            "<table><thead><tr><th>column</th><th>kind</th><th>severity</th><th>findings</th>"
            "</tr></thead><tbody>"
        )
        for c in columns:
            details = {k: v for k, v in c.items() if k not in ("column", "kind", "severity")}
            parts.append(
                f'<tr data-column="{esc(c.get("column"))}"><td>{esc(c.get("column"))}</td>'
                f"<td>{esc(c.get('kind'))}</td><td>{severity_badge(c.get('severity'))}</td>"
                f"<td>{_findings(details)}</td></tr>"
            )
        parts.append("</tbody></table>")
    return "\n".join(parts)


def _findings(details: Mapping[str, Any]) -> str:
    items = []
    for check, value in details.items():
        if isinstance(value, Mapping):
            severity = value.get("severity")
            if severity in (None, "none") and check != "categories":
                continue
            text = ", ".join(
                f"{k} {_short_value(v)}"
                for k, v in value.items()
                if k != "severity" and not isinstance(v, Mapping)
            )
            items.append(
                f"<li><strong>{esc(check)}</strong> {severity_badge(severity)} {esc(text)}</li>"
            )
        else:
            items.append(f"<li><strong>{esc(check)}</strong> {esc(_short_value(value))}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else "–"


def _short_value(value: Any) -> str:
    if isinstance(value, list):
        shown = [
            str(v.get("category", v)) if isinstance(v, Mapping) else str(v) for v in value[:10]
        ]
        more = f" … ({len(value)} in all)" if len(value) > 10 else ""
        return "[" + ", ".join(shown) + "]" + more
    return fmt(value)


def _operational(section: Mapping[str, Any], overlays: Mapping[str, Overlay], ids: Ids) -> str:
    del overlays, ids
    parts = [_section_head("Operational", section)]
    latency = section.get("latency")
    if isinstance(latency, Mapping):
        parts.append(
            "<h3>Latency</h3><table><thead><tr><th>percentile</th><th>baseline</th>"
            "<th>current</th><th>relative change</th><th>severity</th></tr></thead><tbody>"
        )
        for p in _list(latency.get("percentiles")):
            parts.append(
                f"<tr><td>p{esc(fmt(p.get('percentile')))}</td>"
                f"{num(p.get('baseline'), 'baseline')}{num(p.get('current'), 'current')}"
                f"{num(p.get('relative_change'), 'relative_change')}"
                f"<td>{severity_badge(p.get('severity'))}</td></tr>"
            )
        parts.append("</tbody></table>")
    errors = section.get("error_rate")
    if isinstance(errors, Mapping):
        parts.append("<h3>Error rate</h3>")
        parts.append(_key_values(errors))
    return "\n".join(parts)


_SECTIONS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Overlay], Ids], str]] = {
    "prediction": _prediction,
    "performance": _performance,
    "concept": _concept,
    "quality": _quality,
    "operational": _operational,
}


def _record(doc: Mapping[str, Any], record: Mapping[str, Any] | None) -> str:
    facts: dict[str, Any] = {"detector version": doc.get("detector_version")}
    if record:
        facts.update({k: v for k, v in record.items() if k != "settings"})
    parts = ["<h2>Run record</h2>", _key_values(facts)]
    settings = (record or {}).get("settings")
    if settings:
        text = json.dumps(settings, indent=2, sort_keys=True, default=str)
        parts.append(f"<details><summary>settings</summary><pre>{esc(text)}</pre></details>")
    return "\n".join(parts)


def _key_values(values: Mapping[str, Any]) -> str:
    rows = []
    for key, value in values.items():
        if isinstance(value, Mapping | list):
            cell = f"<td><code>{esc(json.dumps(value, default=str))}</code></td>"
        elif isinstance(value, datetime):
            cell = f"<td>{esc(value.isoformat())}</td>"
        else:
            cell = num(value, str(key))
        rows.append(f"<tr><th>{esc(key)}</th>{cell}</tr>")
    return "<table><tbody>" + "".join(rows) + "</tbody></table>"


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []


def _list_any(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
