"""`EvaluationOptions`: what a user chooses about an evaluation, besides its data and models.

One frozen object, with each default defined here once, is the target of every way to ask
for an evaluation: `evaluate(...)`'s keyword arguments (`pipeline.evaluate`), the command
line's (`cli.evaluation_options`) and the TFX component's execution properties
(`EvaluationOptions.from_exec_properties`, which the executor calls). The inputs and outputs
(the examples, the model and baseline, the output directories, Beam's arguments) are not
options: `pipeline.evaluate` takes them beside it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from heads.stats.histogram import DEFAULT_LOGIT_RANGE, DEFAULT_NUM_BUCKETS
from heads.stats.inputs import validate_logit_range, validate_num_buckets
from heads.stats.score_counts import DEFAULT_MAX_EXACT_SCORES, validate_max_exact_scores
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.blessing import MetricThreshold, parse_thresholds
from tfx_heads.components.evaluator.bootstrap import validate_num_bootstrap_samples
from tfx_heads.components.evaluator.example_inputs import compression_type
from tfx_heads.components.evaluator.inference import DEFAULT_CHUNK_SIZE, validate_chunk_size
from tfx_heads.components.evaluator.reading import validate_batch_size
from tfx_heads.components.evaluator.slicing import SliceSpec, slice_specs

Compression = Literal["auto", "gzip", "zlib", "none"]
PerHead = str | Mapping[str, str] | None
"""One feature (or format) for a single head, or head name to it for a MultiHead."""


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    """How to evaluate: features, slices, thresholds, reading and statistics options.

    Attributes:
        label_keys: the label feature (head name to feature for a MultiHead); None uses the
            label keys stored with the model.
        logits_features: the float feature holding each example's logits (head name to
            feature for a MultiHead); None infers them with the model. Exclusive with a model.
        label_formats: label format overrides (see `head_inputs.LabelFormat`); None infers.
        example_weight_keys: the weight feature (head name to feature for a MultiHead), as
            an EvalConfig's model spec gives it; it must be the head's own `weight_column`
            (checked when the head is known); None: the head's.
        slices: slicings besides the overall slice: feature names, or crosses as `"a,b"` /
            `("a", "b")`; stored as `SliceSpec`s, without duplicates.
        thresholds: blessing conditions (`blessing.MetricThreshold`s, or their dicts); the
            component blesses with them, `evaluate` only computes the metrics.
        batch_size: examples per batch, >= 1.
        compression: `"auto"` (from each file's extension), `"gzip"`, `"zlib"` or `"none"`.
        reject_malformed: count malformed examples in `rejected` instead of failing.
        confidence_intervals: add Poisson bootstrap intervals (see `bootstrap`).
        num_bootstrap_samples: bootstrap replicates, >= 2 (checked with
            `confidence_intervals` only).
        confidence_level: coverage of the intervals.
        bootstrap_seed: seed of the replicates.
        num_buckets: AUC histogram resolution (see `heads.stats`).
        class_num_buckets: per-class histogram resolution (default: the finest that keeps
            a head's per-class histograms within 16 MiB, see `heads.stats.factory`).
        max_exact_scores: a curve (per slice) with at most this many distinct scores is
            computed exactly (error bound 0); one with more falls back to its histogram
            (see `heads.stats.score_counts`; 0: histograms only).
        logit_range: AUC histograms cover logits in `[-logit_range, logit_range]`.
        inference_chunk_size: examples per call of the model's signature (every call has
            this shape, so logits do not depend on the batch size; see `inference`).
        min_slice_size: a slice with fewer examples reports only its example counts (no
            other metric, interval or plot; `metrics.json` marks it `counts_only`), as
            TFMA's `min_slice_size`; an int >= 1.

    Raises:
        TypeError: for `confidence_intervals` that is not a bool, or a statistics option of
            the wrong type (`num_buckets`, `class_num_buckets`, `max_exact_scores`,
            `logit_range`).
        ValueError: for a value out of its range, naming the field.

    >>> options = EvaluationOptions(slices=["day", "b,a"], confidence_intervals=True)
    >>> [spec.features for spec in options.slices], options.bootstrap_replicates
    ([('day',), ('a', 'b')], 20)
    """

    label_keys: PerHead = None
    logits_features: PerHead = None
    label_formats: PerHead = None
    example_weight_keys: PerHead = None
    slices: Sequence[str | Sequence[str] | SliceSpec] = ()
    thresholds: Sequence[MetricThreshold | Mapping[str, Any]] = ()
    batch_size: int = constants.DEFAULT_BATCH_SIZE
    compression: Compression = "auto"
    reject_malformed: bool = False
    confidence_intervals: bool = False
    num_bootstrap_samples: int = constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES
    confidence_level: float = constants.DEFAULT_CONFIDENCE_LEVEL
    bootstrap_seed: int = 0
    num_buckets: int = DEFAULT_NUM_BUCKETS
    class_num_buckets: int | None = None
    max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES
    logit_range: float = DEFAULT_LOGIT_RANGE
    inference_chunk_size: int = DEFAULT_CHUNK_SIZE
    min_slice_size: int = constants.DEFAULT_MIN_SLICE_SIZE

    def __post_init__(self) -> None:
        for name in ("label_keys", "logits_features", "label_formats", "example_weight_keys"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, dict(value))
        object.__setattr__(self, "slices", slice_specs(self.slices)[1:])
        object.__setattr__(
            self,
            "thresholds",
            tuple(
                item if isinstance(item, MetricThreshold) else parse_thresholds([item])[0]
                for item in self.thresholds
            ),
        )
        self.validate()

    def validate(self) -> None:
        """Checks the reading, bootstrap and statistics options (slices and thresholds are
        checked as they are stored).

        Raises:
            TypeError: for a value of the wrong type, naming the field.
            ValueError: for a value out of its range, naming the field.
        """
        validate_batch_size(self.batch_size)
        compression_type("", self.compression)
        validate_chunk_size(self.inference_chunk_size, "inference_chunk_size")
        if not isinstance(self.confidence_intervals, bool):
            raise TypeError(
                "Invalid `confidence_intervals`: expected a bool (the number of replicates is "
                f"`num_bootstrap_samples`); received {self.confidence_intervals!r}."
            )
        if self.confidence_intervals:  # the count only matters with intervals
            validate_num_bootstrap_samples(self.num_bootstrap_samples)
        validate_num_buckets(self.num_buckets)
        if self.class_num_buckets is not None:
            validate_num_buckets(self.class_num_buckets, "class_num_buckets")
        validate_max_exact_scores(self.max_exact_scores)
        validate_logit_range(self.logit_range)
        if isinstance(self.min_slice_size, bool) or not isinstance(self.min_slice_size, int):
            raise TypeError(
                f"Invalid `min_slice_size`: expected an int >= 1; received {self.min_slice_size!r}."
            )
        if self.min_slice_size < 1:
            raise ValueError(
                f"Invalid `min_slice_size`: expected an int >= 1; received {self.min_slice_size!r}."
            )

    @property
    def bootstrap_replicates(self) -> int:
        """The bootstrap replicates computed: `num_bootstrap_samples` with confidence
        intervals, else 0."""
        return self.num_bootstrap_samples if self.confidence_intervals else 0

    @classmethod
    def from_eval_config(cls, eval_config: Any, **values: Any) -> EvaluationOptions:
        """The options of a `tfma.EvalConfig` (the proto, or its JSON or text form; see
        `eval_config.options_from_eval_config`), with other fields from `values`.

        Raises:
            ValueError: for a field of the config that the evaluator does not support, or a
                field set both by the config and in `values`.
        """
        from tfx_heads.components.evaluator.eval_config import options_from_eval_config

        fields = options_from_eval_config(eval_config)
        both = sorted(
            name
            for name in set(fields) & set(values)
            if values[name] not in (None, (), [], False) and values[name] != fields[name]
        )
        if both:
            raise ValueError(
                f"Invalid options: {both} set both by the eval_config and otherwise, to "
                f"other values; expected them in one place."
            )
        return cls(**{**values, **fields})

    @classmethod
    def from_exec_properties(cls, exec_properties: Mapping[str, Any]) -> EvaluationOptions:
        """The options of a `HeadEvaluator`'s execution properties (JSON strings and ints,
        see `component.HeadEvaluatorSpec`); a missing property takes its default.

        Raises:
            ValueError: for a malformed property (naming it) or an invalid option.
        """
        replicates = exec_properties.get(constants.BOOTSTRAP_REPLICATES_KEY)
        eval_config = exec_properties.get(constants.EVAL_CONFIG_KEY)
        if eval_config:
            return cls.from_eval_config(
                eval_config,
                reject_malformed=bool(exec_properties.get(constants.REJECT_MALFORMED_KEY)),
                confidence_intervals=bool(replicates),
                num_bootstrap_samples=replicates or constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES,
            )
        return cls(
            thresholds=parse_thresholds(exec_properties.get(constants.THRESHOLDS_KEY)),
            slices=[
                tuple(features)
                for features in json.loads(exec_properties.get(constants.SLICES_KEY) or "[]")
            ],
            reject_malformed=bool(exec_properties.get(constants.REJECT_MALFORMED_KEY)),
            confidence_intervals=bool(replicates),
            num_bootstrap_samples=replicates or constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES,
        )
