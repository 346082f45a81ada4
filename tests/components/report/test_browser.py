"""The report in headless Chromium: loads without errors, every plot drew, numbers match.

Needs Debian's `chromium` (`make test` installs it when missing); fails, not skips, without
it. The screenshots are kept in `test-artifacts/` at the repository root (`report.png`, the
whole page; `report-top.png`, the README's picture, which `UPDATE_SCREENSHOT=1` copies to
`docs/report.png`).
"""

from __future__ import annotations

import math
import os
import pathlib
import re

import pytest

from tfx_heads.components.report.html import write_report

README_SCREENSHOT = pathlib.Path(__file__).resolve().parents[3] / "docs" / "report.png"
README_SCREENSHOT_BYTES = 200_000


@pytest.mark.slow
def test_report_in_chromium(evaluation, browser, tmp_path):
    report = tmp_path / "report.html"
    write_report(evaluation.dir, str(report))
    result = browser.run(report.as_uri(), tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    body = browser.body(dom)
    assert body.get("ready") == "1", "the page script did not run to its end"
    assert body["errors"] == "0" and not browser.console_errors(result.stderr), (
        browser.console_errors(result.stderr)
    )
    expected_plots = len(re.findall(r"data-plot=", report.read_text()))
    assert int(body["plots-total"]) == expected_plots == 24
    assert body["plots-drawn"] == body["plots-total"], "some plots drew nothing"

    overall = evaluation.document["slices"][0]
    slices = [entry["metrics"] for entry in evaluation.document["slices"]]
    shown = re.findall(r'<(?:span class="v"|td) data-key="([^"]+)">([^<]*)<', dom)
    assert {"auc/bin", "auc/x/tags", "auc/z/error_bound/tags", "auc/c/cls"} <= {
        key for key, _ in shown
    }
    for key, text in shown:
        value = float(text)
        assert any(
            math.isclose(value, metrics[key], rel_tol=1e-3, abs_tol=1e-12)
            for metrics in slices
            if key in metrics
        ), f"{key}: page shows {text}, metrics.json has {[m.get(key) for m in slices]}"
    count = re.search(r'data-count="example_count">(\d+)<', dom).group(1)
    assert int(count) == overall["example_count"]

    browser.artifacts.mkdir(exist_ok=True)
    screenshot = browser.artifacts / "report.png"
    screenshot.unlink(missing_ok=True)
    browser.run(
        report.as_uri(),
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1400,6000",
        "--hide-scrollbars",
    )
    assert screenshot.stat().st_size > 20_000, "the screenshot looks blank"

    # The README's picture: the top of the page (overview, blessing, the first head's summary
    # and curves), small enough to commit. `UPDATE_SCREENSHOT=1` rewrites docs/report.png.
    top = browser.artifacts / "report-top.png"
    top.unlink(missing_ok=True)
    browser.run(
        report.as_uri(),
        tmp_path / "profile",
        f"--screenshot={top}",
        "--window-size=1100,1700",
        "--hide-scrollbars",
    )
    assert 20_000 < top.stat().st_size < README_SCREENSHOT_BYTES, top.stat().st_size
    if os.environ.get("UPDATE_SCREENSHOT"):
        README_SCREENSHOT.write_bytes(top.read_bytes())


@pytest.mark.slow
def test_class_table_paginates_and_sorts_1000_classes(many_classes_dir, browser, tmp_path):
    report = tmp_path / "many.html"
    write_report(many_classes_dir, str(report))
    result = browser.run(report.as_uri() + "#sort=auc:desc", tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    assert browser.body(dom)["errors"] == "0" and not browser.console_errors(result.stderr)
    table = re.search(r'<table class="classes">.*?</table>', dom, re.DOTALL).group(0)
    first_cells = re.findall(r'<tr><td class="name">([^<]+)</td>', table)
    assert len(first_cells) == 25
    assert first_cells[:2] == ["class999", "class998"]
    assert "page 1 of 40 (1000 classes)" in dom
