"""The wire format written by NumPy is protobuf's own; bad input is named."""

import numpy as np
import pytest
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from tfx_heads.components.evaluator import wire_format

_BUCKETS = metrics_for_slice_pb2.CalibrationHistogramBuckets.DESCRIPTOR.fields_by_name["buckets"]


def test_repeated_rows_are_protobuf_s_rows_split_per_group():
    """Doubles (left out where 0) and DoubleValues (empty where 0), every row a message."""
    rng = np.random.default_rng(0)
    rows = 5000  # More than one chunk of rows.
    columns = {
        "upper_threshold_exclusive": rng.normal(size=rows) * (rng.random(rows) > 0.3),
        "num_weighted_examples": rng.normal(size=rows) * (rng.random(rows) > 0.3),
        "lower_threshold_inclusive": np.where(rng.random(rows) > 0.5, -0.0, np.inf),
    }
    data, widths = wire_format.repeated_rows(_BUCKETS, columns)
    counts = [0, 1, 4000, 0, 999]
    parts = wire_format.split(data, widths, counts)
    start = 0
    for count, part in zip(counts, parts, strict=True):
        expected = metrics_for_slice_pb2.CalibrationHistogramBuckets()
        for row in range(start, start + count):
            bucket = expected.buckets.add()
            bucket.upper_threshold_exclusive = columns["upper_threshold_exclusive"][row]
            bucket.num_weighted_examples.value = columns["num_weighted_examples"][row]
            bucket.lower_threshold_inclusive = columns["lower_threshold_inclusive"][row]
        assert bytes(part) == expected.SerializeToString()
        start += count


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="groups of 3 rows in all; received 2 rows"):
        wire_format.split(np.zeros(4, np.uint8), np.array([2, 2]), [1, 2])
    with pytest.raises(ValueError, match=r"expected its fields; received \['recall'\]"):
        wire_format.repeated_rows(_BUCKETS, {"recall": np.zeros(1)})
    with pytest.raises(ValueError, match="at most 12 columns"):
        wire_format.repeated_rows(_BUCKETS, {f"c{i}": np.zeros(1) for i in range(13)})
