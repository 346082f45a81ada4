"""Logits from a SavedModel's `predict` signature, one batch at a time.

`InferLogits` is a `beam.DoFn` that loads the SavedModel once per worker (in `setup`, with
`tf.saved_model.load`) and feeds each batch of serialized examples to its `predict`
signature (input `examples`), which returns every prediction key of the head, keyed
`<head name>/<key>` for a MultiHead (`heads.export_saved_model`). It keeps the `logits` of
each head (`predictions` for a regression head without an inverse link, whose logits are its
predictions) and, for a regression head with a custom `inverse_link_fn`, its `predictions`.
The signature is wrapped in a `tf.function` that returns only those outputs, so TensorFlow
prunes the rest (class strings and the like) from the graph.

The signature always runs on chunks of exactly `chunk_size` examples (the last chunk of a
batch is padded with copies of its first example, whose outputs are dropped). TensorFlow's CPU
kernels round differently for different batch shapes (about 1e-7 relative on float32
logits, measured on the taxi model for 0.3% of the examples), so running every example in a
call of the same shape makes its logits, and so the metrics, independent of the batch size
and of how the runner splits the data.

If the signature fails on a batch (for example an example lacks a model input), the failing
examples are found by bisection and raise `MalformedExampleError`, or with
`reject_malformed` are marked invalid and counted under `model_error`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow as tf

from heads import keys
from heads.export import predict_output_name
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.example_inputs import ExampleBatch, RowChecks, failing_rows
from tfx_heads.components.evaluator.head_inputs import InputSpec
from tfx_heads.components.evaluator.rows import take_rows

PREDICT_SIGNATURE = keys.PREDICT_SERVING_KEY
EXAMPLES_INPUT = keys.EXAMPLES_INPUT_KEY
LOGITS_KEY = keys.PredictionKeys.LOGITS
PREDICTIONS_KEY = keys.PredictionKeys.PREDICTIONS
DEFAULT_CHUNK_SIZE = 1024


def validate_chunk_size(chunk_size: Any, arg: str = "chunk_size") -> None:
    """Raises ValueError unless `chunk_size` is an int >= 1 (examples per signature call)."""
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"Invalid `{arg}`: expected an int >= 1; received {chunk_size!r}.")


def signature_outputs(
    available: Sequence[str], spec: InputSpec
) -> dict[str, tuple[str | None, str]]:
    """Chooses the signature outputs to keep: each head's logits, and the `predictions` of a
    regression head with a custom `inverse_link_fn` (a MultiHead's outputs are prefixed
    `<head name>/`).

    Args:
        available: the output names of the `predict` signature.
        spec: what every head reads.

    Returns:
        Output name to `(head name, "logits" or "predictions")`.

    Raises:
        ValueError: if a head's logits are not among the outputs.
    """
    chosen: dict[str, tuple[str | None, str]] = {}
    for head in spec.heads:
        logits_name = predict_output_name(spec.head, head.name, LOGITS_KEY)
        predictions_name = predict_output_name(spec.head, head.name, PREDICTIONS_KEY)
        candidates = [logits_name]
        if head.kind == "regression":
            candidates.append(predictions_name)
        found = [name for name in candidates if name in available]
        if not found:
            raise ValueError(
                f"Invalid `model`: expected a '{PREDICT_SIGNATURE}' signature with output "
                f"{' or '.join(repr(c) for c in candidates)} for {head.subject}; "
                f"received outputs {sorted(available)}. Export the model with "
                "heads.export_saved_model."
            )
        chosen[found[0]] = (head.name, LOGITS_KEY)
        if head.head.link == "custom":
            chosen[predictions_name] = (head.name, PREDICTIONS_KEY)
    return chosen


@beam.typehints.with_input_types(ExampleBatch)
@beam.typehints.with_output_types(ExampleBatch)
class InferLogits(beam.DoFn):
    """Adds each head's logits (and link predictions) from a SavedModel to a batch.

    Args:
        model_dir: the SavedModel directory.
        spec: what every head reads.
        reject_malformed: count examples the signature fails on instead of raising.
        chunk_size: examples per signature call (see the module docstring).
    """

    def __init__(
        self,
        model_dir: str,
        spec: InputSpec,
        reject_malformed: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        validate_chunk_size(chunk_size)
        self._chunk_size = chunk_size
        self._model_dir = model_dir
        self._spec = spec
        self._reject_malformed = reject_malformed

    def setup(self) -> None:
        self._model = tf.saved_model.load(self._model_dir)
        if PREDICT_SIGNATURE not in self._model.signatures:
            raise ValueError(
                f"Invalid `model` {self._model_dir}: expected a '{PREDICT_SIGNATURE}' "
                f"signature; received {sorted(self._model.signatures)}."
            )
        signature = self._model.signatures[PREDICT_SIGNATURE]
        self._outputs = signature_outputs(list(signature.structured_outputs), self._spec)
        names = list(self._outputs)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def infer(serialized):
            outputs = signature(**{EXAMPLES_INPUT: serialized})
            return {name: outputs[name] for name in names}

        self._infer = infer

    def process(self, batch: ExampleBatch) -> Iterator[ExampleBatch]:
        yield self.infer_batch(batch)

    def infer_batch(self, batch: ExampleBatch) -> ExampleBatch:
        """The batch with each head's logits (and link predictions) added."""
        size = len(batch.record_index)
        valid = np.ones(size, bool) if batch.valid is None else batch.valid
        rejected = batch.rejected
        try:
            outputs = self._run(batch.serialized)
        except tf.errors.InvalidArgumentError:
            failures = failing_rows(self._run, batch.serialized)
            bad = np.zeros(size, bool)
            bad[list(failures)] = True
            checks = RowChecks(batch, self._reject_malformed)
            checks.reject(
                bad,
                constants.MODEL_ERROR,
                lambda row: ("an example the model's predict signature accepts", failures[row]),
            )
            keep = np.flatnonzero(~bad)
            kept = self._run(take_rows(batch.serialized, keep))
            outputs = {}
            for name, value in kept.items():
                full = np.zeros((size,) + value.shape[1:], value.dtype)
                full[keep] = value
                outputs[name] = full
            valid, rejected = checks.valid, checks.rejected
        logits, predictions = {}, {}
        for name, (head_name, kind) in self._outputs.items():
            value = outputs[name]
            if value.ndim == 1:
                value = value[:, None]
            (logits if kind == LOGITS_KEY else predictions)[head_name] = value
        for head in self._spec.heads:
            width = logits[head.name].shape[1]
            if width != head.logits_dimension:
                raise ValueError(
                    f"Invalid `model`: expected logits of width {head.logits_dimension} "
                    f"(logits_dimension of {head.subject}); received width {width}. "
                    "Check that the head configuration matches the model."
                )
        return dataclasses.replace(
            batch, logits=logits, predictions=predictions, valid=valid, rejected=rejected
        )

    def _run(self, serialized: tf.Tensor) -> dict[str, np.ndarray]:
        """The kept outputs for string `[n]` examples, in chunks of `chunk_size`."""
        size, chunk = int(serialized.shape[0]), self._chunk_size
        if not size:
            return {name: value.numpy() for name, value in self._infer(serialized).items()}
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self._outputs}
        for start in range(0, size, chunk):
            examples = serialized[start : start + chunk]
            count = int(examples.shape[0])
            if count < chunk:
                examples = tf.concat([examples, tf.repeat(examples[:1], chunk - count)], 0)
            for name, value in self._infer(examples).items():
                parts[name].append(value.numpy()[:count])
        return {name: np.concatenate(values) for name, values in parts.items()}
