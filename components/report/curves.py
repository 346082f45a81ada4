"""The curves part of a head's section: ROC, precision-recall and calibration plots, and the
confusion matrix at each of the head's thresholds, for the pooled score and the largest classes
(the candidate's curves solid, the baseline's dashed)."""

from __future__ import annotations

from collections.abc import Sequence

from tfx_heads.components.report import charts
from tfx_heads.components.report.data import Curve, HeadMetrics
from tfx_heads.components.report.sections import NOT_COMPUTED, esc, format_number, head_title

DRAWN_CLASS_CURVES = 6
"""Per-class curves the report draws per head (the classes with the most positives), of the
at most `tfx_heads.components.evaluator.constants.MAX_PLOTTED_CLASS_CURVES` the evaluator
stores."""


def _curve_label(curve: Curve) -> str:
    return f"class {curve.class_name}" if curve.class_id is not None else "all scores"


def _plot_id(curve: Curve, kind: str) -> str:
    scope = f"class{curve.class_id}" if curve.class_id is not None else "pooled"
    return f"{kind}/{curve.head or '_'}/{scope}"


def _matching(curve: Curve, baseline: Sequence[Curve]) -> Curve | None:
    for other in baseline:
        if other.head == curve.head and other.class_id == curve.class_id:
            return other
    return None


def _confusion_tables(curve: Curve, thresholds: Sequence[float]) -> str:
    tables = []
    for threshold in thresholds:
        c = curve.confusion_at(threshold)
        tables.append(
            f'<table class="confusion" data-threshold="{threshold:g}"><tr><th colspan=3>'
            f"threshold {threshold:g} <small>(curve point {c['threshold']:.4g})</small></th></tr>"
            "<tr><th></th><th>predicted +</th><th>predicted \u2212</th></tr>"
            f"<tr><th>actual +</th><td>{format_number(c['tp'])}</td>"
            f"<td>{format_number(c['fn'])}</td></tr>"
            f"<tr><th>actual \u2212</th><td>{format_number(c['fp'])}</td>"
            f"<td>{format_number(c['tn'])}</td></tr></table>"
        )
    note = (
        '<p class="note">Confusion matrices: weighted counts at the curve point nearest each '
        "threshold (in brackets); the table of metrics at thresholds above is exact.</p>"
    )
    return f'{note}<div class="charts">{"".join(tables)}</div>'


def curves_section(
    metrics: HeadMetrics, curves: Sequence[Curve], baseline_curves: Sequence[Curve]
) -> str:
    """ROC, precision-recall and calibration plots and confusion matrices of a head's pooled
    score and of its largest classes."""
    if metrics.kind == "regression":
        return ""
    if not curves:
        return (
            f'<h3>Curves</h3><p class="note" data-missing="curves">ROC, precision-recall, '
            f"calibration and confusion matrices: {NOT_COMPUTED} (plots-* holds no curve for "
            "this head).</p>"
        )
    pooled = [c for c in curves if c.class_id is None]
    per_class = sorted((c for c in curves if c.class_id is not None), key=lambda c: -c.positives)
    drawn = per_class[:DRAWN_CLASS_CURVES]
    thresholds = sorted(set(metrics.thresholds) | {0.5})
    parts = ["<h3>Curves</h3>"]
    if len(drawn) < len(per_class):
        parts.append(
            f'<p class="note">Per-class curves of the {len(drawn)} classes with the most '
            "positives.</p>"
        )
    for curve in pooled + drawn:
        parts.append(_curve_charts(curve, _matching(curve, baseline_curves)))
        parts.append(_confusion_tables(curve, thresholds))
    return "".join(parts)


def _curve_charts(curve: Curve, baseline: Curve | None) -> str:
    """One score's ROC, precision-recall and calibration charts (the baseline's curves
    dashed in the first two)."""
    label = _curve_label(curve)
    fpr, tpr = curve.roc()
    recall, precision = curve.precision_recall()
    roc = [charts.Series("candidate", fpr, tpr)]
    pr = [charts.Series("candidate", recall, precision)]
    if baseline is not None:
        roc.append(charts.Series("baseline", *baseline.roc(), dashed=True))
        pr.append(charts.Series("baseline", *baseline.precision_recall(), dashed=True))
    parts = [
        f"<h4>{esc(head_title(curve.head))}: {esc(label)}</h4><div class=charts>",
        charts.curve_chart(
            _plot_id(curve, "roc"),
            f"ROC ({label})",
            "false positive rate",
            "true positive rate",
            roc,
            diagonal=True,
        ),
        charts.curve_chart(
            _plot_id(curve, "pr"), f"Precision-recall ({label})", "recall", "precision", pr
        ),
        _calibration_chart(curve, label),
        "</div>",
    ]
    return "".join(parts)


def _calibration_chart(curve: Curve, label: str) -> str:
    predicted, observed, weight = curve.calibration()
    if not len(weight):
        return f'<p class="note">Calibration: {NOT_COMPUTED}.</p>'
    return charts.calibration_chart(
        _plot_id(curve, "calibration"), f"Calibration ({label})", predicted, observed, weight
    )
