"""The Beam transforms: several models share one reading, each rejects its own examples;
the stages a benchmark runs without Beam are those the transforms apply."""

import dataclasses

import apache_beam as beam
import pytest

import heads
from tfx_heads.components.evaluator import constants, runner, transforms
from tfx_heads.components.evaluator.config import build_config
from tfx_heads.components.evaluator.options import EvaluationOptions


def _two_scores_rows():
    """Labels and two logits features; record 3's label is a float (unparseable), record 6
    lacks `score_a` and record 9 has a NaN `score_b`."""
    rows = [{"y": i % 2, "score_a": [i / 10 - 1], "score_b": [1 - i / 20]} for i in range(24)]
    rows[3]["y"] = 0.5
    del rows[6]["score_a"]
    rows[9]["score_b"] = [float("nan")]
    return rows


def test_several_models_read_and_parse_once_and_reject_each_their_own(tmp_path, helpers):
    from apache_beam.metrics.metric import MetricsFilter

    rows = _two_scores_rows()
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows[:10])
    helpers.write_examples(tmp_path / "part-1.tfrecord.gz", rows[10:])
    arguments = dict(head=heads.BinaryClassHead(), label_keys="y", reject_malformed=True)
    arguments.update(examples=str(tmp_path / "part-*"), batch_size=4)
    configs = [
        build_config(
            arguments["examples"],
            str(tmp_path / name),
            EvaluationOptions(
                label_keys="y", logits_features=name, reject_malformed=True, batch_size=4
            ),
            head=arguments["head"],
        )
        for name in ("score_a", "score_b")
    ]
    root = beam.Pipeline(options=runner.pipeline_options())
    _ = root | transforms.EvaluateHeads(*configs)
    result = root.run()
    result.wait_until_finish()

    def counter(name, step=None):
        selected = MetricsFilter().with_name(name)
        found = result.metrics().query(selected.with_step(step) if step else selected)
        return sum(item.committed for item in found["counters"])

    # Every record read (and so parsed: ParseExamples is one stage, fused with the reading)
    # once; each model evaluates and rejects its own.
    assert counter(constants.EXAMPLES_READ_COUNTER) == len(rows)
    for index in (0, 1):
        step = f"{constants.EVALUATE_MODEL_STAGE}[{index}]"
        evaluated = counter(constants.EXAMPLES_EVALUATED_COUNTER, step)
        assert evaluated + counter(constants.EXAMPLES_REJECTED_COUNTER, step) == len(rows)
    stages = [name for name in _transform_names(root) if name.endswith(f"/{constants.PARSE_STAGE}")]
    assert len(stages) == 1

    documents = [runner.read_metrics(config.output) for config in configs]
    assert documents[0]["rejected"] == {
        "count": 2,
        "reasons": {constants.UNPARSEABLE: 1, constants.MISSING_LOGITS: 1},
    }
    assert documents[1]["rejected"] == {
        "count": 2,
        "reasons": {constants.UNPARSEABLE: 1, constants.NON_FINITE_LOGITS: 1},
    }
    for config, document in zip(configs, documents, strict=True):
        alone = runner.evaluate(
            output=str(tmp_path / f"alone_{config.output}"),
            logits_features=config.input_spec.heads[0].logits_key,
            **arguments,
        )
        assert alone == document


def _transform_names(root):
    return [t.unique_name for t in root.to_runner_api().components.transforms.values()]


def test_several_models_must_read_the_same_examples_the_same_way(synthetic, tmp_path):
    options = EvaluationOptions(
        label_keys=synthetic.label_keys, logits_features=synthetic.logits_features
    )
    first = build_config(synthetic.glob, str(tmp_path / "a"), options, head=synthetic.head)
    second = build_config(
        synthetic.glob,
        str(tmp_path / "b"),
        dataclasses.replace(options, batch_size=10),
        head=synthetic.head,
    )
    with pytest.raises(ValueError, match=r"the same way; received configs that differ in \['batch"):
        transforms.EvaluateHeads(first, second)
    types = {**first.input_spec.feature_types, "y_bin": "float"}
    other = dataclasses.replace(first.input_spec, feature_types=types)
    with pytest.raises(ValueError, match="received feature 'y_bin' as int64 and as float32"):
        transforms.EvaluateHeads(first, dataclasses.replace(first, input_spec=other))
    with pytest.raises(ValueError, match="at least one"):
        transforms.EvaluateHeads()


def test_batch_stages_are_the_transforms_stages_in_order(synthetic, taxi_model, tmp_path):
    options = EvaluationOptions(
        label_keys=synthetic.label_keys,
        logits_features=synthetic.logits_features,
        slices=synthetic.slices,
        batch_size=7,
        reject_malformed=True,
    )
    features = build_config(synthetic.glob, str(tmp_path), options, head=synthetic.head)
    labels = [label for label, _ in transforms.batch_stages(features)]
    assert labels == [
        constants.READ_STAGE,
        constants.PARSE_STAGE,
        constants.PREPARE_STAGE,
        constants.SLICE_STAGE,
    ]
    model = build_config(synthetic.glob, str(tmp_path), EvaluationOptions(), model=taxi_model)
    labels = [label for label, _ in transforms.batch_stages(model)]
    assert labels[2] == constants.INFER_STAGE and len(labels) == 5
    # The pipeline applies the same stages, under the same labels.
    root = beam.Pipeline()
    _ = root | transforms.EvaluateHeads(features)
    names = _transform_names(root)
    for label in labels:
        assert any(name.endswith(f"/{label}") for name in names) == (label != "InferLogits")
    # The statistics follow the options: bootstrap replicates only with intervals.
    assert transforms.stats_options(features)["num_bootstrap_samples"] == 0
    with_intervals = dataclasses.replace(
        features, options=dataclasses.replace(options, confidence_intervals=True)
    )
    assert transforms.stats_options(with_intervals)["num_bootstrap_samples"] == 20
