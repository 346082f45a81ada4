"""`tfx-heads report`: one self-contained HTML report of an evaluation's output.

    tfx-heads report EVAL_DIR -o report.html

EVAL_DIR is the evaluator's output (`tfx-heads evaluate --output`, or the HeadEvaluator's
`evaluation` artifact): `metrics.json`, TFMA's files and, when present, `blessing.json` and the
baseline model's evaluation in `baseline/`.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_subcommand(subparsers: Any) -> None:
    """Registers `report` with the `tfx-heads` command line."""
    parser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of an evaluation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("eval_dir", metavar="EVAL_DIR", help="the evaluation output directory")
    parser.add_argument(
        "-o", "--output", default="report.html", help="the HTML file (default: report.html)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Writes the report; prints its path."""
    from tfx_heads.components.report.html import write_report

    args.console.line(write_report(args.eval_dir, args.output))
    return 0
