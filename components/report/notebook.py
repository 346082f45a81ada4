"""The evaluation report inline in a notebook (Jupyter, JupyterLab, Colab).

    from tfx_heads.components.report import show_report
    show_report(eval_dir)  # the last expression of a cell

The report page goes in an `<iframe srcdoc>` with `sandbox="allow-scripts"`: its style sheet
and scripts apply to it alone, and the notebook's styles do not reach into it. A short script
inside posts the page's height (and, once the page is laid out, whether every plot drew) to
the notebook, where a script beside the frame fits the frame to it; where a notebook does not
run output scripts, the frame keeps its initial `height` and scrolls. A page in a hidden output
is not laid out: it checks its plots when it is shown.

Loading an evaluation imports TensorFlow and TFMA, whose warnings (google-api-core's Python
version notice, TensorFlow deprecations) would fill the cell; `show_report` silences Python
warnings and TensorFlow's Python logger below ERROR while it loads, and restores both.
TensorFlow's C++ start-up lines, printed when it is first imported, are not Python's to
silence: a notebook that imported TensorFlow before shows none.
"""

from __future__ import annotations

import contextlib
import html
import logging
import uuid
import warnings
from collections.abc import Iterator

_NOTIFY_SCRIPT = """
(function () {
  function notify() {
    var body = document.body.dataset;
    parent.postMessage({tfxHeadsReport: window.name, height:
      document.documentElement.scrollHeight, ready: body.ready || '0', errors: body.errors,
      plotsTotal: body.plotsTotal, plotsDrawn: body.plotsDrawn}, '*');
  }
  notify();
  // The page checks its plots again on every change of its size and then fires this.
  window.addEventListener('report-checked', notify);
})();
"""

_FIT_SCRIPT = """
(function () {
  var frame = document.getElementById('%(id)s');
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (!frame || event.source !== frame.contentWindow || !data || data.tfxHeadsReport !== '%(id)s')
      return;
    frame.style.height = (data.height + 4) + 'px';
    frame.dataset.ready = data.ready;
    if (data.ready !== '1') return;  // not laid out yet: its plots are not checked
    frame.dataset.errors = data.errors;
    frame.dataset.plotsTotal = data.plotsTotal; frame.dataset.plotsDrawn = data.plotsDrawn;
  });
})();
"""


class ReportView:
    """An evaluation report that renders itself in a notebook cell (`_repr_html_`).

    Args:
        page: the report's HTML document (`tfx_heads.components.report.html.render`).
        height: the frame's height in pixels until the page tells its own.
    """

    def __init__(self, page: str, height: int = 800) -> None:
        if not isinstance(height, int) or height < 1:
            raise ValueError(
                f"Invalid `height`: expected pixels, an int >= 1; received {height!r}."
            )
        self.page = page
        self.height = height

    def _repr_html_(self) -> str:
        """The frame, and the script that fits it to the page."""
        frame_id = f"tfx-heads-report-{uuid.uuid4().hex}"
        page = self.page.replace("</body>", f"<script>{_NOTIFY_SCRIPT}</script></body>", 1)
        return (
            f'<iframe id="{frame_id}" name="{frame_id}" class="tfx-heads-report" '
            'title="tfx-heads evaluation report" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self.height}px; border: 1px solid #ddd" '
            f'srcdoc="{html.escape(page, quote=True)}"></iframe>'
            f"<script>{_FIT_SCRIPT % {'id': frame_id}}</script>"
        )


def show_report(eval_dir: str, height: int = 800) -> ReportView:
    """The report of an evaluation directory, for display in a notebook.

    Args:
        eval_dir: the evaluator's output (`tfx-heads evaluate --output`, or the
            HeadEvaluator's `evaluation` artifact URI), local or remote.
        height: the frame's initial height in pixels.

    Returns:
        A `ReportView`; as a cell's last expression (or with `IPython.display.display`) it
        shows the report.

    Raises:
        OSError, ValueError: as `tfx_heads.components.report.data.load_evaluation` (no or bad
            evaluation at `eval_dir`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tfx_heads.components.report.data import load_evaluation
        from tfx_heads.components.report.html import render

        # TensorFlow sets its logger's level when it is first imported (INFO in a notebook).
        with _logger_level("tensorflow", logging.ERROR):
            return ReportView(render(load_evaluation(eval_dir)), height)


@contextlib.contextmanager
def _logger_level(name: str, level: int) -> Iterator[None]:
    """The logger `name` at `level` within the block."""
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)
