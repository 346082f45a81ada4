"""Every module and executor class the compiled job names imports in the project's environment.

The names come from the compile test's golden file (a real `KubeflowV2DagRunner` output):
each container's `python -m MODULE` (also ExampleGen's preCacheCheck driver) and its
`--executor_class_path`. A wrong path would otherwise show only in a task on the cluster.
"""

import importlib
import json
import pathlib

import pytest
from tfx.dsl.components.base import base_executor
from tfx.utils import import_utils

GOLDEN = pathlib.Path(__file__).parent / "testdata" / "pipeline_job.golden.json"


def _containers():
    executors = json.loads(GOLDEN.read_text())["pipelineSpec"]["deploymentSpec"]["executors"]
    for label, executor in sorted(executors.items()):
        if "container" in executor:
            yield label, executor["container"]


def _modules():
    for label, container in _containers():
        commands = [container["command"]]
        hook = container.get("lifecycle", {}).get("preCacheCheck")
        if hook:
            commands.append(hook["command"])
        for command in commands:
            assert command[:2] == ["python", "-m"], (label, command)
            yield label, command[2]


def _executor_classes():
    for label, container in _containers():
        args = container["args"]
        yield label, args[args.index("--executor_class_path") + 1]


def test_the_golden_job_names_every_component():
    assert {label for label, _ in _executor_classes()} >= {
        "HeadTrainer_executor",
        "HeadEvaluator_executor",
        "Pusher_executor",
    }


@pytest.mark.parametrize("label, module", sorted(set(_modules())))
def test_entrypoint_module_imports(label, module):
    assert importlib.util.find_spec(module) is not None, (label, module)
    imported = importlib.import_module(module)
    assert callable(getattr(imported, "main", None)), (label, module)


@pytest.mark.parametrize("label, path", sorted(_executor_classes()))
def test_executor_class_imports(label, path):
    executor = import_utils.import_class_by_path(path)

    assert issubclass(executor, base_executor.BaseExecutor), (label, path)
