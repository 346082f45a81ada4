"""Reading files in batches that know their records' positions."""

import numpy as np
import pytest

from components.evaluator.reading import ReadExamples


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
