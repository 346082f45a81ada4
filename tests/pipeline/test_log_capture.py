"""`pipeline.log_capture.capture`: every kind of output a library makes goes to the log file,
and only the command's own lines reach the terminal. The program runs in a subprocess, so its
descriptors 1 and 2 are its own."""

from __future__ import annotations

import os
import subprocess
import sys

PROGRAM = r"""
import logging, os, subprocess, sys, warnings

from absl import logging as absl_logging

from tfx_heads.pipeline import log_capture

warnings.simplefilter("always")  # whatever filters the caller's environment sets
with log_capture.capture(sys.argv[1]) as terminal:
    print("a print")
    sys.stderr.write("a write to sys.stderr\n")
    os.write(2, b"a write to fd 2\n")
    subprocess.run([sys.executable, "-c", "print('a child process line')"], check=True)
    warnings.warn("a warning", UserWarning)
    absl_logging.info("an absl line")
    logging.getLogger("some.library").info("a logging line")
    print("the command's own line", file=terminal.out)
    print("the command's own error", file=terminal.err)
print("after the capture")
"""


def test_every_kind_of_output_goes_to_the_log_and_own_lines_to_the_terminal(tmp_path):
    log = tmp_path / "run.log"
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(log)],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout == "the command's own line\nafter the capture\n"
    assert result.stderr == "the command's own error\n"
    text = log.read_text()
    for expected in (
        "a print",
        "a write to sys.stderr",
        "a write to fd 2",
        "a child process line",
        "UserWarning: a warning",
        "INFO absl: an absl line",
        "INFO some.library: a logging line",
    ):
        assert expected in text, (expected, text)
    assert "own" not in text and "after the capture" not in text
