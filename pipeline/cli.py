"""How the `tfx-heads` command line runs: its parser, its output, and how it fails.

`tfx_heads.cli` (the console command) lists the subcommands and calls `run` with them; it sits
above this package and `tfx_heads.kubeflow`, so that neither imports the other upwards. Each
subcommand lives in its own module: a function that adds its parser to the subparsers and
returns nothing. The parsed arguments carry the function to run as `args.run`.

Every subcommand prints only its own lines (`args.console`, see `tfx_heads.pipeline.output`): what
other libraries print (TensorFlow, absl, Beam, TFX, warnings) goes to a log file, by default
`tfx-heads/COMMAND-TIME.log` in the temporary directory (a subcommand may choose another
folder with `set_defaults(log_dir=lambda args: ...)`; `--log-file` names the file);
`--verbose` shows it all on the terminal instead.

A command line the parser refuses (an argument that neither the subcommand nor, for those
that pass arguments on to Beam, Beam's pipeline options know; a missing or malformed one)
ends in one line on stderr naming the argument, with exit status 2 (`UsageError`).
Failures end like a command-line tool's: one line on stderr naming the command, the
problem and the log file, exit status 2 for bad input or arguments (`ValueError`,
`TypeError`, `OSError`: a subcommand raises these with a message that says what was wrong,
where and what was expected) and 1 for anything else (an internal error, whose traceback
goes to the log), with the traceback on the terminal only if `--debug` is given (anywhere on
the command line). `tfx_heads.pipeline.errors.StageFailed` names the stage (a pipeline component)
an error came from.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from tfx_heads.components.arguments import unknown_arguments_message
from tfx_heads.pipeline.errors import StageFailed, UsageError
from tfx_heads.pipeline.output import command_output


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` that raises `UsageError` instead of printing its usage
    and exiting, so that `main` reports a bad command line in one line (its subcommands'
    parsers are of this class too)."""

    def error(self, message: str):
        raise UsageError(self.prog, message)

    def parse_args(self, args=None, namespace=None) -> argparse.Namespace:
        """As argparse's, naming the subcommand whose parser refused an argument."""
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            raise UsageError(prog, unknown_arguments_message(unknown, f"{prog}'s options"))
        return parsed


Subcommand = Callable[[Any], None]
"""A subcommand's registrar: adds its parser to the subparsers (`add_subcommand`)."""


def build_parser(subcommands: Sequence[Subcommand]) -> ArgumentParser:
    """The argument parser with `subcommands` registered.

    Its `parse_args` raises `UsageError` for a command line it refuses.
    """
    parser = ArgumentParser(
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
    for add_subcommand in subcommands:
        add_subcommand(subparsers)
    for subparser in subparsers.choices.values():
        _add_output_options(subparser)
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_argument_group("output")
    output.add_argument(
        "--verbose",
        action="store_true",
        help="show every library's messages here instead of in the log file",
    )
    output.add_argument(
        "--log-file", help="where other libraries' messages go (default: a new file per run)"
    )


BAD_INPUT = (ValueError, TypeError, OSError)
"""Errors that mean bad input or arguments (exit status 2); any other is internal (1)."""


MISSING_TFX = (
    "tfx-heads: the command line runs the TFX components, and TFX is not installed; "
    "install them with: pip install 'tfx-heads[tfx]' (TFX 1.16 to 1.21; see the README)"
)


def run(argv: Sequence[str] | None, subcommands: Callable[[], Sequence[Subcommand]]) -> int:
    """Runs the command line `argv` (default: the process's) with the registrars
    `subcommands()` returns (called once TFX is known to import); returns the process exit
    status (2 without TFX)."""
    try:
        import tfx  # noqa: F401 - the subcommands all need the TFX stack
    except ImportError:
        print(MISSING_TFX, file=sys.stderr)
        return 2
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser(subcommands())
    try:
        args = parser.parse_args([arg for arg in argv if arg != "--debug"])
    except UsageError as error:
        print(usage_line(error), file=sys.stderr)
        return 2
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        log_path = None if args.verbose else (args.log_file or _new_log_path(args))
    except OSError as error:
        print(failure_line(args.command, error), file=sys.stderr)
        return 2
    args.log_file = log_path
    failure: BaseException | None = None
    status = 0
    with command_output(log_path) as console:
        args.console = console
        try:
            status = int(args.run(args) or 0)
        except KeyboardInterrupt:
            failure = KeyboardInterrupt()  # reported below, after the terminal is back
        except Exception as error:
            if debug:
                raise
            logging.getLogger("tfx_heads").error("tfx-heads %s failed", args.command, exc_info=True)
            failure = error
    if isinstance(failure, KeyboardInterrupt):
        print(f"tfx-heads {args.command}: interrupted", file=sys.stderr)
        return 130
    if failure is None:
        return status
    print(failure_line(args.command, failure, log_path), file=sys.stderr)
    cause = failure.error if isinstance(failure, StageFailed) else failure
    return 2 if isinstance(cause, BAD_INPUT) else 1


def _new_log_path(args: argparse.Namespace) -> str:
    """A new log file in the subcommand's `log_dir` (or `tempdir/tfx-heads`)."""
    from tfx_heads.pipeline.log_capture import new_log_path

    log_dir = getattr(args, "log_dir", None)
    folder = log_dir(args) if log_dir else os.path.join(tempfile.gettempdir(), "tfx-heads")
    return new_log_path(folder, args.command)


def usage_line(error: UsageError) -> str:
    """The one line printed for a command line that `error.prog`'s parser refuses."""
    message = " ".join(str(error).split())
    return f"{error.prog}: error: {message} (see {error.prog} --help)"


def failure_line(command: str, error: BaseException, log_path: str | None = None) -> str:
    """The one line printed for `error` in `tfx-heads COMMAND` (whose log is `log_path`)."""
    stage, cause = "", error
    if isinstance(error, StageFailed):
        stage, cause = f"{error.stage} failed: ", error.error
    message = " ".join(str(cause).split()) or type(cause).__name__
    if isinstance(cause, BAD_INPUT):
        log = f" (log: {log_path})" if log_path else ""
        return f"tfx-heads {command}: error: {stage}{message}{log}"
    where = f"the traceback is in {log_path}; " if log_path else ""
    return (
        f"tfx-heads {command}: internal error: {stage}{type(cause).__name__}: {message} "
        f"({where}run it again with --debug to see it here, and report it)"
    )
