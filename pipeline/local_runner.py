"""`tfx-heads run`: the sample pipeline on this machine (LocalDagRunner, Beam DirectRunner,
ML Metadata in SQLite).

Everything a run writes lives under `--root` (default `demo/`): `data/` (the taxi sample as
TFRecords), `pipeline_root/` (every component's artifacts), `metadata.sqlite` (ML Metadata),
`serving/` (where the Pusher copies a blessed model) and `logs/` (one file per run with
every library's messages; `--verbose` shows them here instead). A re-run reuses cached
component results unless `--no-cache` is given.

It prints a line as each component starts and ends (with progress while it trains and
evaluates), then where the results are and the headline metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from tfx_heads.components.evaluator import constants as evaluator_constants
from tfx_heads.pipeline.taxi import config as taxi_config

PIPELINE_NAME = taxi_config.PIPELINE_NAME
HEADLINE_METRICS = {
    "big_tipper": ("auc", "auc_precision_recall", "accuracy", "average_loss"),
    "payment_type": ("accuracy", "average_loss"),
    "trip_seconds": ("average_loss", "prediction/mean", "label/mean"),
    "trip_tags": ("auc", "auc_precision_recall", "average_loss"),
}


def add_subcommand(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the sample pipeline locally (LocalDagRunner, DirectRunner, SQLite)",
        description=__doc__,
    )
    parser.add_argument("--root", default="demo", help="directory for everything the run writes")
    parser.add_argument("--no-cache", action="store_true", help="recompute every component")
    parser.add_argument("--train-steps", type=int, default=2000)
    parser.add_argument(
        "--sample-size",
        type=int,
        default=None,
        help="use only the first N trips of the sample (default: all 15,002)",
    )
    parser.add_argument(
        "--thresholds",
        default=None,
        help="JSON file with the blessing thresholds (default: pipeline/taxi/config.py's "
        "eval_config())",
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="a Beam pipeline argument for every Beam step (repeatable)",
    )
    parser.set_defaults(run=run, log_dir=lambda args: os.path.join(args.root, "logs"))


def prepare_data(root: str, sample_size: int | None) -> str:
    """Writes the taxi sample as TFRecords under `root/data` once; returns that folder.

    The file name carries the sample size, so a different size is a different input and
    ExampleGen's cache does not confuse them.
    """
    from tfx_heads.pipeline.taxi import sample

    data_root = os.path.join(root, "data", f"trips-{sample_size or 'all'}")
    path = os.path.join(data_root, "trips.tfrecord.gz")
    if not os.path.exists(path):
        trips = sample.load_trips()
        if sample_size:
            trips = trips.iloc[:sample_size]
        sample.write_tfrecords(trips, path + ".tmp")
        os.replace(path + ".tmp", path)
    return data_root


def build(args: argparse.Namespace) -> Any:
    """The sample pipeline configured for a local run under `args.root`."""
    from tfx import v1 as tfx

    from tfx_heads.pipeline import pipeline
    from tfx_heads.pipeline.taxi import config, trainer_module

    root = os.path.abspath(args.root)
    evaluation: dict[str, Any] = {"eval_config": config.eval_config()}
    if args.thresholds:
        with open(args.thresholds) as f:
            evaluation = {"slices": config.SLICES, "thresholds": json.load(f)}
    return pipeline.create_pipeline(
        pipeline_name=PIPELINE_NAME,
        pipeline_root=os.path.join(root, "pipeline_root"),
        data_root=prepare_data(root, args.sample_size),
        module_file=os.path.abspath(trainer_module.__file__),
        serving_model_dir=os.path.join(root, "serving"),
        train_steps=args.train_steps,
        trainer_options={"batch_size": 256, "strategy": "auto"},
        **evaluation,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.sqlite")
        ),
        beam_pipeline_args=["--direct_running_mode=in_memory", *args.beam_arg],
        enable_cache=not args.no_cache,
    )


def latest_outputs(metadata_path: str) -> dict[str, Any]:
    """The newest artifact of each output type of the pipeline, from ML Metadata."""
    from ml_metadata import metadata_store
    from tfx import v1 as tfx

    store = metadata_store.MetadataStore(
        tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path)
    )
    latest = {}
    for type_name in ("Model", "ModelEvaluation", "ModelBlessing", "PushedModel"):
        artifacts = store.get_artifacts_by_type(type_name)
        if artifacts:
            latest[type_name] = max(artifacts, key=lambda a: (a.create_time_since_epoch, a.id))
    return latest


def run(args: argparse.Namespace) -> int:
    """Runs the pipeline, showing each component; prints the summary.

    Raises:
        tfx_heads.pipeline.errors.StageFailed: a component failed (naming it, with its error).
    """
    from tfx import v1 as tfx

    from tfx_heads.pipeline import component_lines
    from tfx_heads.pipeline.errors import StageFailed

    console = args.console
    if args.log_file:
        console.line(f"Log: {os.path.abspath(args.log_file)} (every library's messages)")
    started = time.time()
    built = build(args)
    shown = [c.id for c in built.components if not isinstance(c, tfx.dsl.Resolver)]
    with component_lines.shown(console, shown) as lines:
        try:
            tfx.orchestration.LocalDagRunner().run(built)
        except Exception as error:
            if lines.current is None:
                raise
            raise StageFailed(lines.current, error) from error
    print_summary(console, os.path.abspath(args.root), time.time() - started)
    return 0


def print_summary(console: Any, root: str, seconds: float) -> None:
    """Where the model, evaluation, report, blessing and pushed model are; headline metrics."""
    outputs = latest_outputs(os.path.join(root, "metadata.sqlite"))
    line = console.line
    line(f"\nPipeline {PIPELINE_NAME} finished in {seconds:.0f} s under {root}")
    line(f"  model:      {outputs['Model'].uri}")
    evaluation = outputs["ModelEvaluation"].uri
    line(f"  evaluation: {evaluation}")
    report = os.path.join(evaluation, evaluator_constants.REPORT_FILE)
    if os.path.exists(report):
        line(f"  report:     {report}")
    blessing = outputs["ModelBlessing"]
    blessed = blessing.custom_properties["blessed"].int_value == 1
    line(f"  blessing:   {blessing.uri} ({'BLESSED' if blessed else 'NOT BLESSED'})")
    pushed = outputs.get("PushedModel")
    if pushed is not None and pushed.custom_properties["pushed"].int_value == 1:
        destination = pushed.custom_properties["pushed_destination"].string_value
        line(f"  pushed to:  {destination}")
    else:
        line("  pushed to:  nothing (the model was not blessed)")
    with open(os.path.join(evaluation, evaluator_constants.METRICS_JSON_FILE)) as f:
        overall = json.load(f)["slices"][0]
    line(f"Headline metrics, overall slice ({overall['example_count']} examples):")
    for head, keys in HEADLINE_METRICS.items():
        values = ", ".join(f"{key} {overall['metrics'][f'{key}/{head}']:.4f}" for key in keys)
        line(f"  {head:13s} {values}")
