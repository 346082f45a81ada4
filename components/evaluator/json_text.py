"""`json.dumps(value, indent=2)`, byte for byte, at the speed of the C encoder.

Python's `json` encodes with its C encoder only without `indent`; with `indent=2` it walks
every value in Python (about 3 us per value), which made writing `metrics.json` a large part
of an evaluation of many slices or classes. `indented` walks only the containers in Python:
a container whose items are all scalars (the metrics of a slice, the values per class) is
encoded in one C call, with `",\\n" + its indentation` as the item separator, which is the
text the indented encoder writes.

>>> document = {"a": [1, 2.5, None], "b": {}, "c": {"d": float("nan"), "e": "x"}}
>>> indented(document) == json.dumps(document, indent=2)
True
"""

from __future__ import annotations

import functools
import json
from typing import Any

_SCALARS = (str, int, float, type(None))
"""Values the encoders write as one token (bool is an int)."""


@functools.lru_cache(maxsize=64)
def _flat_encoder(level: int) -> json.JSONEncoder:
    """Encodes a container of scalars at `level` as `indent=2` does, less its brackets'
    line breaks (without `indent`, `json` uses its C encoder)."""
    return json.JSONEncoder(separators=(",\n" + "  " * (level + 1), ": "))


def _key(key: Any) -> str:
    """A dict key as JSON text (a str, or the number, bool or null `json` turns into one)."""
    if isinstance(key, str):
        return json.dumps(key)
    text = json.dumps({key: 0})  # json's own conversion of a non-str key (or its TypeError)
    return text[1 : -len(": 0}")]


def indented(value: Any, level: int = 0) -> str:
    """`json.dumps(value, indent=2)` for `value` nested `level` containers deep (the same
    text, NaN as `NaN`, and the same TypeError for a value JSON cannot hold)."""
    if isinstance(value, dict):
        brackets, items = "{}", list(value.values())
    elif isinstance(value, (list, tuple)):
        brackets, items = "[]", list(value)
    else:
        return json.dumps(value)
    if not items:
        return brackets
    inner = "\n" + "  " * (level + 1)
    if all(isinstance(item, _SCALARS) for item in items):
        text = _flat_encoder(level).encode(value)[1:-1]
    elif brackets == "{}":
        text = ("," + inner).join(
            f"{_key(key)}: {indented(item, level + 1)}" for key, item in value.items()
        )
    else:
        text = ("," + inner).join(indented(item, level + 1) for item in items)
    return brackets[0] + inner + text + "\n" + "  " * level + brackets[1]
