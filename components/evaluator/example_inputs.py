"""Batches of `tf.Example`s as they move through the evaluator, and batch-wise parsing.

`feature_types` reads the stored type of features (`int64`, `float` or `bytes`, as in the
`tf.train.Feature` oneof) from the first records of the data (`sample_examples`).
`parse_examples` parses a whole batch of serialized examples at once with
`tf.io.parse_example` into ragged columns (flat values plus row splits), so missing features
and lists of any length never fail the batch; an example that cannot be parsed at all (not
a `tf.Example`, or a feature stored with another type than the rest of the data) is isolated
by bisection and rejected alone.

Row-level problems are recorded by `RowChecks`: it either raises `MalformedExampleError`
naming the example's file, its record number in that file and the problem, or (with
`reject_malformed`) counts the examples under their reason and marks them invalid. An
example is counted once, under its first problem.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import apache_beam as beam
import numpy as np
import tensorflow as tf

from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.coders import BatchCoder
from tfx_heads.components.evaluator.rows import RaggedColumn, take_rows

FeatureType = Literal["int64", "float", "bytes"]
"""The stored type of a feature: the `tf.train.Feature` oneof without `_list`."""

TF_DTYPES = {"int64": tf.int64, "float": tf.float32, "bytes": tf.string}
_PROTO_KINDS = {"int64_list": "int64", "float_list": "float", "bytes_list": "bytes"}
_SAMPLE_RECORDS = 1000
_SAMPLE_BYTES = 4 * 2**20
"""About the most bytes of records sampled (past `_MIN_SAMPLE_RECORDS`): 1,000 records of
up to 4 KB, ten of a head of 100,000 logits (400 KB a record)."""
_MIN_SAMPLE_RECORDS = 10
_SAMPLE_BATCH = 10


class MalformedExampleError(ValueError):
    """An example that the evaluator cannot use, with its file and record number."""


@dataclasses.dataclass(frozen=True)
class ExampleBatch:
    """A batch of examples from one file as it moves through the evaluator's stages.

    Attributes:
        file: the file the examples come from.
        record_index: int64 `[B]`: each example's record number in `file` (from 0).
        serialized: string `[B]` (`tf.Tensor` or object array): the serialized examples.
        read: how many examples were read into this batch (unparseable ones included).
        rejected: examples already rejected from this batch, by reason.
        columns: the parsed features (after `parse_examples`).
        logits: float `[B, logits_dimension]` per head name (after inference).
        predictions: float `[B, label_dimension]` per regression head name whose custom
            `inverse_link_fn` the statistics cannot apply themselves.
        valid: bool `[B]` once inference marked rows it could not run on, else None.
    """

    file: str
    record_index: np.ndarray
    serialized: Any
    read: int
    rejected: Mapping[str, int] = dataclasses.field(default_factory=dict)
    columns: Mapping[str, RaggedColumn] = dataclasses.field(default_factory=dict)
    logits: Mapping[str | None, np.ndarray] = dataclasses.field(default_factory=dict)
    predictions: Mapping[str | None, np.ndarray] = dataclasses.field(default_factory=dict)
    valid: np.ndarray | None = None


beam.coders.registry.register_coder(ExampleBatch, BatchCoder)


class RowChecks:
    """Marks invalid rows of a batch: raises, or counts them by reason.

    Args:
        batch: the batch being checked (for its file and record numbers).
        reject_malformed: count malformed examples instead of raising.
    """

    def __init__(self, batch: ExampleBatch, reject_malformed: bool) -> None:
        self._file = batch.file
        self._record_index = batch.record_index
        self._reject_malformed = reject_malformed
        size = len(batch.record_index)
        self.valid = np.ones(size, bool) if batch.valid is None else batch.valid.copy()
        self.rejected = dict(batch.rejected)

    def reject(
        self, bad: np.ndarray, reason: str, problem: Callable[[int], tuple[str, str]]
    ) -> None:
        """Marks the rows where `bad` holds (and that are still valid) as rejected.

        Args:
            bad: bool `[B]`.
            reason: the reason key (`constants.*`, suffixed with the head name).
            problem: maps a row to `(expected, received)` texts; called for one row only.

        Raises:
            MalformedExampleError: for the first such row, unless `reject_malformed`.
        """
        new = bad & self.valid
        if not new.any():
            return
        if not self._reject_malformed:
            row = int(np.argmax(new))
            raise malformed_example_error(
                self._file, int(self._record_index[row]), reason, *problem(row)
            )
        self.rejected[reason] = self.rejected.get(reason, 0) + int(np.count_nonzero(new))
        self.valid &= ~new


def malformed_example_error(
    file: str, record: int, reason: str, expected: str, received: str
) -> MalformedExampleError:
    """The error for one malformed example, in the package's message form."""
    return MalformedExampleError(
        f"Invalid example (record {record} of {file}; {reason}): expected {expected}; "
        f"received {received}. Fix the data, or pass reject_malformed=True "
        "(--reject-malformed) to count such examples in metrics.json's `rejected` instead."
    )


def sample_examples(
    files: Sequence[str],
    compression: str,
    max_records: int = _SAMPLE_RECORDS,
    reject_malformed: bool = False,
    max_bytes: int = _SAMPLE_BYTES,
    min_records: int = _MIN_SAMPLE_RECORDS,
) -> list[tf.train.Example]:
    """The first records of the data (of the first files), parsed: `max_records` of them,
    or as many as hold `max_bytes` where that is fewer, but at least `min_records` (where
    the data has them).

    Read on the machine that builds the pipeline, to learn how features are stored (their
    types, the logits' widths, multi-hot labels): every record of data of small records
    (1,000 of up to 4 KB by default), and a few where the records are wide (ten of 100,000
    logits), since parsing them costs about 2 ms each. A file that stops being readable
    fails naming it and the record, or with `reject_malformed` gives the records before the
    damage (the reading stage reports the rest).
    """
    examples: list[tf.train.Example] = []
    sampled_bytes = 0
    for path in files:
        dataset = tf.data.TFRecordDataset(
            path, compression_type=compression_type(path, compression)
        )
        wanted = dataset.take(max_records - len(examples))
        for record in _records(wanted, path, compression, reject_malformed):
            examples.append(tf.train.Example.FromString(record))
            sampled_bytes += len(record)
            if len(examples) >= max_records or (
                sampled_bytes >= max_bytes and len(examples) >= min_records
            ):
                return examples
    return examples


def _records(
    dataset: tf.data.Dataset, path: str, compression: str, reject_malformed: bool
) -> Iterator[bytes]:
    """The records of `dataset` (of the file `path`), read `_SAMPLE_BATCH` at a time (one by
    one costs about 0.15 s more per 1,000 records); with `reject_malformed`, those before a
    corrupt one.

    Raises:
        OSError: at a corrupt record, naming the file and the record (unless
            `reject_malformed`).
    """
    read = 0
    try:
        for batch in dataset.batch(_SAMPLE_BATCH):
            records = batch.numpy()
            yield from records
            read += len(records)
    except tf.errors.DataLossError as error:
        readable = _records_before_error(dataset.skip(read))
        if not reject_malformed:
            raise unreadable_file_error(
                path, compression, f"at record {read + len(readable)}", tensorflow_message(error)
            ) from error
        yield from readable


def _records_before_error(dataset: tf.data.Dataset) -> list[bytes]:
    """The records of `dataset` read before its `DataLossError` (read one by one)."""
    records = []
    try:
        for record in dataset:
            records.append(record.numpy())
    except tf.errors.DataLossError:
        pass
    return records


def tensorflow_message(error: tf.errors.OpError) -> str:
    """TensorFlow's message without the op's internals (`{{function_node ...}}`, `[Op:...]`)."""
    message = re.sub(r"\{\{[^}]*\}\}|\[Op:[^\]]*\].*$", "", error.message, flags=re.DOTALL)
    return message.strip()


def unreadable_file_error(path: str, compression: str, where: str, problem: str) -> OSError:
    """The error for a file that stops being readable TFRecords (corrupt or truncated).

    Args:
        where: which record failed, e.g. "at record 30".
        problem: what is wrong there (TensorFlow's message, for example).
    """
    expected = f" ({compression})" if compression != "auto" else ""
    return OSError(
        f"Invalid `examples` file {path}: expected TFRecords{expected}; reading failed "
        f"{where}: {problem}"
    )


def feature_types(
    examples: Sequence[tf.train.Example], keys: Sequence[str]
) -> dict[str, FeatureType]:
    """The stored type of each of `keys` in sampled examples (keys never present left out).

    Returns:
        Feature name to `"int64"`, `"float"` or `"bytes"` (the first non-empty kind seen).
    """
    found: dict[str, FeatureType] = {}
    for example in examples:
        for key in set(keys) - set(found):
            feature = example.features.feature.get(key)
            kind = feature.WhichOneof("kind") if feature is not None else None
            if kind:
                found[key] = _PROTO_KINDS[kind]
        if len(found) == len(set(keys)):
            break
    return found


def looks_multi_hot(examples: Sequence[tf.train.Example], key: str, n_classes: int) -> bool:
    """Whether an int64 label holds exactly `n_classes` values in {0, 1} in every sampled
    example that has it (then a multi-label head reads it as multi-hot)."""
    seen = False
    for example in examples:
        feature = example.features.feature.get(key)
        if feature is None:
            continue
        values = feature.int64_list.value
        if len(values) != n_classes or any(v not in (0, 1) for v in values):
            return False
        seen = True
    return seen


def compression_type(path: str, compression: str = "auto") -> str:
    """The `tf.data.TFRecordDataset` compression of a file.

    Args:
        path: the file.
        compression: `"auto"` (from the extension: `.gz`/`.gzip` are GZIP, `.zz`/`.zlib`/
            `.deflate` ZLIB, anything else uncompressed), `"gzip"`, `"zlib"` or `"none"`.

    Returns:
        `"GZIP"`, `"ZLIB"` or `""`.
    """
    choices = {"gzip": "GZIP", "zlib": "ZLIB", "none": ""}
    if compression in choices:
        return choices[compression]
    if compression != "auto":
        raise ValueError(
            f"Invalid `compression`: expected one of ['auto', 'gzip', 'zlib', 'none']; "
            f"received {compression!r}."
        )
    lowered = path.lower()
    if lowered.endswith((".gz", ".gzip")):
        return "GZIP"
    if lowered.endswith((".zz", ".zlib", ".deflate")):
        return "ZLIB"
    return ""


def parse_examples(
    serialized: tf.Tensor, feature_spec: Mapping[str, tf.io.RaggedFeature]
) -> dict[str, RaggedColumn]:
    """Parses a batch of serialized examples into ragged columns.

    Args:
        serialized: string `[B]`.
        feature_spec: from `InputSpec.feature_spec`.

    Returns:
        Feature name to `RaggedColumn` with `B` rows.

    Raises:
        tf.errors.InvalidArgumentError: if an example cannot be parsed.
    """
    parsed = tf.io.parse_example(serialized, feature_spec)
    return {
        key: RaggedColumn(value.values.numpy(), value.row_splits.numpy())
        for key, value in parsed.items()
    }


def failing_rows(function: Callable[[tf.Tensor], Any], serialized: tf.Tensor) -> dict[int, str]:
    """Finds the examples on which `function` fails, by bisection.

    Costs about `2 * F * log2(B)` calls of `function` for `F` failing examples of `B`.

    Args:
        function: takes string `[n]` serialized examples and raises
            `tf.errors.InvalidArgumentError` when one of them is bad.
        serialized: string `[B]`.

    Returns:
        Row to the first line of the error message, for every failing row.
    """
    failures: dict[int, str] = {}
    pending = [(0, int(serialized.shape[0]))]
    while pending:
        start, stop = pending.pop()
        try:
            function(serialized[start:stop])
        except tf.errors.InvalidArgumentError as error:
            if stop - start == 1:
                failures[start] = error_summary(error.message)
            else:
                middle = (start + stop) // 2
                pending.extend([(middle, stop), (start, middle)])
    return failures


def error_summary(message: str) -> str:
    """The informative line of a TensorFlow error about one example.

    >>> error_summary("Graph execution error:\\n\\nDetected at node P\\nName: <unknown>, "
    ...               "Key: f, Index: 0.  Data types don't match. [[{{node P}}]] [Op:x]")
    "Key: f.  Data types don't match."
    """
    skipped = ("Graph execution error", "Detected at node", "<stack traces", "[[")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(skipped)] or lines or [""]
    text = re.sub(r"\s*\[\[.*$|\s*\[Op:.*$", "", useful[0])
    return re.sub(r"^Name: [^,]*, |, Index: \d+", "", text)


@beam.typehints.with_input_types(ExampleBatch)
@beam.typehints.with_output_types(ExampleBatch)
class ParseExamples(beam.DoFn):
    """Parses the features of an `InputSpec` from each batch (the `columns` of the batch).

    Examples that cannot be parsed are found by bisection and raise
    `MalformedExampleError`, or with `reject_malformed` are dropped from the batch and
    counted under `unparseable`.

    Args:
        feature_spec: `tf.io.parse_example` spec (`InputSpec.feature_spec()`).
        reject_malformed: count unparseable examples instead of raising.
    """

    def __init__(self, feature_spec: Mapping[str, tf.io.RaggedFeature], reject_malformed: bool):
        self._feature_spec = dict(feature_spec)
        self._reject_malformed = reject_malformed

    def process(self, batch: ExampleBatch) -> Iterator[ExampleBatch]:
        try:
            columns = parse_examples(batch.serialized, self._feature_spec)
        except tf.errors.InvalidArgumentError:
            batch = self._drop_unparseable(batch)
            columns = parse_examples(batch.serialized, self._feature_spec)
        yield dataclasses.replace(batch, columns=columns)

    def _drop_unparseable(self, batch: ExampleBatch) -> ExampleBatch:
        failures = failing_rows(
            lambda serialized: tf.io.parse_example(serialized, self._feature_spec),
            batch.serialized,
        )
        bad = np.zeros(len(batch.record_index), bool)
        bad[list(failures)] = True
        checks = RowChecks(batch, self._reject_malformed)
        checks.reject(
            bad,
            constants.UNPARSEABLE,
            lambda row: ("a tf.Example with the feature types of the rest of the data",
                         failures[row]),
        )  # fmt: skip
        keep = np.flatnonzero(~bad)
        return dataclasses.replace(
            batch,
            record_index=batch.record_index[keep],
            serialized=take_rows(batch.serialized, keep),
            rejected=checks.rejected,
        )
