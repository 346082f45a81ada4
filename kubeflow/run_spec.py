"""`tfx-heads run-spec`: runs a compiled Kubeflow PipelineJob on this machine, task by task.

    tfx-heads run-spec pipeline.json [--pipeline-root DIR] [--parameter NAME=VALUE ...]

The job is the JSON `tfx-heads compile` writes. Its tasks run one after another in dependency
order; each container task's command (TFX's `kubeflow_v2_run_executor` with the task's
ExecutorInput) runs as a subprocess with this Python, as the image would run it, and its
output goes to `<root>/<run>/logs/<task>.log`. Artifacts pass between tasks through their
URIs (`<root>/<run>/<task>/<key>`) and the metadata in each task's `executor_output.json`.
Importer tasks output their URI; resolver tasks (TFX's latest-blessed-model resolver) find
the newest matching artifact of the runs recorded under the same root, so the first run has
no baseline and later runs compare with the last blessed model. Every task runs on every
run (no caching). The root must be local: `gs://` paths are refused.

Each run writes `<root>/<run>/run.json`: every finished task's state and log, and its output
artifacts (what later runs' resolvers search).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tfx_heads.kubeflow import job_spec, local_store, local_tasks

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A finished run.

    Attributes:
        run: the run's name (`<pipeline name>-<timestamp>`).
        directory: `<root>/<run>`, where its tasks wrote.
        record: its `run.json`.
        outputs: every task's outputs by task name.
    """

    run: str
    directory: str
    record: str
    outputs: dict[str, local_tasks.TaskOutputs]


def add_subcommand(subparsers: Any) -> None:
    """Registers `run-spec` with the `tfx-heads` command line."""
    parser = subparsers.add_parser(
        "run-spec",
        help="run a compiled Kubeflow PipelineJob (tfx-heads compile) on this machine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline_json", metavar="PIPELINE_JSON", help="the compiled job")
    parser.add_argument(
        "--pipeline-root",
        help="local directory for the run's artifacts (default: the job's pipeline root)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a runtime parameter's value (repeatable)",
    )
    parser.set_defaults(run=run)


def parse_assignments(flag: str, assignments: Sequence[str]) -> dict[str, str]:
    """`NAME=VALUE` strings as a dict.

    Raises:
        ValueError: naming the flag and the string without `=` or a name.
    """
    values = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise ValueError(f"Invalid `{flag}`: expected NAME=VALUE; received {text!r}.")
        values[name] = value
    return values


def run_job(
    job_path: str,
    pipeline_root: str | None = None,
    parameters: Mapping[str, str] | None = None,
    report: Callable[[str], None] = print,
) -> RunResult:
    """Runs every task of a compiled `PipelineJob` on this machine.

    Args:
        job_path: the `PipelineJob` JSON.
        pipeline_root: a local directory (default: the job's `gcsOutputDirectory`).
        parameters: runtime parameter values as text, typed as the job declares them.
        report: called with one line as each task finishes.

    Returns:
        The run's name, directory, record and outputs.

    Raises:
        ValueError: for a job that cannot run here (a `gs://` root or path, an unsupported
            task, a runtime parameter without a value), or naming the task that failed, why,
            and its log.
        OSError: if the job cannot be read.
    """
    job = job_spec.override_parameters(job_spec.load_job(job_path), parameters or {})
    root = pipeline_root or job.root
    if not root:
        raise ValueError(
            f"Invalid pipeline job {job_path!r}: it names no pipeline root; give --pipeline-root."
        )
    job_spec.check_local(job, root)
    from kfp.local import executor_input_utils

    context = local_tasks.RunContext(
        root=os.path.abspath(root),
        run=executor_input_utils.get_local_pipeline_resource_name(job.name),
        outputs={},
    )
    record = local_store.RunRecord(context.root, job.name, context.run)
    record.write()
    for task in job.tasks:
        log = context.log_path(task) if task.kind == "container" else None
        try:
            outputs = _run_task(task, job, context)
        except Exception:
            record.add_task(task.name, FAILED, log)
            raise
        context.outputs[task.name] = outputs
        record.add_task(task.name, SUCCEEDED, log, outputs.artifacts)
        report(_summary(task, outputs, log))
    return RunResult(
        run=context.run,
        directory=os.path.dirname(record.path),
        record=record.path,
        outputs=context.outputs,
    )


def _run_task(
    task: job_spec.Task, job: job_spec.Job, context: local_tasks.RunContext
) -> local_tasks.TaskOutputs:
    parameters = job_spec.task_parameters(
        task, job, {name: outputs.parameters for name, outputs in context.outputs.items()}
    )
    if task.kind == "importer":
        return local_tasks.run_importer(task, parameters, context)
    invocation = local_tasks.executor_input(task, parameters, context)
    if task.kind == "resolver":
        return local_tasks.run_resolver(task, invocation, context)
    if task.kind == "container":
        return local_tasks.run_container(task, invocation, context)
    raise ValueError(
        f"Task {task.name!r}: expected a container, importer or resolver executor; received "
        f"{task.kind!r}, which run-spec cannot run here."
    )


def _summary(task: job_spec.Task, outputs: local_tasks.TaskOutputs, log: str | None) -> str:
    if task.kind == "resolver":
        found = {key: [a.name for a in artifacts] for key, artifacts in outputs.artifacts.items()}
        return f"  {task.name}: resolved {found}"
    return f"  {task.name}: succeeded" + (f" (log: {log})" if log else "")


def run(args: argparse.Namespace) -> int:
    """Runs the job and prints a line per finished task and where the results are (on the
    command's console: other libraries' output goes to its log).

    Raises:
        ValueError, OSError: bad input or a failed task (reported by `tfx_heads.pipeline.cli`).
    """
    console = args.console
    console.line(f"Running {args.pipeline_json} on this machine, task by task")
    result = run_job(
        args.pipeline_json,
        pipeline_root=args.pipeline_root,
        parameters=parse_assignments("--parameter", args.parameter),
        report=console.line,
    )
    console.line(f"Run {result.run} succeeded; its artifacts are under {result.directory}")
    console.end(f"  record: {result.record}")
    return 0
