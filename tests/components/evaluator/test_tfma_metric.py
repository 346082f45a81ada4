"""HeadMetrics: the heads' metrics computed by stock TFMA, equal to the Beam evaluator's."""

import collections
import json

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import config_pb2

import heads
from heads.stats import stats_for_head
from tfx_heads.components.evaluator import tfma_metric


@pytest.mark.slow
def test_stock_tfma_computes_the_same_metrics_as_the_evaluator(
    taxi_examples, taxi_model, taxi_result, tmp_path
):
    head, label_keys = heads.load_head_config(taxi_model)
    eval_config = config_pb2.EvalConfig(
        model_specs=[config_pb2.ModelSpec(signature_name="predict")],
        metrics_specs=[tfma_metric.head_metrics_spec(head, label_keys)],
        slicing_specs=[config_pb2.SlicingSpec()],
    )
    result = tfma.run_model_analysis(
        eval_shared_model=tfma.default_eval_shared_model(taxi_model, eval_config=eval_config),
        eval_config=eval_config,
        data_location=taxi_examples,
        output_path=str(tmp_path),
    )
    from_tfma = {
        key: value["doubleValue"]
        for key, value in result.get_metrics_for_slice(slice_name=()).items()
        if "doubleValue" in value
    }
    document, _ = taxi_result
    expected = document["slices"][0]["metrics"]
    assert set(expected) <= set(from_tfma)
    for key, value in expected.items():
        # TFMA batches inference differently, so logits may differ in the last float32 bit.
        assert from_tfma[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert from_tfma["example_count/big_tipper"] == document["slices"][0]["example_count"]


def test_metrics_spec_names_the_metric_class_and_its_config():
    head = heads.BinaryClassHead(name="b")
    spec = tfma_metric.head_metrics_spec(head, "label")
    (config,) = spec.metrics
    assert (config.class_name, config.module) == ("HeadMetrics", tfma_metric.__name__)
    assert json.loads(config.config)["head_config"] == heads.serialize(head)
    assert json.loads(config.config)["description"] == heads.describe(head).to_json()
    metric = tfma_metric.HeadMetrics(**json.loads(config.config))
    (computation,) = metric.computations(model_names=[""])
    assert [key.name for key in computation.keys][:2] == ["average_loss/b", "accuracy/b"]
    # A spec written without the description: the head is described from its config.
    without = {k: v for k, v in json.loads(config.config).items() if k != "description"}
    (computation,) = tfma_metric.HeadMetrics(**without).computations(model_names=[""])
    assert [key.name for key in computation.keys][:2] == ["average_loss/b", "accuracy/b"]


def test_the_stored_description_decides_the_metrics_without_building_the_head():
    description = heads.describe(heads.RegressionHead(name="r")).to_json()
    metric = tfma_metric.HeadMetrics(
        head_config={"class_name": "NotAHead", "config": {}},
        label_keys="y",
        description=description,
    )
    (computation,) = metric.computations(model_names=[""])
    assert "average_loss/r" in [key.name for key in computation.keys]


def test_head_metrics_requires_its_config():
    with pytest.raises(ValueError, match="head_config"):
        tfma_metric.HeadMetrics()


def test_logits_are_read_under_the_predict_signature_s_output_names():
    named = heads.describe(heads.BinaryClassHead(name="h"))
    # A single head's outputs are not prefixed, named or not (heads.export_saved_model).
    assert tfma_metric._head_logits({"logits": [0.5]}, named, named).tolist() == [0.5]
    with pytest.raises(ValueError, match="expected key 'logits'"):
        tfma_metric._head_logits({"h/logits": [0.5]}, named, named)
    multi = heads.describe(
        heads.MultiHead([heads.BinaryClassHead(name="h"), heads.RegressionHead(name="r")])
    )
    binary, regression = multi.sub_heads
    with pytest.raises(ValueError, match="'h/logits'"):
        tfma_metric._head_logits({"h/probabilities": [0.5]}, multi, binary)
    assert tfma_metric._head_logits({"r/predictions": [[1.5]]}, multi, regression).tolist() == [1.5]


def test_the_combiner_prepares_labels_once_and_merges_in_place(monkeypatch):
    built = []

    class CountingPreparation(tfma_metric.PrepareHeadBatches):
        def setup(self):
            built.append(self)
            super().setup()

    monkeypatch.setattr(tfma_metric, "PrepareHeadBatches", CountingPreparation)
    monkeypatch.setattr(tfma_metric, "BUFFER_SIZE", 2)
    head = heads.RegressionHead(name="r")
    description = heads.describe(head)
    keys = [tfma.metrics.MetricKey(name=key) for key in stats_for_head(description).metric_keys()]
    combiner = tfma_metric._HeadMetricsCombiner(
        json.dumps(heads.serialize(head)), description, "y", {}, "", keys
    )
    combiner.setup()
    element = collections.namedtuple("Element", "prediction features")
    labels, logits = [1.0, 2.0, 4.0, 0.0, 3.0], [1.5, 2.0, 3.0, 1.0, 3.0]
    parts = [combiner.create_accumulator(), combiner.create_accumulator()]
    for row, (label, logit) in enumerate(zip(labels, logits, strict=True)):
        combiner.add_input(parts[row % 2], element({"logits": [logit]}, {"y": np.array([label])}))
    first_stats = parts[0].stats
    merged = combiner.merge_accumulators(parts)
    assert merged.stats is first_stats  # Merged into the first accumulator's statistics.
    values = {key.name: value for key, value in combiner.extract_output(merged).items()}
    squared = (np.array(labels) - np.array(logits)) ** 2
    assert values["average_loss/r"] == pytest.approx(squared.mean())
    assert values["example_count/r"] == 5
    assert len(built) == 1  # Three flushes of examples, one preparation.
