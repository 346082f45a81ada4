"""The `tfx-heads` command line.

Each subcommand lives in its own module and registers itself here through `_subcommands`:
a function that adds its parser to the subparsers and returns nothing. The parsed
arguments carry the function to run as `args.run`.

Failures end like a command-line tool's: one line on stderr naming the command and the
problem, exit status 2 for bad input or arguments (`ValueError`, `TypeError`, `OSError`: a
subcommand raises these with a message that says what was wrong, where and what was
expected) and 1 for anything else (an internal error), with no traceback unless `--debug`
is given (anywhere on the command line).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="tfx-heads",
        description=(
            "tf.estimator heads for TF2/Keras: train with a head, evaluate every head's "
            "metrics on Beam, run the TFX pipeline."
        ),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for add_subcommand in _subcommands():
        add_subcommand(subparsers)
    return parser


def _subcommands():
    """Subcommand registrars, imported lazily so `--help` stays fast."""
    from components.evaluator import cli as evaluator_cli
    from components.report import cli as report_cli
    from kubeflow import cli as kubeflow_cli
    from kubeflow import run_spec
    from pipeline import local_runner

    return [
        local_runner.add_subcommand,
        evaluator_cli.add_subcommand,
        kubeflow_cli.add_subcommand,
        run_spec.add_subcommand,
        report_cli.add_subcommand,
    ]


BAD_INPUT = (ValueError, TypeError, OSError)
"""Errors that mean bad input or arguments (exit status 2); any other is internal (1)."""

MISSING_TFX = (
    "tfx-heads: the command line runs the TFX components, and TFX is not installed; "
    "install them with: pip install 'tfx-heads[tfx]' (Python 3.10)"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit status (2 without TFX)."""
    try:
        import tfx  # noqa: F401 - the subcommands all need the TFX stack
    except ImportError:
        print(MISSING_TFX, file=sys.stderr)
        return 2
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args([arg for arg in argv if arg != "--debug"])
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    if not debug:
        # Beam logs a DoFn's exception with its traceback before it re-raises it; the
        # re-raised error is reported below, once.
        logging.getLogger("apache_beam.runners.common").setLevel(logging.CRITICAL)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"tfx-heads {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            raise
        print(failure_line(args.command, error), file=sys.stderr)
        return 2 if isinstance(error, BAD_INPUT) else 1


def failure_line(command: str, error: BaseException) -> str:
    """The one line printed for `error` in `tfx-heads COMMAND`."""
    message = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, BAD_INPUT):
        return f"tfx-heads {command}: error: {message}"
    return (
        f"tfx-heads {command}: internal error: {type(error).__name__}: {message} "
        "(run it again with --debug for the traceback, and report it)"
    )


if __name__ == "__main__":
    sys.exit(main())
