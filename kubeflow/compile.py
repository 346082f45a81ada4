"""Compiles the tfx-heads pipeline into a Kubeflow Pipelines job spec (`KubeflowV2DagRunner`).

The spec runs every component in one container image (`kubeflow/Dockerfile`: the TFX 1.16
image with this project installed at `/tfx-heads`), so the trainer imports its user module
from the image (`/tfx-heads/pipeline/taxi/trainer_module.py` by default) rather than from a
wheel packaged at compile time; compiling therefore needs neither the module file on this
machine nor write access to the pipeline root.

The trainer's machine is described by a `TrainerResources` (vCPUs, memory, accelerator type
and count), attached to the HeadTrainer as TFX's `platform_config`; KubeflowV2DagRunner
writes it as the executor's `resources` (`PipelineContainerSpec.ResourceSpec`). Vertex
Pipelines picks the smallest machine type that fits; Kubeflow Pipelines sets the pod's
limits. The distribution strategy and batch size are HeadTrainer options
(`trainer_options`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from kubeflow import dataflow

PIPELINE_NAME = "tfx-heads-taxi"
MODULE_FILE = f"{dataflow.PROJECT_DIR}/pipeline/taxi/trainer_module.py"
"""The taxi sample's trainer module inside the image."""

TRAINER_ID = "HeadTrainer"
"""The trainer's node id in the pipeline (its class name)."""

# TFX's switch (read when a Trainer is constructed) that keeps the module file as a path
# instead of packaging its folder into a wheel under the pipeline root at compile time.
_NO_PACKAGING_ENV = "UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES"


@dataclasses.dataclass(frozen=True)
class TrainerResources:
    """The trainer container's resources (Kubeflow `ResourceSpec`); None leaves one unset.

    Attributes:
        cpu_limit: vCPUs, > 0.
        memory_limit: memory in GB, > 0.
        accelerator_type: e.g. `NVIDIA_TESLA_T4`, `NVIDIA_L4`, `NVIDIA_TESLA_A100` or `TPU_V3`
            (Vertex names); requires `accelerator_count`.
        accelerator_count: number of accelerators, >= 1.
    """

    cpu_limit: float | None = None
    memory_limit: float | None = None
    accelerator_type: str | None = None
    accelerator_count: int | None = None

    def __post_init__(self) -> None:
        for name in ("cpu_limit", "memory_limit"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"Invalid `{name}`: expected a number > 0; received {value!r}.")
        if self.accelerator_type is not None and (
            not isinstance(self.accelerator_type, str) or not self.accelerator_type.strip()
        ):
            raise ValueError(
                "Invalid `accelerator_type`: expected an accelerator name such as "
                f"'NVIDIA_TESLA_T4'; received {self.accelerator_type!r}."
            )
        count = self.accelerator_count
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise ValueError(
                f"Invalid `accelerator_count`: expected an integer >= 1; received {count!r}."
            )
        if (self.accelerator_type is None) != (count is None):
            raise ValueError(
                "Invalid `accelerator_count`: expected it together with `accelerator_type`; "
                f"received type {self.accelerator_type!r} and count {count!r}."
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainerResources:
        """Reads resources from a dict with the attribute names as keys.

        Raises:
            ValueError: for an unknown key or an invalid value.
        """
        known = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"Invalid `trainer_resources`: expected keys among {known}; received unknown "
                f"{unknown}."
            )
        return cls(**values)

    def to_resource_spec(self) -> Any:
        """The Kubeflow `PipelineContainerSpec.ResourceSpec` proto."""
        from kfp.pipeline_spec import pipeline_spec_pb2

        spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
        if self.cpu_limit is not None:
            spec.cpu_limit = float(self.cpu_limit)
        if self.memory_limit is not None:
            spec.memory_limit = float(self.memory_limit)
        if self.accelerator_type is not None:
            spec.accelerator.type = self.accelerator_type
            spec.accelerator.count = self.accelerator_count
        return spec

    def is_empty(self) -> bool:
        """Whether no resource is set."""
        return all(getattr(self, field.name) is None for field in dataclasses.fields(self))


def compile_pipeline(
    output: str,
    image: str,
    pipeline_root: str,
    data_root: str,
    beam_args: str | Sequence[str] | None = None,
    *,
    serving_model_dir: str | None = None,
    pipeline_name: str = PIPELINE_NAME,
    module_file: str = MODULE_FILE,
    train_steps: int | None = None,
    eval_steps: int | None = None,
    trainer_options: Mapping[str, Any] | None = None,
    trainer_resources: TrainerResources | None = None,
    thresholds: Sequence[Mapping[str, Any]] | None = None,
    enable_cache: bool = True,
) -> str:
    """Writes the Kubeflow `PipelineJob` JSON of the taxi sample pipeline.

    Args:
        output: the JSON file to write (its folder is created).
        image: the container image of every component and of the Dataflow workers.
        pipeline_root: where components write artifacts (`gs://...` on Vertex).
        data_root: the folder of gzipped `tf.Example` TFRecords ExampleGen imports.
        beam_args: Beam arguments for every Beam step, as a shell-quoted string or a list
            (see `kubeflow.dataflow.dataflow_beam_args`).
        serving_model_dir: where the Pusher copies a blessed model (default
            `<pipeline_root>/serving`).
        pipeline_name: the pipeline's name (and the job's display name).
        module_file: the trainer user module's path inside the image.
        train_steps: training steps (None: `trainer_options["epochs"]` passes).
        eval_steps: validation steps per epoch (None: a full pass).
        trainer_options: HeadTrainer options (`strategy`, `batch_size`, `epochs`, `tpu`, ...).
        trainer_resources: the trainer container's vCPUs, memory and accelerators.
        thresholds: the evaluator's blessing thresholds (default: the taxi sample's,
            `pipeline/taxi/config.py`).
        enable_cache: reuse results of components whose inputs did not change.

    Returns:
        The path written, `output`.

    Raises:
        ValueError: for an invalid argument (empty `output`, `pipeline_root`, `data_root`,
            `module_file`; invalid Beam arguments or trainer options).
        TypeError: for an argument of the wrong type.
    """
    for name, value in (
        ("output", output),
        ("pipeline_root", pipeline_root),
        ("data_root", data_root),
        ("module_file", module_file),
        ("pipeline_name", pipeline_name),
    ):
        if not isinstance(value, str) or not value:
            raise ValueError(f"Invalid `{name}`: expected a non-empty string; received {value!r}.")
    if trainer_resources is not None and not isinstance(trainer_resources, TrainerResources):
        raise TypeError(
            "Invalid `trainer_resources`: expected a TrainerResources; received "
            f"{trainer_resources!r}."
        )
    beam_pipeline_args = dataflow.dataflow_beam_args(beam_args, image)

    from tfx import v1 as tfx

    from pipeline import pipeline
    from pipeline.taxi import config

    with _user_module_packaging_disabled():
        tfx_pipeline = pipeline.create_pipeline(
            pipeline_name=pipeline_name,
            pipeline_root=pipeline_root,
            data_root=data_root,
            module_file=module_file,
            serving_model_dir=serving_model_dir or pipeline_root.rstrip("/") + "/serving",
            train_steps=train_steps,
            eval_steps=eval_steps,
            trainer_options=trainer_options,
            slices=config.SLICES,
            thresholds=config.THRESHOLDS if thresholds is None else thresholds,
            beam_pipeline_args=beam_pipeline_args,
            enable_cache=enable_cache,
        )
    if trainer_resources is not None and not trainer_resources.is_empty():
        _component(tfx_pipeline, TRAINER_ID).with_platform_config(
            trainer_resources.to_resource_spec()
        )
    output_dir, output_filename = os.path.split(os.path.abspath(output))
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=output_dir,
        output_filename=output_filename,
    )
    runner.run(tfx_pipeline)
    return output


def write_kfp_package(job_json: str, package: str) -> str:
    """Writes the `pipelineSpec` of a compiled job as the YAML `kfp.Client` uploads.

    `kfp.Client().create_run_from_pipeline_package` takes a bare `PipelineSpec` (YAML), not
    the `PipelineJob` Vertex takes; the pipeline root then goes in its `pipeline_root`.

    Args:
        job_json: the `PipelineJob` JSON written by `compile_pipeline`.
        package: the `.yaml` file to write.

    Returns:
        The path written, `package`.

    Raises:
        ValueError: if `package` does not end with `.yaml`.
    """
    import yaml

    if not package.endswith(".yaml"):
        raise ValueError(
            f"Invalid `package`: expected a path ending with '.yaml'; received {package!r}."
        )
    with open(job_json) as f:
        spec = json.load(f)["pipelineSpec"]
    with open(package, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=True)
    return package


def _component(tfx_pipeline: Any, component_id: str) -> Any:
    for component in tfx_pipeline.components:
        if component.id == component_id:
            return component
    raise ValueError(
        f"Invalid pipeline: expected a component {component_id!r}; received "
        f"{[component.id for component in tfx_pipeline.components]}."
    )


@contextlib.contextmanager
def _user_module_packaging_disabled() -> Iterator[None]:
    """Keeps module files as image paths while the pipeline's components are built."""
    previous = os.environ.get(_NO_PACKAGING_ENV)
    os.environ[_NO_PACKAGING_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[_NO_PACKAGING_ENV]
        else:
            os.environ[_NO_PACKAGING_ENV] = previous
