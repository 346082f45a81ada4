"""The report's blessing section: one row per check of `blessing.json`, older files still shown."""

from __future__ import annotations

import html.parser
import json
import math
import os
import shutil

import pytest

from tfx_heads.components.evaluator import blessing as evaluator_blessing
from tfx_heads.components.evaluator import validations
from tfx_heads.components.report import html as report_html
from tfx_heads.components.report.blessing import CHECK_COLUMNS, blessing_section
from tfx_heads.components.report.data import load_evaluation
from tfx_heads.components.report.sections import format_number


class _TableCells(html.parser.HTMLParser):
    """The text of each cell (unescaped) of each row of the first `<table class="checks">`,
    and each row's `data-*` attributes."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.row_data: list[dict[str, str]] = []
        self._depth = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and (self._depth or attributes.get("class") == "checks"):
            self._depth += 1
        elif self._depth and tag == "tr":
            self.rows.append([])
            self.row_data.append({k[5:]: v for k, v in attrs if k.startswith("data-")})
        elif self._depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self._depth:
            self._depth -= 1
        elif self._cell is not None and tag in ("td", "th"):
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table(page: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The checks table's rows as {column: cell text} and the rows' data attributes."""
    parser = _TableCells()
    parser.feed(page)
    assert parser.rows, "no checks table"
    assert parser.rows[0] == list(CHECK_COLUMNS)
    rows = [dict(zip(CHECK_COLUMNS, cells, strict=True)) for cells in parser.rows[1:]]
    return rows, parser.row_data[1:]


def _number_text(value: float | None) -> str:
    return "" if value is None else format_number(value)


def _assert_rows_match(rows, row_data, document):
    """Each row against its check of `document` (`blessing.json`): text, numbers, bound."""
    checks = document["checks"]
    assert len(rows) == len(checks)
    for row, data, check in zip(rows, row_data, checks, strict=True):
        assert row["metric"] == check["metric"] and row["slice"] == check["slice"]
        assert row["outcome"] == data["outcome"] == check["outcome"]
        assert row["reason"] == check["reason"] and data["condition"] == check["condition"]
        assert row["value"] == _number_text(check["value"])
        assert row["baseline"] == _number_text(check["baseline"])
        if check["value"] is not None:
            assert math.isclose(float(row["value"]), check["value"], rel_tol=1e-3)
        if check["value"] is not None and check["baseline"] is not None:
            change = check["value"] - check["baseline"]
            assert math.isclose(float(row["change"]), change, rel_tol=1e-3, abs_tol=1e-4)
        else:
            assert row["change"] == ""
        threshold = {
            k: v for k, v in document["thresholds"][check["threshold"]].items() if v is not None
        }
        if check["condition"] == "value":
            expected = [
                f"{sign}\u00a0{format_number(threshold[n])}"
                for sign, n in (("\u2265", "lower_bound"), ("\u2264", "upper_bound"))
                if n in threshold
            ]
            assert row["bound"] == f"value\u00a0{', '.join(expected)}"
        else:
            bound = threshold[check["condition"]]
            if check["condition"] == "max_decrease":
                assert row["bound"] == f"change\u00a0\u2265\u00a0{format_number(-bound)}"
            else:
                assert row["bound"] == f"change\u00a0\u2264\u00a0{format_number(bound)}"


def _read(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def test_checks_table_matches_blessing_json(evaluation):
    page = report_html.render(load_evaluation(evaluation.dir))
    document = _read(os.path.join(evaluation.dir, "blessing.json"))
    rows, row_data = _table(page)
    _assert_rows_match(rows, row_data, document)
    assert len(rows) == 6 and {row["outcome"] for row in rows} == {"pass", "fail"}
    assert [row["bound"] for row in rows][2:5] == [
        "change\u00a0\u2265\u00a0-0.05",
        "value\u00a0\u2265\u00a00.5, \u2264\u00a00.99",
        "change\u00a0\u2264\u00a00.01",
    ]
    changes = [i for i, data in enumerate(row_data) if data["condition"] != "value"]
    assert changes == [2, 4] and all(rows[i]["baseline"] for i in changes)
    # The names with markup are escaped, in the cells and nowhere raw on the page.
    escaped = [row for row in rows if row["metric"] == 'recall/<bin>&"']
    assert len(escaped) == 1 and escaped[0]["slice"] == "group:<rare & 'x'>"
    assert escaped[0]["outcome"] == "fail" and escaped[0]["value"] == ""
    assert "<bin>" not in page and "<rare" not in page
    assert "recall/&lt;bin&gt;&amp;&quot;" in page
    assert "group:&lt;rare &amp; &#x27;x&#x27;&gt;" in page


def test_change_conditions_skipped_without_a_baseline(evaluation, tmp_path):
    thresholds = _read(os.path.join(evaluation.dir, "blessing.json"))["thresholds"]
    thresholds.append({"metric": "auc/bin", "slice": "*", "upper_bound": 0.99})
    shutil.copy(os.path.join(evaluation.dir, "metrics.json"), tmp_path / "metrics.json")
    validations.bless(str(tmp_path), evaluator_blessing.parse_thresholds(thresholds))
    document = _read(str(tmp_path / "blessing.json"))
    rows, row_data = _table(blessing_section(document))
    _assert_rows_match(rows, row_data, document)
    skipped = [i for i, row in enumerate(rows) if row["outcome"] == "skipped"]
    assert [row_data[i]["condition"] for i in skipped] == ["max_decrease", "max_increase"]
    assert all(rows[i]["baseline"] == rows[i]["change"] == "" for i in skipped)
    assert all(rows[i]["reason"] == "no baseline model" for i in skipped)
    # The `"*"` threshold is checked in every slice of the evaluation.
    every = [row["slice"] for row in rows if row["bound"] == "value\u00a0\u2264\u00a00.99"]
    assert every == ["Overall", "group:g0", "group:g1", "group:rare"]
    assert {row["outcome"] for row in rows} == {"pass", "fail", "skipped"}


def test_checks_without_thresholds_say_the_bound_is_not_recorded():
    verdict = evaluator_blessing.decide(
        [evaluator_blessing.MetricThreshold("auc", lower_bound=0.9)], {"Overall": {"auc": 0.95}}
    )
    rows, _ = _table(blessing_section(verdict.to_dict()))
    assert rows == [
        {
            "metric": "auc",
            "slice": "Overall",
            "bound": "value (bound not recorded)",
            "value": "0.95",
            "baseline": "",
            "change": "",
            "outcome": "pass",
            "reason": "",
        }
    ]


OLDER = {
    "blessed": False,
    "checked": 2,
    "failures": [{"metric": "a<b", "slice": "Overall", "reason": "value 0.5 < lower_bound 0.9"}],
    "skipped": ["auc: change condition without a baseline model"],
}
"""A `blessing.json` written before the checks were recorded."""


@pytest.mark.parametrize(
    "document, shown",
    [
        (OLDER, "but not the conditions that held"),
        (
            {**OLDER, "thresholds": [{"metric": "a<b", "lower_bound": 0.9}]},
            "written before the checks were recorded",
        ),
    ],
)
def test_older_blessing_json_still_renders(document, shown):
    section = blessing_section(document)
    assert "class=checks" not in section and 'data-blessed="false"' in section
    assert "<h3>Failed conditions</h3>" in section and "a&lt;b" in section and "a<b" not in section
    assert "Skipped: auc: change condition without a baseline model" in section
    assert shown in section


def test_no_thresholds_shows_the_verdict_only():
    document = validations.blessing_document([], evaluator_blessing.decide([], {}))
    section = blessing_section(document)
    assert 'data-blessed="true"' in section and "0 condition(s) checked, 0 failed." in section
    assert "<table" not in section
    assert "<table" not in blessing_section(None) and "no verdict" in blessing_section(None)


def test_relative_change_bounds_read_as_relative_changes():
    from tfx_heads.components.report.blessing import _bound

    threshold = {"metric": "auc", "max_relative_decrease": 0.1, "max_relative_increase": 0.25}
    assert [_bound({"condition": c}, threshold) for c in threshold if c != "metric"] == [
        "relative\u00a0change\u00a0\u2265\u00a0-0.1",
        "relative\u00a0change\u00a0\u2264\u00a00.25",
    ]
