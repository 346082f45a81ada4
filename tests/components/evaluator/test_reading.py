"""Reading files in batches that know their records' positions."""

import os

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf

from tfx_heads.components.evaluator.reading import ReadExamples, batch_rows


def test_batches_and_record_numbers(tmp_path, helpers):
    path = helpers.write_examples(
        tmp_path / "a.tfrecord", [{"y": i} for i in range(10)], gzip=False
    )
    stage = ReadExamples(batch_size=4)
    stage.setup()
    batches = list(stage.process(path))
    assert [b.read for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[2].record_index, [8, 9])
    assert all(b.file == path for b in batches)


def test_large_records_are_read_in_fewer_rows_per_batch(tmp_path, helpers):
    """About `max_bytes` of records per batch: records of 1,000 (and 10) bytes, 10,000 bytes
    at most: 10 rows (and `batch_size`, the smaller)."""
    wide = tf.data.Dataset.from_tensor_slices([b"x" * 1000] * 100)
    assert batch_rows(wide, batch_size=4096, max_bytes=10_000) == 10
    assert batch_rows(wide, batch_size=4, max_bytes=10_000) == 4
    assert batch_rows(wide, batch_size=4096, max_bytes=10) == 1
    narrow = tf.data.Dataset.from_tensor_slices([b"x" * 10] * 100)
    assert batch_rows(narrow, batch_size=64, max_bytes=10_000) == 64
    assert batch_rows(narrow.take(0), batch_size=64, max_bytes=10_000) == 64
    path = helpers.write_examples(
        tmp_path / "a.tfrecord", [{"y": [float(i)] * 200} for i in range(10)], gzip=False
    )
    size = len(next(iter(tf.data.TFRecordDataset(path))).numpy())
    for max_batch_bytes, batches in ((3 * size, [3, 3, 3, 1]), (100 * size, [8, 2])):
        read = ReadExamples(batch_size=8, max_batch_bytes=max_batch_bytes)
        read.setup()
        assert [batch.read for batch in read.process(path)] == batches


def test_a_corrupted_file_is_named(tmp_path, helpers):
    path = helpers.write_examples(tmp_path / "a.tfrecord.gz", [{"y": i} for i in range(100)])
    with open(path, "r+b") as f:
        f.seek(40)
        f.write(b"garbage!" * 4)
    stage = ReadExamples(batch_size=8)
    stage.setup()
    with pytest.raises(OSError, match=f"Invalid `examples` file {path}"):
        list(stage.process(path))
    with pytest.raises(ValueError, match="Invalid `batch_size`"):
        ReadExamples(batch_size=0)


@pytest.mark.parametrize("gzip", [False, True])
def test_a_truncated_file_is_not_read_as_complete(tmp_path, helpers, gzip):
    # TensorFlow reads both as if they ended cleanly: an uncompressed file cut inside a
    # record's header, and (in batches) a cut gzip stream.
    rows = [{"y": i} for i in range(60)]
    path = helpers.write_examples(tmp_path / "whole", rows, gzip=gzip)
    with open(path, "rb") as f:
        data = f.read()
    if gzip:  # TensorFlow itself notices some cuts (a DataLossError), the end check the rest
        cut, problem = len(data) // 2, "the gzip stream ends early|truncated record"
    else:
        cut = os.path.getsize(helpers.write_examples(tmp_path / "head", rows[:40], gzip=False))
        cut, problem = cut + 7, "7 bytes remain that are no complete record"
    truncated = tmp_path / "cut.tfrecord"
    truncated.write_bytes(data[:cut])
    stage = ReadExamples(batch_size=8, compression="gzip" if gzip else "none")
    stage.setup()
    with pytest.raises(OSError, match=f"Invalid `examples` file {truncated}.*record"):
        list(stage.process(str(truncated)))
    with pytest.raises(OSError, match=problem):
        list(stage.process(str(truncated)))
    whole = list(stage.process(path))  # the intact file reads completely, without error
    assert sum(batch.read for batch in whole) == 60


def test_a_gzip_stream_cut_where_tensorflow_reads_on_quietly_is_caught(tmp_path, helpers):
    rows = [{"y": i} for i in range(50)]
    path = helpers.write_examples(tmp_path / "whole.tfrecord.gz", rows)
    with open(path, "rb") as f:
        data = f.read()
    truncated = tmp_path / "cut.tfrecord.gz"
    for cut in range(len(data) // 3, len(data) - 8):  # find a cut TensorFlow reads quietly
        truncated.write_bytes(data[:cut])
        dataset = tf.data.TFRecordDataset(str(truncated), "GZIP").batch(1024)
        try:
            quietly_read = sum(int(batch.shape[0]) for batch in dataset)
        except tf.errors.DataLossError:
            continue
        break
    else:
        pytest.fail("no cut of the gzip stream was read quietly by tf.data")
    assert quietly_read < 50  # tf.data lost records without an error
    stage = ReadExamples(batch_size=1024)
    stage.setup()
    with pytest.raises(OSError, match="the gzip stream ends early"):
        list(stage.process(str(truncated)))


def _counts(outputs):
    """The stage's batches, and the `ExampleCounts` of its counts output (or None)."""
    batches = [o for o in outputs if not isinstance(o, beam.pvalue.TaggedOutput)]
    tagged = [o.value for o in outputs if isinstance(o, beam.pvalue.TaggedOutput)]
    assert len(tagged) <= 1
    assert all(o.tag == "counts" for o in outputs if isinstance(o, beam.pvalue.TaggedOutput))
    return batches, tagged[0] if tagged else None


def test_with_reject_malformed_a_corrupt_record_ends_the_file_and_its_rest_is_counted(
    tmp_path, helpers
):
    path = helpers.write_examples(
        tmp_path / "a.tfrecord", [{"y": i} for i in range(100)], gzip=False
    )
    head = os.path.getsize(
        helpers.write_examples(tmp_path / "h.tfrecord", [{"y": i} for i in range(30)], gzip=False)
    )
    with open(path, "r+b") as f:  # a byte of record 30's data: its checksum fails
        f.seek(head + 14)
        byte = f.read(1)
        f.seek(head + 14)
        f.write(bytes([byte[0] ^ 0xFF]))
    stage = ReadExamples(batch_size=8, reject_malformed=True)
    stage.setup()
    batches, counts = _counts(list(stage.process(path)))
    read = sum(batch.read for batch in batches)
    assert read == 24  # the batches before the one holding record 30
    assert counts.read + read == 100 and counts.evaluated == 0
    assert counts.rejected == {"unreadable_records": 76}
    (entry,) = counts.unreadable
    assert entry["file"] == path and entry["records"] == 76
    assert entry["where"] == "at or after record 24 (the records before it were read)"
    assert "corrupted record" in entry["problem"].lower()


@pytest.mark.parametrize("gzip", [False, True])
def test_with_reject_malformed_a_truncated_rest_has_an_unknown_count(tmp_path, helpers, gzip):
    rows = [{"y": i} for i in range(60)]
    path = helpers.write_examples(tmp_path / "whole", rows, gzip=gzip)
    data = open(path, "rb").read()
    cut = (
        len(data) // 2
        if gzip
        else (os.path.getsize(helpers.write_examples(tmp_path / "h", rows[:40], gzip=False)) + 5)
    )
    truncated = tmp_path / "cut"
    truncated.write_bytes(data[:cut])
    stage = ReadExamples(8, "gzip" if gzip else "none", reject_malformed=True)
    stage.setup()
    batches, counts = _counts(list(stage.process(str(truncated))))
    assert counts.read == 0 and counts.rejected == {}  # nothing known to reconcile
    (entry,) = counts.unreadable
    assert entry["records"] is None and entry["file"] == str(truncated)
    if not gzip:
        assert sum(batch.read for batch in batches) == 40
        assert entry["problem"] == "5 bytes remain that are no complete record (a truncated file?)"
    _, intact = _counts(list(stage.process(path)))
    assert intact is None
