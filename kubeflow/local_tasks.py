"""Runs one task of a compiled Kubeflow job on this machine, as Vertex AI Pipelines would.

A container task gets an `ExecutorInput` (its parameters, its input artifacts as the upstream
tasks output them, and the URIs of its outputs under `<root>/<run>/<task>/`), its command's
placeholders are resolved (`{{$}}` is the ExecutorInput's JSON) with `kfp.local`'s resolver,
and the command runs as a subprocess with `kfp.local`'s subprocess handler, its output in a log
file. A `lifecycle.preCacheCheck` command (ExampleGen's driver) runs first with the same input,
and the artifact metadata it writes is merged into the executor's input, as Vertex does. The
task's outputs are what its `executor_output.json` says (the artifacts' metadata), else the
ExecutorInput's artifacts.

An importer task outputs an artifact at its URI; a resolver task answers its artifact queries
from the records of the runs under the same root (`kubeflow/local_store.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import json_format
from kfp.local import (
    executor_input_utils,
    executor_output_utils,
    placeholder_utils,
    subprocess_task_handler,
)
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

from tfx_heads.kubeflow import local_store
from tfx_heads.kubeflow.job_spec import Task

EXECUTOR_OUTPUT = "executor_output.json"
_PYTHON = ("python", "python3")


@dataclasses.dataclass
class TaskOutputs:
    """What a finished task produced.

    Attributes:
        artifacts: output artifacts by key (an empty list where a resolver found none).
        parameters: output parameter values by key.
    """

    artifacts: dict[str, list[pb.RuntimeArtifact]] = dataclasses.field(default_factory=dict)
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Where a run writes, and what its tasks have output so far.

    Attributes:
        root: the local pipeline root.
        run: the run's name (its folder under `root`).
        outputs: the finished tasks' outputs by task name.
    """

    root: str
    run: str
    outputs: dict[str, TaskOutputs]

    def task_root(self, task: Task) -> str:
        """The folder of the task's outputs, `<root>/<run>/<task>`."""
        return executor_input_utils.construct_local_task_root(self.root, self.run, task.name)

    def log_path(self, task: Task) -> str:
        """The task's log file, `<root>/<run>/logs/<task>.log`."""
        return os.path.join(self.root, self.run, "logs", f"{task.name}.log")


def input_artifacts(task: Task, context: RunContext) -> dict[str, list[pb.RuntimeArtifact]]:
    """The task's input artifacts, as their producers output them; a key whose producer
    output none (a resolver that found nothing) is left out.

    Raises:
        ValueError: naming the task and input for a pipeline-level input artifact.
    """
    artifacts = {}
    for key, spec in task.spec.inputs.artifacts.items():
        if not spec.HasField("task_output_artifact"):
            raise ValueError(
                f"Task {task.name!r}: input artifact {key!r} is a pipeline input, which run-spec "
                "does not support (it passes artifacts between tasks)."
            )
        producer = spec.task_output_artifact.producer_task
        found = context.outputs[producer].artifacts.get(
            spec.task_output_artifact.output_artifact_key, []
        )
        if found:
            artifacts[key] = list(found)
    return artifacts


def executor_input(task: Task, parameters: Mapping[str, Any], context: RunContext) -> Any:
    """The task's `ExecutorInput`: parameters, input artifacts and output locations.

    Parameters go in both forms the spec knows: `parameterValues` (protobuf values) and the
    older typed `parameters`, which TFX's entrypoint reads for jobs of schema 2.0.0. Output
    artifacts are named `<run>/<task>/<key>`, so the entrypoint can refer to them by name (as
    TFX's evaluator does in a blessing) and resolvers can find them.
    """
    from kfp.compiler import pipeline_spec_builder

    task_root = context.task_root(task)
    result = pb.ExecutorInput()
    for name, value in parameters.items():
        result.inputs.parameter_values[name].CopyFrom(
            pipeline_spec_builder.to_protobuf_value(value)
        )
        old = _old_value(value)
        if old is not None:
            result.inputs.parameters[name].CopyFrom(old)
    for key, artifacts in input_artifacts(task, context).items():
        result.inputs.artifacts[key].artifacts.extend(artifacts)
    for key, spec in task.component.output_definitions.artifacts.items():
        # As kfp.local lays out an output (its helper for this was renamed in kfp 2.17).
        result.outputs.artifacts[key].artifacts.add(
            name=f"{context.run}/{task.name}/{key}",
            type=spec.artifact_type,
            uri=os.path.join(task_root, key),
        )
    for key in task.component.output_definitions.parameters:
        result.outputs.parameters[key].output_file = os.path.join(task_root, key)
    result.outputs.output_file = os.path.join(task_root, EXECUTOR_OUTPUT)
    return result


def _old_value(value: Any) -> pb.Value | None:
    if isinstance(value, bool) or isinstance(value, int):
        return pb.Value(int_value=int(value))
    if isinstance(value, float):
        return pb.Value(double_value=value)
    if isinstance(value, str):
        return pb.Value(string_value=value)
    return None


def run_container(task: Task, invocation: Any, context: RunContext) -> TaskOutputs:
    """Runs a container task's commands as local subprocesses; returns its outputs.

    `python` at the head of a command is this interpreter (the image's Python locally).

    Raises:
        ValueError: naming the task, the command's exit status, the log's last line and the
            log file, when a command fails.
    """
    container = task.executor.container
    task_root = context.task_root(task)
    log = context.log_path(task)
    os.makedirs(task_root, exist_ok=True)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w"):
        pass
    hook = container.lifecycle.pre_cache_check
    if hook.command:
        _run_command(task, "preCacheCheck", [*hook.command, *hook.args], invocation, context)
        _merge_driver_output(invocation)
    _run_command(task, "command", [*container.command, *container.args], invocation, context)
    executor_output = executor_output_utils.load_executor_output(invocation.outputs.output_file)
    executor_output = executor_output_utils.merge_dsl_output_file_parameters_to_executor_output(
        invocation, executor_output, task.component
    )
    outputs = TaskOutputs()
    for key, spec in task.component.output_definitions.artifacts.items():
        written = (
            executor_output.artifacts[key].artifacts if key in executor_output.artifacts else []
        )
        expected = invocation.outputs.artifacts[key].artifacts
        artifacts = []
        for index, artifact in enumerate(written or expected):
            artifact = _copy(artifact)
            artifact.type.CopyFrom(spec.artifact_type)
            if not artifact.name and index < len(expected):
                artifact.name = expected[index].name
            artifacts.append(artifact)
        outputs.artifacts[key] = artifacts
    values = {
        key: executor_output_utils.pb2_value_to_python(value)
        for key, value in executor_output.parameter_values.items()
    }
    outputs.parameters = executor_output_utils.cast_protobuf_numbers(
        values, task.component.output_definitions.parameters
    )
    return outputs


def _run_command(
    task: Task, what: str, command: Sequence[str], invocation: Any, context: RunContext
) -> None:
    placeholders = dict(
        full_command=list(command),
        executor_input_dict=executor_input_utils.executor_input_to_dict(invocation, task.component),
        pipeline_resource_name=context.run,
        task_resource_name=task.name,
        pipeline_root=context.root,
    )
    # kfp >= 2.17 takes the run's id (its `{{$.pipeline_job_uuid}}`) from the caller; kfp 2.5
    # made one per task.
    if "unique_pipeline_id" in inspect.signature(placeholder_utils.replace_placeholders).parameters:
        placeholders["unique_pipeline_id"] = context.run
    resolved = placeholder_utils.replace_placeholders(**placeholders)
    if resolved and resolved[0] in _PYTHON:
        resolved[0] = sys.executable
    log = context.log_path(task)
    with open(log, "a") as f, contextlib.redirect_stdout(f):
        print(f"$ {' '.join(resolved[:3])} ... ({what} of task {task.name})", flush=True)
        status = subprocess_task_handler.run_local_subprocess(resolved)
    if status != 0:
        raise ValueError(
            f"Task {task.name!r} failed: its {what} exited with status {status} "
            f"({_last_line(log)}); log: {log}"
        )


def _merge_driver_output(invocation: Any) -> None:
    """Copies the artifact metadata a driver wrote into the executor's input (as Vertex
    updates a task's artifacts after its preCacheCheck)."""
    written = executor_output_utils.load_executor_output(invocation.outputs.output_file)
    for key, artifacts in written.artifacts.items():
        if key in invocation.outputs.artifacts and artifacts.artifacts:
            target = invocation.outputs.artifacts[key].artifacts[0]
            target.metadata.Clear()
            target.metadata.update(json_format.MessageToDict(artifacts.artifacts[0].metadata))


def _copy(artifact: pb.RuntimeArtifact) -> pb.RuntimeArtifact:
    result = pb.RuntimeArtifact()
    result.CopyFrom(artifact)
    return result


def _last_line(log: str) -> str:
    """The log's last line that is not blank, shortened, as a hint of what failed."""
    with open(log, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    if not lines:
        return "no output"
    line = lines[-1]
    return line if len(line) <= 300 else line[:297] + "..."


def run_importer(task: Task, parameters: Mapping[str, Any], context: RunContext) -> TaskOutputs:
    """An importer task's output: an artifact at its URI with its metadata.

    Without `reimport`, an artifact recorded earlier under the root with the same type and URI
    is output again (its name and metadata), as Vertex reuses an imported artifact.

    Raises:
        ValueError: naming the task if its URI is missing or it has not one output.
    """
    importer = task.executor.importer
    which = importer.artifact_uri.WhichOneof("value")
    if which == "constant_value":
        uri = importer.artifact_uri.constant_value.string_value
    elif which == "constant":
        uri = importer.artifact_uri.constant.string_value
    else:
        uri = parameters.get(importer.artifact_uri.runtime_parameter, "")
    keys = list(task.component.output_definitions.artifacts)
    if not uri or len(keys) != 1:
        raise ValueError(
            f"Task {task.name!r}: expected an importer with a URI and one output artifact; "
            f"received URI {uri!r} and outputs {keys}."
        )
    title = local_store.schema_title(importer.type_schema)
    artifact = pb.RuntimeArtifact(name=f"{context.run}/{task.name}/{keys[0]}", uri=uri)
    artifact.type.CopyFrom(task.component.output_definitions.artifacts[keys[0]].artifact_type)
    artifact.metadata.CopyFrom(importer.metadata)
    if not importer.reimport:
        for stored in reversed(local_store.stored_artifacts(context.root)):
            if stored.schema_title == title and stored.artifact.uri == uri:
                artifact.name = stored.artifact.name
                artifact.metadata.CopyFrom(stored.artifact.metadata)
                break
    return TaskOutputs(artifacts={keys[0]: [artifact]})


def run_resolver(task: Task, invocation: Any, context: RunContext) -> TaskOutputs:
    """A resolver task's outputs: for each output key, the newest recorded artifact under the
    root that matches its query (placeholders such as `{{$.inputs.artifacts['input']
    .metadata['current_model_id']}}` resolved from the task's inputs), or none.

    A resolver whose input artifacts are missing (its upstream resolver found nothing)
    outputs nothing.

    Raises:
        ValueError: naming the task for a query run-spec cannot answer.
    """
    outputs = TaskOutputs()
    queries = task.executor.resolver.output_artifact_queries
    missing_inputs = set(task.spec.inputs.artifacts) - set(invocation.inputs.artifacts)
    stored = local_store.stored_artifacts(context.root)
    invocation_dict = json_format.MessageToDict(invocation)
    for key, query in queries.items():
        outputs.artifacts[key] = []
        if missing_inputs:
            continue
        artifact_filter = placeholder_utils.resolve_io_placeholders(invocation_dict, query.filter)
        try:
            found = local_store.query(stored, artifact_filter)
        except ValueError as error:
            raise ValueError(f"Task {task.name!r}: output {key!r}: {error}") from error
        if found is not None:
            artifact = _copy(found.artifact)
            artifact.type.CopyFrom(task.component.output_definitions.artifacts[key].artifact_type)
            outputs.artifacts[key] = [artifact]
    return outputs
