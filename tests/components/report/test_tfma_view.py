"""The TFMA path: `tfma.load_eval_result` and the notebook viewers on the evaluator's output."""

from __future__ import annotations

import tensorflow_model_analysis as tfma


def test_load_eval_result_reads_metrics_json_keys(evaluation):
    result = tfma.load_eval_result(evaluation.dir)
    overall = result.get_metrics_for_slice(())
    assert set(overall) == set(evaluation.document["slices"][0]["metrics"])
    assert len(result.slicing_metrics) == len(evaluation.document["slices"])


def test_viewers_construct(evaluation):
    result = tfma.load_eval_result(evaluation.dir)
    assert tfma.view.render_slicing_metrics(result) is not None
    assert tfma.view.render_slicing_metrics(result, slicing_column="group") is not None
    assert tfma.view.render_plot(result, output_name="bin") is not None
    assert tfma.view.render_plot(result, output_name="tags", class_id=2) is not None
