"""What a `tfx-heads` command itself prints: whole lines, a stage's status, its progress.

On a terminal (`live`), the running stage and its latest progress share one status line that
is rewritten in place (with the seconds it has run, ticking; cut to the terminal's width),
and a stage's end replaces it with one line. Elsewhere (a pipe, a CI log, or `--verbose`,
where other libraries' lines interleave) every stage start is a line, and progress is a line
only now and then: at each quarter of a task with a known total, else at most every
`QUIET_PROGRESS_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from typing import TextIO

from tfx_heads.components.progress import ProgressState

QUIET_PROGRESS_SECONDS = 30.0
"""Least seconds between two progress lines of a task whose total is unknown (not live)."""
_CLEAR = "\r\x1b[K"


class Console:
    """Writes a command's own output to `out` (see the module docstring).

    Args:
        out: the terminal (or whatever stdout was), not the log file.
        live: rewrite a status line in place (for a terminal).
    """

    def __init__(self, out: TextIO, live: bool) -> None:
        self.out, self.live = out, live
        self._lock = threading.RLock()
        self._stage: str | None = None
        self._detail = ""
        self._since = 0.0
        self._shown = False  # a status line is on the screen
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()

    def line(self, text: str) -> None:
        """Prints one line (above the status line, on a terminal)."""
        with self._lock:
            self._erase()
            self.out.write(text + "\n")
            self._draw()
            self.out.flush()

    def begin(self, stage: str, announce: bool = True) -> None:
        """A stage starts: the status line on a terminal, else (if `announce`) a line
        "STAGE started"."""
        with self._lock:
            self._stage, self._detail, self._since = stage, "", time.monotonic()
            if not self.live:
                if announce:
                    self.line(f"{stage} started")
                return
            self._erase()
            self._draw()
            self.out.flush()
            self._start_ticker()

    def detail(self, text: str) -> None:
        """The running stage's latest progress (shown on a terminal's status line)."""
        with self._lock:
            self._detail = text
            if self.live:
                self._erase()
                self._draw()
                self.out.flush()

    def end(self, text: str) -> None:
        """The stage ended: its status line becomes the line `text`."""
        with self._lock:
            self._stage, self._detail = None, ""
            self.line(text)

    def elapsed(self) -> float:
        """Seconds since the current stage began."""
        return time.monotonic() - self._since

    def close(self) -> None:
        """Erases the status line and stops the ticker."""
        self._stopped.set()
        with self._lock:
            self._stage = None
            self._erase()
            self.out.flush()

    def _erase(self) -> None:
        if self._shown:
            self.out.write(_CLEAR)
            self._shown = False

    def _draw(self) -> None:
        if self.live and self._stage is not None:
            parts = [self._stage, f"{self.elapsed():.0f} s", self._detail]
            text = " · ".join(part for part in parts if part)
            self.out.write(text[: self._width() - 1])  # a wrapped line would not be erased
            self._shown = True

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size().columns

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="console-ticker", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stopped.wait(1.0):
            with self._lock:
                if self._shown:
                    self._erase()
                    self._draw()
                    self.out.flush()


class ProgressHandler(logging.Handler):
    """Shows `tfx_heads.components.progress` records on a `Console` (see the module docstring)."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.DEBUG)
        self._console = console
        self._shown: dict[str, tuple[int, float]] = {}  # task -> (quarter, time) of last line

    def emit(self, record: logging.LogRecord) -> None:
        state = getattr(record, "progress", None)
        text = state.describe() if isinstance(state, ProgressState) else record.getMessage()
        if self._console.live:
            self._console.detail(text)
            return
        task = state.task if isinstance(state, ProgressState) else record.name
        if self._due(task, state):
            self._console.line(f"  {text}")

    def _due(self, task: str, state: ProgressState | None) -> bool:
        """Whether a line is due: a new quarter of a known total, else 30 s since the last."""
        now = time.monotonic()
        quarter, last = self._shown.setdefault(task, (0, now))
        fraction = state.fraction if state is not None else None
        if fraction is not None:
            reached = min(int(fraction * 4), 3)
            if reached > quarter:
                self._shown[task] = (reached, now)
                return True
            return False
        if now - last >= QUIET_PROGRESS_SECONDS:
            self._shown[task] = (quarter, now)
            return True
        return False
