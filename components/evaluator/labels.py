"""Labels, example weights and logits features of a batch, converted and checked per head.

Every function works on a whole batch: it takes the ragged column of a feature (flat values
plus row splits, see `example_inputs.RaggedColumn`), checks each example with vectorised
comparisons, reports the examples that fail through `RowChecks` (which raises or counts
them) and returns a dense array for all `B` rows. Rows that failed hold placeholder values;
the caller drops them before computing statistics.

| head | label format | result |
|---|---|---|
| binary | `value` | int64 or float32 `[B]`, values in [0, 1] |
| binary, multi-class | `class_ids`, `class_names` | int64 `[B]` class ids |
| multi-label | `multi_hot` | int64 or float32 `[B, n_classes]`, values in [0, 1] |
| multi-label | `class_ids`, `class_names` (lists) | bool `[B, n_classes]` multi-hot |
| regression | `value` | float32 `[B, label_dimension]` |

Vocabulary strings are looked up with a hash index over the whole batch (`pandas.Index`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.example_inputs import RowChecks
from tfx_heads.components.evaluator.head_inputs import HeadInput
from tfx_heads.components.evaluator.rows import RaggedColumn

_SHOWN_VALUES = 8


def head_labels(head: HeadInput, column: RaggedColumn, checks: RowChecks) -> np.ndarray:
    """The head's processed labels for every row of the batch (see the module table).

    Args:
        head: what the head reads.
        column: the head's label feature, `B` rows.
        checks: records rows whose label is missing, malformed or out of range.

    Returns:
        The labels; rows that failed hold placeholders.
    """
    if head.kind == "regression":
        return _fixed_width(head, column, checks, head.label_dimension, "label").astype(
            np.float32, copy=False
        )
    if head.kind == "multi_label":
        if head.label_format == "multi_hot":
            labels = _fixed_width(head, column, checks, head.n_classes, "label")
            _check_unit_interval(head, labels, checks)
            return labels
        return _multi_hot(head, column, checks)
    value = _single_value(head, column, checks)
    if head.label_format == "class_names":
        value = _vocabulary_ids(head, value, np.arange(len(value)), checks)
    if head.kind == "binary" and head.label_format == "value":
        _check_unit_interval(head, value, checks)
        return value
    bad = (value < 0) | (value >= head.n_classes)
    checks.reject(
        bad,
        head.reason(constants.LABEL_OUT_OF_RANGE),
        lambda row: (
            f"a class id in [0, {head.n_classes}) in label feature {head.label_key!r} of "
            f"{head.subject}",
            _show(column, row),
        ),
    )
    return value.astype(np.int64, copy=False)


def example_weights(head: HeadInput, column: RaggedColumn, checks: RowChecks) -> np.ndarray:
    """The head's example weights: float32 `[B]`, or `[B, label_dimension]` for a regression
    head whose examples hold one weight per output."""
    lengths = column.lengths
    width = head.label_dimension
    if width > 1 and np.any(lengths == width):
        weights = np.empty((len(lengths), width), np.float32)
        per_example = lengths == 1
        weights[per_example] = column.values[column.row_splits[:-1][per_example]][:, None]
        per_output = lengths == width
        weights[per_output] = _gather(column, per_output, width)
        bad = ~(per_example | per_output)
        expected = f"1 or {width} values"
    else:
        weights = _single_value(head, column, None).astype(np.float32, copy=False)
        bad = lengths != 1
        expected = "1 value"
    _reject_lengths(
        head, column, checks, bad, constants.MISSING_WEIGHT, constants.WEIGHT_SHAPE,
        f"{expected} in weight feature {head.weight_key!r} of {head.subject}",
    )  # fmt: skip
    return weights


def feature_logits(head: HeadInput, column: RaggedColumn, checks: RowChecks) -> np.ndarray:
    """Logits read from a feature: float32 `[B, logits_dimension]`."""
    return _fixed_width(head, column, checks, head.logits_dimension, "logits").astype(
        np.float32, copy=False
    )


def check_logits(head: HeadInput, logits: np.ndarray, checks: RowChecks) -> None:
    """Rejects the rows of float `[B, k]` logits that hold a NaN or an infinity."""
    source = f"logits feature {head.logits_key!r}" if head.logits_key else "the model's logits"
    checks.reject(
        ~np.isfinite(logits).reshape(len(logits), -1).all(axis=1),
        head.reason(constants.NON_FINITE_LOGITS),
        lambda row: (
            f"finite values in {source} of {head.subject}",
            repr(logits[row].tolist()),
        ),
    )


def check_weights(head: HeadInput, weights: np.ndarray, checks: RowChecks) -> None:
    """Rejects the rows whose weights (float `[B]` or `[B, d]`) are negative or not finite."""
    ok = np.isfinite(weights) & (weights >= 0)
    checks.reject(
        ~ok.reshape(len(weights), -1).all(axis=1),
        head.reason(constants.INVALID_WEIGHT),
        lambda row: (
            f"finite weights >= 0 in weight feature {head.weight_key!r} of {head.subject}",
            repr(np.asarray(weights[row]).tolist()),
        ),
    )


def _fixed_width(
    head: HeadInput, column: RaggedColumn, checks: RowChecks, width: int, what: str
) -> np.ndarray:
    """`[B, width]` values of a feature that must hold exactly `width` values per example."""
    ok = column.lengths == width
    missing, shape = {
        "label": (constants.MISSING_LABEL, constants.LABEL_SHAPE),
        "logits": (constants.MISSING_LOGITS, constants.LOGITS_WIDTH),
    }[what]
    key = head.label_key if what == "label" else head.logits_key
    _reject_lengths(
        head, column, checks, ~ok, missing, shape,
        f"{width} value{'s' if width > 1 else ''} in {what} feature {key!r} of "
        f"{head.subject}",
    )  # fmt: skip
    if ok.all():  # every row holds `width` values, one after another: no gather
        return column.values.reshape(len(ok), width)
    values = np.zeros((len(ok), width), column.values.dtype)
    values[ok] = _gather(column, ok, width)
    return values


def _gather(column: RaggedColumn, rows: np.ndarray, width: int) -> np.ndarray:
    """`[R, width]` values of the selected rows (bool `[B]`), each holding `width` values."""
    starts = column.row_splits[:-1][rows]
    return column.values[starts[:, None] + np.arange(width)]


def _single_value(head: HeadInput, column: RaggedColumn, checks: RowChecks | None) -> np.ndarray:
    """`[B]` first value of each row; with `checks`, rows without exactly one are rejected."""
    lengths = column.lengths
    if checks is not None:
        _reject_lengths(
            head, column, checks, lengths != 1, constants.MISSING_LABEL, constants.LABEL_SHAPE,
            f"1 value in label feature {head.label_key!r} of {head.subject}",
        )  # fmt: skip
    if not len(column.values):
        return np.zeros(len(lengths), column.values.dtype)
    return column.values[np.minimum(column.row_splits[:-1], len(column.values) - 1)]


def _reject_lengths(
    head: HeadInput,
    column: RaggedColumn,
    checks: RowChecks,
    bad: np.ndarray,
    missing_reason: str,
    shape_reason: str,
    expected: str,
) -> None:
    lengths = column.lengths
    checks.reject(
        bad & (lengths == 0), head.reason(missing_reason), lambda row: (expected, "no value")
    )
    checks.reject(bad, head.reason(shape_reason), lambda row: (expected, _show(column, row)))


def _check_unit_interval(head: HeadInput, labels: np.ndarray, checks: RowChecks) -> None:
    inside = (labels >= 0) & (labels <= 1)
    bad = ~(inside.all(axis=1) if inside.ndim == 2 else inside)
    checks.reject(
        bad,
        head.reason(constants.LABEL_OUT_OF_RANGE),
        lambda row: (
            f"labels in [0, 1] in label feature {head.label_key!r} of {head.subject}",
            repr(labels[row].tolist()),
        ),
    )


def _multi_hot(head: HeadInput, column: RaggedColumn, checks: RowChecks) -> np.ndarray:
    """bool `[B, n_classes]` indicators of variable-length lists of class ids or names (a
    byte a cell: the statistics need no more, and 100,000 classes stay 100 KB a row)."""
    size = len(column.lengths)
    value_rows = np.repeat(np.arange(size), column.lengths)
    ids = column.values
    if head.label_format == "class_names":
        ids = _vocabulary_ids(head, ids, value_rows, checks)
    bad_values = (ids < 0) | (ids >= head.n_classes)
    bad = np.zeros(size, bool)
    bad[value_rows[bad_values]] = True
    checks.reject(
        bad,
        head.reason(constants.LABEL_OUT_OF_RANGE),
        lambda row: (
            f"class ids in [0, {head.n_classes}) in label feature {head.label_key!r} of "
            f"{head.subject}",
            _show(column, row),
        ),
    )
    labels = np.zeros((size, head.n_classes), bool)
    keep = ~bad_values
    labels[value_rows[keep], ids[keep]] = True
    return labels


def _vocabulary_ids(
    head: HeadInput, values: np.ndarray, value_rows: np.ndarray, checks: RowChecks
) -> np.ndarray:
    """int64 ids of vocabulary strings; examples holding an unknown string are rejected."""
    ids = _vocabulary_index(head.vocabulary).get_indexer(values)
    ids = _vocabulary_positions(head.vocabulary)[ids]
    unknown = np.zeros(len(checks.valid), bool)
    unknown[value_rows[ids < 0]] = True
    shown = ", ".join(repr(v) for v in head.vocabulary[:_SHOWN_VALUES])
    more = ", ..." if len(head.vocabulary) > _SHOWN_VALUES else ""

    def problem(row: int) -> tuple[str, str]:
        received = values[value_rows == row]
        return (
            f"strings of the label_vocabulary [{shown}{more}] in label feature "
            f"{head.label_key!r} of {head.subject}",
            repr([v for v in received.tolist()][:_SHOWN_VALUES]),
        )

    checks.reject(unknown, head.reason(constants.UNKNOWN_LABEL), problem)
    return ids


@functools.lru_cache(maxsize=64)
def _vocabulary_index(vocabulary: tuple[str, ...]) -> pd.Index:
    """A hash index over the vocabulary's distinct entries, as UTF-8 bytes."""
    return pd.Index(list(dict.fromkeys(entry.encode() for entry in vocabulary)), dtype=object)


@functools.lru_cache(maxsize=64)
def _vocabulary_positions(vocabulary: tuple[str, ...]) -> np.ndarray:
    """int64 `[D + 1]`: the first vocabulary position of each distinct entry, then -1 (so
    that `positions[-1]` maps "not found" to -1)."""
    first: dict[bytes, int] = {}
    for position, entry in enumerate(vocabulary):
        first.setdefault(entry.encode(), position)
    return np.array([*first.values(), -1], np.int64)


def _show(column: RaggedColumn, row: int) -> str:
    values = column.values[column.row_splits[row] : column.row_splits[row + 1]].tolist()
    more = f" ... ({len(values)} values)" if len(values) > _SHOWN_VALUES else ""
    return repr(values[:_SHOWN_VALUES]) + more
