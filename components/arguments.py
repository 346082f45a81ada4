"""The message for command-line arguments a parser does not know, shared by every subcommand.

It lives with the components (the lowest package with a command line) so that the
evaluator's subcommand and the command line's runner (`tfx_heads.pipeline.cli`, above the
components) both use it without an upward import.
"""

from __future__ import annotations

from collections.abc import Sequence


def unknown_arguments_message(unknown: Sequence[str], expected: str) -> str:
    """The message for arguments a parser does not know, naming the first option among them.

    >>> unknown_arguments_message(["--slcie", "city"], "the options")
    'Invalid argument `--slcie`: expected one of the options; received `--slcie city`.'
    """
    options = [arg for arg in unknown if arg.startswith("-")]
    name = (options or list(unknown))[0].split("=", 1)[0]
    return f"Invalid argument `{name}`: expected one of {expected}; received `{' '.join(unknown)}`."
