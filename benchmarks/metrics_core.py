"""Speed and accuracy of the metric statistics in `heads.stats` (NumPy, one core).

Speed: examples per second of each statistics update, timed side by side in one run
against a raw read of the same arrays (one `sum` over every input array, batch by batch),
so the ratios hold on any machine even when the absolute numbers move. Rows:

- binary, AUC histogram only (bucketize + scatter-add);
- binary `BinaryStats.update` with the per-example loss supplied (as the evaluator does for
  a custom `loss_fn`), and with the default loss computed and three thresholds: exact
  curves (the default, `heads.stats.score_counts`) on 2**20 distinct scores, then on
  `--examples` distinct scores (over the budget: exact counts until they overflow, then
  the histogram), and histogram only (`max_exact_scores=0`);
- 1,000-class multi-label `MultilabelStats.update` (default loss computed): pooled metrics
  only, then with per-class statistics for every class at the full 2**16 resolution (1 GiB
  accumulator), at 2**12 (64 MiB) and at the default resolution (2**10, 16 MiB); and, for
  one batch, the per-class scatter-add against the per-batch alternative it avoids (a
  `bincount` of the histogram's size per batch);
- 1,000-class multi-class `MulticlassStats.update`: the head's keys only, then with
  one-vs-rest statistics for every class (the evaluator's default) at the default
  resolution, exact and histogram only; and the size and pickling time of the default
  accumulator.

Every timed run ends by sorting in the exact counts still pending, so exact rows include
all their cost.

Accuracy: AUC, PR AUC (Keras interpolation) and average precision from the default
2**16-bucket logit histogram against exact sort-based references (scikit-learn's
`roc_auc_score` and `average_precision_score`; a NumPy sort for the interpolated PR AUC),
on uniform, skewed (1% positives, scores mostly below 0.01), near-perfect and heavily tied
(101 distinct values) scores, with the guaranteed error bound reported beside each error.

Run from the repository root: `python benchmarks/metrics_core.py` (defaults finish in
about a minute on two cores); `--help` lists the sizes.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # one core: examples/s are per core

import argparse  # noqa: E402
import pathlib  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from heads.stats import BinaryStats, MulticlassStats, MultilabelStats, binary_curve  # noqa: E402
from heads.stats.curve import _binary_curve_update  # noqa: E402
from heads.stats.histogram import bucketize  # noqa: E402
from heads.stats.inputs import binary_labels  # noqa: E402
from heads.stats.per_class import default_class_num_buckets  # noqa: E402
from heads.stats.score_counts import ScoreCounts  # noqa: E402


def _best_seconds(function: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _batches(arrays: dict[str, np.ndarray], batch_size: int) -> list[dict[str, np.ndarray]]:
    size = len(next(iter(arrays.values())))
    return [
        {key: value[start : start + batch_size] for key, value in arrays.items()}
        for start in range(0, size, batch_size)
    ]


def _finish(stats: dict) -> None:
    """Sorts in the rows the exact counts still hold pending (part of their cost)."""
    for value in stats.values():
        if isinstance(value, dict):
            _finish(value)
        elif isinstance(value, ScoreCounts) and value.n_curves:
            value.curve_counts(0)


def _raw_read(batches: list[dict[str, np.ndarray]]) -> None:
    for batch in batches:
        for value in batch.values():
            value.sum()


def _updater(stats_obj, batches: list[dict[str, np.ndarray]]) -> Callable[[], None]:
    """A run of `stats_obj`'s update over every batch, from empty statistics to sorted rows."""

    def update_all() -> None:
        stats = stats_obj.create()
        for batch in batches:
            stats_obj.update(stats, batch)
        _finish(stats)

    return update_all


def _speed_rows(args: argparse.Namespace) -> list[tuple[str, int, float, float]]:
    """Returns (name, examples, seconds, raw-read seconds) per measured update."""
    rng = np.random.default_rng(args.seed)
    return _binary_rows(args, rng) + _multilabel_rows(args, rng) + _multiclass_rows(args, rng)


def _binary_rows(
    args: argparse.Namespace, rng: np.random.Generator
) -> list[tuple[str, int, float, float]]:
    """A binary head's statistics: the AUC histogram alone, then `BinaryStats` variants."""
    size = args.examples
    logits = (rng.normal(size=size) * 3).astype(np.float32)
    arrays = {
        "logits": logits,
        "labels": (rng.random(size) < 1 / (1 + np.exp(-logits))).astype(np.float32),
        "weights": rng.random(size).astype(np.float32),
    }
    with_loss = dict(arrays, unreduced_loss=rng.random(size).astype(np.float32))
    batches, loss_batches = _batches(arrays, args.batch_size), _batches(with_loss, args.batch_size)
    raw = _best_seconds(lambda: _raw_read(batches), args.repeats)
    raw_with_loss = _best_seconds(lambda: _raw_read(loss_batches), args.repeats)

    def histogram_only() -> None:
        histogram = np.zeros((2, 2**16))
        for batch in batches:
            weights = batch["weights"].astype(np.float64)
            labels = binary_labels(batch["labels"])
            _binary_curve_update(histogram, batch["logits"], labels, weights)

    thresholds = (0.25, 0.5, 0.75)
    within = min(size, 2**20)
    within_batches = _batches({k: v[:within] for k, v in arrays.items()}, args.batch_size)
    raw_within = _best_seconds(lambda: _raw_read(within_batches), args.repeats)
    histogram_stats = BinaryStats(thresholds, max_exact_scores=0)
    return [
        ("binary: AUC histogram only", size, _best_seconds(histogram_only, args.repeats), raw),
        (
            "binary: BinaryStats, loss supplied",
            size,
            _best_seconds(_updater(BinaryStats(), loss_batches), args.repeats),
            raw_with_loss,
        ),
        (
            f"binary: + loss, 3 thresholds, exact ({within:.2g} scores)",
            within,
            _best_seconds(_updater(BinaryStats(thresholds), within_batches), args.repeats),
            raw_within,
        ),
        (
            f"binary: + loss, 3 thresholds, over the budget ({size:.2g})",
            size,
            _best_seconds(_updater(BinaryStats(thresholds), batches), args.repeats),
            raw,
        ),
        (
            "binary: + loss, 3 thresholds, histogram only",
            size,
            _best_seconds(_updater(histogram_stats, batches), args.repeats),
            raw,
        ),
    ]


def _multilabel_rows(
    args: argparse.Namespace, rng: np.random.Generator
) -> list[tuple[str, int, float, float]]:
    """A multi-label head's statistics: pooled, then per class at several resolutions."""
    classes, size = args.classes, args.multilabel_examples
    logits = (rng.normal(size=(size, classes)) * 2 - 2).astype(np.float32)
    arrays = {
        "logits": logits,
        "labels": (rng.random((size, classes)) < 1 / (1 + np.exp(-logits))).astype(np.float32),
        "weights": rng.random(size).astype(np.float32),
    }
    batches = _batches(arrays, args.multilabel_batch_size)
    raw = _best_seconds(lambda: _raw_read(batches), args.repeats)
    every_class = tuple(range(classes))
    # The default is what the evaluator uses when the head selects no classes
    # (stats_for_head): every class at the finest resolution within 16 MiB.
    default_buckets = default_class_num_buckets(classes, 2**16)
    per_class = {"classes_for_class_based_metrics": every_class}
    variants = {  # in the order they run
        "full": dict(per_class, class_num_buckets=2**16),
        "coarse": dict(per_class, class_num_buckets=2**12),
        "pooled": {},
        "default": dict(per_class, class_num_buckets=default_buckets),
        "histogram": dict(per_class, class_num_buckets=default_buckets, max_exact_scores=0),
    }
    seconds = {}
    for name, options in variants.items():
        stats_obj = MultilabelStats(classes, thresholds=(0.5,), **options)
        seconds[name] = _best_seconds(_updater(stats_obj, batches), args.repeats)
    title = f"multi-label {classes} classes:"
    return [
        (f"{title} pooled metrics only", size, seconds["pooled"], raw),
        (f"{title} + per-class, 2**16 buckets", size, seconds["full"], raw),
        (f"{title} + per-class, 2**12 buckets", size, seconds["coarse"], raw),
        (
            f"{title} + per-class, default 2**{default_buckets.bit_length() - 1} buckets",
            size,
            seconds["default"],
            raw,
        ),
        (f"{title} + per-class, default buckets, histogram only", size, seconds["histogram"], raw),
        *_scatter_rows(args, classes, batches[0]),
    ]


def _scatter_rows(
    args: argparse.Namespace, classes: int, batch: dict[str, np.ndarray]
) -> list[tuple[str, int, float, float]]:
    """The per-class scatter-add of one batch against the alternative it avoids: a bincount
    of the whole `[C, 2, N]` histogram per batch (allocates and adds `16 * N * C` bytes)."""
    buckets = bucketize(batch["logits"], 2**16, 16.0)
    index = buckets + np.arange(classes) * 2**17 + 2**16 * (batch["labels"] != 0)
    weights = np.repeat(batch["weights"].astype(np.float64), classes)
    histograms = np.zeros(classes * 2 * 2**16)  # the dense per-class histograms

    def bincount_one_batch() -> None:
        histograms[:] += np.bincount(index.ravel(), weights, minlength=histograms.size)

    def add_at_one_batch() -> None:
        np.add.at(histograms, index.ravel(), weights)

    rows_in_batch = len(batch["weights"])
    bincount = _best_seconds(bincount_one_batch, 1)
    add_at = _best_seconds(add_at_one_batch, args.repeats)
    raw_one = _best_seconds(lambda: _raw_read([batch]), args.repeats)
    return [
        (
            f"  per-class scatter-add (np.add.at), one batch of {rows_in_batch}",
            rows_in_batch,
            add_at,
            raw_one,
        ),  # fmt: skip
        (
            f"  per-batch bincount of the {classes}-class histogram instead",
            rows_in_batch,
            bincount,
            raw_one,
        ),  # fmt: skip
    ]


def _multiclass_rows(
    args: argparse.Namespace, rng: np.random.Generator
) -> list[tuple[str, int, float, float]]:
    """A multi-class head's statistics: head keys only, then one-vs-rest for every class."""
    classes, size = args.classes, args.multilabel_examples
    labels = rng.integers(0, classes, size)
    logits = (rng.normal(size=(size, classes)) + 3 * np.eye(classes)[labels]).astype(np.float32)
    batches = _batches({"logits": logits, "labels": labels}, args.multilabel_batch_size)
    raw = _best_seconds(lambda: _raw_read(batches), args.repeats)
    rows = []
    every_class = tuple(range(classes))
    for title, selected, budget in (
        ("head keys only", (), 0),
        ("+ every class, exact", every_class, 2**20),
        ("+ every class, histogram only", every_class, 0),
    ):
        stats_obj = MulticlassStats(
            classes, classes_for_class_based_metrics=selected, max_exact_scores=budget
        )
        seconds = _best_seconds(_updater(stats_obj, batches), args.repeats)
        rows.append((f"multi-class {classes} classes: {title}", size, seconds, raw))
    return rows


def _accumulator_size(classes: int) -> tuple[float, float]:
    """MiB and pickling seconds of the default every-class multi-label accumulator."""
    stats_obj = MultilabelStats(classes, classes_for_class_based_metrics=tuple(range(classes)))
    stats = stats_obj.create()
    start = time.perf_counter()
    size = len(pickle.dumps(stats, protocol=pickle.HIGHEST_PROTOCOL))
    return size / 2**20, time.perf_counter() - start


def _keras_pr_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Keras' interpolated PR AUC with one threshold per distinct score (sort-based)."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), len(scores) - 1]
    tp = np.r_[0.0, np.cumsum(sorted_labels)[last]]
    predicted = np.r_[0.0, last + 1.0]
    d_tp, d_p = np.diff(tp), np.diff(predicted)
    slope = d_tp / d_p
    intercept = tp[:-1] - slope * predicted[:-1]
    ratio = np.ones_like(d_tp)
    positive = predicted[:-1] > 0
    ratio[positive] = predicted[1:][positive] / predicted[:-1][positive]
    return float(np.sum(slope * (d_tp + intercept * np.log(ratio))) / tp[-1])


def _distribution(rng: np.random.Generator, kind: str, size: int):
    if kind == "uniform":
        p = rng.random(size)
        labels = rng.random(size) < p
    elif kind == "skewed":
        labels = rng.random(size) < 0.01
        p = np.where(labels, rng.beta(2, 20, size), rng.beta(1, 300, size))
    elif kind == "near-perfect":
        labels = rng.random(size) < 0.3
        p = np.where(labels, rng.beta(8, 1, size), rng.beta(1, 8, size))
    else:  # tied: 101 distinct probabilities
        p = np.round(rng.random(size), 2)
        labels = rng.random(size) < p
    p = np.clip(p, 1e-7, 1 - 1e-7).astype(np.float32)
    logits = np.log(p.astype(np.float64)) - np.log1p(-p.astype(np.float64))
    return logits, labels.astype(np.float64)


def _accuracy_rows(args: argparse.Namespace) -> list[tuple[str, ...]]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(args.seed + 1)
    rows = []
    for kind in ("uniform", "skewed", "near-perfect", "tied"):
        logits, labels = _distribution(rng, kind, args.accuracy_examples)
        metrics = binary_curve(logits, labels, max_exact_scores=0)
        references = (
            roc_auc_score(labels, logits),
            _keras_pr_auc(logits, labels),
            average_precision_score(labels, logits),
        )
        errors = (
            abs(metrics.auc - references[0]),
            abs(metrics.auc_precision_recall - references[1]),
            abs(metrics.average_precision - references[2]),
        )
        exact = binary_curve(logits, labels, max_exact_scores=len(logits))
        exact_error = max(
            abs(exact.auc - references[0]),
            abs(exact.auc_precision_recall - references[1]),
            abs(exact.average_precision - references[2]),
        )
        bounds = (
            metrics.auc_error_bound,
            metrics.auc_precision_recall_error_bound,
            metrics.average_precision_error_bound,
        )
        rows.append(
            (
                kind,
                *(
                    f"{error:.1e} ({bound:.1e})"
                    for error, bound in zip(errors, bounds, strict=True)
                ),
                f"{exact_error:.1e}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=4_000_000, help="binary examples")
    parser.add_argument("--batch-size", type=int, default=65_536, help="binary batch size")
    parser.add_argument("--classes", type=int, default=1000, help="multi-label classes")
    parser.add_argument("--multilabel-examples", type=int, default=8_000)
    parser.add_argument("--multilabel-batch-size", type=int, default=1_000)
    parser.add_argument("--accuracy-examples", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"NumPy {np.__version__}, one thread; best of {args.repeats} runs.\n")
    print(f"{'statistics update':<60} {'examples/s':>12} {'x raw read':>11}")
    for name, examples, seconds, raw in _speed_rows(args):
        print(f"{name:<60} {examples / seconds:>12.3g} {seconds / raw:>11.1f}")
    mebibytes, pickle_seconds = _accumulator_size(args.classes)
    print(
        "\nRaw read: one sum over each input array, batch by batch. Per-class histograms: "
        f"{16 * 2**16 * args.classes / 2**30:.2f} GiB per accumulator at 2**16 buckets "
        f"({args.classes} classes x 2 x 2**16 float64); at the default resolution the whole "
        f"accumulator pickles to {mebibytes:.1f} MiB in {pickle_seconds * 1e3:.0f} ms."
    )
    print(f"\n|error| (guaranteed bound) against exact sort-based references, "
          f"{args.accuracy_examples:.0e} examples, histogram only (2**16 buckets on [-16, 16]), "
          "and the largest error of the exact curves (budget raised to every score):")  # fmt: skip
    header = ("scores", "AUC", "AUC-PR", "average precision", "exact: max |error|")
    print(f"{header[0]:<14}" + "".join(f"{column:>24}" for column in header[1:]))
    for row in _accuracy_rows(args):
        print(f"{row[0]:<14}" + "".join(f"{column:>24}" for column in row[1:]))


if __name__ == "__main__":
    main()
