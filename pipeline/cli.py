"""The `tfx-heads` command line.

Each subcommand lives in its own module and registers itself here through `_SUBCOMMANDS`:
a function that adds its parser to the subparsers and returns nothing. The parsed
arguments carry the function to run as `args.run`.
"""

from __future__ import annotations

import argparse
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
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add_subcommand in _subcommands():
        add_subcommand(subparsers)
    return parser


def _subcommands():
    """Subcommand registrars, imported lazily so `--help` stays fast."""
    from components.evaluator import cli as evaluator_cli
    from components.report import cli as report_cli
    from kubeflow import cli as kubeflow_cli
    from pipeline import local_runner

    return [
        local_runner.add_subcommand,
        evaluator_cli.add_subcommand,
        kubeflow_cli.add_subcommand,
        report_cli.add_subcommand,
    ]


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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
