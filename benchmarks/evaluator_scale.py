"""The evaluator's time and memory against the number of slices and of classes.

Two series of `tfx_heads.components.evaluator.runner.evaluate` runs, each in its own child
process (its peak resident memory is the child's `ru_maxrss`, from `os.wait4`), with logits
features (no model):

- **slices**: a binary head on `--examples` records (default 1,000,000), sliced by a feature
  of 10, 1,000, 10,000 or 100,000 values (`--slices`); every record holds one feature per
  slicing, so each run reads the same records;
- **classes**: a multi-label head of 10 to 100,000 classes (`--classes`) on
  `--class-examples` records (default 1,000), each holding `n_classes` logits and one to
  three positive class ids; and the evaluator's own read and parse stages alone on the same
  records (`transforms.read_examples`, `transforms.parse_examples`, in a child too, timed
  from when they are built: the sampling of `build_config` is not reading the records).
  Then a multi-class head of the most classes on as many records (one class id each), which
  keeps per-class curves by the same rule. Further counts (`--class-examples 1000,2000`)
  evaluate the most (multi-label) classes again on that many records, and split its time
  into a fixed cost and a cost per record (the line through the runs), each against
  reading and parsing: the fixed costs of a run (Beam's, writing and reading back every
  class's results) do not grow with the records.

Each row prints its time and peak RSS and their ratios to the series' first row (10 slices,
10 classes) measured in the same run, then whether it meets the targets of issue #26: 10,000
slices within 2x the time of 10 slices and under 2 GB; 100,000 classes under 3 GB and within
3x the time to read and parse their records. The machine is shared, so compare ratios, not
seconds, between runs; the CPU seconds (user + system, of the whole child process) vary
less than wall time on a loaded machine.

    .venv/bin/python benchmarks/evaluator_scale.py [--examples 1000000]
        [--class-examples 1000[,2000]] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

_GB = 1024**3
MAX_DEFAULT_CLASS_CURVES = 1000
"""`heads.stats.per_class.MAX_DEFAULT_CLASS_CURVES` (not imported here: the parent
process stays free of TensorFlow)."""


def _feature(values, kind):
    import tensorflow as tf

    if kind == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    if kind == "int":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def slice_columns(examples: int, slicings: list[int]) -> tuple:
    """`(labels, logits, {S: slice value ids})` of the slice records (seeded)."""
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, examples)
    logits = (rng.normal(size=examples) + labels).astype(np.float32)
    return labels, logits, {size: rng.integers(0, size, examples) for size in slicings}


def write_slice_data(path: str, examples: int, slicings: list[int]) -> str:
    """Binary-head records: `label` (0/1), `logits` (one float) and `s<S>` (one of `S`
    values) per slicing; written once per size into `path`."""
    import tensorflow as tf

    if os.path.exists(path):
        return path
    labels, logits, values = slice_columns(examples, slicings)
    with tf.io.TFRecordWriter(path + ".part") as writer:
        for row in range(examples):
            feature = {
                "label": _feature([int(labels[row])], "int"),
                "logits": _feature([float(logits[row])], "float"),
            }
            for size, column in values.items():
                feature[f"s{size}"] = _feature([b"v%d" % column[row]], "bytes")
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    os.replace(path + ".part", path)
    return path


def write_class_data(path: str, examples: int, n_classes: int, max_labels: int = 3) -> str:
    """Multi-label records: `logits` (`n_classes` floats) and `label` (1 to `max_labels`
    class ids; 1: multi-class records)."""
    import numpy as np
    import tensorflow as tf

    if os.path.exists(path):
        return path
    rng = np.random.default_rng(n_classes)
    with tf.io.TFRecordWriter(path + ".part") as writer:
        for _ in range(examples):
            count = int(rng.integers(1, max_labels + 1))
            positives = rng.choice(n_classes, size=count, replace=False)
            logits = rng.normal(size=n_classes).astype(np.float32)
            logits[positives] += 2.0
            feature = {
                "label": _feature(sorted(int(c) for c in positives), "int"),
                "logits": _feature(logits, "float"),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    os.replace(path + ".part", path)
    return path


def _child(job: dict) -> dict:
    """Runs one job in this process; returns its seconds (and results to check)."""
    import heads
    from tfx_heads.components.evaluator import runner, transforms
    from tfx_heads.components.evaluator.config import build_config
    from tfx_heads.components.evaluator.options import EvaluationOptions

    if job["kind"] == "slices":
        head = heads.BinaryClassHead()
        slices = [job["feature"]]
    else:
        kind = heads.MultiClassHead if job.get("multi_class") else heads.MultiLabelHead
        head = kind(n_classes=job["classes"])
        slices = []
    options = dict(label_keys="label", logits_features="logits", slices=slices)
    if job.get("read_only"):  # the clock starts once the stages are built
        config = build_config(job["data"], job["output"], EvaluationOptions(**options), head)
        reader, parser = transforms.read_examples(config), transforms.parse_examples(config)
        for stage in (reader, parser):
            if hasattr(stage, "setup"):
                stage.setup()
        started = time.perf_counter()
        for path in config.files:
            for batch in reader.process(path):
                if not hasattr(batch, "tag"):  # the counts are tagged
                    for _ in parser.process(batch):
                        pass
        return {"seconds": time.perf_counter() - started}
    started = time.perf_counter()
    document = runner.evaluate(job["data"], job["output"], head=head, **options)
    seconds = time.perf_counter() - started
    counts = [entry["example_count"] for entry in document["slices"]]
    overall = document["slices"][0]["metrics"]
    return {
        "seconds": seconds,
        "slice_counts": sorted(counts[1:]),
        "overall": counts[0],
        "auc": overall.get("auc"),
        "class_curves": document["class_curves"],
    }


def measure(job: dict) -> dict:
    """Runs `job` in a child process; adds its peak RSS in bytes (`ru_maxrss`)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(job)],
        stdout=subprocess.PIPE,
        text=True,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"child {job} failed with status {status}:\n{output[-2000:]}")
    result = json.loads(output.strip().splitlines()[-1])
    result["rss"] = usage.ru_maxrss * 1024
    result["cpu"] = usage.ru_utime + usage.ru_stime  # the child's, start-up included
    return result


def _row(name: str, result: dict, first: dict) -> str:
    return (
        f"{name:28s} {result['seconds']:8.1f} {result['seconds'] / first['seconds']:6.2f}x "
        f"{result['rss'] / _GB:7.2f} {result['rss'] / first['rss']:6.2f}x "
        f"{result['cpu']:8.1f} {result['cpu'] / first['cpu']:6.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--slices", default="10,1000,10000,100000")
    parser.add_argument(
        "--class-examples",
        default="1000",
        help="records of the class series; further counts split the cost of the most classes",
    )
    parser.add_argument("--classes", default="10,1000,10000,100000")
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    workdir = args.workdir or tempfile.mkdtemp(prefix="evaluator_scale_")
    os.makedirs(workdir, exist_ok=True)
    print(f"Scratch directory: {workdir}")
    slicings = [int(size) for size in args.slices.split(",")]
    data = write_slice_data(
        os.path.join(workdir, f"slices-{args.examples}-{'-'.join(map(str, slicings))}.tfrecord"),
        args.examples,
        slicings,
    )
    header = (
        f"{'run':28s} {'seconds':>8s} {'ratio':>7s} {'RSS GB':>7s} {'ratio':>7s} "
        f"{'CPU s':>8s} {'ratio':>7s}"
    )
    print(f"\nSlices: a binary head on {args.examples} records\n{header}")
    results = {}
    for size in slicings:
        job = {"kind": "slices", "data": data, "feature": f"s{size}"}
        result = measure({**job, "output": os.path.join(workdir, f"out-s{size}")})
        _check_slices(result, args.examples, size, slicings)
        results[size] = result
        slices = len(result["slice_counts"]) + 1
        print(_row(f"{size} values ({slices} slices)", result, results[slicings[0]]))
    records, *more_records = [int(count) for count in args.class_examples.split(",")]
    print(f"\nClasses: a multi-label head on {records} records\n{header}")
    classes = [int(size) for size in args.classes.split(",")]
    class_results = {}
    for size in classes:
        class_results[size] = measure_classes(workdir, size, records)
        print(_class_row(f"{size} classes", class_results[size], class_results[classes[0]]))
    multi_class = measure_classes(workdir, classes[-1], records, multi_class=True)
    print(_class_row(f"{classes[-1]} classes, multi-class", multi_class, class_results[classes[0]]))
    if more_records:
        runs = {records: class_results[classes[-1]]}
        runs.update({count: measure_classes(workdir, classes[-1], count) for count in more_records})
        _cost_split(classes[-1], runs)
    _targets(results, class_results, slicings, classes)


def measure_classes(workdir: str, size: int, records: int, multi_class: bool = False) -> dict:
    """The multi-label (or multi-class) evaluation of `size` classes on `records` records,
    with the time to read and parse them (`read_seconds`); checks the overall count and the
    per-class curves kept."""
    name = f"{'multi-class' if multi_class else 'classes'}-{size}-{records}"
    job = {"kind": "classes", "classes": size, "output": os.path.join(workdir, f"out-{name}")}
    job["multi_class"] = multi_class
    path = os.path.join(workdir, f"{name}.tfrecord")
    job["data"] = write_class_data(path, records, size, max_labels=1 if multi_class else 3)
    result = measure(job)
    assert result["overall"] == records, result
    curves = result["class_curves"][0]["classes"]
    assert curves == ("all" if size <= MAX_DEFAULT_CLASS_CURVES else []), curves
    result["read_seconds"] = measure({**job, "read_only": True})["seconds"]
    return result


def _class_row(name: str, result: dict, first: dict) -> str:
    """`_row` of a class run, with its read+parse time and how many classes have curves."""
    curves = result["class_curves"][0]["classes"]
    return (
        _row(name, result, first)
        + f"  read+parse {result['read_seconds']:.1f} s "
        + f"({result['seconds'] / result['read_seconds']:.1f}x)"
        + f"  per-class curves: {'all' if curves == 'all' else len(curves)}"
    )


def _cost_split(size: int, runs: dict) -> None:
    """Prints each run of `size` classes, then the line through the first and last: the
    evaluation's fixed cost and its cost per record, each against reading and parsing."""
    print(f"\n{size} classes on more records")
    for count, result in runs.items():
        ratio = result["seconds"] / result["read_seconds"]
        print(
            f"  {count} records: {result['seconds']:.1f} s, read+parse "
            f"{result['read_seconds']:.1f} s ({ratio:.1f}x)"
        )
    (first, low), (last, high) = list(runs.items())[0], list(runs.items())[-1]
    per_record = (high["seconds"] - low["seconds"]) / (last - first)
    read_per_record = (high["read_seconds"] - low["read_seconds"]) / (last - first)
    fixed = low["seconds"] - per_record * first
    # Tiny runs are noise: the reading may not even take longer on more records.
    ratio = f"{per_record / read_per_record:.1f}x" if read_per_record > 0 else "n/a"
    print(
        f"  fixed cost {fixed:.2f} s ({fixed / low['read_seconds']:.1f}x the read+parse of "
        f"{first} records); per record {1000 * per_record:.2f} ms against "
        f"{1000 * read_per_record:.2f} ms to read and parse ({ratio})"
    )


def _check_slices(result: dict, examples: int, size: int, slicings: list[int]) -> None:
    """Counts reconcile with the data: the overall slice holds every record, each slice its
    own, and the overall AUC is scikit-learn's on the logits (exact curves)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    labels, logits, values = slice_columns(examples, slicings)
    expected = np.bincount(values[size])
    assert result["overall"] == examples, result["overall"]
    assert result["slice_counts"] == sorted(expected[expected > 0].tolist()), size
    assert abs(result["auc"] - roc_auc_score(labels, logits)) < 1e-9, result["auc"]


def _targets(results: dict, class_results: dict, slicings: list, classes: list) -> None:
    print("\nTargets (issue #26):")
    if 10_000 in results:
        ratio = results[10_000]["seconds"] / results[slicings[0]]["seconds"]
        rss = results[10_000]["rss"] / _GB
        met = ratio <= 2 and rss < 2
        print(f"  10,000 slices: {ratio:.2f}x the time of 10, {rss:.2f} GB: {_met(met)}")
    if 100_000 in class_results:
        result = class_results[100_000]
        ratio = result["seconds"] / result["read_seconds"]
        rss = result["rss"] / _GB
        met = ratio <= 3 and rss < 3
        print(f"  100,000 classes: {ratio:.2f}x read+parse, {rss:.2f} GB: {_met(met)}")


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    main()
