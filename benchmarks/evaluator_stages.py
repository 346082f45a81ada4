"""Where the head evaluator's time goes: its per-batch stages timed one after another.

Part of `evaluator_vs_tfma.py`: without Beam, in this process, it runs the stages
`transforms.batch_stages` gives, then the statistics, and sizes the accumulators a worker
ships per bundle.
"""

from __future__ import annotations

import glob
import pickle
import tempfile
import time

from apache_beam.pvalue import TaggedOutput

from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.slicing import GROUPS_TAG

STAGE_NAMES = {
    constants.READ_STAGE: "read (tf.data, gunzip)",
    constants.PARSE_STAGE: "parse labels and slice features",
    constants.INFER_STAGE: "infer (predict signature)",
    constants.PREPARE_STAGE: "labels and checks",
    constants.SLICE_STAGE: "slice rows",
}
"""The breakdown's name of each of the evaluator's per-batch stages (by Beam label)."""


def stage_breakdown(
    pattern: str, model_dir: str, batch_size: int, limit: int, slice_feature: str
) -> dict:
    """Seconds per stage of the evaluator run one after another, without Beam: the stages
    `transforms.batch_stages` gives, in its order, then the statistics of `slice_stats`."""
    from tfx_heads.components.evaluator import transforms
    from tfx_heads.components.evaluator.config import build_config
    from tfx_heads.components.evaluator.options import EvaluationOptions
    from tfx_heads.components.evaluator.tfma_records import tfma_metrics, tfma_plots

    options = EvaluationOptions(slices=[slice_feature], batch_size=batch_size)
    config = build_config(pattern, tempfile.mkdtemp(), options, model=model_dir)
    stages = {STAGE_NAMES[label]: stage for label, stage in transforms.batch_stages(config)}
    for stage in stages.values():
        if hasattr(stage, "setup"):
            stage.setup()
    slice_stats = transforms.slice_stats(config)
    group_stats = transforms.group_stats(config)
    seconds = dict.fromkeys([*stages, "statistics (HeadStats.update)", "finalize and plots"], 0.0)
    accumulators: dict = {}
    examples = 0
    for path in sorted(glob.glob(pattern)):
        examples = _time_file(
            path, stages, (slice_stats, group_stats), accumulators, seconds, examples, limit
        )
        if examples >= limit:
            break
    started = time.perf_counter()
    for key, accumulator in accumulators.items():
        if isinstance(key, _Group):
            results = group_stats.finalize(accumulator)
        else:
            results = [(key, slice_stats.finalize(accumulator))]
        for item in results:
            tfma_metrics(item)
            tfma_plots(item)
    seconds["finalize and plots"] = time.perf_counter() - started
    return {
        "examples": examples,
        "seconds": seconds,
        "slices": len(accumulators),
        "wire_bytes": _wire_bytes(accumulators.values()),
    }


class _Group(int):
    """The key of a slice group's accumulator (`slice_groups`)."""


def _time_file(
    path: str,
    stages: dict,
    statistics: tuple,
    accumulators: dict,
    seconds: dict[str, float],
    examples: int,
    limit: int,
) -> int:
    """Runs one file's batches through `stages` into `accumulators` until `limit` examples,
    adding each stage's seconds to `seconds`; returns the examples read so far.
    `statistics`: the `SliceStats` of a slice and the `SliceGroupStats` of a group (or
    None)."""
    names = list(stages)
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
            items = _one_bundle(stages[name], items)
            items = [
                _keyed(item) for item in items if getattr(item, "tag", GROUPS_TAG) == GROUPS_TAG
            ]
            seconds[name] += time.perf_counter() - started
        started = time.perf_counter()
        for key, item in items:
            stats = statistics[isinstance(key, _Group)]
            if key not in accumulators:
                accumulators[key] = stats.create()
            stats.update(accumulators[key], item)
        seconds["statistics (HeadStats.update)"] += time.perf_counter() - started
    return examples


def _keyed(item):
    """A stage's `(key, value)`; a slice group's key (tagged `GROUPS_TAG`) as a `_Group`."""
    if hasattr(item, "tag"):
        group, value = item.value
        return _Group(group), value
    return item


def _one_bundle(stage, items: list) -> list:
    """What `stage` emits for `items` as one bundle (a stage may hold items until the
    bundle's end, as `SliceBatches` does)."""
    stage.start_bundle()
    out = [result for item in items for result in stage.process(item)]
    for finished in stage.finish_bundle() or ():
        if isinstance(finished, TaggedOutput):
            out.append(TaggedOutput(finished.tag, finished.value.value))
        else:
            out.append(finished.value)
    return out


def _wire_bytes(accumulators) -> dict[str, int]:
    """The accumulators' bytes as plain pickle and as the evaluator's `AccumulatorCoder`."""
    from tfx_heads.components.evaluator.coders import AccumulatorCoder

    values = list(accumulators)
    return {
        "pickle": sum(len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)) for value in values),
        "AccumulatorCoder": sum(len(AccumulatorCoder().encode(value)) for value in values),
    }


def print_breakdown(breakdown: dict, total: int, in_process: float) -> None:
    """Where the evaluator's time goes, stage by stage, and how it adds up to the Beam run
    of `total` examples that took `in_process` seconds."""
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
    per_example = (busy - seconds["finalize and plots"]) / count
    rest = in_process - per_example * total - seconds["finalize and plots"]
    print(
        f"  In the Beam run of {total} examples ({in_process:.1f} s), these stages account for "
        f"about {per_example * total + seconds['finalize and plots']:.1f} s; the other "
        f"{max(rest, 0.0):.1f} s are fixed costs (Beam start-up and stage set-up, the model "
        "load, TFMA's writers), less the overlap of reading with the other stages."
    )
