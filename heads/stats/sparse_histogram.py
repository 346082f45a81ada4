"""A label-split logit histogram that starts empty and grows with the buckets it sees.

`SparseHistogram` holds the same numbers as the dense float64 `[2, N]` histogram of
`heads.stats.histogram` (row 0 negatives, row 1 positives, flat cell `row * N + bucket`),
but stores only the cells that examples have reached, as sorted cell ids and their weights,
until those take more room than the dense array (`N / 4` cells), or one update brings more
values than that; it then turns dense for good. So a slice of 20 examples holds at most 20
cells (about 320 bytes, not 1 MiB) and costs O(its examples) to update, merge, pickle and
finalize, while a large slice costs what the dense array always did.

The values are bit-identical to the dense histogram's: an update adds each example's weight
into its cell with `np.add.at`, in example order, in either form, and a merge adds cell by
cell (a cell absent from one side adds nothing, as a dense zero does: `x + 0.0 == x` for
the non-negative weights of a histogram).

>>> histogram = SparseHistogram(num_buckets=8)
>>> histogram.add(np.array([1, 10, 1]), np.array([2.0, 1.0, 0.5]))
>>> histogram.cells, np.asarray(histogram)[:, :4].tolist()
(2, [[0.0, 2.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from heads.stats.inputs import invalid

__all__ = ["SparseHistogram", "occupied_buckets"]

_DENSE_FRACTION = 4
"""The histogram turns dense once its cells exceed `num_buckets / _DENSE_FRACTION`: a sparse
cell takes 16 bytes (id and weight), a dense bucket pair 16 bytes, so it then holds about a
quarter of the dense array's memory and further growth is cheaper dense."""


class SparseHistogram:
    """The weights of a `[2, num_buckets]` histogram (or of `n_curves` of them, `[C, 2, N]`,
    flat cell `(curve * 2 + row) * N + bucket`), sparse while few cells are used.

    Args:
        num_buckets: `N`, the buckets per row.
        n_curves: None for one histogram `[2, N]`, else the `C` histograms `[C, 2, N]`
            (per-class curves), which iterate as `[2, N]` histograms.
    """

    def __init__(self, num_buckets: int, n_curves: int | None = None) -> None:
        self.num_buckets = int(num_buckets)
        self.n_curves = None if n_curves is None else int(n_curves)
        self._ids: np.ndarray | None = np.zeros(0, dtype=np.intp)
        self._values = np.zeros(0)

    @property
    def shape(self) -> tuple[int, ...]:
        rows = (2, self.num_buckets)
        return rows if self.n_curves is None else (self.n_curves, *rows)

    @property
    def size(self) -> int:
        """Cells of the dense form."""
        return 2 * self.num_buckets * (1 if self.n_curves is None else self.n_curves)

    @property
    def is_dense(self) -> bool:
        """Whether the histogram holds the dense array (of `size` cells)."""
        return self._ids is None

    @property
    def cells(self) -> int:
        """The cells held: used cells while sparse, `size` once dense."""
        return self._values.size

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held."""
        return self._values.nbytes + (0 if self._ids is None else self._ids.nbytes)

    def add(self, index: np.ndarray, weights: np.ndarray | float) -> None:
        """Adds `weights` (one per index, or one for all) at flat cells `index` in place.

        An add of as many values as the dense limit turns the histogram dense first: a dense
        add costs O(values + N), a sparse one sorts the values (a 100,000-class head pools
        100,000 values per example)."""
        if self._ids is not None and np.size(index) > self._dense_limit:
            self._densify()
        if self._ids is not None and self._ids.size == 0:
            self._start(index, weights)
            return
        if self._ids is not None:
            new = np.setdiff1d(index, self._ids)
            if new.size:
                self._grow(new)
        if self._ids is None:
            np.add.at(self._values, index, weights)
        else:
            np.add.at(self._values, np.searchsorted(self._ids, index), weights)

    @property
    def _dense_limit(self) -> int:
        return self.size // _DENSE_FRACTION

    def _start(self, index: np.ndarray, weights: np.ndarray | float) -> None:
        """The first `add` (of at most `_dense_limit` values, so it stays sparse): the same
        sums from zeros in example order, with `bincount` (cheaper than `np.add.at` for a
        small batch)."""
        ids = _distinct(index)
        positions = np.searchsorted(ids, index)
        if np.ndim(weights):
            values = np.bincount(positions, weights, minlength=ids.size)
        elif weights == 1.0:  # sums of ones are exact counts
            values = np.bincount(positions, minlength=ids.size).astype(np.float64)
        else:  # `count * w` may round differently from the sums
            values = np.zeros(ids.size)
            np.add.at(values, positions, weights)
        self._ids, self._values = ids, values

    def _grow(self, new: np.ndarray) -> None:
        """Makes room for the sorted cell ids `new` (zeros), turning dense past the limit."""
        ids = np.union1d(self._ids, new)
        if ids.size > self._dense_limit:
            self._densify()
            return
        values = np.zeros(ids.size)
        values[np.searchsorted(ids, self._ids)] = self._values
        self._ids, self._values = ids, values

    def _densify(self) -> None:
        """Turns the histogram dense for good (the same values)."""
        dense = np.zeros(self.size)
        dense[self._ids] = self._values
        self._ids, self._values = None, dense

    def check_compatible(self, other: Any) -> None:
        """Raises ValueError unless `other` is a `SparseHistogram` of the same shape."""
        received = other.shape if isinstance(other, SparseHistogram) else other
        if received != self.shape:
            raise ValueError(
                invalid("second", f"a SparseHistogram of shape {self.shape}", received)
            )

    def merge_from(self, other: SparseHistogram) -> SparseHistogram:
        """Adds `other` into this histogram (in place) and returns it."""
        self.check_compatible(other)
        if other._ids is None:
            if self._ids is None:
                np.add(self._values, other._values, out=self._values)
                return self
            values = other._values.copy()
            values[self._ids] += self._values
            self._ids, self._values = None, values
            return self
        if other._ids.size:
            self.add(other._ids, other._values)  # distinct ids: one addition per cell
        return self

    def merged(self, other: SparseHistogram) -> SparseHistogram:
        """A new histogram holding both inputs' weights."""
        return self.copy().merge_from(other)

    def copy(self) -> SparseHistogram:
        """An independent copy."""
        result = SparseHistogram(self.num_buckets, self.n_curves)
        result._ids = None if self._ids is None else self._ids.copy()
        result._values = self._values.copy()
        return result

    def occupied(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`(buckets, negatives, positives)`: the ascending buckets with a non-zero weight
        in either row, and both rows' weights there (see `occupied_buckets`)."""
        if self._ids is None:
            return occupied_buckets(np.asarray(self))
        split = np.searchsorted(self._ids, self.num_buckets)
        negative_cells = self._ids[:split]
        positive_cells = self._ids[split:] - self.num_buckets
        buckets = _distinct(np.concatenate((negative_cells, positive_cells)))
        weights = np.zeros((2, buckets.size))
        weights[0, np.searchsorted(buckets, negative_cells)] = self._values[:split]
        weights[1, np.searchsorted(buckets, positive_cells)] = self._values[split:]
        keep = (weights[0] != 0) | (weights[1] != 0)
        if keep.all():
            return buckets, weights[0], weights[1]
        return buckets[keep], weights[0, keep], weights[1, keep]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The dense float64 histogram of `shape` (a new array while sparse)."""
        if self._ids is None:
            dense = self._values
        else:
            dense = np.zeros(self.size)
            dense[self._ids] = self._values
        dense = dense.reshape(self.shape)
        return dense if dtype is None else dense.astype(dtype, copy=False)

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        """The `[2, N]` histogram of each curve (`n_curves` set): views of the dense array,
        or new `SparseHistogram`s of the curve's cells."""
        if self.n_curves is None:
            raise TypeError("Invalid iteration: a single `[2, N]` SparseHistogram has no curves.")
        if self._ids is None:
            yield from self._values.reshape(self.shape)
            return
        width = 2 * self.num_buckets
        bounds = np.searchsorted(self._ids, np.arange(self.n_curves + 1) * width)
        for curve in range(self.n_curves):
            start, stop = bounds[curve], bounds[curve + 1]
            histogram = SparseHistogram(self.num_buckets)
            histogram._ids = self._ids[start:stop] - curve * width
            histogram._values = self._values[start:stop].copy()
            yield histogram

    def pooled(self) -> Any:
        """The sum of the curves' `[2, N]` histograms (`n_curves` set), added in curve
        order, as `np.sum(axis=0)` of the dense form adds them (an absent cell adds 0)."""
        if self._ids is None:
            return self._values.reshape(self.shape).sum(axis=0)
        result = SparseHistogram(self.num_buckets)
        if self._ids.size:  # cell ids are curve-major: each cell's sum runs in curve order
            result.add(self._ids % (2 * self.num_buckets), self._values)
        return result

    def __getstate__(self) -> dict[str, Any]:
        return {
            "num_buckets": self.num_buckets,
            "n_curves": self.n_curves,
            "ids": self._ids,
            "values": self._values,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.num_buckets, self._ids, self._values = (
            state["num_buckets"],
            state["ids"],
            state["values"],
        )
        self.n_curves = state.get("n_curves")


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D array (`np.unique` without its overhead)."""
    values = np.sort(values)
    if values.size < 2:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def occupied_buckets(histogram: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(buckets, negatives, positives)` of a dense `[2, N]` histogram or a
    `SparseHistogram`: the ascending buckets with a non-zero weight in either row, and
    both rows' weights there. Curves and plots need only these (empty buckets add nothing)."""
    if isinstance(histogram, SparseHistogram):
        return histogram.occupied()
    negatives, positives = np.asarray(histogram, dtype=np.float64)
    buckets = np.flatnonzero((negatives != 0) | (positives != 0))
    return buckets, negatives[buckets], positives[buckets]
