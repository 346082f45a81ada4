"""The evaluation report: one self-contained HTML page from an evaluator's output.

`show_report(eval_dir)` shows it inline in a notebook; `tfx-heads report` writes the page.
"""

from tfx_heads.components.report.notebook import ReportView, show_report

__all__ = ["ReportView", "show_report"]
