"""The output of one `tfx-heads` command: its own lines on the terminal, the rest in a log.

`command_output(log_path)` captures every library's output into `log_path`
(`tfx_heads.pipeline.log_capture`) and yields the `Console` for the command's lines, which also
shows `tfx_heads.components.progress` reports. With `log_path=None` (`--verbose`) nothing is
captured: the libraries' messages (INFO and above) and the command's lines share the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from tfx_heads.components import progress
from tfx_heads.pipeline import log_capture
from tfx_heads.pipeline.console import Console, ProgressHandler


@contextlib.contextmanager
def command_output(log_path: str | None) -> Iterator[Console]:
    """Runs the block with its output arranged (see the module docstring); yields the console."""
    if log_path is None:
        log_capture.configure_verbose()
        console = Console(sys.stdout, live=False)
        with _progress_shown(console):
            yield console
        return
    with log_capture.capture(log_path) as terminal:
        console = Console(terminal.out, live=_is_terminal(terminal.out))
        try:
            with _progress_shown(console):
                yield console
        finally:
            console.close()


@contextlib.contextmanager
def _progress_shown(console: Console) -> Iterator[None]:
    """Progress reports go to `console` (and not on to the log: they are frequent)."""
    logger = logging.getLogger(progress.LOGGER_NAME)
    handler = ProgressHandler(console)
    saved = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
