"""The evaluator with a baseline model against without, on the same data in the same run.

`HeadEvaluator` with a baseline evaluates both models in one Beam pass (the records are read
and parsed once, then each model infers, and each model's statistics are combined and
written into its own directory). This times `tfx_heads.components.evaluator.runner.evaluate` (what
the executor runs) on the data of `evaluator_vs_tfma.py` (the taxi sample repeated to
`--examples` gzipped records over `--files` files, the taxi MultiHead, one slicing):

- **model only**: `evaluate(..., model=m)`;
- **with a baseline, one pass**: `evaluate(..., model=m, baseline_model=b)`;
- **two passes**: `evaluate` of each model on its own, one after the other (what the executor
  did before).

The baseline is a copy of the model in another directory: it costs the same to load and to
run. A first small evaluation warms the process up (imports, TFMA's writers), so that no
mode pays for it; each mode then runs `--repeats` times, interleaved, and its fastest run is
reported with its ratio to the model alone.

    .venv/bin/python benchmarks/evaluator_baseline.py [--examples 200000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from evaluator_vs_tfma import SLICE, build_data, build_model, count_records  # noqa: E402


def run(pattern: str, output: str, model: str, baseline: str | None, batch_size: int) -> float:
    """Seconds of one `evaluate` call (with the baseline in the same pass when given)."""
    from tfx_heads.components.evaluator import runner

    started = time.perf_counter()
    runner.evaluate(
        pattern,
        output,
        model=model,
        baseline_model=baseline,
        slices=[SLICE],
        batch_size=batch_size,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one)")
    args = parser.parse_args()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    workdir = args.workdir or tempfile.mkdtemp(prefix="evaluator_baseline_")
    print(f"Scratch directory: {workdir}")

    pattern, subset = build_data(workdir, args.examples, args.files, 5000)
    model = build_model(workdir)
    baseline = os.path.join(workdir, "baseline_model")
    if not os.path.exists(baseline):
        shutil.copytree(model, baseline)
    total = count_records(pattern)
    run(subset, os.path.join(workdir, "warm_up"), model, None, args.batch_size)

    def two_passes(output: str) -> float:
        return run(pattern, output, model, None, args.batch_size) + run(
            pattern, os.path.join(output, "baseline"), baseline, None, args.batch_size
        )

    modes = {
        "model only": lambda output: run(pattern, output, model, None, args.batch_size),
        "with a baseline, one pass": lambda output: run(
            pattern, output, model, baseline, args.batch_size
        ),
        "two passes (before)": two_passes,
    }
    seconds: dict[str, list[float]] = {name: [] for name in modes}
    for repeat in range(args.repeats):
        for index, (name, timed) in enumerate(modes.items()):
            seconds[name].append(timed(os.path.join(workdir, f"eval_{index}_{repeat}")))

    alone = min(seconds["model only"])
    print(f"\n{total} examples, {args.files} files, batch {args.batch_size}, in-process:")
    print(f"  {'mode':28s} {'seconds':>8s} {'vs model only':>14s}   (every run)")
    for name, values in seconds.items():
        runs = ", ".join(f"{value:.1f}" for value in values)
        print(f"  {name:28s} {min(values):8.1f} {min(values) / alone:13.2f}x   ({runs})")


if __name__ == "__main__":
    main()
