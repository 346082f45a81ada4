"""Reading TFRecord files of serialized `tf.Example`s in batches.

`ReadExamples` is a `beam.DoFn` from a file path to `ExampleBatch`es of up to `batch_size`
consecutive records (fewer where the file's first records are large: about
`constants.MAX_BATCH_BYTES` of records per batch), read with `tf.data` (which decompresses
and splits records in C++ and prefetches the next batch while the current one is evaluated),
so no Beam or Python work happens per example. Each batch knows its file and the record
numbers of its examples, so errors can name them. TFRecord files (compressed or not) cannot
be split, so a file is the unit of parallelism, as with Beam's own `ReadFromTFRecord`: give
the evaluator at least as many files as workers.

A file that stops being readable (a corrupt record, a truncated end) fails naming the file
and the record, or with `reject_malformed` ends there: its unreadable rest goes to the
`counts` output as an `ExampleCounts` that names the file and, where the framing of the
rest can be walked, how many records it holds (counted as read and rejected under
`unreadable_records`, so read = evaluated + rejected still reconciles); where it cannot
(a corrupt or cut gzip stream), the count is reported as unknown.

Progress (examples read so far, per worker) is reported through `tfx_heads.components.progress`:
logged every `PROGRESS_INTERVAL_SECONDS`, more often for a live display; it is also counted in the
Beam counter `examples_read`.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow as tf

from tfx_heads.components import progress
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.batches import ExampleCounts
from tfx_heads.components.evaluator.example_inputs import (
    ExampleBatch,
    compression_type,
    tensorflow_message,
    unreadable_file_error,
)

_LOG = logging.getLogger(__name__)
_SIZE_SAMPLE = 64
"""Records whose mean size sets a file's batch rows (`batch_rows`)."""


def validate_batch_size(batch_size: Any) -> None:
    """Raises ValueError unless `batch_size` is an int >= 1 (examples per batch)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Invalid `batch_size`: expected an int >= 1; received {batch_size!r}.")


@beam.typehints.with_input_types(str)
@beam.typehints.with_output_types(ExampleBatch)
class ReadExamples(beam.DoFn):
    """Reads one TFRecord file into `ExampleBatch`es.

    Args:
        batch_size: examples per batch (the last batch of a file may be smaller).
        compression: `"auto"` (from the file extension), `"gzip"`, `"zlib"` or `"none"`.
        reject_malformed: report a file's unreadable rest instead of failing.
        progress_interval: seconds between progress messages.
        max_batch_bytes: about the most bytes of records per batch (`batch_rows`).
    """

    def __init__(
        self,
        batch_size: int,
        compression: str = "auto",
        reject_malformed: bool = False,
        progress_interval: float = constants.PROGRESS_INTERVAL_SECONDS,
        max_batch_bytes: int = constants.MAX_BATCH_BYTES,
    ) -> None:
        validate_batch_size(batch_size)
        compression_type("", compression)  # Validates the option.
        self._batch_size = batch_size
        self._compression = compression
        self._reject_malformed = reject_malformed
        self._progress_interval = progress_interval
        self._max_batch_bytes = max_batch_bytes
        self._read = beam.metrics.Metrics.counter(
            constants.COUNTER_NAMESPACE, constants.EXAMPLES_READ_COUNTER
        )

    def setup(self) -> None:
        self._total = 0
        self._progress = progress.Progress(
            "evaluation", "examples read", log_interval=self._progress_interval
        )

    def process(self, path: str) -> Iterator[ExampleBatch | beam.pvalue.TaggedOutput]:
        compression = compression_type(path, self._compression)
        dataset = tf.data.TFRecordDataset(path, compression_type=compression)
        start = 0
        record_bytes = 0  # what the records take in the (uncompressed) file: 16 bytes of framing
        try:
            rows = batch_rows(dataset, self._batch_size, self._max_batch_bytes)
            for serialized in dataset.batch(rows).prefetch(1):
                size = int(serialized.shape[0])
                record_bytes += int(tf.reduce_sum(tf.strings.length(serialized))) + 16 * size
                self._read.inc(size)
                self._report(size, path)
                yield ExampleBatch(
                    file=path,
                    record_index=np.arange(start, start + size, dtype=np.int64),
                    serialized=serialized,
                    read=size,
                )
                start += size
        except tf.errors.DataLossError as error:
            where = f"at or after record {start} (the records before it were read)"
            problem = tensorflow_message(error)
        else:
            where, problem = (
                f"after record {start - 1}",
                _truncation(path, compression, record_bytes),
            )
        if problem is None:
            return
        if not self._reject_malformed:
            raise unreadable_file_error(path, self._compression, where, problem)
        yield beam.pvalue.TaggedOutput(
            constants.COUNTS_TAG, unreadable_rest(path, compression, start, where, problem)
        )

    def _report(self, size: int, path: str) -> None:
        self._total += size
        self._progress.update(self._total, f"on this worker, now {os.path.basename(path)}")


def batch_rows(dataset: tf.data.Dataset, batch_size: int, max_bytes: int) -> int:
    """Records per batch of a file: `batch_size`, or fewer where the file's first records
    (up to `_SIZE_SAMPLE` of them, those before a corrupt one) average more than
    `max_bytes / batch_size` bytes."""
    sizes = []
    try:
        for record in dataset.take(_SIZE_SAMPLE).as_numpy_iterator():
            sizes.append(len(record))
    except tf.errors.DataLossError:
        pass  # Reading the batches meets it again, and reports it.
    mean = sum(sizes) / max(len(sizes), 1)
    return int(min(batch_size, max(1, max_bytes // max(mean, 1))))


def unreadable_rest(
    path: str, compression: str, records_read: int, where: str, problem: str
) -> ExampleCounts:
    """The counts of a file's unreadable rest, from `records_read` on.

    The records there are counted by walking the file's record framing (8-byte length,
    4-byte length checksum, data, 4-byte checksum) from the start; the count is known when
    the framing ends exactly at the end of the (decompressed) data, else unknown (None).
    """
    records = _framed_records(path, compression)
    lost = None if records is None else records - records_read
    _LOG.warning("Unreadable rest of %s (%s records), %s: %s", path, lost, where, problem)
    unreadable = {"file": path, "where": where, "problem": problem, "records": lost}
    rejected = {constants.UNREADABLE_RECORDS_REASON: lost} if lost else {}
    return ExampleCounts(read=lost or 0, evaluated=0, rejected=rejected, unreadable=(unreadable,))


def _framed_records(path: str, compression: str) -> int | None:
    """How many records the framing of a TFRecord file delimits, or None if it does not end
    exactly at the end of the data (a cut record) or the data cannot be decompressed."""
    records, position, pending = 0, 0, b""
    try:
        for chunk in _data_chunks(path, compression):
            pending += chunk
            while True:
                if len(pending) - position < 8:
                    break
                length = int.from_bytes(pending[position : position + 8], "little")
                if len(pending) - position < length + 16:
                    break
                position += length + 16
                records += 1
            pending, position = pending[position:], 0
    except zlib.error:
        return None
    return records if not pending else None


class _CutStream(zlib.error):
    """A compressed stream that ends before its end marker."""


def _data_chunks(path: str, compression: str) -> Iterator[bytes]:
    """The file's (decompressed) bytes in chunks, gzip members one after another.

    Raises:
        _CutStream: if the compressed stream ends early.
        zlib.error: if the compressed data are corrupt.
    """
    wbits = {"": None, "GZIP": 47, "ZLIB": 15}[compression]
    decompressor = None if wbits is None else zlib.decompressobj(wbits=wbits)
    with tf.io.gfile.GFile(path, "rb") as f:
        while chunk := f.read(1 << 22):
            if decompressor is None:
                yield chunk
                continue
            while chunk:
                yield decompressor.decompress(chunk)
                chunk = decompressor.unused_data
                if chunk:
                    decompressor = zlib.decompressobj(wbits=wbits)
    if decompressor is not None and not decompressor.eof:
        raise _CutStream("the compressed stream ends early")


def _truncation(path: str, compression: str, record_bytes: int) -> str | None:
    """What is wrong with the end of a file that `tf.data` read as complete, or None.

    TensorFlow reads an uncompressed file that ends inside a record's 12-byte header, and a
    GZIP file whose stream is cut (when batching), as if they ended cleanly. An uncompressed
    file must be exactly the `record_bytes` its records take. A GZIP file records the size of
    its uncompressed data (mod 2^32) in its last 4 bytes; only where that differs (a cut
    stream, or several concatenated gzip members) is the whole file decompressed to check.
    ZLIB files are not checked.
    """
    if compression == "":
        extra = tf.io.gfile.stat(path).length - record_bytes
        if extra:
            return f"{extra} bytes remain that are no complete record (a truncated file?)"
        return None
    if compression != "GZIP":
        return None
    with tf.io.gfile.GFile(path, "rb") as f:
        size = f.size()
        f.seek(max(size - 4, 0))
        if int.from_bytes(f.read(4), "little") == record_bytes % 2**32:
            return None
    try:
        decompressed = sum(len(chunk) for chunk in _data_chunks(path, compression))
    except _CutStream:
        return "the gzip stream ends early (a truncated file?)"
    except zlib.error as error:
        return f"the gzip data is corrupt ({error})"
    if decompressed != record_bytes:
        return f"{decompressed - record_bytes} bytes remain that are no complete record"
    return None
