"""What `tfx-heads run` prints: a real run in a subprocess, as `make demo` runs it.

The terminal gets one line per component as it starts and ends, progress, the summary, and
the log file's path, within the line budget; every other library's output goes to the log
file, which the test reads back. A component that fails is named, with its error and the
log file, on one line of stderr.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
LINE_BUDGET = 30
COMPONENTS = (
    "ImportExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "HeadTrainer",
    "HeadEvaluator",
    "Pusher",
)
FOREIGN_ON_TERMINAL = re.compile(
    r"WARNING|Warning|tensorflow/|absl|oneDNN|Successfully installed|Epoch|val_loss|ms/step|"
    r"Traceback"
)
# A line of TensorFlow's C++ logging, written to fd 2 by native code. Its prefix changed in
# TensorFlow 2.21 (`2026-01-01 12:00:00.000: I file.cc:12]` before, `I0000 00:00:... file.cc:12]`
# since); only the source location that ends it is matched.
TF_CPP_LINE = re.compile(r"\S+\.cc:\d+\] ")


def _tfx_heads(*argv: str) -> subprocess.CompletedProcess:
    """`tfx-heads ARGV` from this checkout, in a fresh process, with TensorFlow's C++ logging
    at its default (everything), as on a fresh shell."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    return subprocess.run(
        [sys.executable, "-m", "tfx_heads.cli", *argv],
        cwd=REPOSITORY,  # `-m` imports this checkout's `pipeline` first
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A run on 1,500 trips and 40 training steps (as tests/pipeline/test_local_runner.py)."""
    root = tmp_path_factory.mktemp("run_output")
    thresholds = root / "thresholds.json"
    thresholds.write_text(json.dumps([{"metric": "average_loss/big_tipper", "upper_bound": 100}]))
    result = _tfx_heads(
        "run", "--root", str(root), "--sample-size", "1500", "--train-steps", "40",
        "--thresholds", str(thresholds),
    )  # fmt: skip
    return root, result


@pytest.mark.slow
def test_a_run_prints_its_components_and_summary_within_the_budget(small_run):
    root, result = small_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) <= LINE_BUDGET, result.stdout
    assert not [line for line in lines if FOREIGN_ON_TERMINAL.search(line)], result.stdout

    log = re.fullmatch(r"Log: (\S+) \(every library's messages\)", lines[0])
    assert log and pathlib.Path(log.group(1)).parent == root / "logs"
    component_lines = [line for line in lines if line.startswith("[")]
    expected = []
    for position, component in enumerate(COMPONENTS, start=1):
        label = re.escape(f"[{position}/{len(COMPONENTS)}] {component}")
        expected += [f"{label} started", rf"{label} done in \d+(\.\d)? s"]
    assert len(component_lines) == len(expected), component_lines
    for line, pattern in zip(component_lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)

    summary = lines[lines.index("") + 1 :]
    assert summary[0].startswith("Pipeline tfx-heads-taxi finished in ") and str(root) in summary[0]
    assert [line.split(":")[0].strip() for line in summary[1:6]] == [
        "model", "evaluation", "report", "blessing", "pushed to",
    ]  # fmt: skip
    assert summary[6].startswith("Headline metrics, overall slice (")
    heads = [line.split()[0] for line in summary[7:]]
    assert heads == ["big_tipper", "payment_type", "trip_seconds", "trip_tags"]


@pytest.mark.slow
def test_the_log_file_holds_every_librarys_messages(small_run):
    root, result = small_run
    (log,) = (root / "logs").glob("run-*.log")
    text = log.read_text()
    # Python warnings reach the log too: tests/pipeline/test_log_capture.py, with a warning of
    # its own (which warnings a run meets depends on the stack and the caller's filters).
    assert TF_CPP_LINE.search(text), "no TensorFlow C++ line (written to fd 2 by native code)"
    assert "INFO absl: Component HeadTrainer is running." in text  # TFX's absl logging
    assert re.search(r"^40/40 - .*loss: ", text, re.M), "no Keras epoch line (print)"
    assert "Successfully installed tfx-user-code-headtrainer" in text  # pip, a subprocess


def test_a_failing_component_is_named_with_its_error_and_the_log(tmp_path):
    result = _tfx_heads(
        "run", "--root", str(tmp_path), "--sample-size", "100",
        "--beam-arg=--runner=NoSuchRunner",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    (log,) = (tmp_path / "logs").glob("run-*.log")
    assert line.startswith("tfx-heads run: error: ImportExampleGen failed: ")
    assert "NoSuchRunner" in line and line.endswith(f"(log: {log})")
    assert result.stdout.splitlines()[-1].startswith("[1/6] ImportExampleGen failed after ")
