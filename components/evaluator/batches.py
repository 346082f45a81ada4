"""From parsed examples and logits to the batches the heads' statistics take.

`PrepareHeadBatches` is a `beam.DoFn` that converts and checks, for the whole batch at once,
every head's labels, example weights and logits (read from a logits feature, or computed by
`InferLogits`), drops the examples that failed a check (or raises for the first one, see
`RowChecks`), and emits a `PreparedBatch`: the statistics batch of the head (for a
MultiHead, one per sub-head, keyed by head name) and the slice features of the remaining
examples. Its tagged output `counts` carries the batch's `ExampleCounts`, so that examples
read = evaluated + rejected.

For a head with a custom `loss_fn` the per-example loss is the head's own
(`head.unreduced_loss`, in TensorFlow on the batch); for a regression head with a custom
`inverse_link_fn` the predictions are the model's (or the link applied to logits features).
Only then is the head object rebuilt on the worker; everything else reads its description.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
import tensorflow as tf

from heads.base_head import Head
from heads.serialization import deserialize
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.coders import BatchCoder
from tfx_heads.components.evaluator.example_inputs import ExampleBatch, RowChecks
from tfx_heads.components.evaluator.head_inputs import HeadInput, InputSpec
from tfx_heads.components.evaluator.labels import (
    check_logits,
    check_weights,
    example_weights,
    feature_logits,
    head_labels,
)
from tfx_heads.components.evaluator.rows import RaggedColumn, ragged_take_rows, take_rows


class ExampleCounts(NamedTuple):
    """How many examples a batch (or the whole evaluation) read, evaluated and rejected."""

    read: int
    evaluated: int
    rejected: Mapping[str, int]
    """Rejected examples by reason (each example under its first reason)."""
    unreadable: tuple[Mapping[str, Any], ...] = ()
    """Files whose rest could not be read (with `reject_malformed`): `file`, `where`,
    `problem` and `records` (how many records the rest holds, or None if unknown)."""


@dataclasses.dataclass(frozen=True)
class PreparedBatch:
    """The evaluated examples of a batch.

    Attributes:
        file: the file the examples come from.
        record_index: int64 `[R]`: their record numbers in `file`.
        stats_batch: the head's `HeadStats.update` input for the `R` examples.
        slice_columns: the slice features of the `R` examples.
    """

    file: str
    record_index: np.ndarray
    stats_batch: Any
    slice_columns: Mapping[str, RaggedColumn]


beam.coders.registry.register_coder(PreparedBatch, BatchCoder)


@beam.typehints.with_input_types(ExampleBatch)
@beam.typehints.with_output_types(PreparedBatch)
class PrepareHeadBatches(beam.DoFn):
    """Turns parsed batches into `PreparedBatch`es plus `ExampleCounts` (tag `counts`).

    Args:
        spec: what every head reads.
        head_config: the head's `heads.serialize` form (rebuilt once per worker, where a
            head has a custom loss or link).
        reject_malformed: count malformed examples instead of raising.
    """

    def __init__(self, spec: InputSpec, head_config: Mapping[str, Any], reject_malformed: bool):
        self._spec = spec
        self._head_config = dict(head_config)
        self._reject_malformed = reject_malformed
        self._evaluated = beam.metrics.Metrics.counter(
            constants.COUNTER_NAMESPACE, constants.EXAMPLES_EVALUATED_COUNTER
        )
        self._rejected = beam.metrics.Metrics.counter(
            constants.COUNTER_NAMESPACE, constants.EXAMPLES_REJECTED_COUNTER
        )

    def setup(self) -> None:
        self._head_objects: dict[str | None, Head] = {}
        if self._spec.head.needs_head_object:
            head = deserialize(self._head_config)
            singles = head.heads if self._spec.head.sub_heads else (head,)
            self._head_objects = {single.name: single for single in singles}

    def process(self, batch: ExampleBatch) -> Iterator[Any]:
        checks = RowChecks(batch, self._reject_malformed)
        arrays = {head.name: self._head_arrays(head, batch, checks) for head in self._spec.heads}
        keep = np.flatnonzero(checks.valid)
        if len(keep) < len(checks.valid):
            arrays = take_rows(arrays, keep)
        for head in self._spec.heads:
            if head.head.needs_head_object:
                self._add_custom_values(self._head_objects[head.name], head, arrays[head.name])
        stats_batch = self._spec.head.by_head(arrays)
        slice_columns = {
            key: batch.columns[key]
            if len(keep) == len(checks.valid)
            else ragged_take_rows(batch.columns[key], keep)
            for key in self._spec.slice_keys
        }
        self._evaluated.inc(len(keep))
        self._rejected.inc(sum(checks.rejected.values()))  # Earlier stages' rejections too.
        if len(keep):
            yield PreparedBatch(batch.file, batch.record_index[keep], stats_batch, slice_columns)
        yield beam.pvalue.TaggedOutput(
            constants.COUNTS_TAG, ExampleCounts(batch.read, len(keep), checks.rejected)
        )

    def _head_arrays(
        self, head: HeadInput, batch: ExampleBatch, checks: RowChecks
    ) -> dict[str, np.ndarray]:
        arrays = {"labels": head_labels(head, batch.columns[head.label_key], checks)}
        if head.logits_key is not None:
            arrays["logits"] = feature_logits(head, batch.columns[head.logits_key], checks)
        else:
            arrays["logits"] = batch.logits[head.name]
        check_logits(head, arrays["logits"], checks)
        if head.weight_key is not None:
            arrays["weights"] = example_weights(head, batch.columns[head.weight_key], checks)
            check_weights(head, arrays["weights"], checks)
        if head.name in batch.predictions:
            arrays["predictions"] = batch.predictions[head.name]
        return arrays

    def _add_custom_values(self, head: Head, spec: HeadInput, arrays: dict) -> None:
        """Adds what the user's link or loss computes: `predictions`, `unreduced_loss`."""
        if spec.head.link == "custom" and "predictions" not in arrays:
            arrays["predictions"] = head.inverse_link_fn(tf.constant(arrays["logits"])).numpy()
        if spec.head.loss != "custom":
            return
        labels = arrays["labels"]
        if spec.kind in ("binary", "multi_class"):
            if spec.vocabulary is not None:
                labels = np.array(spec.vocabulary, dtype=object)[labels.astype(np.int64)]
            labels = labels[:, None]
        features = {} if spec.weight_key is None else {spec.weight_key: arrays["weights"]}
        loss, _ = head.unreduced_loss(tf.constant(labels), tf.constant(arrays["logits"]), features)
        arrays["unreduced_loss"] = loss.numpy()
