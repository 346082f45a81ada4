"""Renders an evaluation as one self-contained HTML page (inline CSS, inline JS, inline SVG).

Page order: evaluation overview, blessing, one section per head (summary with error bounds,
confidence intervals and baseline values; curves; per-class table), metrics by slice, and the
comparison with the baseline model. Nothing is fetched when the page opens.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any

import tensorflow as tf

from tfx_heads.components.report import assets, blessing, curves, sections
from tfx_heads.components.report.data import Evaluation, load_evaluation

_KIND_TITLES = {
    "binary": "binary classification",
    "multi_class": "multi-class classification",
    "multi_label": "multi-label classification",
    "regression": "regression",
}


def _eval_config(directory: str) -> dict[str, Any] | None:
    path = os.path.join(directory, "eval_config.json")
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def head_section(evaluation: Evaluation, head: str, position: int) -> str:
    """One head: summary, curves and per-class table."""
    metrics = evaluation.head_metrics(head)
    baseline = evaluation.baseline.head_metrics(head) if evaluation.baseline else None
    baseline_curves = evaluation.baseline.curves_of(head) if evaluation.baseline else []
    title = sections.head_title(head)
    parts = [
        f'<section class="head" id="head-{position}" data-head="{html.escape(head)}">'
        f"<h2>Head {html.escape(title)} <small>({_KIND_TITLES[metrics.kind]})</small></h2>",
        sections.head_summary(metrics, evaluation.overall, baseline),
        curves.curves_section(metrics, evaluation.curves_of(head), baseline_curves),
        sections.class_table(metrics, baseline, f"classes-{position}"),
        sections.class_curves_note(evaluation.class_curves(head)),
        "</section>",
    ]
    return "".join(parts)


def render(evaluation: Evaluation) -> str:
    """The report page of a loaded evaluation.

    Args:
        evaluation: see `data.load_evaluation`.

    Returns:
        The HTML document.
    """
    title = "tfx-heads evaluation report"
    notes = []
    if evaluation.plots_error:
        notes.append(
            '<p class="note" data-missing="plots">Curves, calibration and confusion matrices: '
            f"{sections.NOT_COMPUTED} (TFMA plots could not be read: "
            f"{html.escape(evaluation.plots_error)}).</p>"
        )
    navigation = " | ".join(
        f'<a href="#head-{i}">{html.escape(sections.head_title(h))}</a>'
        for i, h in enumerate(evaluation.heads)
    )
    body = [
        f"<h1>{title}</h1>",
        f'<nav>Heads: {navigation} | <a href="#slices">slices</a> | '
        '<a href="#baseline">baseline</a></nav>',
        *notes,
        sections.overview(evaluation, _eval_config(evaluation.directory)),
        blessing.blessing_section(evaluation.blessing),
        *(head_section(evaluation, h, i) for i, h in enumerate(evaluation.heads)),
        sections.slices_section(evaluation),
        sections.baseline_section(evaluation),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{assets.STYLE}</style>"
        f"<script>{assets.ERROR_SCRIPT}</script></head><body>"
        + "".join(body)
        + f"<script>{assets.PAGE_SCRIPT}</script></body></html>\n"
    )


def write_report(eval_dir: str, output_path: str) -> str:
    """Writes the report of an evaluation directory to `output_path` (local or remote).

    Args:
        eval_dir: the evaluator's output directory (`metrics.json`, TFMA files, and
            optionally `blessing.json` and `baseline/`).
        output_path: the HTML file to write.

    Returns:
        `output_path`.
    """
    page = render(load_evaluation(eval_dir))
    folder = os.path.dirname(output_path)
    if folder:
        tf.io.gfile.makedirs(folder)
    with tf.io.gfile.GFile(output_path, "w") as f:
        f.write(page)
    return output_path
