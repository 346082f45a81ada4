"""Reading the JSON file a command-line argument names, with one form of error for all.

The evaluator's `--thresholds` and the Kubeflow subcommand's `--trainer-config` and
`--component-config` each name a JSON file; a file that is not JSON fails with the same
message naming the argument, the file and what was expected.
"""

from __future__ import annotations

import json
from typing import Any


def read_json_argument(path: str, argument: str, expected: str) -> Any:
    """The JSON value of the file `path`, given as the command-line option `argument`.

    Args:
        path: the file.
        argument: the option that named it, for messages (`--thresholds`).
        expected: what the file should hold, for messages (`a JSON list`).

    Raises:
        ValueError: if the file is not JSON: "Invalid `ARGUMENT`: expected EXPECTED;
            received 'PATH' (the JSON error)."
        OSError: if the file cannot be read.
    """
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Invalid `{argument}`: expected {expected}; received {path!r} ({error})."
            ) from error
