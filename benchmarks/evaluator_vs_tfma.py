"""The Beam head evaluator against stock TFMA and against the read-and-infer floor.

All three read the same gzipped TFRecords of the taxi sample (the 15,002 trips repeated to
`--examples` records over `--files` files) and use the same SavedModel (the taxi sample's
four-head MultiHead, trained briefly and exported with `heads.export_saved_model`):

- **TFMA**: `tfma.run_model_analysis` (DirectRunner) with the metric set AUC, AUC-PR and
  precision/recall at 0.3/0.5/0.7 for the binary head, per-class AUC and AUC-PR for the
  four classes of the multi-label head, and the example count, on the overall slice and one
  slice feature (`trip_start_day`). TFMA runs about 900 examples/s, so it reads only the first
  `--tfma-examples` records; rates (examples/s) are compared, not times.
- **evaluator**: `tfx_heads.components.evaluator.runner.evaluate` on every record, same
  slicing; it computes a superset of TFMA's metrics (every key of all four heads, with exact
  curves while a curve has at most 2**20 distinct scores, else 2**16-bucket histograms and
  error bounds, and ROC/PR and calibration plots), in-process and with `--num-workers 2`.
- **floor**: `tf.data` (parallel reads, prefetch) and the model's `predict` signature on
  batches of `--batch-size`, nothing else: what any evaluator must at least spend.

Every rate is end to end (model loading and, for the Beam pipelines, start-up and writing
included). The floor and each evaluator mode on all records run `--repeats` times,
interleaved, and the fastest run of each counts: on a shared machine one run of the floor can
be off by half, and the "of floor" column divides by it. Each evaluator mode also runs on
TFMA's subset, which splits its time into a fixed cost and a per-example rate: worker
processes start faster per example but pay their own imports and shutdown, so the script says
from how many examples they are ahead. A breakdown then times the evaluator's stages one
after another in this process, without Beam, to show where its time goes, and sizes the
accumulators a worker ships per bundle.

    .venv/bin/python benchmarks/evaluator_vs_tfma.py [--examples 200000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import logging
import os
import tempfile
import time

import numpy as np
from evaluator_stages import print_breakdown, stage_breakdown

# Each worker process of a multi-worker run imports TensorFlow; keep their logs quiet too.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SLICE = "trip_start_day"
TRIPS_TO_TRAIN = 15002


def build_data(workdir: str, examples: int, files: int, tfma_examples: int) -> tuple[str, str]:
    """Writes the benchmark files; returns the globs of all records and of TFMA's subset.

    Every record also holds `trip_tags_hot`, the multi-hot int64 form of `trip_tags`, because
    TFMA's per-class metrics need numeric labels (the evaluator reads the tag strings).
    """
    import tensorflow as tf

    from tfx_heads.pipeline.taxi import sample

    trips = sample.load_trips()
    serialized = []
    hot = sample.multi_hot(trips["trip_tags"])
    for record, row in zip(sample.to_tf_examples(trips), hot, strict=True):
        example = tf.train.Example.FromString(record)
        example.features.feature["trip_tags_hot"].int64_list.value[:] = row.tolist()
        serialized.append(example.SerializeToString())
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir, exist_ok=True)
    per_file = -(-examples // files)
    for index in range(files):
        count = min(per_file, examples - index * per_file)
        with tf.io.TFRecordWriter(
            os.path.join(data_dir, f"part-{index:05d}.tfrecord.gz"), options="GZIP"
        ) as writer:
            for position in range(index * per_file, index * per_file + count):
                writer.write(serialized[position % len(serialized)])
    subset_dir = os.path.join(workdir, "tfma_subset")
    os.makedirs(subset_dir, exist_ok=True)
    with tf.io.TFRecordWriter(
        os.path.join(subset_dir, "part-00000.tfrecord.gz"), options="GZIP"
    ) as writer:
        for position in range(tfma_examples):
            writer.write(serialized[position % len(serialized)])
    return os.path.join(data_dir, "part-*"), os.path.join(subset_dir, "part-*")


def build_model(workdir: str) -> str:
    """Trains the taxi MultiHead for one epoch and exports it; returns the SavedModel."""
    import keras
    import tensorflow as tf

    import heads
    from tfx_heads.pipeline.taxi import model as taxi_model
    from tfx_heads.pipeline.taxi import sample

    keras.utils.set_random_seed(0)
    trips = sample.load_trips().iloc[:TRIPS_TO_TRAIN]
    features, labels = sample.features_and_labels(trips)
    logits_model, head = taxi_model.build_model()
    model = heads.HeadModel(logits_model, head)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(20000, seed=0)
    model.fit(dataset.batch(256), epochs=1, verbose=0)
    export_dir = os.path.join(workdir, "model")
    return heads.export_saved_model(
        model, export_dir, sample.feature_spec(), label_keys=sample.LABEL_KEYS
    )


def count_records(pattern: str) -> int:
    import tensorflow as tf

    dataset = tf.data.TFRecordDataset(sorted(glob.glob(pattern)), compression_type="GZIP")
    return int(dataset.reduce(np.int64(0), lambda count, _: count + 1))


def run_floor(pattern: str, model_dir: str, batch_size: int) -> float:
    """Seconds to read every record and run the predict signature on every batch."""
    import tensorflow as tf

    started = time.perf_counter()
    signature = tf.saved_model.load(model_dir).signatures["predict"]
    files = tf.data.Dataset.from_tensor_slices(sorted(glob.glob(pattern)))
    dataset = files.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type="GZIP"),
        cycle_length=2,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    for batch in dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE):
        _ = {key: value.numpy() for key, value in signature(examples=batch).items()}
    return time.perf_counter() - started


def run_evaluator(
    pattern: str, model_dir: str, output: str, batch_size: int, workers: int | None
) -> tuple[float, dict]:
    from tfx_heads.components.evaluator import runner

    started = time.perf_counter()
    document = runner.evaluate(
        pattern,
        output,
        model=model_dir,
        slices=[SLICE],
        batch_size=batch_size,
        num_workers=workers,
    )
    return time.perf_counter() - started, document


def fixed_and_rate(
    examples: int, seconds: float, small_examples: int, small_seconds: float
) -> tuple[float, float]:
    """Fixed seconds and examples/second of `seconds = fixed + examples / rate`, from two runs."""
    rate = (examples - small_examples) / max(seconds - small_seconds, 1e-9)
    return small_seconds - small_examples / rate, rate


def tfma_eval_config():
    # From config_pb2: TFMA 0.52 no longer exports the config protos at its top level.
    from tensorflow_model_analysis.proto import config_pb2

    def metric(name: str, **config) -> config_pb2.MetricConfig:
        import json

        return config_pb2.MetricConfig(class_name=name, config=json.dumps(config) if config else "")

    thresholds = [0.3, 0.5, 0.7]
    return config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(
                signature_name="predict",
                label_keys={"big_tipper": "big_tipper", "trip_tags": "trip_tags_hot"},
                prediction_keys={
                    "big_tipper": "big_tipper/logistic",
                    "trip_tags": "trip_tags/probabilities",
                },
            )
        ],
        slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=[SLICE])],
        metrics_specs=[
            config_pb2.MetricsSpec(
                output_names=["big_tipper"],
                metrics=[
                    metric("ExampleCount"),
                    metric("AUC"),
                    metric("AUCPrecisionRecall"),
                    metric("Precision", thresholds=thresholds),
                    metric("Recall", thresholds=thresholds),
                ],
            ),
            config_pb2.MetricsSpec(
                output_names=["trip_tags"],
                binarize=config_pb2.BinarizationOptions(class_ids={"values": [0, 1, 2, 3]}),
                metrics=[metric("AUC"), metric("AUCPrecisionRecall")],
            ),
        ],
    )


def run_tfma(pattern: str, model_dir: str, output: str) -> tuple[float, object]:
    import tensorflow_model_analysis as tfma
    from apache_beam.options.pipeline_options import PipelineOptions

    started = time.perf_counter()
    config = tfma_eval_config()
    shared = tfma.default_eval_shared_model(eval_saved_model_path=model_dir, eval_config=config)
    result = tfma.run_model_analysis(
        eval_shared_model=shared,
        eval_config=config,
        data_location=pattern,
        output_path=output,
        pipeline_options=PipelineOptions(["--runner=DirectRunner"]),
    )
    return time.perf_counter() - started, result


def compare_with_tfma(tfma_result, document: dict) -> list[tuple[str, float, float]]:
    """`(metric, TFMA value, evaluator value)` on the overall slice of the same records."""
    from tfx_heads.pipeline.taxi import sample

    ours = document["slices"][0]["metrics"]
    binary = tfma_result.get_metrics_for_slice(output_name="big_tipper")
    rows = [
        ("auc (big_tipper)", binary["auc"]["doubleValue"], ours["auc/big_tipper"]),
        (
            "auc_precision_recall (big_tipper)",
            binary["auc_precision_recall"]["doubleValue"],
            ours["auc_precision_recall/big_tipper"],
        ),
    ]
    for name in ("precision", "recall"):
        values = binary[name]["arrayValue"]["float64Values"]
        for threshold, value in zip((0.3, 0.5, 0.7), values, strict=True):
            key = f"{name}/positive_threshold_{threshold:g}/big_tipper"
            rows.append((f"{name}@{threshold:g} (big_tipper)", value, ours[key]))
    for class_id, tag in enumerate(sample.TRIP_TAGS):
        per_class = tfma_result.get_metrics_for_slice(output_name="trip_tags", class_id=class_id)
        rows.append(
            (
                f"auc ({tag}, trip_tags)",
                per_class["auc"]["doubleValue"],
                ours[f"auc/{tag}/trip_tags"],
            )
        )
    return rows


@dataclasses.dataclass(frozen=True)
class Timings:
    """The timed runs of the floor and the evaluator modes.

    Attributes:
        total: the records of the whole data; subset_total: of TFMA's subset.
        runs: every run's seconds, by run name (`floor` and each evaluator mode).
        rows: the table's `(run, examples, seconds)` rows (the fastest run of each).
        marginal: by evaluator mode, `(fixed seconds, examples/s)` (`fixed_and_rate`).
        subset_document: the in-process evaluator's metrics.json of TFMA's subset.
    """

    total: int
    subset_total: int
    runs: dict[str, list[float]]
    rows: list[tuple[str, int, float]]
    marginal: dict[str, tuple[float, float]]
    subset_document: dict


def time_runs(pattern: str, subset: str, model_dir: str, workdir: str, args) -> Timings:
    """Runs the floor and each evaluator mode `args.repeats` times, interleaved, on every
    record, then each evaluator mode once on TFMA's subset."""
    total, subset_total = count_records(pattern), count_records(subset)
    modes = [("in-process", None)] + ([] if args.skip_workers else [("--num-workers 2", 2)])
    runs = {name: [] for name in ["floor", *(mode for mode, _ in modes)]}
    for repeat in range(args.repeats):
        runs["floor"].append(run_floor(pattern, model_dir, args.batch_size))
        for mode, workers in modes:
            output = os.path.join(workdir, f"eval_{workers or 1}_{repeat}")
            run_seconds, document = run_evaluator(
                pattern, model_dir, output, args.batch_size, workers
            )
            assert document["slices"][0]["example_count"] == total
            runs[mode].append(run_seconds)
    rows = [("read-and-infer floor (tf.data + predict)", total, min(runs["floor"]))]
    marginal = {}
    for mode, workers in modes:
        rows.append((f"evaluator, {mode}", total, min(runs[mode])))
        output = os.path.join(workdir, f"eval_{workers or 1}_subset")
        small_seconds, small_document = run_evaluator(
            subset, model_dir, output, args.batch_size, workers
        )
        marginal[mode] = fixed_and_rate(total, min(runs[mode]), subset_total, small_seconds)
        if workers is None:
            same_records = small_document
    return Timings(total, subset_total, runs, rows, marginal, same_records)


def print_rates(timings: Timings, tfma_rate: float | None, args) -> None:
    """The table of rates, every run's seconds, and each mode's fixed cost and rate."""
    floor_rate = timings.total / min(timings.runs["floor"])
    print(f"\n{'run':48s} {'examples':>9s} {'seconds':>8s} {'examples/s':>11s} {'vs TFMA':>8s} "
          f"{'of floor':>8s}")  # fmt: skip
    for name, count, seconds in timings.rows:
        rate = count / seconds
        versus = f"{rate / tfma_rate:7.0f}x" if tfma_rate else "       -"
        print(
            f"{name:48s} {count:9d} {seconds:8.1f} {rate:11.0f} {versus} {rate / floor_rate:8.0%}"
        )
    print(
        "\nRates are end to end (model loading, Beam start-up and writing included); the floor "
        f"and evaluator rows are the fastest of {args.repeats} interleaved runs (every run, "
        "seconds: "
        + "; ".join(
            f"{name} {', '.join(f'{v:.1f}' for v in values)}"
            for name, values in timings.runs.items()
        )
        + f"). TFMA ran on a subset of {args.tfma_examples} records; its rate is compared."
    )
    print(
        f"\nFixed costs and per-example rates, from a second run of each on the "
        f"{timings.subset_total}-record subset (time = fixed + examples / rate):"
    )
    for mode, (fixed, rate) in timings.marginal.items():
        print(f"  {mode:16s} {fixed:5.1f} s fixed, then {rate:8.0f} examples/s")
    if len(timings.marginal) == 2:
        (fixed_one, rate_one), (fixed_two, rate_two) = timings.marginal.values()
        if rate_two > rate_one and fixed_two > fixed_one:
            crossing = (fixed_two - fixed_one) / (1 / rate_one - 1 / rate_two)
            print(f"  2 workers are ahead from about {crossing:,.0f} examples on this machine.")


def print_comparison(comparison: list[tuple[str, float, float]], tfma_examples: int) -> None:
    """The metrics of the same records through TFMA and the evaluator."""
    print(f"\nThe same {tfma_examples} records through both (overall slice):")
    print(f"  {'metric':36s} {'TFMA':>10s} {'evaluator':>10s} {'|diff|':>9s}")
    for name, theirs, ours in comparison:
        print(f"  {name:36s} {theirs:10.6f} {ours:10.6f} {abs(theirs - ours):9.2e}")
    print(
        "  (TFMA's AUCs use 10,000 probability thresholds; the evaluator's are exact, one "
        "threshold per distinct score.)"
    )


def parse_arguments() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--tfma-examples", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one)")
    parser.add_argument("--skip-tfma", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of the floor and of each evaluator mode"
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats: expected an int >= 1; received {args.repeats}")
    return args


def main() -> None:
    args = parse_arguments()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    workdir = args.workdir or tempfile.mkdtemp(prefix="evaluator_vs_tfma_")
    print(f"Scratch directory: {workdir}")

    started = time.perf_counter()
    pattern, subset = build_data(workdir, args.examples, args.files, args.tfma_examples)
    model_dir = build_model(workdir)
    print(f"Data and model ready in {time.perf_counter() - started:.0f} s.")
    timings = time_runs(pattern, subset, model_dir, workdir, args)
    tfma_rate, comparison = None, []
    if not args.skip_tfma:
        seconds, tfma_result = run_tfma(subset, model_dir, os.path.join(workdir, "tfma"))
        timings.rows.append(
            (
                f"TFMA run_model_analysis (first {timings.subset_total} records)",
                timings.subset_total,
                seconds,
            )
        )
        tfma_rate = timings.subset_total / seconds
        comparison = compare_with_tfma(tfma_result, timings.subset_document)
    print_rates(timings, tfma_rate, args)
    if comparison:
        print_comparison(comparison, args.tfma_examples)
    limit = min(timings.total, 100_000)
    breakdown = stage_breakdown(pattern, model_dir, args.batch_size, limit, SLICE)
    in_process = next(sec for name, _, sec in timings.rows if name == "evaluator, in-process")
    print_breakdown(breakdown, timings.total, in_process)


if __name__ == "__main__":
    main()
