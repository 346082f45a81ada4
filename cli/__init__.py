"""The `tfx-heads` console command: every subcommand, listed above the packages that hold them.

The subcommands live beside what they run (`tfx_heads.pipeline.local_runner`,
`tfx_heads.components.evaluator.cli`, `tfx_heads.kubeflow.cli`, ...); this module, above them
all, registers them, so that no package imports another upwards (`tfx_heads.kubeflow` compiles
`tfx_heads.pipeline`'s pipeline, and the pipeline knows nothing of Kubeflow). How a command
runs, prints and fails is `tfx_heads.pipeline.cli`.
"""

from __future__ import annotations

from collections.abc import Sequence

from tfx_heads.pipeline import cli as command_line


def _subcommands() -> list[command_line.Subcommand]:
    """Subcommand registrars, imported lazily so `--help` stays fast."""
    from tfx_heads.components.evaluator import cli as evaluator_cli
    from tfx_heads.components.report import cli as report_cli
    from tfx_heads.kubeflow import cli as kubeflow_cli
    from tfx_heads.kubeflow import run_spec
    from tfx_heads.pipeline import local_runner

    return [
        local_runner.add_subcommand,
        evaluator_cli.add_subcommand,
        kubeflow_cli.add_subcommand,
        run_spec.add_subcommand,
        report_cli.add_subcommand,
    ]


def build_parser() -> command_line.ArgumentParser:
    """The argument parser with every subcommand registered (see `command_line.build_parser`)."""
    return command_line.build_parser(_subcommands())


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `tfx-heads` command line; returns the process exit status (2 without TFX)."""
    return command_line.run(argv, _subcommands)
