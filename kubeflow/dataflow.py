"""Beam pipeline arguments for the pipeline's Beam steps, ready for Dataflow.

`dataflow_beam_args` turns the user's `--beam-args` string into the argument list that
`create_pipeline(beam_pipeline_args=...)` gives every Beam-based component (ExampleGen,
StatisticsGen, the head evaluator). With `--runner=DataflowRunner` it checks the Google Cloud
options Dataflow needs and adds what makes workers import this project's code:
`--sdk_container_image` (the pipeline's image, which has the project installed) and
`--setup_file` (the project's `setup.py` inside that image), unless the user gave them.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from apache_beam.options import pipeline_options

PROJECT_DIR = "/tfx-heads"
"""Where `kubeflow/Dockerfile` puts the project inside the image."""

SETUP_FILE = f"{PROJECT_DIR}/setup.py"
"""The project's `setup.py` inside the image, the default `--setup_file`."""

_DATAFLOW_RUNNERS = ("dataflowrunner", "dataflow")


def split_beam_args(beam_args: str | Sequence[str] | None) -> list[str]:
    """Splits a shell-quoted argument string (`"--runner=X --project P"`) into a list.

    A sequence is taken as already split; None and "" give an empty list.

    Raises:
        ValueError: if the string has unbalanced quotes, or an argument does not start with
            `--` where a flag is expected.
        TypeError: if `beam_args` is neither a string nor a sequence of strings.
    """
    if beam_args is None:
        return []
    if isinstance(beam_args, str):
        try:
            args = shlex.split(beam_args)
        except ValueError as error:
            raise ValueError(
                f"Invalid `beam_args`: expected shell-quoted arguments; received {beam_args!r} "
                f"({error})."
            ) from error
    elif isinstance(beam_args, Sequence) and all(isinstance(arg, str) for arg in beam_args):
        args = list(beam_args)
    else:
        raise TypeError(
            f"Invalid `beam_args`: expected a string or a list of strings; received {beam_args!r}."
        )
    if args and not args[0].startswith("--"):
        raise ValueError(
            f"Invalid `beam_args`: expected arguments such as '--runner=DataflowRunner'; "
            f"received {args[0]!r} first."
        )
    return args


def is_dataflow(args: Sequence[str]) -> bool:
    """Whether the Beam arguments select the Dataflow runner."""
    runner = _options(args).view_as(pipeline_options.StandardOptions).runner
    return isinstance(runner, str) and runner.lower() in _DATAFLOW_RUNNERS


def validate_dataflow_args(args: Sequence[str]) -> None:
    """Checks the Google Cloud options a Dataflow job needs.

    Raises:
        ValueError: naming the first of `--project`, `--region`, `--temp_location` (a
            `gs://` URI) that is missing or invalid.
    """
    options = _options(args).view_as(pipeline_options.GoogleCloudOptions)
    for name in ("project", "region"):
        if not getattr(options, name):
            raise ValueError(
                f"Invalid `beam_args`: expected --{name}=... with --runner=DataflowRunner; "
                f"received {list(args)}."
            )
    if not (options.temp_location or "").startswith("gs://"):
        raise ValueError(
            "Invalid `beam_args`: expected --temp_location=gs://BUCKET/PATH with "
            f"--runner=DataflowRunner; received {options.temp_location!r}."
        )


def dataflow_beam_args(
    beam_args: str | Sequence[str] | None,
    image: str,
    setup_file: str = SETUP_FILE,
) -> list[str]:
    """The Beam arguments for every Beam step of the compiled pipeline.

    Arguments other than Dataflow's pass through unchanged (without `--runner`, each
    component runs Beam's DirectRunner inside its own container). With
    `--runner=DataflowRunner`, the Google Cloud options are checked and
    `--sdk_container_image=<image>` and `--setup_file=<setup_file>` are appended unless given.

    Args:
        beam_args: the user's arguments, as one shell-quoted string or a list.
        image: the pipeline's container image (also the Dataflow workers' image).
        setup_file: the project's `setup.py` inside the image.

    Returns:
        The argument list, e.g. `["--runner=DataflowRunner", "--project=P", ...,
        "--sdk_container_image=IMAGE", "--setup_file=/tfx-heads/setup.py"]`.

    Raises:
        ValueError: as `split_beam_args` and `validate_dataflow_args`, or if `image` is empty.
    """
    if not isinstance(image, str) or not image:
        raise ValueError(f"Invalid `image`: expected a container image name; received {image!r}.")
    args = split_beam_args(beam_args)
    if not is_dataflow(args):
        return args
    validate_dataflow_args(args)
    options = _options(args)
    if not options.view_as(pipeline_options.WorkerOptions).sdk_container_image:
        args.append(f"--sdk_container_image={image}")
    if not options.view_as(pipeline_options.SetupOptions).setup_file:
        args.append(f"--setup_file={setup_file}")
    return args


def _options(args: Sequence[str]) -> pipeline_options.PipelineOptions:
    return pipeline_options.PipelineOptions(list(args))
