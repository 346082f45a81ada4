"""Every script in `benchmarks/` runs to its end at a small size.

The benchmarks are not timed here (no timing assertion belongs in the suite); this only keeps
them from going stale as the code they call changes. Where a script compares results with
another implementation, the comparison is checked too.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


def _run(script: str, *argv: str) -> str:
    """The script's standard output; fails the test with its last lines if it fails."""
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "benchmarks" / script), *argv],
        cwd=REPOSITORY,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.mark.slow
def test_evaluator_vs_tfma_runs_and_agrees_with_tfma(tmp_path):
    output = _run(
        "evaluator_vs_tfma.py",
        "--examples=3000",
        "--files=2",
        "--tfma-examples=300",
        "--repeats=2",
        f"--workdir={tmp_path}",
    )
    for row in ("read-and-infer floor", "evaluator, in-process", "evaluator, --num-workers 2"):
        assert re.search(rf"^{re.escape(row)}.* 3000 ", output, re.MULTILINE), row
    assert re.search(r"^TFMA run_model_analysis \(first 300 records\)", output, re.MULTILINE)
    assert "Where the evaluator's time goes" in output
    compared = re.findall(r"^  (\S+ \([^)]*\))\s+(\S+)\s+(\S+)\s+\S+$", output, re.MULTILINE)
    assert len(compared) == 12, output  # AUC, AUC-PR, 3 precisions, 3 recalls, 4 class AUCs
    for name, theirs, ours in compared:
        # Counts at a threshold are the same sums; TFMA's AUCs are Riemann sums over 10,000
        # probability thresholds, the evaluator's exact.
        tolerance = 5e-3 if name.startswith("auc") else 1e-6
        assert abs(float(theirs) - float(ours)) <= tolerance, (name, theirs, ours)


@pytest.mark.slow
def test_evaluator_baseline_runs(tmp_path):
    output = _run("evaluator_baseline.py", "--examples=3000", "--files=2", f"--workdir={tmp_path}")
    for mode in ("model only", "with a baseline, one pass", "two passes (before)"):
        assert re.search(rf"^  {re.escape(mode)}\s+\d", output, re.MULTILINE), mode


@pytest.mark.slow
def test_metrics_core_runs_and_its_exact_curves_match_the_references():
    output = _run(
        "metrics_core.py",
        "--examples=20000",
        "--multilabel-examples=2000",
        "--accuracy-examples=2000",
        "--classes=20",
        "--repeats=1",
    )
    assert "statistics update" in output
    accuracy = re.findall(r"^(uniform|skewed|near-perfect|tied)\s.*\s(\S+)$", output, re.MULTILINE)
    assert [name for name, _ in accuracy] == ["uniform", "skewed", "near-perfect", "tied"]
    for name, exact_error in accuracy:
        assert float(exact_error) < 1e-12, (name, exact_error)


@pytest.mark.slow
def test_train_step_runs():
    output = _run("train_step.py", "--rounds=1", "--steps=5")
    assert "ratio = time per step with jit_compile=True / time per step uncompiled" in output
    assert re.search(r"^2 workers \(loopback\)\s+\d", output, re.MULTILINE)


@pytest.mark.slow
def test_evaluator_scale_runs_and_its_counts_reconcile(tmp_path):
    # The script checks each run's slice counts against the data and the overall AUC
    # against scikit-learn; here it runs at a tiny size.
    output = _run(
        "evaluator_scale.py",
        "--examples=3000",
        "--slices=10,1000",
        "--class-examples=50,100",
        "--classes=10,1500",
        f"--workdir={tmp_path}",
    )
    assert re.search(r"^1000 values \(\d+ slices\)", output, re.MULTILINE), output
    assert re.search(r"^1500 classes .* per-class curves: 0$", output, re.MULTILINE), output
    assert re.search(r"^1500 classes, multi-class .* curves: 0$", output, re.MULTILINE), output
    assert re.search(r"^  100 records: [\d.]+ s, read\+parse", output, re.MULTILINE), output
    assert re.search(r"^  fixed cost -?[\d.]+ s .* per record -?[\d.]+ ms", output, re.MULTILINE)
