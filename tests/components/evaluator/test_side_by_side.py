"""TFX's own Evaluator and HeadEvaluator given one `tfma.EvalConfig`: the taxi pipeline's,
plus one threshold that fails, a relative change one and two that demand an improvement
over the baseline. The stock Evaluator computes the heads' metrics with TFMA
(`tfma_metric.head_metrics_spec`); both run on the same examples, model and baseline, and
must agree on the slices, the metric values, the verdict of every
threshold in every slice and `validation_ok`, as `tfma.load_validation_result` reads them."""

import json

import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import config_pb2
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.types import standard_artifacts

import heads
from tfx_heads.components.evaluator import constants, tfma_metric
from tfx_heads.components.evaluator.eval_config import eval_config_json
from tfx_heads.components.evaluator.executor import Executor


def _inputs(helpers, folder, examples_glob, model, baseline):
    """Examples (split `eval`), Model and baseline Model artifacts over the given files."""
    return {
        constants.EXAMPLES_KEY: [helpers.examples_artifact(folder / "examples", examples_glob)],
        constants.MODEL_KEY: [helpers.model_artifact(folder / "model1", model, 1)],
        constants.BASELINE_MODEL_KEY: [helpers.model_artifact(folder / "model2", baseline, 2)],
    }


def _eval_config(taxi_model):
    """The taxi pipeline's EvalConfig, with the HeadMetrics spec TFMA computes the keys
    with, a value threshold on every slice, a relative change threshold per day (the
    short-trained model fails both in some days, and the taxi's trip_seconds bound), and
    two overall change thresholds that demand an improvement, one per direction."""
    from tfx_heads.pipeline.taxi import config

    eval_config = config.eval_config()
    head, label_keys = heads.load_head_config(taxi_model)
    spec = tfma_metric.head_metrics_spec(head, label_keys)
    spec.thresholds["auc/big_tipper"].value_threshold.lower_bound.value = 0.5
    change = spec.per_slice_thresholds["prediction/mean/big_tipper"].thresholds.add()
    change.slicing_specs.add(feature_keys=["trip_start_day"])
    change.threshold.change_threshold.direction = config_pb2.MetricDirection.LOWER_IS_BETTER
    change.threshold.change_threshold.relative.value = 0.5
    # Change thresholds that demand an improvement over the baseline, one per direction.
    for key, direction, field, value in (
        ("accuracy/big_tipper", config_pb2.MetricDirection.HIGHER_IS_BETTER, "absolute", 1e-3),
        (
            "average_loss/payment_type",
            config_pb2.MetricDirection.LOWER_IS_BETTER,
            "relative",
            -1e-3,
        ),
    ):
        gain = spec.per_slice_thresholds[key].thresholds.add()
        gain.slicing_specs.add()
        gain.threshold.change_threshold.direction = direction
        getattr(gain.threshold.change_threshold, field).value = value
    eval_config.metrics_specs.append(spec)
    eval_config.slicing_specs.pop()  # trip_start_day only: keep TFMA's run short
    return eval_config


def _failures(result):
    """{(slice key, metric name, is_diff): failing value} of a ValidationResult."""
    return {
        (
            str(tfma.slicer.deserialize_slice_key(entry.slice_key)),
            failure.metric_key.name,
            failure.metric_key.is_diff,
        ): failure.metric_value.double_value.value
        for entry in result.metric_validations_per_slice
        for failure in entry.failures
    }


def _metrics(output, model_name):
    result = tfma.load_eval_result(output, model_name=model_name)
    return {
        slice_key: {
            name: value["doubleValue"]
            for name, value in metrics[""][""].items()
            if "doubleValue" in value
        }
        for slice_key, metrics in result.slicing_metrics
    }


@pytest.mark.slow
def test_the_stock_evaluator_and_head_evaluator_agree_on_one_eval_config(
    taxi_examples, taxi_model, taxi_baseline_model, tmp_path, helpers
):
    eval_config = _eval_config(taxi_model)
    outputs = {}
    for name, run in (("stock", tfx_evaluator.Executor), ("heads", Executor)):
        folder = tmp_path / name
        inputs = _inputs(helpers, folder, taxi_examples, taxi_model, taxi_baseline_model)
        evaluation = helpers.artifact(standard_artifacts.ModelEvaluation, folder / "evaluation")
        blessing = helpers.artifact(standard_artifacts.ModelBlessing, folder / "blessing")
        properties = {
            constants.EVAL_CONFIG_KEY: eval_config_json(eval_config),
            constants.EXAMPLE_SPLITS_KEY: json.dumps(["eval"]),
        }
        outputs_dict = {constants.EVALUATION_KEY: [evaluation], constants.BLESSING_KEY: [blessing]}
        run().Do(inputs, outputs_dict, properties)
        outputs[name] = evaluation.uri, blessing

    stock = tfma.load_validation_result(outputs["stock"][0])
    ours = tfma.load_validation_result(outputs["heads"][0])
    assert not stock.validation_ok and not ours.validation_ok
    failed = _failures(ours)
    assert set(_failures(stock)) == set(failed)
    # Each kind failed somewhere (the AUC bound and the relative change in some days, the
    # taxi's trip_seconds loss bound overall, the demanded accuracy gain) and held elsewhere
    # (the demanded loss decrease holds: the candidate's payment_type loss is lower).
    names = {(name, is_diff) for _, name, is_diff in failed}
    assert names == {
        ("auc/big_tipper", False),
        ("prediction/mean/big_tipper", True),
        ("average_loss/trip_seconds", False),
        ("accuracy/big_tipper", True),
    }
    assert len(failed) < 8 + 7 + 1 + 1  # AUC in 8 slices, the change in 7 days, 2 overall
    for key, value in _failures(stock).items():
        assert failed[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    for name in ("stock", "heads"):
        blessing = outputs[name][1]
        assert blessing.get_int_custom_property("blessed") == 0, name

    # The same slices and metric values (TFMA batches inference differently, so logits may
    # differ in the last float32 bit).
    stock_metrics = _metrics(outputs["stock"][0], "candidate")
    our_metrics = _metrics(outputs["heads"][0], "")
    assert set(stock_metrics) == set(our_metrics) and len(our_metrics) == 8
    for slice_key, values in our_metrics.items():
        for key in ("auc/big_tipper", "average_loss/trip_seconds", "prediction/mean/big_tipper"):
            assert stock_metrics[slice_key][key] == pytest.approx(
                values[key], rel=1e-5, abs=1e-6
            ), (slice_key, key)
