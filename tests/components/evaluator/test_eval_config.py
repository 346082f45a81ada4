"""A `tfma.EvalConfig` read into `EvaluationOptions`: every supported field, its JSON and
text forms, the refusal of every unsupported one, and the component and CLI taking it."""

import pytest
from google.protobuf import json_format, text_format
from tensorflow_model_analysis.proto import config_pb2

import heads
from heads.stats import stats_for_head
from tfx_heads.components.evaluator import eval_config
from tfx_heads.components.evaluator.blessing import MetricThreshold, decide
from tfx_heads.components.evaluator.options import EvaluationOptions
from tfx_heads.components.evaluator.slicing import SliceSpec

FULL = """
model_specs { name: "candidate" signature_name: "predict" label_keys { key: "b" value: "y_b" }
              label_keys { key: "r" value: "y_r" } }
model_specs { name: "baseline" is_baseline: true }
slicing_specs {}
slicing_specs { feature_keys: ["day"] }
slicing_specs { feature_keys: ["hour", "day"] }
slicing_specs { feature_keys: ["hour"] feature_values { key: "day" value: "1" } }
metrics_specs {
  output_names: ["b"]
  metrics { class_name: "AUC" threshold { value_threshold { lower_bound { value: 0.6 } } } }
  metrics { class_name: "BinaryAccuracy" per_slice_thresholds {
    slicing_specs { feature_keys: ["day"] }
    threshold { change_threshold { direction: HIGHER_IS_BETTER absolute { value: -0.01 }
                                   relative { value: -0.1 } } } } }
  thresholds { key: "mean_label" value { value_threshold { upper_bound { value: 0.9 } } } }
  per_slice_thresholds { key: "auc/class1" value { thresholds {
    slicing_specs { feature_values { key: "day" value: "2" } }
    slicing_specs {}
    threshold { change_threshold { direction: LOWER_IS_BETTER absolute { value: 0.5 } } } } } }
}
metrics_specs {
  thresholds { key: "average_loss/r" value { value_threshold { upper_bound { value: 4 } } } }
}
options { compute_confidence_intervals { value: true } }
"""


def test_every_supported_field_becomes_an_option():
    options = EvaluationOptions.from_eval_config(FULL, num_bootstrap_samples=5)
    assert options.label_keys == {"b": "y_b", "r": "y_r"}
    assert options.example_weight_keys is None
    assert options.slices == (
        SliceSpec(("day",)),
        SliceSpec(("day", "hour")),
        SliceSpec(("hour",), {"day": "1"}),
    )
    assert options.bootstrap_replicates == 5
    assert options.thresholds == (
        MetricThreshold("auc/b", "*", lower_bound=0.6),
        MetricThreshold("accuracy/b", {"day": "*"}, max_decrease=0.01, max_relative_decrease=0.1),
        MetricThreshold("label/mean/b", "*", upper_bound=0.9),
        MetricThreshold("auc/class1/b", {"day": "2"}, max_increase=0.5),
        MetricThreshold("auc/class1/b", {}, max_increase=0.5),
        MetricThreshold("average_loss/r", "*", upper_bound=4.0),
    )


def test_the_json_and_text_forms_and_the_proto_give_the_same_options():
    proto = text_format.Parse(FULL, config_pb2.EvalConfig())
    as_json = eval_config.eval_config_json(proto)
    forms = [proto, FULL, as_json, json_format.MessageToDict(proto)]
    options = [EvaluationOptions.from_eval_config(form) for form in forms]
    assert all(option == options[0] for option in options)
    assert eval_config.load_eval_config(as_json) == proto


def test_change_thresholds_follow_tfma_semantics():
    # TFMA: HIGHER_IS_BETTER passes when diff >= absolute and diff / baseline >= relative.
    (threshold,) = EvaluationOptions.from_eval_config(
        'metrics_specs { thresholds { key: "auc" value { change_threshold {'
        " direction: HIGHER_IS_BETTER absolute { value: -0.05 } relative { value: -0.1 } } } } }"
    ).thresholds
    baseline = {"Overall": {"auc": 0.8}}
    assert decide([threshold], {"Overall": {"auc": 0.76}}, baseline).blessed  # -0.04, -5 %
    assert not decide([threshold], {"Overall": {"auc": 0.74}}, baseline).blessed  # -0.06
    # A relative change beyond -10 % with a small absolute one fails on `relative`.
    small = {"Overall": {"auc": 0.2}}
    verdict = decide([threshold], {"Overall": {"auc": 0.17}}, small)
    assert [check.condition for check in verdict.checks if check.outcome == "fail"] == [
        "max_relative_decrease"
    ]


def _change(direction, **values):
    fields = " ".join(f"{name} {{ value: {value} }}" for name, value in values.items())
    text = (
        'metrics_specs { thresholds { key: "m" value { change_threshold {'
        f" direction: {direction} {fields} }} }} }} }}"
    )
    (threshold,) = EvaluationOptions.from_eval_config(text).thresholds
    proto = text_format.Parse(text, config_pb2.EvalConfig())
    return threshold, proto.metrics_specs[0].thresholds["m"]


def _failed(threshold, candidate, baseline):
    verdict = decide([threshold], {"Overall": {"m": candidate}}, {"Overall": {"m": baseline}})
    return [check.condition for check in verdict.checks if check.outcome == "fail"]


def test_a_change_threshold_demanding_an_increase_with_higher_is_better():
    # TFMA: passes when diff >= absolute and diff / baseline >= relative; > 0 asks for a gain.
    threshold, proto = _change("HIGHER_IS_BETTER", absolute=0.01, relative=0.02)
    assert (threshold.max_decrease, threshold.max_relative_decrease) == (-0.01, -0.02)
    assert _failed(threshold, 0.82, 0.80) == []  # diff 0.02, ratio 0.025
    assert _failed(threshold, 0.805, 0.80) == [  # diff 0.005, ratio 0.00625
        "max_decrease",
        "max_relative_decrease",
    ]
    assert _failed(threshold, 0.815, 0.80) == ["max_relative_decrease"]  # 0.015, 0.01875
    assert _failed(threshold, 0.109, 0.10) == ["max_decrease"]  # diff 0.009, ratio 0.09
    # The validation result carries TFMA's threshold back, as it was given.
    from tfx_heads.components.evaluator.validations import metric_threshold

    absolute = metric_threshold(threshold, "max_decrease").change_threshold
    relative = metric_threshold(threshold, "max_relative_decrease").change_threshold
    assert (absolute.direction, absolute.absolute) == (proto.change_threshold.direction,
                                                       proto.change_threshold.absolute)  # fmt: skip
    assert relative.relative == proto.change_threshold.relative


def test_a_change_threshold_demanding_a_decrease_with_lower_is_better():
    # TFMA: passes when diff <= absolute and diff / baseline <= relative; < 0 asks for a gain.
    threshold, proto = _change("LOWER_IS_BETTER", absolute=-0.05, relative=-0.1)
    assert (threshold.max_increase, threshold.max_relative_increase) == (-0.05, -0.1)
    assert _failed(threshold, 0.44, 0.50) == []  # diff -0.06, ratio -0.12
    assert _failed(threshold, 0.47, 0.50) == [  # diff -0.03, ratio -0.06
        "max_increase",
        "max_relative_increase",
    ]
    assert _failed(threshold, 1.875, 2.0) == ["max_relative_increase"]  # -0.125, -0.0625
    assert _failed(threshold, 0.24, 0.20) == ["max_increase", "max_relative_increase"]  # worse
    from tfx_heads.components.evaluator.validations import metric_threshold

    written = metric_threshold(threshold, "max_increase").change_threshold
    assert (written.direction, written.absolute) == (proto.change_threshold.direction,
                                                     proto.change_threshold.absolute)  # fmt: skip


def test_min_slice_size_becomes_the_option():
    assert EvaluationOptions.from_eval_config("options { min_slice_size { value: 3 } }") == (
        EvaluationOptions(min_slice_size=3)
    )
    # TFMA keeps every slice at 0 (and below): the evaluator's 1.
    assert EvaluationOptions.from_eval_config("options { min_slice_size {} }").min_slice_size == 1
    assert EvaluationOptions.from_eval_config("options {}").min_slice_size == 1
    with pytest.raises(ValueError, match="min_slice_size"):
        EvaluationOptions.from_eval_config(
            "options { min_slice_size { value: 3 } }", min_slice_size=2
        )


def test_per_slice_thresholds_by_feature_key_hold_in_each_slice_of_that_slicing():
    (threshold,) = EvaluationOptions.from_eval_config(
        'metrics_specs { per_slice_thresholds { key: "auc" value { thresholds {'
        ' slicing_specs { feature_keys: ["day"] }'
        " threshold { value_threshold { lower_bound { value: 0.5 } } } } } } }"
    ).thresholds
    candidate = {
        "Overall": {"auc": 0.1},
        "day:1": {"auc": 0.6},
        "day:2": {"auc": 0.4},
        "day:1, hour:3": {"auc": 0.1},
    }
    verdict = decide([threshold], candidate)
    assert [(check.slice, check.outcome) for check in verdict.checks] == [
        ("day:1", "pass"),
        ("day:2", "fail"),
    ]


@pytest.mark.parametrize(
    "text, field",
    [
        ("cross_slicing_specs { baseline_spec {} slicing_specs {} }", "cross_slicing_specs"),
        ('slicing_specs { slice_keys_sql: "SELECT 1" }', "slicing_specs[0].slice_keys_sql"),
        (
            'metrics_specs { cross_slice_thresholds { key: "auc" value {} } }',
            "metrics_specs[0].cross_slice_thresholds",
        ),
        ('metrics_specs { metrics { class_name: "MyMetric" module: "my.module" } }', "MyMetric"),
        (
            'metrics_specs { metrics { class_name: "AUC" config: \'{"num_thresholds": 9}\' } }',
            "config",
        ),
        ('metrics_specs { query_key: "q" }', "metrics_specs[0].query_key"),
        ('model_specs { signature_name: "serving_default" }', "signature_name"),
        ('model_specs { prediction_key: "p" }', "model_specs[0].prediction_key"),
        ("model_specs {} model_specs {}", "one candidate"),
        (
            'model_specs { label_key: "a" } model_specs { is_baseline: true label_key: "b" }',
            "label_keys",
        ),
        ('metrics_specs { model_names: ["other"] }', "model_names"),
        ('options { disabled_outputs { values: ["plots"] } }', "options.disabled_outputs"),
        (
            'metrics_specs { thresholds { key: "auc" value { change_threshold {'
            " absolute { value: -1 } } } } }",
            "direction",
        ),
        ('metrics_specs { thresholds { key: "auc" value {} } }', "value_threshold"),
        ("slicing_specs { bogus: 1 }", "as text"),
    ],
)
def test_an_unsupported_field_is_refused_by_name(text, field):
    with pytest.raises(ValueError, match="Invalid") as error:
        EvaluationOptions.from_eval_config(text)
    assert field in str(error.value)


def test_metric_names_are_checked_against_the_head():
    head = heads.describe(
        heads.MultiHead([heads.BinaryClassHead(name="b"), heads.RegressionHead(name="r")])
    )
    keys = stats_for_head(head).metric_keys()
    ok = EvaluationOptions.from_eval_config(
        'metrics_specs { output_names: ["b"] metrics { class_name: "AUC" threshold {'
        " value_threshold { lower_bound { value: 0.5 } } } } }"
    )
    eval_config.check_head_references(ok.thresholds, None, head, keys)
    bad = EvaluationOptions.from_eval_config(  # no output_names: `auc` is no key of a MultiHead
        'metrics_specs { metrics { class_name: "AUC" threshold {'
        " value_threshold { lower_bound { value: 0.5 } } } } }"
    )
    with pytest.raises(ValueError, match="'auc'.*no such metric key.*auc/b"):
        eval_config.check_head_references(bad.thresholds, None, head, keys)
    with pytest.raises(ValueError, match="example_weight_key.*'w'"):
        eval_config.check_head_references((), {"b": "w"}, head, keys)


def test_options_set_twice_to_other_values_are_refused():
    with pytest.raises(ValueError, match="confidence_intervals"):
        EvaluationOptions.from_eval_config(
            "options { compute_confidence_intervals { value: false } }", confidence_intervals=True
        )


def test_the_taxi_eval_config_is_the_taxi_dict_config():
    from tfx_heads.pipeline.taxi import config

    from_eval_config = EvaluationOptions.from_eval_config(config.eval_config())
    from_dicts = EvaluationOptions(slices=config.SLICES, thresholds=config.THRESHOLDS)
    assert from_eval_config.slices == from_dicts.slices
    assert sorted(from_eval_config.thresholds, key=repr) == sorted(from_dicts.thresholds, key=repr)


def test_evaluate_takes_an_eval_config_or_options():
    from tfx_heads.components.evaluator import runner

    with pytest.raises(ValueError, match="`options` or `eval_config`, not both"):
        runner.evaluate("e", "o", options=EvaluationOptions(), eval_config="slicing_specs {}")
    with pytest.raises(ValueError, match="slicing_specs\\[0\\].slice_keys_sql"):
        runner.evaluate("e", "o", eval_config='slicing_specs { slice_keys_sql: "x" }')
