"""The report's sections as HTML fragments: overview, head summaries, per-class tables, metrics
by slice and the baseline comparison (the curves are in `curves`, the blessing in `blessing`).

Every number taken from `metrics.json` is rendered in an element with `data-key` (the full
metric key, e.g. `auc/bin`) whose text is the value (`format_number`), so tests and readers can
match the page against the file.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

from heads.stats.metric_keys import StatsMetricKeys
from tfx_heads.components.report.data import Evaluation, HeadMetrics, is_finite

SMALL_SLICE_EXAMPLES = 100
"""Slices with fewer examples are flagged as small (their metrics are noisy)."""
SLICE_METRICS = (
    "auc",
    "auc_precision_recall",
    "accuracy",
    "average_loss",
    "precision",
    "recall",
    "label/mean",
    "prediction/mean",
)
NOT_COMPUTED = "not computed by this evaluation"
_COUNTS = (StatsMetricKeys.EXAMPLE_COUNT, StatsMetricKeys.WEIGHTED_EXAMPLE_COUNT)


def esc(text: Any) -> str:
    return html.escape(str(text))


def format_number(value: Any) -> str:
    """4 significant digits (6 from 1,000; exponent form below 1e-4 or from 1e6); `NaN` when
    not finite; ints as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return esc(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "NaN"
    size = abs(value)
    if size and (size < 1e-4 or size >= 1e6):
        return f"{value:.3e}"
    return f"{value:.6g}" if size >= 1000 else f"{value:.4g}"


def suffixed(base: str, head: str) -> str:
    return f"{base}/{head}" if head else base


def value_span(key: str, value: Any) -> str:
    """A metric value tagged with its full key."""
    return f'<span class="v" data-key="{esc(key)}">{format_number(value)}</span>'


def head_title(head: str) -> str:
    return head if head else "(unnamed head)"


def _interval(metrics: HeadMetrics, base: str) -> str:
    if base not in metrics.intervals:
        return ""
    lower, upper = metrics.intervals[base]
    return f"[{format_number(lower)}, {format_number(upper)}]"


def delta_span(value: Any, base_value: Any) -> str:
    """`value - base_value` (`+0.0123`), green when up, red when down; empty unless both are
    finite."""
    if not (is_finite(value) and is_finite(base_value)):
        return ""
    change = value - base_value
    direction = "up" if change > 0 else "down" if change < 0 else "same"
    return f'<span class="{direction}">{change:+.4g}</span>'


def overview(evaluation: Evaluation, config: Mapping[str, Any] | None) -> str:
    """Example counts, rejected examples, data and model locations."""
    overall = evaluation.overall
    rejected = evaluation.document.get("rejected", {})
    reasons = ", ".join(f"{esc(k)}: {v}" for k, v in rejected.get("reasons", {}).items())
    rows = [
        (
            "examples (overall slice)",
            f'<span data-count="example_count">{overall["example_count"]}</span>',
        ),
        (
            "weighted examples",
            f'<span data-count="weighted_example_count">'
            f"{format_number(float(overall['weighted_example_count']))}</span>",
        ),
        ("rejected examples", f"{rejected.get('count', 0)}{f' ({reasons})' if reasons else ''}"),
        ("heads", esc(", ".join(head_title(h) for h in evaluation.heads))),
        ("slices", str(len(evaluation.slices))),
    ]
    if config:
        rows.append(("data", esc(config.get("dataLocation", ""))))
        rows.append(("model", esc(", ".join(config.get("modelLocations", {}).values()))))
        options = config.get("evalConfig", {}).get("options", {})
        intervals = options.get("computeConfidenceIntervals", False)
        rows.append(("confidence intervals", "Poisson bootstrap" if intervals else "none"))
    if "min_slice_size" in evaluation.document:
        rows.append(("minimum slice size (examples)", _min_slice_size(evaluation)))
    body = "".join(f'<tr><th class="name">{k}</th><td class="name">{v}</td></tr>' for k, v in rows)
    return f'<section id="overview"><h2>Evaluation</h2><table>{body}</table></section>'


def _min_slice_size(evaluation: Evaluation) -> str:
    """`min_slice_size` (examples) and how many slices it left with counts only."""
    size, below = evaluation.document["min_slice_size"], len(evaluation.counts_only)
    text = f'<span data-count="min_slice_size">{esc(size)}</span>'
    if below:
        text += (
            f'; <span data-count="counts_only">{below}</span> slice{"s" * (below > 1)} below it '
            "report example counts only (no other metric, curve or interval)"
        )
    return text


def class_curves_note(item: Mapping[str, Any] | None) -> str:
    """Which classes of a head have per-class curves (`metrics.json`'s `class_curves`)."""
    if item is None:
        return ""
    classes, total = item["classes"], item["n_classes"]
    if classes == "all":
        kind, text = "all", f"every class ({total})"
    elif classes:
        shown = ", ".join(f"class{c}" for c in classes[:20])
        more = f" and {len(classes) - 20} more" if len(classes) > 20 else ""
        kind, text = "selected", f"the {len(classes)} selected of {total} classes ({shown}{more})"
    else:
        kind = "none"
        text = (
            f"none: {total} classes, more than {item.get('max_default_class_curves')} without "
            "a selection (a multi-label head's <code>classes_for_class_based_metrics</code>; a "
            "multi-class head has none); every class keeps its probability mean"
        )
    return f'<p class="note" data-class-curves="{kind}">Per-class curves: {text}.</p>'


def head_summary(
    metrics: HeadMetrics, entry: Mapping[str, Any], baseline: HeadMetrics | None
) -> str:
    """Every headline and threshold metric of a head with its error bound, confidence
    interval and the baseline's value."""
    head = metrics.name
    counts = "".join(
        f'<tr><th class="name">{name.replace("_", " ")}</th>'
        f"<td>{value_span(suffixed(name, head), metrics.scalars[name])}</td></tr>"
        for name in _COUNTS
        if name in metrics.scalars
    )
    with_bounds, with_intervals = bool(metrics.error_bounds), bool(metrics.intervals)
    header = "<th class=name>metric</th><th>value</th>"
    header += "<th>error bound</th>" if with_bounds else ""
    header += "<th>confidence interval</th>" if with_intervals else ""
    if baseline is not None:
        header += "<th>baseline</th><th>change</th>"
    rows = []
    for base, value in metrics.scalars.items():
        if base in _COUNTS:
            continue
        row = f'<td class="name">{esc(base)}</td><td>{value_span(suffixed(base, head), value)}</td>'
        row += f"<td>{_bound(metrics, base)}</td>" if with_bounds else ""
        row += f"<td>{_interval(metrics, base)}</td>" if with_intervals else ""
        if baseline is not None:
            other = baseline.scalars.get(base)
            row += f"<td>{format_number(other) if other is not None else ''}</td>"
            row += f"<td>{delta_span(value, other)}</td>"
        rows.append(f"<tr>{row}</tr>")
    table = f'<table class="summary"><tr>{header}</tr>{"".join(rows)}</table>'
    parts = [f'<h3>Summary</h3><table class="counts">{counts}</table>{table}']
    if metrics.thresholds:
        names = sorted({name for values in metrics.thresholds.values() for name in values})
        head_row = "".join(f"<th>{esc(n)}</th>" for n in names)
        body = []
        for threshold, values in metrics.thresholds.items():
            cells = []
            for name in names:
                base = f"{name}/positive_threshold_{threshold:g}"
                value = values.get(name)
                ci = _interval(metrics, base)
                cells.append(
                    f"<td>{value_span(suffixed(base, head), value) if value is not None else ''}"
                    f"{f' <small>{ci}</small>' if ci else ''}</td>"
                )
            body.append(f"<tr><td>{threshold:g}</td>{''.join(cells)}</tr>")
        parts.append(
            f"<h3>At thresholds</h3><table class=thresholds><tr><th>threshold</th>{head_row}</tr>"
            f"{''.join(body)}</table>"
        )
    return "".join(parts)


def _bound(metrics: HeadMetrics, base: str) -> str:
    if base not in metrics.error_bounds:
        return ""
    key = suffixed(f"{base}/error_bound", metrics.name)
    return f"\u00b1{value_span(key, metrics.error_bounds[base])}"


def class_table(metrics: HeadMetrics, baseline: HeadMetrics | None, table_id: str) -> str:
    """The per-class table (rendered by the page script: sortable, filterable, paginated)."""
    if not metrics.classes:
        if metrics.kind in ("multi_class", "multi_label"):
            return (
                '<h3>Per class</h3><p class="note" data-missing="classes">Per-class metrics: '
                f"{NOT_COMPUTED} (no classes selected for class-based metrics).</p>"
            )
        return ""
    head = metrics.name
    names = sorted({name for values in metrics.classes.values() for name in values})
    columns: list[dict[str, Any]] = [{"key": "class", "label": "class"}]
    for name in names:
        columns.append({"key": name, "label": name, "metric": suffixed(f"{name}/{{class}}", head)})
        if any(f"{name}/{c}" in metrics.error_bounds for c in metrics.classes):
            columns.append(
                {
                    "key": f"{name}_bound",
                    "label": f"{name} error bound",
                    "metric": suffixed(f"{name}/{{class}}/error_bound", head),
                }
            )
    if baseline is not None and "auc" in names:
        columns += [
            {"key": "baseline_auc", "label": "baseline auc"},
            {"key": "auc_change", "label": "auc change"},
        ]
    rows = []
    for class_name, values in metrics.classes.items():
        row: dict[str, Any] = {"class": class_name}
        for name in names:
            row[name] = _json_number(values.get(name))
            bound = metrics.error_bounds.get(f"{name}/{class_name}")
            if bound is not None:
                row[f"{name}_bound"] = _json_number(bound)
        if baseline is not None and "auc" in names:
            other = baseline.classes.get(class_name, {}).get("auc")
            row["baseline_auc"] = _json_number(other)
            if is_finite(other) and is_finite(values.get("auc")):
                row["auc_change"] = values["auc"] - other
        rows.append(row)
    payload = json.dumps({"columns": columns, "rows": rows}).replace("</", "<\\/")
    return (
        f"<h3>Per class ({len(rows)} classes)</h3>"
        f'<script type="application/json" id="{table_id}">{payload}</script>'
        f'<div data-class-table="{esc(head)}" data-source="{table_id}"></div>'
    )


def _json_number(value: Any) -> float | None:
    return float(value) if is_finite(value) else None


def slices_section(evaluation: Evaluation) -> str:
    """Each head's headline metrics in every slice; small slices flagged."""
    if len(evaluation.slices) < 2:
        return (
            '<section id="slices"><h2>Metrics by slice</h2><p class="note">Only the overall '
            "slice was evaluated.</p></section>"
        )
    parts = [
        '<section id="slices"><h2>Metrics by slice</h2>'
        f'<p class="note">Slices with fewer than {SMALL_SLICE_EXAMPLES} examples are flagged '
        f"as small: their metrics are noisy.{_counts_only_note(evaluation)}</p>"
    ]
    for head in evaluation.heads:
        overall = evaluation.head_metrics(head)
        names = [name for name in SLICE_METRICS if name in overall.scalars][:4]
        header = "".join(f"<th>{esc(n)}</th>" for n in names)
        parts.append(
            f"<h3>{esc(head_title(head))}</h3><table class=slices data-head={esc(head)}><tr>"
            f"<th class=name>slice</th><th>examples</th><th>weighted</th>{header}<th></th></tr>"
        )
        for entry in evaluation.slices:
            metrics = evaluation.head_metrics(head, entry)
            count = int(metrics.scalars.get("example_count", entry["example_count"]))
            small = count < SMALL_SLICE_EXAMPLES
            name = ", ".join(f"{k}={v}" for k, v in entry["slice"].items()) or "Overall"
            cells = "".join(
                f"<td>{value_span(suffixed(n, head), metrics.scalars[n])}</td>"
                if n in metrics.scalars
                else "<td></td>"
                for n in names
            )
            weighted = metrics.scalars.get("weighted_example_count", "")
            flag = "counts only" if entry.get("counts_only") else "small slice" if small else ""
            parts.append(
                f'<tr class="{"small" if small else ""}" data-slice="{esc(name)}">'
                f'<td class="name">{esc(name)}</td><td>{count}</td>'
                f"<td>{format_number(weighted)}</td>{cells}"
                f"<td>{f'<span class=flag>{flag}</span>' if flag else ''}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</section>")
    return "".join(parts)


def _counts_only_note(evaluation: Evaluation) -> str:
    below = len(evaluation.counts_only)
    if not below:
        return ""
    return (
        f" {below} slice{'s' * (below > 1)} had fewer than "
        f"{esc(evaluation.document.get('min_slice_size'))} examples (the minimum slice size) "
        "and report example counts only: no other metric, curve or interval."
    )


def baseline_section(evaluation: Evaluation) -> str:
    """The candidate against the baseline model, overall slice, every head."""
    baseline = evaluation.baseline
    if baseline is None:
        return (
            '<section id="baseline"><h2>Comparison with the baseline</h2><p class="note">No '
            "baseline model was evaluated (no baseline/ directory).</p></section>"
        )
    parts = [
        '<section id="baseline"><h2>Comparison with the baseline</h2>'
        f"<p>Examples: candidate {evaluation.overall['example_count']}, baseline "
        f"{baseline.overall['example_count']}. Dashed curves above are the baseline's.</p>"
    ]
    for head in evaluation.heads:
        mine, theirs = evaluation.head_metrics(head), baseline.head_metrics(head)
        rows = []
        for base, value in mine.scalars.items():
            if base in _COUNTS or base not in theirs.scalars:
                continue
            other = theirs.scalars[base]
            rows.append(
                f'<tr><td class="name">{esc(base)}</td><td>{format_number(value)}</td>'
                f"<td>{format_number(other)}</td><td>{delta_span(value, other)}</td></tr>"
            )
        parts.append(
            f"<h3>{esc(head_title(head))}</h3><table class=comparison><tr><th class=name>metric"
            f"</th><th>candidate</th><th>baseline</th><th>change</th></tr>{''.join(rows)}</table>"
        )
    parts.append("</section>")
    return "".join(parts)
