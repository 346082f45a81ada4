"""Reads a compiled Kubeflow `PipelineJob` for a local run: its tasks in dependency order and
their parameter values, and checks that it can run on this machine.

`tfx-heads run-spec` (`kubeflow/run_spec.py`) executes what this module reads. The job is the
JSON `tfx-heads compile` writes (`KubeflowV2DagRunner`'s output): `pipelineSpec` holds the
tasks (`root.dag.tasks`), their component definitions (`components`) and executors
(`deploymentSpec.executors`: a container, an importer or a resolver); `runtimeConfig` holds
the pipeline root and the runtime parameters' values.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

REMOTE_PREFIX = "gs://"
_LOCAL_ADVICE = (
    "run-spec runs the job on this machine; compile it with local paths (--pipeline-root, "
    "--data-root, --serving-model-dir, and no Dataflow --beam-args)"
)


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of the job's DAG with what it runs.

    Attributes:
        name: the task's name in `root.dag.tasks`.
        spec: its `PipelineTaskSpec` (inputs, dependencies).
        component: its `ComponentSpec` (input and output definitions).
        executor: its `PipelineDeploymentConfig.ExecutorSpec` (container, importer or resolver).
    """

    name: str
    spec: pb.PipelineTaskSpec
    component: pb.ComponentSpec
    executor: pb.PipelineDeploymentConfig.ExecutorSpec

    @property
    def kind(self) -> str:
        """`container`, `importer` or `resolver`."""
        return self.executor.WhichOneof("spec") or "none"


@dataclasses.dataclass(frozen=True)
class Job:
    """A parsed `PipelineJob`.

    Attributes:
        name: the pipeline's name (`pipelineInfo.name`).
        root: the pipeline root the job names (`runtimeConfig.gcsOutputDirectory`).
        tasks: the tasks in an order where every task comes after those it depends on.
        parameters: the runtime parameters' values by name (the job's values, else defaults).
        parameter_types: the runtime parameters' declared types by name.
    """

    name: str
    root: str
    tasks: list[Task]
    parameters: dict[str, Any]
    parameter_types: dict[str, pb.ComponentInputsSpec.ParameterSpec]


def load_job(path: str) -> Job:
    """Reads and parses a `PipelineJob` JSON file.

    Raises:
        OSError: if the file cannot be read.
        ValueError: if it is not a strict `PipelineJob`, or its DAG is not runnable (a task
            whose component or executor is missing, a dependency cycle, a sub-DAG).
    """
    with open(path) as f:
        text = f.read()
    try:
        job = json_format.Parse(text, pb.PipelineJob())
        spec = json_format.ParseDict(
            json_format.MessageToDict(job.pipeline_spec), pb.PipelineSpec()
        )
        deployment = json_format.ParseDict(
            json_format.MessageToDict(spec.deployment_spec), pb.PipelineDeploymentConfig()
        )
    except (json_format.ParseError, json.JSONDecodeError) as error:
        raise ValueError(
            f"Invalid pipeline job {path!r}: expected the Kubeflow PipelineJob JSON that "
            f"`tfx-heads compile` writes ({error})."
        ) from error
    tasks = [_task(name, spec, deployment, path) for name in spec.root.dag.tasks]
    types = dict(spec.root.input_definitions.parameters)
    return Job(
        name=spec.pipeline_info.name,
        root=job.runtime_config.gcs_output_directory,
        tasks=dependency_order(tasks),
        parameters=runtime_parameter_values(job.runtime_config, types),
        parameter_types=types,
    )


def _task(
    name: str, spec: pb.PipelineSpec, deployment: pb.PipelineDeploymentConfig, path: str
) -> Task:
    task = spec.root.dag.tasks[name]
    component_name = task.component_ref.name
    if component_name not in spec.components:
        raise ValueError(
            f"Invalid pipeline job {path!r}: task {name!r} names component {component_name!r}, "
            "which pipelineSpec.components lacks."
        )
    component = spec.components[component_name]
    if component.WhichOneof("implementation") != "executor_label":
        raise ValueError(
            f"Invalid pipeline job {path!r}: task {name!r} is a sub-DAG; run-spec runs flat "
            "pipelines of executors (as KubeflowV2DagRunner compiles them)."
        )
    if component.executor_label not in deployment.executors:
        raise ValueError(
            f"Invalid pipeline job {path!r}: task {name!r} names executor "
            f"{component.executor_label!r}, which deploymentSpec.executors lacks."
        )
    return Task(name, task, component, deployment.executors[component.executor_label])


def upstream(task: Task) -> set[str]:
    """The tasks `task` waits for: its dependencies and the producers of its inputs."""
    names = set(task.spec.dependent_tasks)
    for artifact in task.spec.inputs.artifacts.values():
        if artifact.HasField("task_output_artifact"):
            names.add(artifact.task_output_artifact.producer_task)
    for parameter in task.spec.inputs.parameters.values():
        if parameter.HasField("task_output_parameter"):
            names.add(parameter.task_output_parameter.producer_task)
    return names


def dependency_order(tasks: Sequence[Task]) -> list[Task]:
    """The tasks sorted so each comes after its upstream tasks (ties by name).

    Raises:
        ValueError: naming a task that depends on an unknown task, or the tasks of a cycle.
    """
    by_name = {task.name: task for task in tasks}
    waiting = {task.name: upstream(task) for task in tasks}
    for name, names in waiting.items():
        unknown = sorted(names - set(by_name))
        if unknown:
            raise ValueError(
                f"Invalid pipeline job: task {name!r} depends on {unknown}, which are not "
                "tasks of the pipeline."
            )
    ordered: list[Task] = []
    done: set[str] = set()
    while waiting:
        ready = sorted(name for name, names in waiting.items() if names <= done)
        if not ready:
            raise ValueError(
                f"Invalid pipeline job: tasks {sorted(waiting)} depend on each other in a cycle."
            )
        for name in ready:
            ordered.append(by_name[name])
            done.add(name)
            del waiting[name]
    return ordered


def runtime_parameter_values(
    runtime_config: pb.PipelineJob.RuntimeConfig,
    types: Mapping[str, pb.ComponentInputsSpec.ParameterSpec],
) -> dict[str, Any]:
    """The runtime parameters' values: the job's (`parameterValues` or the older
    `parameters`), else the declared defaults. A parameter with neither is left out."""
    values: dict[str, Any] = {}
    for name, spec in types.items():
        if spec.HasField("default_value"):
            values[name] = python_value(spec.default_value, spec)
    for name, value in runtime_config.parameters.items():
        values[name] = old_value_to_python(value)
    for name, value in runtime_config.parameter_values.items():
        values[name] = python_value(value, types.get(name))
    return values


def override_parameters(job: Job, overrides: Mapping[str, str]) -> Job:
    """The job with runtime parameters set from `NAME=VALUE` strings, typed as declared.

    Raises:
        ValueError: for a name the pipeline does not declare, or a value not of its type.
    """
    values = dict(job.parameters)
    for name, text in overrides.items():
        if name not in job.parameter_types:
            raise ValueError(
                f"Invalid `--parameter {name}`: expected one of the pipeline's runtime "
                f"parameters {sorted(job.parameter_types)}."
            )
        values[name] = parse_parameter(name, text, job.parameter_types[name])
    return dataclasses.replace(job, parameters=values)


def parse_parameter(name: str, text: str, spec: pb.ComponentInputsSpec.ParameterSpec) -> Any:
    """A runtime parameter's value from its command-line text, typed as `spec` declares."""
    try:
        if _is_type(spec, pb.PrimitiveType.INT, pb.ParameterType.NUMBER_INTEGER):
            return int(text)
        if _is_type(spec, pb.PrimitiveType.DOUBLE, pb.ParameterType.NUMBER_DOUBLE):
            return float(text)
        if spec.parameter_type == pb.ParameterType.BOOLEAN:
            return {"true": True, "false": False}[text.lower()]
        if spec.parameter_type in (pb.ParameterType.LIST, pb.ParameterType.STRUCT):
            return json.loads(text)
    except (ValueError, KeyError) as error:
        raise ValueError(
            f"Invalid `--parameter {name}`: expected a value of its declared type "
            f"({_type_name(spec)}); received {text!r}."
        ) from error
    return text


def _is_type(spec: pb.ComponentInputsSpec.ParameterSpec | None, old: int, new: int) -> bool:
    """Whether `spec` declares the type: `new` in `parameterType`, else `old` in `type` (the
    two enums overlap, so the field matters)."""
    if spec is None:
        return False
    return spec.parameter_type == new if spec.parameter_type else spec.type == old


def _type_name(spec: pb.ComponentInputsSpec.ParameterSpec) -> str:
    if spec.parameter_type:
        return pb.ParameterType.ParameterTypeEnum.Name(spec.parameter_type)
    return pb.PrimitiveType.PrimitiveTypeEnum.Name(spec.type)


def task_parameters(
    task: Task, job: Job, outputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The values of `task`'s input parameters.

    Args:
        task: the task.
        job: the job (its runtime parameters).
        outputs: output parameter values of the tasks run so far, by task and key.

    Raises:
        ValueError: naming the task and parameter when a runtime parameter has no value, or
            an upstream task did not produce the parameter.
    """
    values: dict[str, Any] = {}
    for name, spec in task.spec.inputs.parameters.items():
        if spec.HasField("task_output_parameter"):
            producer = spec.task_output_parameter.producer_task
            key = spec.task_output_parameter.output_parameter_key
            if key not in outputs.get(producer, {}):
                raise ValueError(
                    f"Task {task.name!r}: parameter {name!r} expected output parameter {key!r} "
                    f"of task {producer!r}, which it did not produce."
                )
            values[name] = outputs[producer][key]
        else:
            values[name] = _input_value(task, name, spec, job)
    for name, definition in task.component.input_definitions.parameters.items():
        if name not in values and definition.HasField("default_value"):
            values[name] = python_value(definition.default_value, definition)
    return values


def _input_value(
    task: Task, name: str, spec: pb.TaskInputsSpec.InputParameterSpec, job: Job
) -> Any:
    """A parameter that is a constant or a runtime parameter."""
    kind = spec.WhichOneof("kind")
    if kind == "component_input_parameter":
        return _runtime_parameter(task, name, spec.component_input_parameter, job)
    if kind != "runtime_value":
        raise ValueError(
            f"Task {task.name!r}: parameter {name!r} is a {kind!r} input, which run-spec "
            "does not support (it resolves constants, runtime parameters and task outputs)."
        )
    runtime = spec.runtime_value
    which = runtime.WhichOneof("value")
    if which == "constant_value":
        return old_value_to_python(runtime.constant_value)
    if which == "constant":
        definition = task.component.input_definitions.parameters.get(name)
        return python_value(runtime.constant, definition)
    return _runtime_parameter(task, name, runtime.runtime_parameter, job)


def _runtime_parameter(task: Task, name: str, parameter: str, job: Job) -> Any:
    if parameter not in job.parameters:
        raise ValueError(
            f"Task {task.name!r}: parameter {name!r} takes runtime parameter {parameter!r}, which "
            "has no value in the job and no default; give it with --parameter "
            f"{parameter}=VALUE."
        )
    return job.parameters[parameter]


def old_value_to_python(value: pb.Value) -> Any:
    """A Python value from the pipeline spec's older typed `Value`."""
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


def python_value(value: Any, spec: pb.ComponentInputsSpec.ParameterSpec | None) -> Any:
    """A Python value from a `google.protobuf.Value`, as an int where `spec` says integer."""
    from kfp.local import executor_output_utils

    result = executor_output_utils.pb2_value_to_python(value)
    if _is_type(spec, pb.PrimitiveType.INT, pb.ParameterType.NUMBER_INTEGER):
        return int(result)
    return result


def check_local(job: Job, root: str) -> None:
    """Checks that the job runs on this machine: a local root, and no `gs://` path in a
    parameter, an importer or a container's arguments.

    Raises:
        ValueError: naming the root, or the task and the value that holds a `gs://` path.
    """
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", root or ""):
        raise ValueError(
            f"Invalid pipeline root {root!r}: expected a local directory; {_LOCAL_ADVICE}, or "
            "give --pipeline-root DIR."
        )
    for task in job.tasks:
        for name, spec in task.spec.inputs.parameters.items():
            if spec.HasField("task_output_parameter"):
                continue
            value = _input_value(task, name, spec, job)
            if isinstance(value, str) and REMOTE_PREFIX in value:
                raise ValueError(
                    f"Task {task.name!r}: parameter {name!r} holds a {REMOTE_PREFIX} path "
                    f"({_shorten(value)}); {_LOCAL_ADVICE}."
                )
        container = task.executor.container
        for arg in [*container.args, *container.lifecycle.pre_cache_check.args]:
            if REMOTE_PREFIX in arg:
                raise ValueError(
                    f"Task {task.name!r}: container argument {arg!r} holds a {REMOTE_PREFIX} "
                    f"path; {_LOCAL_ADVICE}."
                )


def _shorten(value: str, limit: int = 200) -> str:
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
