"""`tfx-heads compile`: the sample pipeline as a Kubeflow Pipelines / Vertex Pipelines job.

    tfx-heads compile --output pipeline.json --image IMAGE --pipeline-root gs://B/root \\
        --data-root gs://B/data [--beam-args="--runner=DataflowRunner --project=P \\
        --region=R --temp_location=gs://B/tmp --max_num_workers=8"] \\
        [--strategy mirrored --batch-size 1024] \\
        [--trainer-cpu 8 --trainer-memory 32 --trainer-accelerator NVIDIA_TESLA_T4 \\
         --trainer-accelerator-count 2] [--trainer-config trainer.json]

Every component runs in IMAGE (built from kubeflow/Dockerfile). The Beam arguments go to
every Beam step (ExampleGen, StatisticsGen, the head evaluator); with
`--runner=DataflowRunner` they must name --project, --region and --temp_location, and
--sdk_container_image=IMAGE and --setup_file=/tfx-heads/setup.py are added unless given.
Write them as one argument, `--beam-args="..."`.

Per component (ids ImportExampleGen, StatisticsGen, SchemaGen, HeadTrainer, HeadEvaluator,
Pusher): `--component-image ID=IMAGE` runs it in its own image (e.g. a GPU image for the
trainer), `--component-beam-args ID="--a=1 --b=2"` adds Beam arguments after the common ones
(Beam components only), and `--component-config` is a JSON file
{"HeadEvaluator": {"image": ..., "beam_args": ..., "resources": {"cpu_limit": 8,
"memory_limit": 32}}, ...} (flags override the file). With Dataflow, a Beam component with
an image of its own also gets it as its workers' --sdk_container_image.

`--trainer-config` is a JSON file {"options": {...}, "resources": {...}}: HeadTrainer
options (strategy, devices, tpu, batch_size, eval_batch_size, epochs, steps_per_execution,
jit_compile, mixed_precision, backup, backup_steps, hparams) and the trainer container's
resources (cpu_limit, memory_limit in GB, accelerator_type, accelerator_count). Command-line
flags override the file.
"""

from __future__ import annotations

import argparse
from typing import Any

from tfx_heads.components.json_files import read_json_argument

_CONFIG_SECTIONS = ("options", "resources")


def add_subcommand(subparsers: Any) -> None:
    """Registers `compile` with the `tfx-heads` command line."""
    parser = subparsers.add_parser(
        "compile",
        help="compile the pipeline into a Kubeflow Pipelines / Vertex Pipelines job spec",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output", required=True, help="PipelineJob JSON file to write")
    parser.add_argument("--image", required=True, help="container image of every step")
    parser.add_argument("--pipeline-root", required=True, help="artifact root (gs://...)")
    parser.add_argument("--data-root", required=True, help="folder of tf.Example TFRecords")
    parser.add_argument(
        "--beam-args", default="", help='Beam arguments for every Beam step, "--a=1 --b=2"'
    )
    parser.add_argument("--serving-model-dir", help="Pusher destination (default ROOT/serving)")
    parser.add_argument("--pipeline-name", help="pipeline name (default tfx-heads-taxi)")
    parser.add_argument("--module-file", help="trainer user module, a path inside the image")
    parser.add_argument("--train-steps", type=int, help="training steps (default: epochs)")
    parser.add_argument("--eval-steps", type=int, help="validation steps per epoch")
    parser.add_argument("--no-cache", action="store_true", help="disable step caching")
    parser.add_argument(
        "--thresholds",
        help="JSON file with the blessing thresholds, on the taxi slices (default: "
        "pipeline/taxi/config.py's eval_config())",
    )
    parser.add_argument(
        "--kfp-package",
        help="also write the bare PipelineSpec as YAML for kfp.Client (a .yaml path)",
    )
    _add_component_arguments(parser.add_argument_group("per component"))
    _add_trainer_arguments(parser.add_argument_group("trainer"))
    parser.set_defaults(run=run)


def _add_component_arguments(component: Any) -> None:
    """The per-component settings: a JSON file, images and Beam arguments."""
    component.add_argument(
        "--component-config", help="JSON file of settings by component id (image, ...)"
    )
    component.add_argument(
        "--component-image",
        action="append",
        default=[],
        metavar="ID=IMAGE",
        help="a component's own image (repeatable)",
    )
    component.add_argument(
        "--component-beam-args",
        action="append",
        default=[],
        metavar='ID="ARGS"',
        help="Beam arguments of one Beam component, after the common ones (repeatable)",
    )


def _add_trainer_arguments(trainer: Any) -> None:
    """The trainer's options and container resources (they override `--trainer-config`)."""
    trainer.add_argument("--trainer-config", help="JSON file of trainer options and resources")
    trainer.add_argument(
        "--strategy", help="auto, mirrored, multi_worker, tpu or one_device (default auto)"
    )
    trainer.add_argument("--batch-size", type=int, help="global training batch size")
    trainer.add_argument("--epochs", type=int, help="Keras epochs")
    trainer.add_argument("--tpu", help="TPU address or name (strategy tpu)")
    trainer.add_argument(
        "--mixed-precision",
        choices=("mixed_float16", "mixed_bfloat16"),
        help="layers compute in float16 (GPUs) or bfloat16 (TPUs); the head stays float32",
    )
    trainer.add_argument("--trainer-cpu", type=float, help="trainer vCPUs")
    trainer.add_argument("--trainer-memory", type=float, help="trainer memory in GB")
    trainer.add_argument("--trainer-accelerator", help="accelerator type, e.g. NVIDIA_TESLA_T4")
    trainer.add_argument("--trainer-accelerator-count", type=int, help="accelerators")


def load_trainer_config(path: str | None) -> dict[str, dict[str, Any]]:
    """Reads a `--trainer-config` file: `{"options": {...}, "resources": {...}}`.

    Returns:
        Both sections (empty dicts where absent; an empty config without `path`).

    Raises:
        ValueError: if the file is not a JSON object with only those sections, each an object.
        OSError: if the file cannot be read.
    """
    config: dict[str, dict[str, Any]] = {section: {} for section in _CONFIG_SECTIONS}
    if not path:
        return config
    loaded = read_json_argument(path, "--trainer-config", "a JSON object")
    if not isinstance(loaded, dict) or set(loaded) - set(_CONFIG_SECTIONS):
        raise ValueError(
            f"Invalid `--trainer-config`: expected a JSON object with keys among "
            f"{list(_CONFIG_SECTIONS)}; received {loaded!r}."
        )
    for section in _CONFIG_SECTIONS:
        value = loaded.get(section, {})
        if not isinstance(value, dict):
            raise ValueError(
                f"Invalid `--trainer-config`: expected {section!r} to be an object; received "
                f"{value!r}."
            )
        config[section] = dict(value)
    return config


def load_thresholds(path: str) -> list[dict[str, Any]]:
    """Reads a `--thresholds` file: a JSON list of thresholds (checked by the evaluator's
    `parse_thresholds`).

    Raises:
        ValueError: if the file is not JSON or not a valid list of thresholds.
        OSError: if the file cannot be read.
    """
    from tfx_heads.components.evaluator import blessing

    return blessing.read_threshold_file(path)


def trainer_settings(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """The HeadTrainer options and `TrainerResources` from the config file and the flags.

    Raises:
        ValueError: as `load_trainer_config` and `TrainerResources`.
    """
    from tfx_heads.kubeflow.compile import TrainerResources

    config = load_trainer_config(args.trainer_config)
    options = config["options"]
    for name in ("strategy", "batch_size", "epochs", "tpu", "mixed_precision"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    resources = config["resources"]
    for flag, name in (
        ("trainer_cpu", "cpu_limit"),
        ("trainer_memory", "memory_limit"),
        ("trainer_accelerator", "accelerator_type"),
        ("trainer_accelerator_count", "accelerator_count"),
    ):
        if getattr(args, flag) is not None:
            resources[name] = getattr(args, flag)
    return options, TrainerResources.from_dict(resources)


def component_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The `ComponentSettings` by component id from `--component-config` and the flags.

    Raises:
        ValueError: for a file that is not a JSON object of settings objects, or a flag that
            is not ID=VALUE.
        OSError: if the file cannot be read.
    """
    from tfx_heads.kubeflow.run_spec import parse_assignments
    from tfx_heads.kubeflow.settings import ComponentSettings

    loaded: dict[str, Any] = {}
    if args.component_config:
        loaded = read_json_argument(args.component_config, "--component-config", "a JSON object")
        if not isinstance(loaded, dict):
            raise ValueError(
                "Invalid `--component-config`: expected a JSON object of settings by component "
                f"id; received {loaded!r}."
            )
    raw = {
        component: dict(values) if isinstance(values, dict) else values
        for component, values in loaded.items()
    }
    for flag, key, values in (
        ("--component-image", "image", args.component_image),
        ("--component-beam-args", "beam_args", args.component_beam_args),
    ):
        for component, value in parse_assignments(flag, values).items():
            raw.setdefault(component, {})[key] = value
    return {
        component: ComponentSettings.from_dict(component, values)
        for component, values in raw.items()
    }


def run(args: argparse.Namespace) -> int:
    """Compiles the pipeline and prints the written paths in one line.

    Raises:
        ValueError, TypeError, OSError: bad options or files (reported by `tfx_heads.pipeline.cli`).
    """
    from tfx_heads.kubeflow import compile as kubeflow_compile

    options, resources = trainer_settings(args)
    extra: dict[str, Any] = {}
    if args.pipeline_name:
        extra["pipeline_name"] = args.pipeline_name
    if args.module_file:
        extra["module_file"] = args.module_file
    if args.thresholds:
        extra["thresholds"] = load_thresholds(args.thresholds)
    output = kubeflow_compile.compile_pipeline(
        output=args.output,
        image=args.image,
        pipeline_root=args.pipeline_root,
        data_root=args.data_root,
        beam_args=args.beam_args,
        serving_model_dir=args.serving_model_dir,
        train_steps=args.train_steps,
        eval_steps=args.eval_steps,
        trainer_options=options,
        trainer_resources=resources,
        components=component_settings(args),
        enable_cache=not args.no_cache,
        **extra,
    )
    package = ""
    if args.kfp_package:
        written = kubeflow_compile.write_kfp_package(output, args.kfp_package)
        package = f" and {written} (PipelineSpec for kfp.Client)"
    args.console.line(f"Wrote {output} (Kubeflow PipelineJob, image {args.image}){package}")
    return 0
