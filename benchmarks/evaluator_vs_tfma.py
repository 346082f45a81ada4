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
import glob
import logging
import os
import pickle
import tempfile
import time

import numpy as np

from tfx_heads.components.evaluator import constants

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


STAGE_NAMES = {
    constants.READ_STAGE: "read (tf.data, gunzip)",
    constants.PARSE_STAGE: "parse labels and slice features",
    constants.INFER_STAGE: "infer (predict signature)",
    constants.PREPARE_STAGE: "labels and checks",
    constants.SLICE_STAGE: "slice rows",
}
"""The breakdown's name of each of the evaluator's per-batch stages (by Beam label)."""


def stage_breakdown(pattern: str, model_dir: str, batch_size: int, limit: int) -> dict:
    """Seconds per stage of the evaluator run one after another, without Beam: the stages
    `transforms.batch_stages` gives, in its order, then the statistics of `slice_stats`."""
    import tensorflow as tf

    from tfx_heads.components.evaluator import transforms
    from tfx_heads.components.evaluator.coders import AccumulatorCoder
    from tfx_heads.components.evaluator.config import build_config
    from tfx_heads.components.evaluator.options import EvaluationOptions
    from tfx_heads.components.evaluator.writers import tfma_metrics, tfma_plots

    options = EvaluationOptions(slices=[SLICE], batch_size=batch_size)
    config = build_config(pattern, tempfile.mkdtemp(), options, model=model_dir)
    stages = {STAGE_NAMES[label]: stage for label, stage in transforms.batch_stages(config)}
    for stage in stages.values():
        if hasattr(stage, "setup"):
            stage.setup()
    slice_stats = transforms.slice_stats(config)
    seconds = dict.fromkeys([*stages, "statistics (HeadStats.update)", "finalize and plots"], 0.0)
    accumulators: dict = {}
    names = list(stages)
    examples = 0
    for path in sorted(glob.glob(pattern)):
        reader = stages[names[0]].process(path)
        while examples < limit:
            started = time.perf_counter()
            batch = next(reader, None)
            seconds[names[0]] += time.perf_counter() - started
            if batch is None:
                break
            examples += batch.read
            items = [batch]
            for name in names[1:]:
                started = time.perf_counter()
                items = [out for item in items for out in stages[name].process(item)]
                items = [item for item in items if not hasattr(item, "tag")]
                seconds[name] += time.perf_counter() - started
            started = time.perf_counter()
            for key, item in items:
                if key not in accumulators:
                    accumulators[key] = slice_stats.create()
                slice_stats.update(accumulators[key], item)
            seconds["statistics (HeadStats.update)"] += time.perf_counter() - started
        if examples >= limit:
            break
    started = time.perf_counter()
    for key, accumulator in accumulators.items():
        result = slice_stats.finalize(accumulator)
        tfma_metrics((key, result))
        tfma_plots((key, result))
    seconds["finalize and plots"] = time.perf_counter() - started
    del tf
    wire_bytes = {
        "pickle": sum(
            len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)) for value in accumulators.values()
        ),
        "AccumulatorCoder": sum(
            len(AccumulatorCoder().encode(value)) for value in accumulators.values()
        ),
    }
    return {
        "examples": examples,
        "seconds": seconds,
        "slices": len(accumulators),
        "wire_bytes": wire_bytes,
    }


def main() -> None:
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
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    workdir = args.workdir or tempfile.mkdtemp(prefix="evaluator_vs_tfma_")
    print(f"Scratch directory: {workdir}")

    started = time.perf_counter()
    pattern, subset = build_data(workdir, args.examples, args.files, args.tfma_examples)
    model_dir = build_model(workdir)
    print(f"Data and model ready in {time.perf_counter() - started:.0f} s.")
    total = count_records(pattern)

    subset_total = count_records(subset)
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
    floor_seconds = min(runs["floor"])
    rows = [("read-and-infer floor (tf.data + predict)", total, floor_seconds)]
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
    tfma_rate, comparison = None, []
    if not args.skip_tfma:
        seconds, tfma_result = run_tfma(subset, model_dir, os.path.join(workdir, "tfma"))
        rows.append(
            (f"TFMA run_model_analysis (first {subset_total} records)", subset_total, seconds)
        )
        tfma_rate = subset_total / seconds
        comparison = compare_with_tfma(tfma_result, same_records)

    floor_rate = total / floor_seconds
    print(f"\n{'run':48s} {'examples':>9s} {'seconds':>8s} {'examples/s':>11s} {'vs TFMA':>8s} "
          f"{'of floor':>8s}")  # fmt: skip
    for name, count, seconds in rows:
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
            f"{name} {', '.join(f'{v:.1f}' for v in values)}" for name, values in runs.items()
        )
        + f"). TFMA ran on a subset of {args.tfma_examples} records; its rate is compared."
    )
    print(
        f"\nFixed costs and per-example rates, from a second run of each on the {subset_total}"
        "-record subset (time = fixed + examples / rate):"
    )
    for mode, (fixed, rate) in marginal.items():
        print(f"  {mode:16s} {fixed:5.1f} s fixed, then {rate:8.0f} examples/s")
    if len(marginal) == 2:
        (fixed_one, rate_one), (fixed_two, rate_two) = marginal.values()
        if rate_two > rate_one and fixed_two > fixed_one:
            crossing = (fixed_two - fixed_one) / (1 / rate_one - 1 / rate_two)
            print(f"  2 workers are ahead from about {crossing:,.0f} examples on this machine.")
    if comparison:
        print(f"\nThe same {args.tfma_examples} records through both (overall slice):")
        print(f"  {'metric':36s} {'TFMA':>10s} {'evaluator':>10s} {'|diff|':>9s}")
        for name, theirs, ours in comparison:
            print(f"  {name:36s} {theirs:10.6f} {ours:10.6f} {abs(theirs - ours):9.2e}")
        print(
            "  (TFMA's AUCs use 10,000 probability thresholds; the evaluator's are exact, one "
            "threshold per distinct score.)"
        )

    breakdown = stage_breakdown(pattern, model_dir, args.batch_size, limit=min(total, 100_000))
    count, seconds = breakdown["examples"], breakdown["seconds"]
    print(f"\nWhere the evaluator's time goes (its stages one after another, no Beam, {count} "
          "examples):")  # fmt: skip
    for name, value in seconds.items():
        print(f"  {name:36s} {value:6.2f} s  {1e6 * value / count:6.1f} us/example")
    busy = sum(seconds.values())
    print(f"  {'sum':36s} {busy:6.2f} s  {1e6 * busy / count:6.1f} us/example")
    wire = breakdown["wire_bytes"]
    print(
        f"  The {breakdown['slices']} slices' accumulators after these examples, as a worker "
        f"ships them at the end of a bundle: {wire['AccumulatorCoder'] / 1e6:.2f} MB "
        f"(AccumulatorCoder), {wire['pickle'] / 1e6:.1f} MB as plain pickle."
    )
    in_process = next(sec for name, _, sec in rows if name == "evaluator, in-process")
    per_example = (busy - seconds["finalize and plots"]) / count
    rest = in_process - per_example * total - seconds["finalize and plots"]
    print(
        f"  In the Beam run of {total} examples ({in_process:.1f} s), these stages account for "
        f"about {per_example * total + seconds['finalize and plots']:.1f} s; the other "
        f"{max(rest, 0.0):.1f} s are fixed costs (Beam start-up and stage set-up, the model "
        "load, TFMA's writers), less the overlap of reading with the other stages."
    )


if __name__ == "__main__":
    main()
