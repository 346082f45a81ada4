"""HeadModel under MultiWorkerMirroredStrategy: two real worker processes on localhost.

The same program (multi_worker_program.py) runs once alone and once as a chief and a worker
(TF_CONFIG as Vertex AI sets it). One SGD step on a global batch split over the two workers
must give the weights of one step on the whole batch in one process, and `evaluate` must
report the single process's metrics on every worker.
"""

import json
import pathlib

import numpy as np
import pytest

PROGRAM = str(pathlib.Path(__file__).with_name("multi_worker_program.py"))


def _load(path):
    with np.load(path) as saved:
        return (
            saved["weights"],
            json.loads(str(saved["metrics"])),
            json.loads(str(saved["predictions"])),
        )


@pytest.mark.slow
def test_two_workers_take_the_single_process_step_and_report_its_metrics(tmp_path, run_cluster):
    run_cluster([PROGRAM, str(tmp_path)], ())
    run_cluster([PROGRAM, str(tmp_path)], ("chief", "worker"))
    single_weights, single_metrics, single_predictions = _load(tmp_path / "single.npz")
    assert single_weights.size > 0
    for task in ("chief0", "worker0"):
        weights, metrics, predictions = _load(tmp_path / f"{task}.npz")
        np.testing.assert_allclose(weights, single_weights, atol=1e-5)
        assert set(metrics) == set(single_metrics)
        for key, value in single_metrics.items():
            assert metrics[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
        assert predictions["kind/classes"] == single_predictions["kind/classes"]
        np.testing.assert_allclose(
            predictions["bin/logits"], single_predictions["bin/logits"], atol=1e-5
        )
