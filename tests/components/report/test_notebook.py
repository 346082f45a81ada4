"""`show_report` in a notebook: the cell output of a real kernel, rendered by chromium.

A notebook that calls `show_report(eval_dir)` runs in a real Jupyter kernel of this
environment (nbclient); its HTML output then goes into a page with styles of its own (as a
notebook's), which headless chromium renders: the report must draw every plot without
errors inside its frame, the frame must fit the report, and the host page's styles must not
change.
"""

from __future__ import annotations

import html
import html.parser
import pathlib
import re
import sys

import pytest

from tfx_heads.components.report import ReportView, show_report
from tfx_heads.components.report.data import load_evaluation
from tfx_heads.components.report.html import render

REPOSITORY = pathlib.Path(__file__).resolve().parents[3]
HOST_STYLE = "body { font-size: 16px; } h2.host { color: rgb(200, 0, 0); }"
HOST_CHECK = """
window.addEventListener('load', function () {
  setTimeout(function () {
    var style = getComputedStyle(document.querySelector('h2.host'));
    document.body.dataset.hostFontSize = getComputedStyle(document.body).fontSize;
    document.body.dataset.hostHeadingSize = style.fontSize;
    document.body.dataset.hostHeadingColor = style.color;
  }, 3000);
});
"""


class _TopLevel(html.parser.HTMLParser):
    """The tags of the top-level elements of an HTML fragment, and their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if self._depth == 0:
            self.elements.append((tag, dict(attrs)))
        self._depth += 1

    def handle_endtag(self, tag):
        self._depth -= 1


def test_the_view_is_a_sandboxed_frame_holding_the_report(evaluation):
    output = show_report(evaluation.dir)._repr_html_()
    parser = _TopLevel()
    parser.feed(output)
    assert [tag for tag, _ in parser.elements] == ["iframe", "script"]  # no style outside
    frame = parser.elements[0][1]
    assert frame["sandbox"] == "allow-scripts"
    page = render(load_evaluation(evaluation.dir))
    without_notifier = re.sub(r"<script>[^<]*</script></body>", "</body>", frame["srcdoc"])
    assert without_notifier.replace(page.split("</body>")[0], "") == "</body></html>\n"


def test_invalid_height_is_a_clear_error():
    with pytest.raises(ValueError, match="Invalid `height`: expected pixels"):
        ReportView("<html></html>", height=0)


def test_a_missing_evaluation_fails_naming_it(tmp_path):
    with pytest.raises((OSError, ValueError), match="missing"):
        show_report(str(tmp_path / "missing"))


@pytest.mark.slow
def test_show_report_in_an_executed_notebook_renders_in_chromium(evaluation, browser, tmp_path):
    # The TFX stack's Jupyter packages (the `test` extra); a missing one fails.
    import nbclient
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        # A notebook's usual first cell (TensorFlow prints its C++ start-up lines here).
        nbformat.v4.new_code_cell("import sys\nimport tensorflow\nprint(sys.executable)"),
        nbformat.v4.new_code_cell(
            f"from tfx_heads.components.report import show_report\nshow_report({evaluation.dir!r})"
        ),
    ]
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(REPOSITORY)}},
    )
    client.execute()
    printed = [o["text"] for o in notebook.cells[0].outputs if o.get("name") == "stdout"]
    assert "".join(printed).strip() == sys.executable  # this environment's Python
    (output,) = notebook.cells[1].outputs  # the report, and no library's warnings
    assert output["output_type"] == "execute_result"
    cell_html = output["data"]["text/html"]
    assert "<iframe" in cell_html and "srcdoc=" in cell_html

    host = tmp_path / "notebook.html"
    host.write_text(
        f"<!DOCTYPE html><html><head><style>{HOST_STYLE}</style>"
        f"<script>{HOST_CHECK}</script></head><body>"
        '<h2 class="host">A notebook cell</h2>'
        f'<div class="output">{cell_html}</div></body></html>'
    )
    result = browser.run(
        host.as_uri(), tmp_path / "profile", "--virtual-time-budget=15000", "--dump-dom"
    )
    assert not browser.console_errors(result.stderr), browser.console_errors(result.stderr)
    dom = result.stdout
    host_body = browser.body(dom)
    # The report's style sheet (body 14px, h2 18px) stays inside its frame.
    assert host_body["host-font-size"] == "16px"
    assert host_body["host-heading-size"] == "24px"  # the browser's default: 1.5em of 16px
    assert host_body["host-heading-color"] == "rgb(200, 0, 0)"
    state = browser.frame(dom)
    assert state.get("ready") == "1", "the report in the frame did not tell the notebook"
    assert state["errors"] == "0"
    assert int(state["plots-total"]) == 24 and state["plots-drawn"] == state["plots-total"]
    frame = re.search(r"<iframe([^>]*)>", dom).group(1)
    height = int(re.search(r"height: (\d+)px", html.unescape(frame)).group(1))
    assert height > 2000, "the frame was not fitted to the report"

    browser.artifacts.mkdir(exist_ok=True)
    screenshot = browser.artifacts / "notebook.png"
    screenshot.unlink(missing_ok=True)
    browser.run(
        host.as_uri(),
        tmp_path / "profile",
        "--virtual-time-budget=15000",
        f"--screenshot={screenshot}",
        "--window-size=1200,1200",
        "--hide-scrollbars",
    )
    assert screenshot.stat().st_size > 20_000, "the screenshot looks blank"


@pytest.mark.slow
def test_a_report_in_a_hidden_output_does_not_report_its_plots_before_it_is_laid_out(
    evaluation, browser, tmp_path
):
    # A collapsed output: the browser lays nothing out in it, so no plot has a size yet. The
    # report must not tell the notebook that its plots drew nothing; it checks them when its
    # size changes (a real browser's ResizeObserver, which headless chromium under virtual
    # time does not run, so the showing itself is not checked here).
    cell_html = show_report(evaluation.dir)._repr_html_()
    host = tmp_path / "hidden.html"
    host.write_text(
        '<!DOCTYPE html><html><body><div class="output" style="display: none">'
        f"{cell_html}</div></body></html>"
    )
    result = browser.run(
        host.as_uri(), tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom"
    )
    assert not browser.console_errors(result.stderr), browser.console_errors(result.stderr)
    state = browser.frame(result.stdout)
    assert state.get("ready") == "0", state  # the frame's script ran and told the notebook
    assert "plots-drawn" not in state, state
