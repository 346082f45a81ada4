"""metrics.json's layout, and the conversion of results to TFMA's metric and plot values."""

import json
import math
import os

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

import heads
from tfx_heads.components.evaluator.batches import ExampleCounts
from tfx_heads.components.evaluator.bootstrap import Interval
from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.encoding import EncodedSlices, SliceEncoder, count_keys
from tfx_heads.components.evaluator.plots import histogram_plot
from tfx_heads.components.evaluator.slicing import slice_specs
from tfx_heads.components.evaluator.tfma_records import tfma_metrics, tfma_plots
from tfx_heads.components.evaluator.writers import (
    _write_documents,
    class_curves,
    eval_config,
    json_lines,
    metrics_json,
)


def _result(count, intervals=None, plots=()):
    return SliceResult(
        {"example_count": count, "weighted_example_count": 2.0 * count, "auc": 0.5},
        intervals,
        list(plots),
    )


def test_metrics_json_layout_and_order():
    specs = slice_specs(["g", "a,g"])
    results = [
        ((("a", 2), ("g", "x")), _result(1)),
        ((("g", "y"),), _result(2)),
        ((), _result(9)),
        ((("g", "x"),), _result(3)),
    ]
    document = metrics_json(
        results, ExampleCounts(12, 9, {"r": 3}), specs, heads.describe(heads.BinaryClassHead())
    )
    assert [s["slice"] for s in document["slices"]] == [
        {},
        {"g": "x"},
        {"g": "y"},
        {"a": 2, "g": "x"},
    ]
    assert document["slices"][0] == {
        "slice": {},
        "example_count": 9,
        "weighted_example_count": 18.0,
        "metrics": {"example_count": 9, "weighted_example_count": 18.0, "auc": 0.5},
        "heads": [
            {
                "name": None,
                "kind": "binary",
                "metrics": {"example_count": 9, "weighted_example_count": 18.0, "auc": 0.5},
                "thresholds": [],
                "classes": [],
            }
        ],
    }
    assert document["rejected"] == {"count": 3, "reasons": {"r": 3}}
    assert document["min_slice_size"] == 1 and "counts_only" not in document["slices"][0]
    small = ((("g", "z"),), _result(1)._replace(counts_only=True))
    head = heads.describe(heads.BinaryClassHead())
    document = metrics_json([small], ExampleCounts(1, 1, {}), specs, head, min_slice_size=2)
    assert document["min_slice_size"] == 2 and document["slices"][0]["counts_only"] is True
    assert document["class_curves"] == []
    many = heads.MultiHead(
        [
            heads.MultiLabelHead(n_classes=1001, name="tags"),
            heads.MultiLabelHead(n_classes=3000, classes_for_class_based_metrics=[5], name="t"),
            heads.MultiClassHead(n_classes=4, name="c"),
        ]
    )
    assert class_curves(heads.describe(many)) == [
        {"head": "tags", "n_classes": 1001, "classes": [], "max_default_class_curves": 1000},
        {"head": "t", "n_classes": 3000, "classes": [5], "max_default_class_curves": 1000},
        {"head": "c", "n_classes": 4, "classes": "all", "max_default_class_curves": 1000},
    ]
    multi = heads.MultiHead([heads.RegressionHead(name="a"), heads.RegressionHead(name="b")])
    assert count_keys(heads.describe(multi)) == ("example_count/a_b", "weighted_example_count/a")


def test_tfma_values_keys_intervals_and_plots():
    interval = Interval(0.5, 0.51, 0.01, 9, 0.47, 0.53)
    intervals = {"auc": interval, "example_count": interval, "weighted_example_count": interval}
    record = tfma_metrics(((("g", "x"),), _result(3, intervals)))
    proto = metrics_for_slice_pb2.MetricsForSlice.FromString(record)
    assert tfma.slicer.slicer_lib.deserialize_slice_key(proto.slice_key) == (("g", "x"),)
    (bounded,) = [e for e in proto.metric_keys_and_values if e.key.name == "auc"]
    assert (
        bounded.value.double_value.value,
        bounded.confidence_interval.lower_bound.double_value.value,
        bounded.confidence_interval.upper_bound.double_value.value,
    ) == (0.5, 0.47, 0.53)
    histogram = np.array([[3.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 2.0]])
    plot = histogram_plot(histogram, 2.0, 10, output_name="h", class_id=1)
    record = tfma_plots(((), _result(1, plots=[plot])))
    (entry,) = metrics_for_slice_pb2.PlotsForSlice.FromString(record).plot_keys_and_values
    assert (entry.key.output_name, entry.key.sub_key.class_id.value) == ("h", 1)
    matrices = entry.value.confusion_matrix_at_thresholds
    first, last = matrices.matrices[0], matrices.matrices[-1]
    assert (first.true_positives, first.false_positives, first.precision) == (4.0, 4.0, 0.5)
    assert (last.true_positives, last.false_negatives, last.precision) == (0.0, 4.0, 1.0)
    calibration = entry.value.calibration_histogram_buckets
    assert sum(b.num_weighted_examples.value for b in calibration.buckets) == 8.0
    config = eval_config(slice_specs(["g"]), {"a": "y1", "b": "y2"}, confidence_intervals=True)
    assert config.model_specs[0].label_keys == {"a": "y1", "b": "y2"}
    assert [list(s.feature_keys) for s in config.slicing_specs] == [[], ["g"]]
    assert config.options.compute_confidence_intervals.value


def test_json_lines_is_the_indented_document_one_slice_a_line():
    specs = slice_specs(["g"])
    results = [((), _result(4)), ((("g", 1),), _result(2)._replace(metrics={"auc": math.nan}))]
    document = metrics_json(
        results, ExampleCounts(6, 6, {}), specs, heads.describe(heads.BinaryClassHead())
    )
    text = json_lines(document)
    indented = json.dumps(document, indent=2)
    # The same document (NaN as `NaN`, compared as text since NaN != NaN), only less spread.
    assert json.dumps(json.loads(text)) == json.dumps(json.loads(indented)) and "NaN" in text
    lines = text.splitlines()
    assert len(lines) == 2 + len(document) + len(results) + 1
    start = lines.index('  "slices": [') + 1
    slices = [json.loads(line.rstrip(",")) for line in lines[start : start + len(results)]]
    assert json.dumps(slices) == json.dumps(document["slices"])
    assert json_lines({}) == "{}" and json.loads(json_lines({1: [2], "a": []})) == {
        "1": [2],
        "a": [],
    }


def test_slices_encoded_where_finalized_write_the_same_files(tmp_path):
    """Slices encoded one by one (`SliceEncoder`, as the workers encode them)
    and written in any order give `metrics_json`'s document and TFMA's records in slice
    order; without an overall slice, `empty` is written as it."""
    specs = slice_specs(["g"])
    head = heads.describe(heads.BinaryClassHead())
    histogram = np.array([[3.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 2.0]])
    results = [
        ((("g", "y"),), _result(2)),
        ((), _result(5, plots=[histogram_plot(histogram, 2.0, 10)])),
        ((("g", "x"),), _result(3)._replace(metrics={"auc": math.nan})),
    ]
    counts = ExampleCounts(6, 5, {"r": 1})
    encode = SliceEncoder(head)
    for written, expected_results in ((results, results), (results[::2], None)):
        output = tmp_path / str(len(written))
        directory = str(tmp_path / f"encoded-{len(written)}")
        encoded = [EncodedSlices.pack([encode(item)], directory) for item in written]
        path = _write_documents(
            encoded, counts, _result(0), specs, head, {"head": "config"},
            eval_config(specs, "y", False), "data", "model", str(output),
        )  # fmt: skip
        expected_results = expected_results or [((), _result(0)), *written]
        expected = metrics_json(expected_results, counts, specs, head)
        with open(path) as f:
            assert json.dumps(json.load(f)) == json.dumps(expected)  # NaN compared as text
        ordered = [(), (("g", "x"),), (("g", "y"),)]
        records = tf.data.TFRecordDataset(str(output / "metrics-00000-of-00001.tfrecord"))
        keys = [
            tfma.slicer.slicer_lib.deserialize_slice_key(
                metrics_for_slice_pb2.MetricsForSlice.FromString(record.numpy()).slice_key
            )
            for record in records
        ]
        assert keys == ordered
        assert tfma.load_eval_result(str(output)).get_metrics_for_slice(()) is not None
        assert not os.path.exists(directory)  # the encoded slices' files are removed
