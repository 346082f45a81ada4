"""Exact weight per distinct score, split by label: the state of exact ROC/PR curves.

A logit histogram (`heads.stats.histogram`) has a fixed size but loses the order of the
examples inside a bucket, so its curves come with error bounds. While a curve has seen at
most `max_scores` distinct scores, `ScoreCounts` keeps, for each distinct score key, the
total negative and positive weight, from which `heads.stats.curve` computes ROC AUC, PR AUC
and average precision with no approximation (error bound 0). A curve that exceeds the budget
drops its counts for good and its metrics come from the histogram, which is always kept.

Keys are the log-odds of the scores: the logits of binary and multi-label heads, the float64
one-vs-rest log-odds of multi-class heads (`heads.stats.losses.multiclass_softmax`). Each
distinct key is one threshold, so the curves equal a sort-based computation on the keys
(scikit-learn's `roc_auc_score` on the logits, or on float64 probabilities wherever those do
not round to 0 or 1: a float64 sigmoid is 1.0 for every logit above about 36.7, which would
tie what the model ranks). A NaN key has no place in the order: its curve falls back to the
histogram.

Cost: batches are kept as they are until the pending (row, curve) cells reach 2**20 or
outnumber the kept keys; then each curve's pending rows are sorted, their equal keys summed
and the result merged with the kept keys (a merge of two sorted runs). So each row is
sorted once and merged a few times (`benchmarks/metrics_core.py` prints the rates of exact
and histogram-only statistics). A fold whose keys could pass the budget first counts its
distinct keys with one sort of the values, so a curve that goes over (the pooled curve of a
head of 100,000 classes does at its first fold) drops its counts for that sort alone.
Merging two states merges their sorted keys. The result does not depend on batch sizes,
worker counts or merge order (up to float64 rounding of the weight sums), and whether a
curve is exact depends only on the data: a part never has more distinct scores than the
whole.

Memory: 20 bytes a kept key (float32 logit and two float64 weights; 24 for float64 keys),
at most `ACCUMULATOR_BUDGET_FACTOR * max_scores` keys per `ScoreCounts` (about 100 MiB at
the default budget of 2**20), plus at most 2**20 pending cells (or as many as kept keys) of
a key, a label and the batch's weights.

>>> counts = ScoreCounts(n_curves=1, max_scores=4)
>>> counts.add(np.array([[0.5], [-1.0], [0.5]]), np.array([[True], [False], [False]]), None)
>>> keys, negatives, positives = counts.curve_counts(0)
>>> keys.tolist(), negatives.tolist(), positives.tolist()
([-1.0, 0.5], [1.0, 1.0], [0.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from heads.stats.inputs import invalid

__all__ = [
    "ACCUMULATOR_BUDGET_FACTOR",
    "DEFAULT_MAX_EXACT_SCORES",
    "ScoreCounts",
    "validate_max_exact_scores",
]

DEFAULT_MAX_EXACT_SCORES = 2**20
"""Distinct scores a curve may have and still be computed exactly."""

_MIN_PENDING_CELLS = 2**20
"""Pending (row, curve) cells gathered before the first sort: fewer, larger sorts."""

ACCUMULATOR_BUDGET_FACTOR = 4
"""All the curves of one `ScoreCounts` together keep at most this many times `max_scores`
distinct keys (about 100 MiB at the default budget); beyond, all of them drop their counts,
so a head with many per-class curves cannot hold one key per example and class."""


def validate_max_exact_scores(max_scores: Any) -> int:
    """Checks the exact-curve budget: an int >= 0 (0 turns exact curves off)."""
    if isinstance(max_scores, bool) or not isinstance(max_scores, (int, np.integer)):
        raise TypeError(invalid("max_exact_scores", "an int >= 0", max_scores))
    if max_scores < 0:
        raise ValueError(invalid("max_exact_scores", "an int >= 0", max_scores))
    return int(max_scores)


_Counts = tuple[np.ndarray, np.ndarray, np.ndarray]
"""`(keys, negatives, positives)`: sorted distinct keys and their label-split weights."""


def _grouped(keys: np.ndarray, negatives: np.ndarray, positives: np.ndarray) -> _Counts:
    """Sums the weights of equal keys; `keys` must be sorted."""
    if keys.size == 0:
        return keys, negatives, positives
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    if starts.size == keys.size:
        return keys, negatives, positives
    return keys[starts], np.add.reduceat(negatives, starts), np.add.reduceat(positives, starts)


_SMALL_SORT = 1024
"""Up to this many float32 keys `_sort_order` takes one stable sort of the 32-bit form."""


def sortable_bits(keys: np.ndarray) -> np.ndarray:
    """uint32 `[M]` of float32 keys in the same order (NaN-free): their bits with the sign
    bit flipped for positives and all bits flipped for negatives."""
    bits = keys.view(np.uint32)
    return bits ^ np.where(bits >> 31, np.uint32(0xFFFFFFFF), np.uint32(0x80000000))


def sixteen_bit_halves(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint16 `(low, high)` halves of uint32 `bits`, least significant first (the order
    `stable_radix_order` takes its columns in)."""
    return bits.astype(np.uint16), (bits >> 16).astype(np.uint16)


def stable_radix_order(*columns: np.ndarray) -> np.ndarray:
    """The stable permutation sorting rows by `columns` (uint16 arrays, least significant
    first), one `argsort(kind="stable")` each: NumPy's radix sort for 16-bit integers."""
    order = np.argsort(columns[0], kind="stable")
    for column in columns[1:]:
        order = order[np.argsort(column[order], kind="stable")]
    return order


def _sort_order(keys: np.ndarray) -> np.ndarray:
    """The permutation that sorts `keys` (NaN-free).

    float32 keys take two stable radix passes over 16-bit halves of their order-preserving
    unsigned form (sign bit flipped for positives, all bits for negatives): NumPy's
    `argsort(kind="stable")` is a radix sort for 16-bit integers, and the two passes take
    about half the time of a float `argsort`. Other dtypes use `argsort`.
    """
    if keys.dtype != np.float32:
        return np.argsort(keys)
    sortable = sortable_bits(keys)
    if keys.size <= _SMALL_SORT:  # one stable sort: the same order, fewer calls
        return np.argsort(sortable, kind="stable")
    return stable_radix_order(*sixteen_bit_halves(sortable))


def _joined(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]) -> tuple:
    """`(keys, positive, weights)` of pending parts in order (bool `positive`; weights None
    when every part has weight 1)."""
    if len(parts) == 1:
        keys, positive, weights = parts[0]
        return keys, positive.astype(bool, copy=False), weights
    keys = np.concatenate([part[0] for part in parts])
    positive = np.concatenate([part[1] for part in parts]).astype(bool, copy=False)
    weights = None
    if any(part[2] is not None for part in parts):
        weights = np.concatenate([np.ones(len(p[0])) if p[2] is None else p[2] for p in parts])
    return keys, positive, weights


def _sorted_counts(keys: np.ndarray, negatives: np.ndarray, positives: np.ndarray) -> _Counts:
    order = _sort_order(keys)
    return _grouped(keys[order], negatives[order], positives[order])


def _distinct_count(kept: np.ndarray, new: np.ndarray) -> int:
    """How many distinct keys `kept` and `new` hold together (NaN-free; equal as floats, as
    `_grouped` sums them): one sort of the values, several times cheaper than the ordering
    `_sorted_counts` needs to carry the weights along."""
    keys = np.sort(np.concatenate([kept, new]) if kept.size else new)
    return int(np.count_nonzero(keys[1:] != keys[:-1])) + int(keys.size > 0)


def _merged_counts(first: _Counts, second: _Counts) -> _Counts:
    """The counts of both (each sorted); a stable sort merges two sorted runs in O(n)."""
    if first[0].size == 0:
        return second
    if second[0].size == 0:
        return first
    keys, negatives, positives = (np.concatenate(pair) for pair in zip(first, second, strict=True))
    order = np.argsort(keys, kind="stable")
    return _grouped(keys[order], negatives[order], positives[order])


class ScoreCounts:
    """Exact label-split weights per distinct score key of `n_curves` curves.

    A curve drops its counts (and its metrics come from its histogram) once it has more
    than `max_scores` distinct keys; all curves drop them once they hold more than
    `ACCUMULATOR_BUDGET_FACTOR * max_scores` together. Both tests only grow as data are
    added or merged, so which curves are exact depends on the data alone.

    Args:
        n_curves: number of curves (1 for a binary head, one per class for per-class
            curves).
        max_scores: the most distinct keys a curve keeps (0: none, histograms only).
    """

    def __init__(self, n_curves: int, max_scores: int = DEFAULT_MAX_EXACT_SCORES) -> None:
        self.max_scores = validate_max_exact_scores(max_scores)
        empty = (np.zeros(0), np.zeros(0), np.zeros(0))
        self._counts: list[_Counts | None] = [
            empty if self.max_scores else None for _ in range(n_curves)
        ]
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        self._pending_cells = 0

    @property
    def n_curves(self) -> int:
        return len(self._counts)

    def _kept_keys(self) -> int:
        return sum(counts[0].size for counts in self._counts if counts is not None)

    def add(self, keys: np.ndarray, positive: np.ndarray, weights: np.ndarray | None) -> None:
        """Adds a batch (kept as it is until enough rows are pending to sort them).

        Args:
            keys: float `[M, n_curves]` score keys.
            positive: bool or 0/1 `[M, n_curves]`, which rows count as positives.
            weights: float64 `[M]` example weights, or None for weight 1.
        """
        if all(counts is None for counts in self._counts):
            return
        self._pending.append((keys, positive, weights))
        self._pending_cells += keys.size
        if self._pending_cells >= max(_MIN_PENDING_CELLS, self._kept_keys()):
            self._fold()

    def _fold(self) -> None:
        """Sorts the pending rows into every curve's counts and applies the budgets."""
        if not self._pending:
            return
        keys, positive, weights = _joined(self._pending)
        self._pending, self._pending_cells = [], 0
        for index, counts in enumerate(self._counts):
            if counts is None:
                continue
            column = keys[:, index]
            if np.isnan(column).any():  # NaN has no place in the order
                self._counts[index] = None
                continue
            if self._over_budget(counts[0], column):
                self._counts[index] = None
                continue
            if weights is None:
                positives = positive[:, index].astype(np.float64)
                negatives = 1.0 - positives
            else:
                positives = np.where(positive[:, index], weights, 0.0)
                negatives = weights - positives
            new = _sorted_counts(column, negatives, positives)
            self._counts[index] = self._within_budget(_merged_counts(counts, new))
        self._apply_accumulator_budget()

    def _over_budget(self, kept: np.ndarray, new: np.ndarray) -> bool:
        """Whether the kept keys and the new ones hold more than `max_scores` distinct keys,
        counted before the new keys are ordered and grouped: a curve of 100,000 classes' cells
        goes over at its first fold, and this count is what that fold then costs."""
        if kept.size + new.size <= self.max_scores:
            return False
        return _distinct_count(kept, new) > self.max_scores

    def _within_budget(self, counts: _Counts) -> _Counts | None:
        return None if counts[0].size > self.max_scores else counts

    def _apply_accumulator_budget(self) -> None:
        if self._kept_keys() > ACCUMULATOR_BUDGET_FACTOR * self.max_scores:
            self._counts = [None] * self.n_curves

    def curve_counts(self, index: int) -> _Counts | None:
        """`(keys, negatives, positives)` of curve `index`, sorted by key, or None if the
        curve has no exact counts (over a budget, or a NaN key)."""
        self._fold()
        return self._counts[index]

    def check_compatible(self, other: Any) -> None:
        """Raises ValueError unless `other` is a `ScoreCounts` of as many curves and budget."""
        expected = (self.n_curves, self.max_scores)
        received = (other.n_curves, other.max_scores) if isinstance(other, ScoreCounts) else other
        if received != expected:
            raise ValueError(
                invalid("second", f"ScoreCounts of (curves, budget) {expected}", received)
            )

    def merge_from(self, other: ScoreCounts) -> ScoreCounts:
        """Adds `other` into this object (in place) and returns it. `other`'s counts are
        unchanged (its pending rows get sorted in)."""
        self.check_compatible(other)
        self._fold()
        other._fold()
        for index, (counts, other_counts) in enumerate(
            zip(self._counts, other._counts, strict=True)
        ):
            if counts is not None and other_counts is not None:
                self._counts[index] = self._within_budget(_merged_counts(counts, other_counts))
            else:
                self._counts[index] = None
        self._apply_accumulator_budget()
        return self

    def merged(self, other: ScoreCounts) -> ScoreCounts:
        """A new object holding both inputs' counts."""
        return ScoreCounts(self.n_curves, self.max_scores).merge_from(self).merge_from(other)

    def __getstate__(self) -> dict[str, Any]:
        self._fold()  # ship sorted distinct counts, not raw rows
        return {"max_scores": self.max_scores, "counts": self._counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_scores = state["max_scores"]
        self._counts = state["counts"]
        self._pending, self._pending_cells = [], 0
