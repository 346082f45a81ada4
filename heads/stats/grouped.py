"""Many small groups of a flat array as zero-padded rows, for whole-array work per group.

Grouped statistics (one curve per slice, one histogram per slice) arrive as FLAT arrays
with group offsets: group `g` is entries `starts[g]:starts[g + 1]`. A cumulative sum must
add each group's entries in the group's own order, from its first entry (a global sum minus
the group's offset would carry the rounding of every earlier group into a small one), so
`padded_groups` lays groups of similar length out as the rows of a `[g, L]` array, each row
its group's entries then zeros: a `cumsum` along the rows adds exactly what the per-group
`cumsum` adds. Groups are classed by length, four classes per power of two, so a row's
padding stays under a quarter of its length (and the NumPy calls per class few).

>>> parts = padded_groups(np.array([0, 3, 3, 4]))
>>> [(part.groups.tolist(), part.lengths.tolist()) for part in parts]
[([1], [0]), ([2], [1]), ([0], [3])]
>>> pad(np.array([1.0, 2.0, 3.0, 4.0]), parts[2])
array([[1., 2., 3.]])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["PaddedGroups", "pad", "padded_groups"]


class PaddedGroups(NamedTuple):
    """Groups of similar length laid out as the rows of a zero-padded `[g, L]` array."""

    groups: np.ndarray
    """intp `[g]` ascending group ids, one per row."""
    lengths: np.ndarray
    """intp `[g]` each group's entry count (`L` is their maximum, at least 1)."""
    mask: np.ndarray
    """bool `[g, L]`: True where a row holds one of its group's entries."""
    entries: np.ndarray
    """intp `[n]` flat positions of the entries, in the row-major order of `mask`."""


def padded_groups(starts: np.ndarray) -> list[PaddedGroups]:
    """Classes the groups of offsets `starts` by length (lengths in `(2**(e-1), 2**e]`
    rounded up to a multiple of `2**(e-3)`) and lays each class out as padded rows.

    Args:
        starts: int `[G + 1]` non-decreasing offsets; group `g` is `starts[g]:starts[g+1]`.

    Returns:
        One `PaddedGroups` per non-empty length class (shortest first); together they hold
        every group once.

    Raises:
        ValueError: if `starts` is not a non-decreasing 1-D array of at least one offset.
    """
    starts = np.asarray(starts)
    if starts.ndim != 1 or starts.size == 0 or np.any(np.diff(starts) < 0):
        raise ValueError(
            "Invalid `starts`: expected a non-decreasing 1-D array of group offsets "
            f"[G + 1]; received {starts!r}."
        )
    starts = starts.astype(np.intp, copy=False)
    lengths = np.diff(starts)
    # Padded to a multiple of 2**(e - 3) for lengths in (2**(e-1), 2**e]: under 1/4 padding.
    step = 2 ** np.maximum(np.frexp(np.maximum(lengths - 1, 0))[1] - 3, 0)
    classes = -(-lengths // step) * step
    order = np.argsort(classes, kind="stable")
    bounds = np.flatnonzero(np.diff(classes[order])) + 1
    parts = []
    for groups in np.split(order, bounds) if order.size else []:
        counts = lengths[groups]
        columns = np.arange(max(counts.max(), 1))
        mask = columns < counts[:, None]
        entries = starts[groups][:, None] + columns
        entries = entries.reshape(-1) if counts.min() == columns.size else entries[mask]
        parts.append(PaddedGroups(groups, counts, mask, entries))
    return parts


def pad(values: np.ndarray, part: PaddedGroups, out: np.ndarray | None = None) -> np.ndarray:
    """The rows of `part`: `[g, L]`, row `r` holding its group's entries of `values`
    followed by zeros.

    Args:
        values: `[K]` flat array indexed by the offsets `part` was made from.
        part: one of `padded_groups(starts)`.
        out: `[g, L]` zeros to write the entries into (a view into a larger array), or None
            for a new array.

    Returns:
        `out`, or a new array of `values`' dtype.
    """
    if out is None:
        out = np.zeros(part.mask.shape, dtype=values.dtype)
    if part.entries.size == out.size:  # no padding: a plain copy
        out[...] = values[part.entries].reshape(out.shape)
    else:
        out[part.mask] = values[part.entries]
    return out
