"""`heads.stats` is importable with NumPy alone: importing it imports no TensorFlow or Keras."""

import os
import subprocess
import sys

import pytest

_MODULES = (
    "heads.stats",
    "heads.stats.base_stats",
    "heads.stats.binary_groups",
    "heads.stats.binary_stats",
    "heads.stats.curve",
    "heads.stats.factory",
    "heads.stats.grouped",
    "heads.stats.histogram",
    "heads.stats.inputs",
    "heads.stats.losses",
    "heads.stats.metric_keys",
    "heads.stats.moments",
    "heads.stats.multi_head_stats",
    "heads.stats.multiclass_stats",
    "heads.stats.multilabel_stats",
    "heads.stats.regression_stats",
    "heads.stats.score_counts",
    "heads.stats.threshold_counts",
)
_FRAMEWORKS = ("tensorflow", "keras", "tf_keras")


@pytest.mark.parametrize("module", _MODULES)
def test_importing_the_statistics_imports_no_framework(module):
    # A fresh interpreter: this test process has imported TensorFlow already.
    code = (
        f"import sys, {module}; "
        f"print(','.join(sorted(m for m in {_FRAMEWORKS!r} if m in sys.modules)))"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "", f"importing {module} imported {result.stdout.strip()}"
