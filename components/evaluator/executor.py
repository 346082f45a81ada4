"""The `HeadEvaluator` executor: evaluates the model (and the baseline) on Beam, then blesses.

The candidate's results go to the `evaluation` artifact's directory (TFMA files with the
verdict in `validations.tfrecord`, `metrics.json`, `blessing.json` and the HTML report
`report.html`, see `validations`); a baseline model, when given, is evaluated on the same data
in the same Beam pass (the records are read and parsed once, then each model infers) into its
`baseline/` subdirectory. The `blessing` artifact gets the `blessed` custom property (1 or 0),
a `BLESSED` or `NOT_BLESSED` file, the model ids that TFX's latest-blessed-model resolver
reads, and `blessing.json` with the thresholds and every failed condition.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

import tensorflow as tf
from tfx import types
from tfx.components.evaluator import constants as tfx_evaluator_constants
from tfx.components.evaluator import executor as tfx_evaluator_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from heads.description import describe
from heads.export import load_head_config
from tfx_heads.components import compat
from tfx_heads.components.evaluator import blessing, constants, validations
from tfx_heads.components.evaluator.options import EvaluationOptions
from tfx_heads.components.evaluator.runner import check_options_against_head, evaluate
from tfx_heads.components.evaluator.writers import write_json
from tfx_heads.components.report.html import write_report

_LOG = logging.getLogger(__name__)


class Executor(tfx_evaluator_executor.Executor):
    """Runs `tfx_heads.components.evaluator.runner.evaluate` with the pipeline's Beam arguments
    and the options of its execution properties (`EvaluationOptions.from_exec_properties`).

    It derives from TFX's Evaluator executor (a Beam executor) only so that TFX's Kubeflow V2
    entrypoint (`kubeflow_v2_run_executor`) treats it as an evaluator: for those it rewrites
    the blessing's `current_model_id` and `baseline_model_id` from the numeric ids it gives
    artifacts to the artifacts' names, which the compiled latest-blessed-model resolver
    matches (`name="{{$.inputs.artifacts['input'].metadata['current_model_id']}}"`). Without
    it that resolver never finds a model on Vertex. `Do` is this class's own.
    """

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        for key in (constants.EXAMPLES_KEY, constants.MODEL_KEY):
            if not input_dict.get(key):
                raise ValueError(
                    f"Invalid inputs: expected an artifact for `{key}`; received none."
                )
        for key in (constants.EVALUATION_KEY, constants.BLESSING_KEY):
            if not output_dict.get(key):
                raise ValueError(f"Invalid outputs: expected an artifact for `{key}`.")

        examples = _example_files(
            input_dict[constants.EXAMPLES_KEY],
            json.loads(exec_properties.get(constants.EXAMPLE_SPLITS_KEY) or '["eval"]'),
        )
        options = EvaluationOptions.from_exec_properties(exec_properties)
        model_path = path_utils.serving_model_path(
            artifact_utils.get_single_instance(input_dict[constants.MODEL_KEY]).uri
        )
        check_options_against_head(options, describe(load_head_config(model_path)[0]))
        evaluation_dir = artifact_utils.get_single_uri(output_dict[constants.EVALUATION_KEY])
        model = artifact_utils.get_single_instance(input_dict[constants.MODEL_KEY])
        baseline_model, baseline_path, baseline_output = None, None, None
        if input_dict.get(constants.BASELINE_MODEL_KEY):
            baseline_model = artifact_utils.get_single_instance(
                input_dict[constants.BASELINE_MODEL_KEY]
            )
            baseline_path = path_utils.serving_model_path(baseline_model.uri)
            baseline_output = os.path.join(evaluation_dir, constants.BASELINE_DIR)
        # One Beam pass for both models; the baseline's results go to `baseline/`. The
        # verdict is decided (and written) here, with or without thresholds.
        evaluate(
            examples,
            evaluation_dir,
            model=model_path,
            options=dataclasses.replace(options, thresholds=()),
            baseline_model=baseline_path,
            beam_pipeline_args=compat.beam_pipeline_args(self),
        )
        thresholds = list(options.thresholds)
        verdict = validations.bless(evaluation_dir, thresholds, baseline_output)
        _LOG.info("Blessing: %s", verdict.to_dict())
        self._write_blessing(output_dict, model, baseline_model, thresholds, verdict)
        write_report(evaluation_dir, os.path.join(evaluation_dir, constants.REPORT_FILE))

    @staticmethod
    def _write_blessing(
        output_dict: dict[str, list[types.Artifact]],
        model: types.Artifact,
        baseline_model: types.Artifact | None,
        thresholds: list[blessing.MetricThreshold],
        verdict: blessing.Verdict,
    ) -> None:
        artifact = artifact_utils.get_single_instance(output_dict[constants.BLESSING_KEY])
        write_json(
            validations.blessing_document(thresholds, verdict),
            os.path.join(artifact.uri, constants.BLESSING_FILE),
        )
        c = tfx_evaluator_constants
        artifact.set_string_custom_property(c.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
        artifact.set_int_custom_property(c.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
        if baseline_model is not None:
            artifact.set_string_custom_property(
                c.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline_model.uri
            )
            artifact.set_int_custom_property(
                c.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline_model.id
            )
        marker = c.BLESSED_FILE_NAME if verdict.blessed else c.NOT_BLESSED_FILE_NAME
        io_utils.write_string_file(os.path.join(artifact.uri, marker), "")
        artifact.set_int_custom_property(
            c.ARTIFACT_PROPERTY_BLESSED_KEY,
            c.BLESSED_VALUE if verdict.blessed else c.NOT_BLESSED_VALUE,
        )


def _example_files(artifacts: list[types.Artifact], splits: list[str]) -> list[str]:
    """The file globs of `splits` in the Examples artifacts (each split must exist)."""
    globs = []
    for artifact in artifacts:
        names = artifact_utils.decode_split_names(artifact.split_names)
        for split in splits:
            if split not in names:
                raise ValueError(
                    f"Invalid `example_splits`: split {split!r} not in the examples at "
                    f"{artifact.uri}; it has {names}."
                )
            globs.append(os.path.join(artifact_utils.get_split_uri([artifact], split), "*"))
    if not any(tf.io.gfile.glob(pattern) for pattern in globs):
        raise ValueError(f"Invalid examples: no files match {globs}.")
    return globs
