"""Reading TFRecord files of serialized `tf.Example`s in batches.

`ReadExamples` is a `beam.DoFn` from a file path to `ExampleBatch`es of up to `batch_size`
consecutive records, read with `tf.data` (which decompresses and splits records in C++ and
prefetches the next batch while the current one is evaluated), so no Beam or Python work
happens per example. Each batch knows its file and the record numbers of its examples, so
errors can name them. TFRecord files (compressed or not) cannot be split, so a file is the
unit of parallelism, as with Beam's own `ReadFromTFRecord`: give the evaluator at least as
many files as workers.

Progress is logged (examples read so far, per worker) every `PROGRESS_INTERVAL_SECONDS`, and
counted in the Beam counter `examples_read`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import apache_beam as beam
import numpy as np
import tensorflow as tf

from components.evaluator import constants
from components.evaluator.example_inputs import ExampleBatch, compression_type

_LOG = logging.getLogger(__name__)


@beam.typehints.with_input_types(str)
@beam.typehints.with_output_types(ExampleBatch)
class ReadExamples(beam.DoFn):
    """Reads one TFRecord file into `ExampleBatch`es.

    Args:
        batch_size: examples per batch (the last batch of a file may be smaller).
        compression: `"auto"` (from the file extension), `"gzip"`, `"zlib"` or `"none"`.
        progress_interval: seconds between progress messages.
    """

    def __init__(
        self,
        batch_size: int,
        compression: str = "auto",
        progress_interval: float = constants.PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Invalid `batch_size`: expected an int >= 1; received {batch_size!r}."
            )
        compression_type("", compression)  # Validates the option.
        self._batch_size = batch_size
        self._compression = compression
        self._progress_interval = progress_interval
        self._read = beam.metrics.Metrics.counter(
            constants.COUNTER_NAMESPACE, constants.EXAMPLES_READ_COUNTER
        )

    def setup(self) -> None:
        self._total = 0
        self._last_report = time.monotonic()

    def process(self, path: str) -> Iterator[ExampleBatch]:
        dataset = tf.data.TFRecordDataset(
            path, compression_type=compression_type(path, self._compression)
        )
        dataset = dataset.batch(self._batch_size).prefetch(1)
        start = 0
        try:
            for serialized in dataset:
                size = int(serialized.shape[0])
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
            raise OSError(
                f"Invalid `examples` file {path}: expected TFRecords"
                f"{' (' + self._compression + ')' if self._compression != 'auto' else ''}; "
                f"reading failed after {start} records: {error.message.strip()}"
            ) from error

    def _report(self, size: int, path: str) -> None:
        self._total += size
        now = time.monotonic()
        if now - self._last_report >= self._progress_interval:
            self._last_report = now
            _LOG.info("Read %d examples so far on this worker (now reading %s).", self._total, path)
