"""Per-component settings of the compiled Kubeflow job: image, Beam arguments, resources.

Every component runs in the pipeline's image with its common Beam arguments unless its
`ComponentSettings` say otherwise: an `image` of its own (for example a GPU image for the
trainer), Beam arguments added after the common ones (Beam components only: ImportExampleGen,
StatisticsGen, HeadEvaluator; a later argument overrides an earlier one), and the container's
`resources` (vCPUs, memory, accelerators: Kubeflow's `ResourceSpec`, which Vertex Pipelines
turns into a machine type and Kubeflow Pipelines into the pod's limits).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from tfx_heads.kubeflow import dataflow

SETTINGS_KEYS = ("image", "beam_args", "resources")


@dataclasses.dataclass(frozen=True)
class ComponentResources:
    """A component container's resources (Kubeflow `ResourceSpec`); None leaves one unset.

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
    def from_dict(
        cls, values: Mapping[str, Any], name: str = "trainer_resources"
    ) -> ComponentResources:
        """Reads resources from a dict with the attribute names as keys (`name` is what
        errors call the dict).

        Raises:
            ValueError: for an unknown key or an invalid value.
        """
        known = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"Invalid `{name}`: expected keys among {known}; received unknown {unknown}."
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


TrainerResources = ComponentResources
"""The name the trainer's resources had first; the same class."""


@dataclasses.dataclass(frozen=True)
class ComponentSettings:
    """One component's settings; None or empty leaves the pipeline's.

    Attributes:
        image: the component's container image.
        beam_args: Beam arguments added after the common ones (Beam components only).
        resources: the component container's resources.
    """

    image: str | None = None
    beam_args: tuple[str, ...] = ()
    resources: ComponentResources | None = None

    def __post_init__(self) -> None:
        if self.image is not None and (not isinstance(self.image, str) or not self.image):
            raise ValueError(
                f"Invalid `image`: expected a container image name; received {self.image!r}."
            )
        object.__setattr__(self, "beam_args", tuple(dataflow.split_beam_args(self.beam_args)))
        if self.resources is not None and not isinstance(self.resources, ComponentResources):
            raise TypeError(
                f"Invalid `resources`: expected ComponentResources; received {self.resources!r}."
            )

    @classmethod
    def from_dict(cls, component: str, values: Mapping[str, Any]) -> ComponentSettings:
        """Reads one component's settings: `{"image": ..., "beam_args": "--a=1 --b=2" or a
        list, "resources": {"cpu_limit": ..., ...}}`.

        Raises:
            ValueError: naming the component for an unknown key or an invalid value.
        """
        if not isinstance(values, Mapping) or set(values) - set(SETTINGS_KEYS):
            raise ValueError(
                f"Invalid settings of component {component!r}: expected an object with keys "
                f"among {list(SETTINGS_KEYS)}; received {values!r}."
            )
        resources = values.get("resources")
        try:
            return cls(
                image=values.get("image"),
                beam_args=values.get("beam_args") or (),
                resources=None
                if resources is None
                else ComponentResources.from_dict(resources, f"{component}.resources"),
            )
        except (TypeError, ValueError) as error:
            raise ValueError(f"Invalid settings of component {component!r}: {error}") from error

    def merged(self, other: ComponentSettings) -> ComponentSettings:
        """These settings with `other`'s set ones on top (Beam arguments appended)."""
        return ComponentSettings(
            image=other.image or self.image,
            beam_args=(*self.beam_args, *other.beam_args),
            resources=other.resources or self.resources,
        )


def component_beam_args(
    common: Sequence[str],
    own: Sequence[str],
    image: str | None,
    setup_file: str = dataflow.SETUP_FILE,
) -> list[str]:
    """A Beam component's own arguments, to follow the common ones.

    When the combined arguments select Dataflow, they are checked, and `--sdk_container_image`
    (the component's own `image`, so its Dataflow workers run what its container runs) and
    `--setup_file` are added unless the component's arguments give them.

    Raises:
        ValueError: as `dataflow.validate_dataflow_args`.
    """
    own = list(own)
    combined = [*common, *own]
    if not dataflow.is_dataflow(combined):
        return own
    dataflow.validate_dataflow_args(combined)
    if image and not any(arg.startswith("--sdk_container_image") for arg in own):
        own.append(f"--sdk_container_image={image}")
    if not any(arg.startswith("--setup_file") for arg in combined):
        own.append(f"--setup_file={setup_file}")
    return own
