"""Runs the head trainer's executor in its own process, as a pipeline task's container does.

Used by test_executor.py for multi-worker and preemption tests: each process gets the same
artifacts (and its own `TF_CONFIG` from the test). Temporary files go to
`<spec dir>/tmp-<task>` so the test can check that workers clean up after themselves.

    python tests/components/trainer/executor_program.py SPEC_JSON

SPEC_JSON holds `input_dict` and `output_dict` (as `artifact_utils.jsonify_artifact_dict`
writes them) and `exec_properties`.
"""

import json
import os
import sys
import tempfile


def main(spec_path: str) -> None:
    from tfx.types import artifact_utils

    from tfx_heads.components.trainer import executor

    task = (json.loads(os.environ.get("TF_CONFIG") or "{}").get("task")) or {}
    tempfile.tempdir = os.path.join(
        os.path.dirname(spec_path), f"tmp-{task.get('type', 'single')}{task.get('index', '')}"
    )
    os.makedirs(tempfile.tempdir, exist_ok=True)
    with open(spec_path) as f:
        spec = json.load(f)
    executor.Executor().Do(
        artifact_utils.parse_artifact_dict(spec["input_dict"]),
        artifact_utils.parse_artifact_dict(spec["output_dict"]),
        spec["exec_properties"],
    )


if __name__ == "__main__":
    main(sys.argv[1])
