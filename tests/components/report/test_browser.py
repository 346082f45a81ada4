"""The report in headless Chromium: loads without errors, every plot drew, numbers match.

Needs Debian's `chromium` (`make test` installs it when missing); fails, not skips, without
it. The screenshot is kept in `test-artifacts/report.png` at the repository root.
"""

from __future__ import annotations

import math
import pathlib
import re
import shutil
import subprocess

import pytest

from components.report.html import write_report

ARTIFACTS = pathlib.Path(__file__).resolve().parents[3] / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "chromium is missing: the browser test needs Debian's `chromium` package "
        "(`apt-get install -y chromium`; `make test` installs it when missing)."
    )


def _run(url: str, profile: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
    command = [_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


def _console_errors(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and re.search(r"error|uncaught", line, re.IGNORECASE)
    ]


def _body(dom: str) -> dict[str, str]:
    tag = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))


@pytest.mark.slow
def test_report_in_chromium(evaluation, tmp_path):
    report = tmp_path / "report.html"
    write_report(evaluation.dir, str(report))
    result = _run(report.as_uri(), tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    body = _body(dom)
    assert body.get("ready") == "1", "the page script did not run to its end"
    assert body["errors"] == "0" and not _console_errors(result.stderr), _console_errors(
        result.stderr
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

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    _run(
        report.as_uri(),
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1400,6000",
        "--hide-scrollbars",
    )
    assert screenshot.stat().st_size > 20_000, "the screenshot looks blank"


@pytest.mark.slow
def test_class_table_paginates_and_sorts_1000_classes(many_classes_dir, tmp_path):
    report = tmp_path / "many.html"
    write_report(many_classes_dir, str(report))
    result = _run(report.as_uri() + "#sort=auc:desc", tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    assert _body(dom)["errors"] == "0" and not _console_errors(result.stderr)
    table = re.search(r'<table class="classes">.*?</table>', dom, re.DOTALL).group(0)
    first_cells = re.findall(r'<tr><td class="name">([^<]+)</td>', table)
    assert len(first_cells) == 25
    assert first_cells[:2] == ["class999", "class998"]
    assert "page 1 of 40 (1000 classes)" in dom
