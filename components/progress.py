"""How far a long task is (training steps, examples read), reported through Python logging.

A component calls `Progress.update` as often as it likes; the reports become log records of
the `tfx_heads.progress` logger: at DEBUG at most every `live_interval` seconds (for a live
display, which the `tfx-heads` command line shows on the terminal) and at INFO at most every
`log_interval` seconds (for ordinary logs, e.g. a Kubeflow container's). Each record carries
the numbers as `record.progress` (a `ProgressState`), so a display needs no parsing.
"""

from __future__ import annotations

import dataclasses
import logging
import time

LOGGER_NAME = "tfx_heads.progress"
LIVE_INTERVAL_SECONDS = 0.5
LOG_INTERVAL_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class ProgressState:
    """One report: `done` of `total` (None: unknown) `unit` of `task`, and a short detail."""

    task: str
    done: int
    unit: str
    total: int | None = None
    detail: str = ""

    @property
    def fraction(self) -> float | None:
        """`done / total` in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)

    def describe(self) -> str:
        """E.g. "training: step 500 of 2,000 (25%), loss 5.27" or "evaluation: 8,192 examples
        read"."""
        if self.total:
            text = f"{self.unit} {self.done:,} of {self.total:,} ({self.fraction:.0%})"
        else:
            text = f"{self.done:,} {self.unit}"
        return f"{self.task}: {text}{', ' + self.detail if self.detail else ''}"


class Progress:
    """Reports the progress of one task (see the module docstring).

    Args:
        task: what runs, e.g. "training".
        unit: what `done` counts, e.g. "step" (with a total) or "examples read".
        total: how many units the task has, if known.
        live_interval: seconds between DEBUG records.
        log_interval: seconds between INFO records.
    """

    def __init__(
        self,
        task: str,
        unit: str,
        total: int | None = None,
        live_interval: float = LIVE_INTERVAL_SECONDS,
        log_interval: float = LOG_INTERVAL_SECONDS,
    ) -> None:
        self._task, self._unit, self._total = task, unit, total
        self._live_interval, self._log_interval = live_interval, log_interval
        self._logger = logging.getLogger(LOGGER_NAME)
        now = time.monotonic()
        self._last_live, self._last_log = now - live_interval, now

    def due(self) -> bool:
        """Whether `update` would log now: lets a caller skip computing costly numbers."""
        return time.monotonic() - self._last_live >= self._live_interval

    def update(self, done: int, detail: str = "") -> None:
        """Reports `done` units so far (cheap when no record is due)."""
        now = time.monotonic()
        if now - self._last_log >= self._log_interval:
            level = logging.INFO
            self._last_log = self._last_live = now
        elif now - self._last_live >= self._live_interval:
            level = logging.DEBUG
            self._last_live = now
        else:
            return
        if not self._logger.isEnabledFor(level):
            return
        state = ProgressState(self._task, int(done), self._unit, self._total, detail)
        self._logger.log(level, "%s", state.describe(), extra={"progress": state})
