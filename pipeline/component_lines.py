"""One line per pipeline component as it starts and ends, from TFX's LocalDagRunner.

LocalDagRunner runs the components one after another and has no hook around each; it logs
"Component <id> is running." before and "Component <id> is finished." after each (absl
logging at INFO, TFX 1.16), and its launcher logs "A cached execution <n> is used." for a
cached one. The command line sets absl's verbosity to INFO (`tfx_heads.pipeline.log_capture`).
`ComponentLines` is a logging handler that turns those records into `Console` stages, so the
command line shows each component's start, end and duration while every other TFX message
goes to the log file.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence

from tfx_heads.pipeline.console import Console

RUNNING = "Component %s is running."
FINISHED = "Component %s is finished."
CACHED = "A cached execution %d is used."
_TFX_LOGGER = "absl"


class ComponentLines(logging.Handler):
    """Shows TFX's component start and end records on `console` (see the module docstring).

    Args:
        console: where the lines go.
        components: the ids of the components to show, in run order (others, such as
            resolver nodes, run silently but are still named if they fail).
    """

    def __init__(self, console: Console, components: Sequence[str]) -> None:
        super().__init__(logging.INFO)
        self._console = console
        self._components = list(components)
        self.current: str | None = None
        self._started = 0.0
        self._cached = False

    def label(self, component: str) -> str:
        """ "[4/6] HeadTrainer" for a shown component, else its id."""
        if component not in self._components:
            return component
        position = self._components.index(component) + 1
        return f"[{position}/{len(self._components)}] {component}"

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == RUNNING and record.args:
            self.current, self._started, self._cached = str(record.args[0]), time.monotonic(), False
            if self.current in self._components:
                self._console.begin(self.label(self.current))
        elif record.msg == CACHED and self.current is not None:
            self._cached = True
        elif record.msg == FINISHED and record.args and self.current is not None:
            if self.current in self._components:
                how = "cached" if self._cached else "done"
                self._console.end(f"{self.label(self.current)} {how} in {self._seconds()}")
            self.current = None

    def failed(self) -> None:
        """Ends the running component's line with "failed after N s" (after an error)."""
        if self.current is not None:
            self._console.end(f"{self.label(self.current)} failed after {self._seconds()}")

    def _seconds(self) -> str:
        seconds = time.monotonic() - self._started
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


@contextlib.contextmanager
def shown(console: Console, components: Sequence[str]) -> Iterator[ComponentLines]:
    """Shows component lines while the block runs a pipeline; yields the handler."""
    handler = ComponentLines(console, components)
    logger = logging.getLogger(_TFX_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler
    except BaseException:
        handler.failed()
        raise
    finally:
        logger.removeHandler(handler)
