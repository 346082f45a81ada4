"""Encoding many slices at once (`SliceEncoder.encode_many`) against one at a time.

10,000 slices of a binary head (about 20 metrics, one plot of about 100 thresholds each,
from a few real `SliceStats` results with their metric values varied), encoded by
`encode_many` in one call and by `SliceEncoder()` per slice, in the same run; prints
microseconds per slice (the best of `--repeats`), its parts, and the ratio.

    .venv/bin/python benchmarks/encode_slices.py [--slices 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def slice_results(count: int, seed: int = 0) -> list:
    """`count` `(slice key, SliceResult)` of a binary head with thresholds 0.3 and 0.7:
    8 real results (200 examples each, plots of at most 100 thresholds) reused in turn, each
    slice's metric values scaled by its own random factor."""
    import numpy as np

    import heads
    from tfx_heads.components.evaluator.combine import SliceStats
    from tfx_heads.components.evaluator.slicing import SliceBatch

    head = heads.describe(heads.BinaryClassHead(thresholds=[0.3, 0.7]))
    stats = SliceStats(head, max_plot_points=100)
    rng = np.random.default_rng(seed)
    bases = []
    for _ in range(8):
        batch = {"logits": rng.normal(size=(200, 1)), "labels": rng.integers(0, 2, 200)}
        bases.append(stats.finalize(stats.update(stats.create(), SliceBatch(batch, None))))
    factors = rng.uniform(0.5, 1.5, count)
    items = []
    for index in range(count):
        base = bases[index % len(bases)]
        metrics = {key: value * float(factors[index]) for key, value in base.metrics.items()}
        items.append(((("user", f"u{index}"),), base._replace(metrics=metrics)))
    return head, items


def best(function, repeats: int) -> float:
    """The least seconds of `repeats` calls of `function`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from tfx_heads.components.evaluator import tfma_records
    from tfx_heads.components.evaluator.encoding import SliceEncoder, count_keys, slice_entry
    from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout

    head, items = slice_results(args.slices)
    _, first = items[0]
    print(f"{len(items)} slices, {len(first.metrics)} metrics and {len(first.plots)} plot(s)")
    print(f"of {len(first.plots[0].thresholds)} thresholds each")
    encoder = SliceEncoder(head)
    assert encoder.encode_many(items[:50]) == [encoder(item) for item in items[:50]]
    layout, keys = HeadMetricLayout(head), count_keys(head)
    timings = {
        "one at a time (SliceEncoder per slice)": lambda: [encoder(item) for item in items],
        "encode_many": lambda: encoder.encode_many(items),
        "  tfma_metrics_many": lambda: tfma_records.tfma_metrics_many(items),
        "  tfma_plots_many": lambda: tfma_records.tfma_plots_many(items),
        "  entry_text (metrics.json entries)": lambda: [encoder.entry_text(i) for i in items],
        "  (json.dumps(slice_entry), as before)": lambda: [
            json.dumps(slice_entry(item, layout, keys)) for item in items
        ],
    }
    micros = {}
    for name, function in timings.items():
        micros[name] = best(function, args.repeats) / len(items) * 1e6
        print(f"{name:42s} {micros[name]:8.1f} us/slice")
    one, many = micros[next(iter(timings))], micros["encode_many"]
    print(f"ratio (one at a time / encode_many): {one / many:.1f}x")


if __name__ == "__main__":
    main()
