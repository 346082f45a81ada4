"""Rendering the report (on a real evaluation, and on a 1,000-class metrics.json)."""

from __future__ import annotations

import json
import re

import pytest

from tfx_heads import cli
from tfx_heads.components.report import html as report_html
from tfx_heads.components.report import sections
from tfx_heads.components.report.data import load_evaluation


@pytest.fixture(scope="module")
def page(evaluation):
    return report_html.render(load_evaluation(evaluation.dir))


def test_page_is_self_contained(page):
    without_svg_namespace = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://|src=|<link|@import|url\(", without_svg_namespace)
    assert page.count("<script") == page.count("</script>") >= 2


def test_numbers_match_metrics_json(page, evaluation):
    shown = re.findall(r'<span class="v" data-key="([^"]+)">([^<]*)</span>', page)
    keys = {key for key, _ in shown}
    for key in (
        "auc/bin",
        "auc/error_bound/bin",
        "accuracy/cls",
        "auc/tags",
        "recall/positive_threshold_0.7/bin",
        "weighted_example_count/bin",
    ):
        assert key in keys
    # Summaries show the overall slice; slice tables every slice.
    slices = [entry["metrics"] for entry in evaluation.document["slices"]]
    for key, text in shown:
        candidates = [metrics[key] for metrics in slices if key in metrics]
        assert any(text == sections.format_number(value) for value in candidates), (key, text)


def test_plots_and_sections(page, evaluation):
    plots = re.findall(r'data-plot="([^"]+)"', page)
    scopes = ("bin/pooled", "tags/pooled", "tags/class0", "tags/class2") + tuple(
        f"cls/class{c}" for c in range(4)
    )
    expected = {f"{kind}/{scope}" for kind in ("roc", "pr", "calibration") for scope in scopes}
    assert set(plots) == expected and len(plots) == len(expected)
    assert 'data-blessed="false"' in page
    assert "value " in page and "lower_bound 0.99" in page
    assert re.search(r'<tr class="small" data-slice="group=rare">', page)
    assert 'data-missing="curves"' not in page  # Every head with curves has them.
    assert "<h2>Comparison with the baseline</h2>" in page and "baseline</th>" in page
    assert 'data-class-table="tags"' in page and 'data-class-table="cls"' in page


def test_class_table_with_1000_classes(many_classes_dir):
    page = report_html.render(load_evaluation(many_classes_dir))
    payload = re.search(r'<script type="application/json" id="classes-0">(.*?)</script>', page)
    rows = json.loads(payload.group(1))["rows"]
    assert len(rows) == 1000 and rows[999]["auc"] == pytest.approx(0.5 + 999 / 2000)
    assert len(page) < 1_000_000
    assert 'data-missing="plots"' in page  # No TFMA plots in this directory.


def test_cli_writes_the_report(evaluation, tmp_path, capsys):
    output = tmp_path / "sub" / "report.html"
    assert cli.main(["report", evaluation.dir, "-o", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output)
    assert output.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "value, text",
    [
        (0.123456, "0.1235"),
        (3232.5, "3232.5"),
        (1500, "1500"),
        (2e-5, "2.000e-05"),
        (float("nan"), "NaN"),
        (0.0, "0"),
    ],
)
def test_format_number(value, text):
    assert sections.format_number(value) == text
