"""Many small groups of a flat array as zero-padded rows, for whole-array work per group.

Grouped statistics (one curve per slice, one histogram per slice) arrive as FLAT arrays
with group offsets: group `g` is entries `starts[g]:starts[g + 1]`. A cumulative sum must
add each group's entries in the group's own order, from its first entry (a global sum minus
the group's offset would carry the rounding of every earlier group into a small one), so
`padded_groups` lays groups of similar length out as the rows of a `[g, L]` array, each row
its group's entries then zeros: a `cumsum` along the rows adds exactly what the per-group
`cumsum` adds. Groups are classed by length in powers of two, so padding stays under half.

>>> parts = padded_groups(np.array([0, 3, 3, 4]))
>>> [(part.groups.tolist(), part.lengths.tolist()) for part in parts]
[([1, 2], [0, 1]), ([0], [3])]
>>> pad(np.array([1.0, 2.0, 3.0, 4.0]), parts[1], reverse=True)
array([[3., 2., 1.]])
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
    reversed_entries: np.ndarray
    """intp `[n]` the same with each group's entries in reverse order."""


def padded_groups(starts: np.ndarray) -> list[PaddedGroups]:
    """Classes the groups of offsets `starts` by length (`(2**(e-1), 2**e]`, lengths 0 and
    1 together) and lays each class out as padded rows.

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
    classes = np.frexp(np.maximum(lengths - 1, 0))[1]  # length <= 2**e; lengths 0, 1: e = 0
    order = np.argsort(classes, kind="stable")
    bounds = np.flatnonzero(np.diff(classes[order])) + 1
    parts = []
    for groups in np.split(order, bounds) if order.size else []:
        counts = lengths[groups]
        columns = np.arange(max(counts.max(), 1))
        mask = columns < counts[:, None]
        first = starts[groups][:, None]
        entries = (first + columns)[mask]
        reversed_entries = (first + counts[:, None] - 1 - columns)[mask]
        parts.append(PaddedGroups(groups, counts, mask, entries, reversed_entries))
    return parts


def pad(values: np.ndarray, part: PaddedGroups, reverse: bool = False) -> np.ndarray:
    """The rows of `part`: `[g, L]`, row `r` holding its group's entries of `values` (in
    reverse order with `reverse`) followed by zeros.

    Args:
        values: `[K]` flat array indexed by the offsets `part` was made from.
        part: one of `padded_groups(starts)`.
        reverse: each group's entries last to first.

    Returns:
        Array of `values`' dtype, `[g, L]`.
    """
    result = np.zeros(part.mask.shape, dtype=values.dtype)
    result[part.mask] = values[part.reversed_entries if reverse else part.entries]
    return result
