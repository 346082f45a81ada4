"""Names shared by the evaluator's modules: Beam stage labels, the TFX component's keys,
counters, output files and the reasons an example can be rejected for.

Stage labels are stable so that a Beam UI (Dataflow's job graph) and a TFX executor can
refer to them, and so that an updated pipeline keeps its stage names.
"""

from __future__ import annotations

# Beam stage labels, in pipeline order.
MATCH_FILES_STAGE = "MatchExamples"
DISTRIBUTE_FILES_STAGE = "DistributeFiles"
READ_STAGE = "ReadExamples"
PARSE_STAGE = "ParseExamples"
EVALUATE_MODEL_STAGE = "EvaluateModel"
"""Each model's stages (`InferLogits` to `WriteResults`), labelled `EvaluateModel[<i>]`."""
INFER_STAGE = "InferLogits"
PREPARE_STAGE = "PrepareHeadBatches"
SLICE_STAGE = "SliceBatches"
COMBINE_STAGE = "CombineStatsPerSlice"
SPLIT_OVERALL_STAGE = "SplitOverallSlice"
COMBINE_OVERALL_STAGE = "CombineStatsOverall"
GATHER_RESULTS_STAGE = "GatherSliceResults"
COMBINE_GROUPS_STAGE = "CombineSliceGroups"
ENCODED_SLICES_PREFIX = ".encoded-slices-"
"""The name of the temporary directory (under the output) of `encoding.EncodedSlices` files,
before a run id."""
GROUP_RESULTS_STAGE = "SliceGroupResults"
GATHER_GROUPS_STAGE = "GatherGroupResults"
COUNT_STAGE = "CombineExampleCounts"
GATHER_COUNTS_STAGE = "GatherExampleCounts"
ENCODE_SLICES_STAGE = "EncodeSlices"
WRITE_METRICS_JSON_STAGE = "WriteMetricsJson"
WRITE_RESULTS_STAGE = "WriteResults"

# Keys of the HeadEvaluator TFX component (`component.py`, `executor.py`): its inputs,
# outputs and execution parameters, named as TFX's own components name theirs.
EXAMPLES_KEY = "examples"
MODEL_KEY = "model"
BASELINE_MODEL_KEY = "baseline_model"
EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
EXAMPLE_SPLITS_KEY = "example_splits"
SLICES_KEY = "slices"
THRESHOLDS_KEY = "thresholds"
EVAL_CONFIG_KEY = "eval_config"
"""A `tfma.EvalConfig` as JSON (`json_format`), as TFX's Evaluator stores it; exclusive
with `slices` and `thresholds`."""
REJECT_MALFORMED_KEY = "reject_malformed"
BOOTSTRAP_REPLICATES_KEY = "bootstrap_replicates"
"""The number of bootstrap replicates, 0 for no confidence intervals: the component's
`confidence_intervals` and `num_bootstrap_samples` in one int parameter
(`EvaluationOptions.bootstrap_replicates`)."""

# Beam metrics counters (namespace, names).
COUNTER_NAMESPACE = "tfx_heads.evaluator"
EXAMPLES_READ_COUNTER = "examples_read"
EXAMPLES_EVALUATED_COUNTER = "examples_evaluated"
EXAMPLES_REJECTED_COUNTER = "examples_rejected"

# Output files, relative to the output directory.
METRICS_JSON_FILE = "metrics.json"
HEAD_CONFIG_FILE = "head_config.json"
BASELINE_DIR = "baseline"
"""The baseline model's results (the same files), a subdirectory of the candidate's."""
BLESSING_FILE = "blessing.json"
"""The blessing's thresholds and failed conditions (the TFX component writes it)."""
REPORT_FILE = "report.html"
"""The HTML report the TFX component writes beside the results."""

# Tagged output of the reading and batch preparation stages carrying example counts.
COUNTS_TAG = "counts"
# The rejection reason of the records in a file's unreadable rest (with reject_malformed).
UNREADABLE_RECORDS_REASON = "unreadable_records"

# Defaults.
DEFAULT_BATCH_SIZE = 4096
MAX_BATCH_BYTES = 32 * 2**20
"""About the most bytes of serialized records in one batch: a file of large records (wide
logits) is read in fewer than `batch_size` records per batch (`reading.ReadExamples`), so a
batch and what it is parsed and converted into stay a few hundred megabytes."""
DEFAULT_NUM_BOOTSTRAP_SAMPLES = 20
DEFAULT_CONFIDENCE_LEVEL = 0.95
DEFAULT_MIN_SLICE_SIZE = 1
"""Slices with fewer examples report their counts only (TFMA's `min_slice_size`; 1: every
slice with an example reports every metric)."""
MAX_PLOT_POINTS = 1000
MAX_PLOTTED_CLASS_CURVES = 10
"""Per-class curves plotted (stored in the plots records) for a head that selects no
classes: its largest classes. Not the number of classes with per-class curve metrics
(`heads.stats.per_class.MAX_DEFAULT_CLASS_CURVES`), nor the report's
`DRAWN_CLASS_CURVES`."""
PROGRESS_INTERVAL_SECONDS = 10.0

# Reasons an example is rejected (the keys of `rejected.reasons` in metrics.json). A
# reason about one head's label or logits is suffixed with `/<head name>` when the head
# has a name, like metric keys.
UNPARSEABLE = "unparseable"
"""The example is not a tf.Example, or a feature has another type than the rest of the
data (for example a float label where the others are int64)."""
MODEL_ERROR = "model_error"
"""The model's `predict` signature failed on the example (for example a missing input)."""
MISSING_LABEL = "missing_label"
LABEL_SHAPE = "label_shape"
"""The label has another number of values than the head expects."""
LABEL_OUT_OF_RANGE = "label_out_of_range"
UNKNOWN_LABEL = "unknown_label"
"""A string label that is not in the head's `label_vocabulary`."""
MISSING_WEIGHT = "missing_weight"
WEIGHT_SHAPE = "weight_shape"
MISSING_LOGITS = "missing_logits"
LOGITS_WIDTH = "logits_width"
"""A logits feature with another number of values than the head's `logits_dimension`."""
NON_FINITE_LOGITS = "non_finite_logits"
"""A logit that is NaN or infinite (from the model or a logits feature): the loss and the
curves of such an example are undefined."""
INVALID_WEIGHT = "invalid_weight"
"""An example weight that is negative, NaN or infinite: weighted counts, the loss and the
curves' error bounds need finite weights >= 0."""
