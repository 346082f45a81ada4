"""`tfx_heads.pipeline.console`: stage lines, the live status line, and how often progress is a
line."""

from __future__ import annotations

import io
import logging

from tfx_heads.components.progress import LOGGER_NAME, Progress, ProgressState
from tfx_heads.pipeline.console import Console, ProgressHandler


def _record(state: ProgressState) -> logging.LogRecord:
    record = logging.LogRecord(LOGGER_NAME, logging.DEBUG, __file__, 1, "%s", (state,), None)
    record.progress = state
    return record


def test_elsewhere_stages_are_lines_and_progress_a_line_per_quarter():
    out = io.StringIO()
    console = Console(out, live=False)
    handler = ProgressHandler(console)
    console.begin("[4/6] HeadTrainer")
    for done in (10, 30, 35, 60, 80, 99):
        handler.emit(_record(ProgressState("training", done, "step", 100, "loss 1")))
    console.end("[4/6] HeadTrainer done in 3 s")
    console.close()
    assert out.getvalue().splitlines() == [
        "[4/6] HeadTrainer started",
        "  training: step 30 of 100 (30%), loss 1",
        "  training: step 60 of 100 (60%), loss 1",
        "  training: step 80 of 100 (80%), loss 1",
        "[4/6] HeadTrainer done in 3 s",
    ]


def test_elsewhere_progress_without_a_total_waits_30_s():
    out = io.StringIO()
    console = Console(out, live=False)
    handler = ProgressHandler(console)
    console.begin("evaluating", announce=False)
    handler.emit(_record(ProgressState("evaluation", 4096, "examples read")))
    console.end("Evaluated 4096 examples")
    assert out.getvalue() == "Evaluated 4096 examples\n"


def test_on_a_terminal_the_status_line_is_rewritten_and_ends_as_one_line():
    out = io.StringIO()
    console = Console(out, live=True)
    handler = ProgressHandler(console)
    console.begin("[4/6] HeadTrainer")
    handler.emit(_record(ProgressState("training", 5, "step", 10)))
    console.line("a line above the status")
    console.end("[4/6] HeadTrainer done in 3 s")
    console.close()
    text = out.getvalue()
    assert "[4/6] HeadTrainer · 0 s · training: step 5 of 10 (50%)" in text
    # What a terminal shows at the end: each "\r\x1b[K" erases the current line.
    shown = [line.split("\r\x1b[K")[-1] for line in text.split("\n")]
    assert shown == ["a line above the status", "[4/6] HeadTrainer done in 3 s", ""]


def test_progress_logs_numbers_for_displays_and_text_for_logs(caplog):
    progress = Progress("training", "step", total=2000, live_interval=0, log_interval=3600)
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        progress.update(500, "loss 5.27")
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG  # frequent: for a live display only
    assert record.progress == ProgressState("training", 500, "step", 2000, "loss 5.27")
    assert record.getMessage() == "training: step 500 of 2,000 (25%), loss 5.27"


def test_progress_is_logged_at_info_every_log_interval(caplog):
    progress = Progress("evaluation", "examples read", live_interval=3600, log_interval=0)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        progress.update(8192)
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == "evaluation: 8,192 examples read"
