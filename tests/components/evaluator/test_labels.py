"""Labels, weights and logits features of a batch: every format, and every rejection."""

import numpy as np
import pytest

from heads.description import HeadDescription
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.example_inputs import (
    ExampleBatch,
    MalformedExampleError,
    RowChecks,
)
from tfx_heads.components.evaluator.head_inputs import HeadInput
from tfx_heads.components.evaluator.labels import example_weights, feature_logits, head_labels
from tfx_heads.components.evaluator.rows import RaggedColumn


def _column(rows, dtype=None):
    values = [v for row in rows for v in row]
    lengths = [len(row) for row in rows]
    array = np.array(values, dtype=dtype) if values else np.zeros(0, dtype or np.int64)
    return RaggedColumn(array, np.r_[0, np.cumsum(lengths)].astype(np.int64))


def _checks(size, reject=True):
    batch = ExampleBatch("f", np.arange(size), None, read=size)
    return RowChecks(batch, reject_malformed=reject)


def _head(kind, label_format, n_classes=3, vocabulary=None, label_dimension=1, name="h"):
    description = HeadDescription(
        kind=kind,
        head_type="Head",
        name=name,
        logits_dimension=label_dimension if kind == "regression" else n_classes,
        label_dimension=label_dimension,
        n_classes=n_classes,
        label_vocabulary=vocabulary,
        weight_key="w",
    )
    return HeadInput(description, label_key="y", label_format=label_format, logits_key="l")


def test_binary_values_and_names():
    checks = _checks(5)
    labels = head_labels(
        _head("binary", "value", 2), _column([[1], [0], [], [0.5], [2]], float), checks
    )
    assert labels[:2].tolist() == [1, 0] and labels[3] == 0.5
    assert checks.rejected == {"missing_label/h": 1, "label_out_of_range/h": 1}
    np.testing.assert_array_equal(checks.valid, [True, True, False, True, False])
    checks = _checks(4)
    head = _head("binary", "class_names", 2, vocabulary=("no", "yes"))
    column = _column([[b"yes"], [b"no"], [b"maybe"], [b"yes", b"no"]], object)
    labels = head_labels(head, column, checks)
    assert labels[:2].tolist() == [1, 0]
    assert checks.rejected == {"unknown_label/h": 1, "label_shape/h": 1}


def test_multi_class_ids_names_and_duplicated_vocabulary():
    checks = _checks(4)
    labels = head_labels(
        _head("multi_class", "class_ids", 3), _column([[2], [0], [3], [-1]]), checks
    )
    assert labels[:2].tolist() == [2, 0]
    assert checks.rejected == {"label_out_of_range/h": 2}
    head = _head("multi_class", "class_names", 3, vocabulary=("a", "b", "a"))
    checks = _checks(3)
    labels = head_labels(head, _column([[b"b"], [b"a"], [b"c"]], object), checks)
    assert labels[:2].tolist() == [1, 0]  # The first of duplicated entries.
    assert checks.rejected == {"unknown_label/h": 1}


def test_multi_label_formats():
    hot = _head("multi_label", "multi_hot", 3)
    checks = _checks(4)
    labels = head_labels(hot, _column([[0, 1, 1], [1, 0, 0], [1, 1], [0, 2, 0]]), checks)
    assert labels[:2].tolist() == [[0, 1, 1], [1, 0, 0]]
    assert checks.rejected == {"label_shape/h": 1, "label_out_of_range/h": 1}
    ids = _head("multi_label", "class_ids", 3)
    checks = _checks(4)
    labels = head_labels(ids, _column([[0, 2], [], [1, 1], [3]]), checks)
    assert labels.dtype == bool  # a byte a cell: 100,000 classes stay 100 KB a row
    assert labels[:3].tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    assert checks.rejected == {"label_out_of_range/h": 1}
    names = _head("multi_label", "class_names", 3, vocabulary=("x", "y", "z"))
    checks = _checks(3)
    labels = head_labels(names, _column([[b"z", b"x"], [b"w"], []], object), checks)
    assert labels[[0, 2]].tolist() == [[1, 0, 1], [0, 0, 0]]
    assert checks.rejected == {"unknown_label/h": 1}


def test_regression_labels_weights_and_logits():
    head = _head("regression", "value", None, label_dimension=2, name=None)
    checks = _checks(3)
    labels = head_labels(head, _column([[1.0, 2.0], [3.0], [4, 5]], float), checks)
    assert labels.dtype == np.float32 and labels[[0, 2]].tolist() == [[1, 2], [4, 5]]
    assert checks.rejected == {"label_shape": 1}
    checks = _checks(3)
    weights = example_weights(head, _column([[2.0], [1.0, 3.0], []], float), checks)
    assert weights[:2].tolist() == [[2, 2], [1, 3]]
    assert checks.rejected == {"missing_weight": 1}
    checks = _checks(3)
    logits = feature_logits(head, _column([[0.5, 1.5], [1.0], []], float), checks)
    assert logits[0].tolist() == [0.5, 1.5]
    assert checks.rejected == {"logits_width": 1, "missing_logits": 1}


def test_strict_mode_names_the_record_and_values():
    head = _head("multi_class", "class_ids", 3)
    with pytest.raises(MalformedExampleError) as raised:
        head_labels(head, _column([[1], [7, 8]]), _checks(2, reject=False))
    assert str(raised.value).startswith(
        f"Invalid example (record 1 of f; {constants.LABEL_SHAPE}/h): expected 1 value in "
        "label feature 'y' of head 'h'; received [7, 8]."
    )
