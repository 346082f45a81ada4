"""Batch parsing into ragged columns, isolation of unparseable examples, row checks."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.example_inputs import (
    ExampleBatch,
    MalformedExampleError,
    ParseExamples,
    RowChecks,
    compression_type,
    failing_rows,
    feature_types,
    looks_multi_hot,
    parse_examples,
    sample_examples,
)
from tfx_heads.components.evaluator.rows import (
    RaggedColumn,
    concatenate_ragged,
    concatenate_rows,
    ragged_take_rows,
    row_bytes,
    take_rows,
)

SPEC = {
    "y": tf.io.RaggedFeature(tf.int64, row_splits_dtype=tf.int64),
    "tags": tf.io.RaggedFeature(tf.string, row_splits_dtype=tf.int64),
}


def _batch(helpers, rows, file="f.tfrecord"):
    serialized = tf.constant([helpers.example(row) for row in rows])
    return ExampleBatch(file, np.arange(10, 10 + len(rows)), serialized, read=len(rows))


def test_parse_examples_gives_ragged_columns(helpers):
    rows = [{"y": 1, "tags": ["a", "b"]}, {"tags": ["c"]}, {"y": [2, 3]}]
    columns = parse_examples(_batch(helpers, rows).serialized, SPEC)
    np.testing.assert_array_equal(columns["y"].values, [1, 2, 3])
    np.testing.assert_array_equal(columns["y"].lengths, [1, 0, 2])
    assert columns["tags"].values.tolist() == [b"a", b"b", b"c"]
    np.testing.assert_array_equal(columns["tags"].row_splits, [0, 2, 3, 3])


def test_failing_rows_finds_every_bad_example_by_bisection(helpers):
    rows = [{"y": 1}] * 9
    rows = rows[:2] + [{"y": 0.5}] + rows[2:7] + [{"y": 0.5}]
    serialized = _batch(helpers, rows).serialized
    calls = []

    def parse(examples):
        calls.append(int(examples.shape[0]))
        return tf.io.parse_example(examples, SPEC)

    failures = failing_rows(parse, serialized)
    assert sorted(failures) == [2, 8]
    assert "Data types don't match" in failures[2] or "type" in failures[2].lower()
    assert len(calls) < 2 * len(rows)


def test_parse_stage_rejects_or_raises_on_unparseable_examples(helpers):
    rows = [{"y": 1}, {"y": 0.5}, {"y": 0}]
    batch = _batch(helpers, rows)
    stage = ParseExamples(SPEC, reject_malformed=True)
    (parsed,) = list(stage.process(batch))
    assert parsed.rejected == {constants.UNPARSEABLE: 1}
    np.testing.assert_array_equal(parsed.record_index, [10, 12])
    np.testing.assert_array_equal(parsed.columns["y"].values, [1, 0])
    with pytest.raises(MalformedExampleError, match=r"record 11 of f.tfrecord; unparseable\)"):
        list(ParseExamples(SPEC, reject_malformed=False).process(batch))


def test_row_checks_count_each_example_once_under_its_first_reason():
    batch = ExampleBatch("f", np.arange(4), None, read=4, rejected={"earlier": 2})
    checks = RowChecks(batch, reject_malformed=True)
    checks.reject(np.array([True, False, True, False]), "a", lambda row: ("x", "y"))
    checks.reject(np.array([True, True, False, False]), "b", lambda row: ("x", "y"))
    assert checks.rejected == {"earlier": 2, "a": 2, "b": 1}
    np.testing.assert_array_equal(checks.valid, [False, False, False, True])
    strict = RowChecks(batch, reject_malformed=False)
    strict.reject(np.zeros(4, bool), "a", lambda row: 1 / 0)  # Never asked for a problem.
    with pytest.raises(MalformedExampleError) as raised:
        strict.reject(np.array([False, False, True, True]), "why", lambda row: ("E", f"R{row}"))
    assert str(raised.value).startswith(
        "Invalid example (record 2 of f; why): expected E; received R2."
    )


def test_ragged_and_dense_row_selection():
    column = RaggedColumn(np.array([1, 2, 3, 4, 5]), np.array([0, 2, 2, 5]))
    taken = ragged_take_rows(column, np.array([2, 0]))
    np.testing.assert_array_equal(taken.values, [3, 4, 5, 1, 2])
    np.testing.assert_array_equal(taken.row_splits, [0, 3, 5])
    nested = {"a": np.arange(3), "b": {"c": np.arange(6).reshape(3, 2)}}
    taken = take_rows(nested, np.array([True, False, True]))
    np.testing.assert_array_equal(taken["b"]["c"], [[0, 1], [4, 5]])
    np.testing.assert_array_equal(take_rows(tf.constant([5, 6, 7]), np.array([2, 0])), [7, 5])


def test_feature_types_and_multi_hot_detection(tmp_path, helpers):
    rows = [{"f": 1.5, "hot": [0, 1, 1], "ids": [0, 2]}, {"s": "x", "hot": [1, 0, 0], "ids": [1]}]
    path = helpers.write_examples(tmp_path / "d.tfrecord.gz", rows)
    examples = sample_examples([path], "auto")
    assert len(examples) == 2
    assert feature_types(examples, ["f", "s", "hot", "missing"]) == {
        "f": "float",
        "s": "bytes",
        "hot": "int64",
    }
    assert looks_multi_hot(examples, "hot", 3)
    assert not looks_multi_hot(examples, "ids", 3)
    assert not looks_multi_hot(examples, "missing", 3)


def test_compression_type():
    assert compression_type("a/b.tfrecord.gz") == "GZIP"
    assert compression_type("a/b.tfrecord") == ""
    assert compression_type("a/b.zlib") == "ZLIB"
    assert compression_type("a/b.gz", "none") == ""
    with pytest.raises(ValueError, match="Invalid `compression`: expected one of"):
        compression_type("a", "bz2")


def test_sampling_a_corrupt_file_names_the_file_and_the_record(tmp_path, helpers):
    rows = [{"y": i} for i in range(50)]
    path = helpers.write_examples(tmp_path / "data.tfrecord", rows, gzip=False)
    start_of_record_30 = os.path.getsize(
        helpers.write_examples(tmp_path / "head.tfrecord", rows[:30], gzip=False)
    )
    with open(path, "r+b") as f:
        f.seek(start_of_record_30 + 14)  # inside record 30's data: its checksum fails
        byte = f.read(1)
        f.seek(start_of_record_30 + 14)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(OSError, match=f"Invalid `examples` file {path}: .*at record 30: "):
        sample_examples([path], "auto")
    assert len(sample_examples([path], "auto", max_records=30)) == 30


def test_the_sample_stops_after_max_bytes_and_keeps_each_record_once(tmp_path, helpers):
    rows = [{"y": i} for i in range(250)]
    path = helpers.write_examples(tmp_path / "data.tfrecord", rows, gzip=False)
    sizes = [len(record) for record in tf.data.TFRecordDataset(path).as_numpy_iterator()]
    assert len(sample_examples([path], "auto", max_bytes=sum(sizes[:150]))) == 150
    assert len(sample_examples([path], "auto", max_bytes=sum(sizes[:150]) + 1)) == 151
    assert len(sample_examples([path], "auto")) == 250
    start_of_record_150 = os.path.getsize(
        helpers.write_examples(tmp_path / "head.tfrecord", rows[:150], gzip=False)
    )
    with open(path, "r+b") as f:  # a record after the first batch of the sample
        f.seek(start_of_record_150 + 14)
        byte = f.read(1)
        f.seek(start_of_record_150 + 14)
        f.write(bytes([byte[0] ^ 0xFF]))
    sample = sample_examples([path], "auto", reject_malformed=True)
    assert [example.features.feature["y"].int64_list.value[0] for example in sample] == list(
        range(150)
    )


def test_wide_records_are_sampled_within_the_byte_cap_and_typed(tmp_path, helpers):
    width = 3000
    hot = [i % 2 for i in range(width)]
    rows = [{"logits": np.full(width, 0.25), "hot": hot, "y": i} for i in range(40)]
    path = helpers.write_examples(tmp_path / "wide.tfrecord", rows, gzip=False)
    size = len(next(iter(tf.data.TFRecordDataset(path))).numpy())
    assert size > 3 * width  # 4 bytes a logit, 1 a multi-hot value
    sample = sample_examples([path], "auto", max_bytes=12 * size)
    assert [example.features.feature["y"].int64_list.value[0] for example in sample] == list(
        range(12)
    )
    assert feature_types(sample, ["logits", "hot", "y"]) == {
        "logits": "float",
        "hot": "int64",
        "y": "int64",
    }
    assert looks_multi_hot(sample, "hot", width)
    assert len(sample[11].features.feature["logits"].float_list.value) == width
    assert len(sample_examples([path], "auto", max_bytes=size, min_records=5)) == 5
    assert len(sample_examples([path], "auto", max_bytes=size)) == 10  # the default minimum


def test_joined_rows_are_the_parts_in_order():
    first = RaggedColumn(np.array([1, 2, 3, 4, 5]), np.array([0, 2, 2, 5]))
    second = RaggedColumn(np.array([6]), np.array([0, 0, 1]))
    joined = concatenate_ragged([first, second])
    np.testing.assert_array_equal(joined.values, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(joined.row_splits, [0, 2, 2, 5, 5, 6])
    back = ragged_take_rows(joined, np.array([3, 4]))
    np.testing.assert_array_equal(back.values, second.values)
    np.testing.assert_array_equal(back.row_splits, second.row_splits)
    parts = [{"a": np.arange(2), "b": {"c": None}}, {"a": np.arange(3) + 2, "b": {"c": None}}]
    joined_rows = concatenate_rows(parts)
    np.testing.assert_array_equal(joined_rows["a"], [0, 1, 2, 3, 4])
    assert joined_rows["b"]["c"] is None
    assert row_bytes({"x": joined.values, "y": None}) == joined.values.nbytes
    assert row_bytes(joined) == joined.values.nbytes + joined.row_splits.nbytes
    numbers = {"a": 0.5, "b": np.float64(1.0), "c": 3, "d": True, "e": None, "f": np.int64(2)}
    nested = {"m": numbers, "k": ("ab", b"xyz", [1.5, None]), "x": np.zeros(4, np.float32)}
    assert row_bytes(nested) == 5 * 8 + 2 + 3 + 8 + 16
    # A long collection is estimated from its first items (its length times their mean).
    metrics = {f"probability_mean/class{c}": 0.5 for c in range(100_000)}
    assert row_bytes(metrics) == 8 * 100_000
    assert row_bytes([b"ab"] * 256 + [b"abcd"] * 256) == 2 * 512
