"""Compiles the tfx-heads pipeline into a Kubeflow Pipelines job spec (`KubeflowV2DagRunner`).

The spec runs every component in one container image (`kubeflow/Dockerfile`: a TFX stack's
image with this project installed at `/tfx-heads`) unless a component has an image of its
own (`components`, `kubeflow/settings.py`), so the trainer imports its user module
from the image (`/tfx-heads/pipeline/taxi/trainer_module.py` by default) rather than from a
wheel packaged at compile time; compiling therefore needs neither the module file on this
machine nor write access to the pipeline root.

A component's machine is described by a `ComponentResources` (vCPUs, memory, accelerator
type and count; `trainer_resources` for the trainer), attached as TFX's `platform_config`;
KubeflowV2DagRunner writes it as the executor's `resources`
(`PipelineContainerSpec.ResourceSpec`). Vertex Pipelines picks the smallest machine type
that fits; Kubeflow Pipelines sets the pod's limits. The distribution strategy and batch
size are HeadTrainer options (`trainer_options`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from tfx_heads.components import compat
from tfx_heads.kubeflow import dataflow
from tfx_heads.kubeflow.settings import ComponentResources, ComponentSettings, component_beam_args
from tfx_heads.pipeline.taxi import config as taxi_config

TrainerResources = ComponentResources
"""The trainer's resources (`tfx_heads.kubeflow.settings.ComponentResources`)."""

PIPELINE_NAME = taxi_config.PIPELINE_NAME
MODULE_FILE = f"{dataflow.PROJECT_DIR}/pipeline/taxi/trainer_module.py"
"""The taxi sample's trainer module inside the image."""

TRAINER_ID = "HeadTrainer"
"""The trainer's node id in the pipeline (its class name)."""


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
    components: Mapping[str, ComponentSettings] | None = None,
    enable_cache: bool = True,
) -> str:
    """Writes the Kubeflow `PipelineJob` JSON of the taxi sample pipeline.

    Args:
        output: the JSON file to write (its folder is created).
        image: the container image of every component and of the Dataflow workers.
        pipeline_root: where components write artifacts (`gs://...` on Vertex).
        data_root: the folder of gzipped `tf.Example` TFRecords ExampleGen imports.
        beam_args: Beam arguments for every Beam step, as a shell-quoted string or a list
            (see `tfx_heads.kubeflow.dataflow.dataflow_beam_args`).
        serving_model_dir: where the Pusher copies a blessed model (default
            `<pipeline_root>/serving`).
        pipeline_name: the pipeline's name (and the job's display name).
        module_file: the trainer user module's path inside the image.
        train_steps: training steps (None: `trainer_options["epochs"]` passes).
        eval_steps: validation steps per epoch (None: a full pass).
        trainer_options: HeadTrainer options (`strategy`, `batch_size`, `epochs`, `tpu`, ...).
        trainer_resources: the trainer container's vCPUs, memory and accelerators.
        thresholds: the evaluator's blessing thresholds in its dict form, on the taxi
            sample's slices (default: the taxi sample's `tfma.EvalConfig`,
            `pipeline/taxi/config.py` `eval_config()`, as the local run takes it).
        components: settings by component id (`ImportExampleGen`, `StatisticsGen`,
            `SchemaGen`, `HeadTrainer`, `HeadEvaluator`, `Pusher`): an image of its own, Beam
            arguments after the common ones (Beam components), container resources.
        enable_cache: reuse results of components whose inputs did not change.

    Returns:
        The path written, `output`.

    Raises:
        ValueError: for an invalid argument (empty `output`, `pipeline_root`, `data_root`,
            `module_file`; invalid Beam arguments or trainer options; settings of an unknown
            component, Beam arguments for a component that does not run Beam, the trainer's
            resources given twice).
        TypeError: for an argument of the wrong type.
    """
    _check_arguments(
        output, pipeline_root, data_root, module_file, pipeline_name, trainer_resources
    )
    beam_pipeline_args = dataflow.dataflow_beam_args(beam_args, image)

    from tfx_heads.pipeline import pipeline
    from tfx_heads.pipeline.taxi import config

    evaluation: dict[str, Any] = {"eval_config": config.eval_config()}
    if thresholds is not None:
        evaluation = {"slices": config.SLICES, "thresholds": thresholds}
    with compat.user_module_packaging_disabled():
        tfx_pipeline = pipeline.create_pipeline(
            pipeline_name=pipeline_name,
            pipeline_root=pipeline_root,
            data_root=data_root,
            module_file=module_file,
            serving_model_dir=serving_model_dir or pipeline_root.rstrip("/") + "/serving",
            train_steps=train_steps,
            eval_steps=eval_steps,
            trainer_options=trainer_options,
            **evaluation,
            beam_pipeline_args=beam_pipeline_args,
            enable_cache=enable_cache,
        )
    default_image = _apply_settings(
        tfx_pipeline,
        _with_trainer_resources(components or {}, trainer_resources),
        image,
        beam_pipeline_args,
    )
    _write_job_spec(tfx_pipeline, default_image, output)
    return output


def _check_arguments(
    output: str,
    pipeline_root: str,
    data_root: str,
    module_file: str,
    pipeline_name: str,
    trainer_resources: TrainerResources | None,
) -> None:
    """Checks `compile_pipeline`'s paths, name and trainer resources before anything is built.

    Raises:
        ValueError: for a path or name that is not a non-empty string.
        TypeError: for `trainer_resources` that are not a `TrainerResources`.
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


def _write_job_spec(tfx_pipeline: Any, default_image: str | dict[str, str], output: str) -> None:
    """Compiles `tfx_pipeline` with `KubeflowV2DagRunner` into the `PipelineJob` JSON `output`."""
    from tfx import v1 as tfx

    output_dir, output_filename = os.path.split(os.path.abspath(output))
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=default_image
        ),
        output_dir=output_dir,
        output_filename=output_filename,
    )
    runner.run(tfx_pipeline)


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


def _with_trainer_resources(
    components: Mapping[str, ComponentSettings], trainer_resources: ComponentResources | None
) -> dict[str, ComponentSettings]:
    """The per-component settings with `trainer_resources` added to the trainer's.

    Raises:
        TypeError: if a setting is not a `ComponentSettings`.
        ValueError: if the trainer's resources are given twice.
    """
    settings = dict(components)
    for component_id, setting in settings.items():
        if not isinstance(setting, ComponentSettings):
            raise TypeError(
                f"Invalid `components[{component_id!r}]`: expected ComponentSettings; received "
                f"{setting!r}."
            )
    if trainer_resources is None or trainer_resources.is_empty():
        return settings
    trainer = settings.get(TRAINER_ID, ComponentSettings())
    if trainer.resources is not None:
        raise ValueError(
            f"Invalid `trainer_resources`: expected the trainer's resources once; received them "
            f"also in the settings of {TRAINER_ID!r}."
        )
    settings[TRAINER_ID] = dataclasses.replace(trainer, resources=trainer_resources)
    return settings


def _apply_settings(
    tfx_pipeline: Any,
    settings: Mapping[str, ComponentSettings],
    image: str,
    beam_pipeline_args: Sequence[str],
) -> str | dict[str, str]:
    """Sets each component's Beam arguments and resources; returns the runner's
    `default_image` (one image, or a map by component id with TFX's default key)."""
    from tfx.dsl.components.base import base_beam_component
    from tfx.orchestration.kubeflow.v2 import pipeline_builder

    images = {}
    for component_id, setting in settings.items():
        component = _component(tfx_pipeline, component_id)
        is_beam = isinstance(component, base_beam_component.BaseBeamComponent)
        if setting.beam_args and not is_beam:
            raise ValueError(
                f"Invalid settings of component {component_id!r}: expected Beam arguments only "
                "for the Beam components (ImportExampleGen, StatisticsGen, HeadEvaluator); "
                f"received {list(setting.beam_args)}."
            )
        if is_beam and (setting.beam_args or setting.image):
            own = component_beam_args(beam_pipeline_args, setting.beam_args, setting.image)
            if own:
                component.with_beam_pipeline_args(own)
        if setting.image:
            images[component_id] = setting.image
        if setting.resources is not None and not setting.resources.is_empty():
            component.with_platform_config(setting.resources.to_resource_spec())
    if not images:
        return image
    return {pipeline_builder.DEFAULT_IMAGE_PATH_KEY: image, **images}


def _component(tfx_pipeline: Any, component_id: str) -> Any:
    """The pipeline's component `component_id`; a ValueError lists the ids there are."""
    for component in tfx_pipeline.components:
        if component.id == component_id:
            return component
    raise ValueError(
        f"Invalid component {component_id!r}: expected one of the pipeline's components "
        f"{[component.id for component in tfx_pipeline.components]}."
    )
