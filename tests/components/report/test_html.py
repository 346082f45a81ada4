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


@pytest.fixture
def budget_page(tmp_path):
    """A hand-written metrics.json: min_slice_size 5 with two of four slices below it, and
    three heads whose per-class curves are all, two selected, and none (beyond the budget)."""
    import heads
    from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout

    head = heads.MultiHead(
        [
            heads.MultiClassHead(n_classes=3, name="mc"),
            heads.MultiLabelHead(n_classes=5, classes_for_class_based_metrics=[1, 3], name="sel"),
            heads.MultiLabelHead(n_classes=2000, name="ml"),
        ]
    )
    layout = HeadMetricLayout(heads.describe(head))

    def entry(group, count, counts_only):
        metrics = {"example_count": count, "weighted_example_count/mc": float(count)}
        if not counts_only:
            metrics.update({"auc/ml": 0.75, "accuracy/mc": 0.5, "auc/sel": 0.625})
        item = {
            "slice": {"g": group} if group else {},
            "example_count": count,
            "weighted_example_count": float(count),
            "metrics": metrics,
            "heads": layout.entries(metrics),
        }
        return {**item, "counts_only": True} if counts_only else item

    document = {
        "min_slice_size": 5,
        "class_curves": [
            {"head": "mc", "n_classes": 3, "classes": "all", "max_default_class_curves": 1000},
            {"head": "sel", "n_classes": 5, "classes": [1, 3], "max_default_class_curves": 1000},
            {"head": "ml", "n_classes": 2000, "classes": [], "max_default_class_curves": 1000},
        ],
        "slices": [
            entry("", 21, False),
            entry("a", 14, False),
            entry("b", 3, True),
            entry("c", 4, True),
        ],
        "rejected": {"count": 0, "reasons": {}},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(document))
    return report_html.render(load_evaluation(str(tmp_path)))


def _text(fragment):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment)).strip()


def test_counts_only_slices_and_class_curves_are_stated(budget_page):
    row = r"minimum slice size \(examples\)</th><td[^>]*>(.*?)</td>"
    overview = re.search(row, budget_page).group(1)
    assert _text(overview) == (
        "5; 2 slices below it report example counts only (no other metric, curve or interval)"
    )
    flags = re.findall(r'data-slice="g=(\w)">.*?<td>(?:<span class=flag>([^<]*)</span>)?</td>'
                       r"</tr>", budget_page)  # fmt: skip
    # Three head tables of four slices each: only b (3) and c (4) are counts only.
    assert flags == [("a", "small slice"), ("b", "counts only"), ("c", "counts only")] * 3
    assert "2 slices had fewer than 5 examples" in budget_page
    notes = dict(re.findall(r'data-class-curves="(\w+)">Per-class curves: (.*?)</p>', budget_page))
    assert notes["all"] == "every class (3)."
    assert notes["selected"] == "the 2 selected of 5 classes (class1, class3)."
    assert _text(notes["none"]) == (
        "none: 2000 classes, more than 1000 without a selection (a multi-label head's "
        "classes_for_class_based_metrics; a multi-class head has none); every class keeps its "
        "probability mean."
    )
    # In the head sections, in the order of the heads.
    order = [budget_page.index(f'data-class-curves="{kind}"') for kind in ("all", "selected")]
    assert order == sorted(order) and budget_page.index('data-head="sel"') < order[1]


def test_an_evaluation_without_small_slices_says_nothing_of_counts_only(page):
    row = r'\(examples\)</th><td class="name"><span data-count="min_slice_size">1</span></td>'
    assert re.search(row, page)
    assert "counts only" not in page and "had fewer than" not in page
    assert re.findall(r'data-class-curves="(\w+)"', page) == ["all", "selected"]
