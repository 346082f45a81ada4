"""Errors shared by the `tfx-heads` subcommands and `tfx_heads.pipeline.cli`, which reports them.

A module of its own, below both the command line and the subcommands, so that they see the
same classes.
"""

from __future__ import annotations


class StageFailed(Exception):
    """`error` was raised while `stage` (e.g. a pipeline component) ran; the command line
    reports "STAGE failed: ERROR" with the exit status of `error`."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage, self.error = stage, error


class UsageError(ValueError):
    """A command line that the parser of `prog` (`tfx-heads` or `tfx-heads COMMAND`) refuses:
    an unknown argument, a missing one, a bad value; reported in one line, exit status 2."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog
