"""Sends what other libraries print to a log file, so that a command's own lines stand out.

TensorFlow's C++ runtime, pip (which TFX runs for the trainer's module) and Beam's worker
processes write to file descriptors 1 and 2 themselves; Python's warnings, absl and logging
write to `sys.stdout`/`sys.stderr`. `capture` points both descriptors and both Python streams
at the log file, and gives back streams that still reach what stdout and stderr reached
before, for the command's own lines. TensorFlow prints its start-up lines when it is first
imported, so `capture` must start before that import.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclasses.dataclass(frozen=True)
class Terminal:
    """Where the command's own output goes: what stdout and stderr were before the capture."""

    out: TextIO
    err: TextIO


def new_log_path(directory: str, command: str) -> str:
    """A new file `directory/COMMAND-YYYYmmdd-HHMMSS[-N].log` (created, empty)."""
    os.makedirs(directory, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        path = os.path.join(directory, f"{command}-{stamp}{suffix}.log")
        try:
            with open(path, "x"):
                return path
        except FileExistsError:
            continue
    raise OSError(f"Invalid log directory {directory!r}: expected a free file name; none left.")


@contextlib.contextmanager
def capture(log_path: str) -> Iterator[Terminal]:
    """Within the block, everything written to fds 1 and 2, `sys.stdout`, `sys.stderr`,
    Python logging (INFO and above, absl's included) and warnings goes to `log_path`.

    Yields:
        The streams that reach the terminal (or whatever stdout/stderr were).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_streams = sys.stdout, sys.stderr
    saved_fds = os.dup(1), os.dup(2)
    terminal = Terminal(_reaching(sys.stdout, saved_fds[0]), _reaching(sys.stderr, saved_fds[1]))
    log = open(log_path, "a", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    restore_logging = _log_to(log)
    try:
        yield terminal
    finally:
        restore_logging()
        log.flush()
        sys.stdout, sys.stderr = saved_streams
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for stream in (terminal.out, terminal.err):
            if stream not in saved_streams:
                stream.close()  # our duplicate of a descriptor
        for fd in saved_fds:
            os.close(fd)
        log.close()


def configure_verbose() -> None:
    """Without a capture (`--verbose`): every library's INFO messages on stderr."""
    if not logging.root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.root.addHandler(handler)
    logging.root.setLevel(logging.INFO)
    _set_absl_verbosity(logging.INFO)


def _set_absl_verbosity(level: int) -> int:
    """Sets absl's verbosity (the level of its `absl` logger) to a Python logging level;
    returns the previous one. TensorFlow saves and restores absl's verbosity (not the
    logger's level) around some calls, so setting only the logger's level does not last."""
    from absl import logging as absl_logging

    previous = logging.getLogger("absl").getEffectiveLevel()
    absl_logging.set_verbosity(absl_logging.converter.standard_to_absl(level))
    return previous


def _reaching(stream: TextIO, saved_fd: int) -> TextIO:
    """A stream that writes where `stream` wrote before fds 1 and 2 were redirected."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return stream  # not a descriptor (pytest's capture, a notebook): unaffected
    if fd not in (1, 2):
        return stream
    return open(  # closed by `capture`
        os.dup(saved_fd),
        "w",
        buffering=1,
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors="replace",
    )


def _log_to(log: TextIO):
    """Sends Python logging (INFO and above) and warnings to `log`; returns the undo."""
    root = logging.root
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    saved = root.level, list(root.handlers)
    for existing in saved[1]:
        root.removeHandler(existing)  # their streams may be the terminal's
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    absl_level = _set_absl_verbosity(logging.INFO)
    logging.captureWarnings(True)

    def undo() -> None:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        for existing in saved[1]:
            root.addHandler(existing)
        root.setLevel(saved[0])
        _set_absl_verbosity(absl_level)

    return undo
