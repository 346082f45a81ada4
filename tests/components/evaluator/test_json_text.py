"""`json_text.indented` writes exactly `json.dumps(value, indent=2)`."""

import json

import numpy as np
import pytest

from tfx_heads.components.evaluator.json_text import indented


def _random_value(rng, depth):
    kind = rng.integers(0, 9 if depth < 4 else 6)
    scalars = [
        "text é \"q\" \n", 3, -0.1, float("nan"), float("inf"), -float("inf"), True, None,
        np.float64(0.25), 10**20, "",
    ]  # fmt: skip
    if kind < 6:
        return scalars[rng.integers(0, len(scalars))]
    size = int(rng.integers(0, 5))
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(size)]
    if kind == 7:
        return tuple(_random_value(rng, depth + 1) for _ in range(size))
    keys = ["a", "b/c", "ü", 7, 2.5, True, None]
    return {keys[rng.integers(0, len(keys))]: _random_value(rng, depth + 1) for _ in range(size)}


def test_random_documents_match_the_indented_encoder():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        value = _random_value(rng, 0)
        assert indented(value) == json.dumps(value, indent=2)


def test_a_metrics_like_document_matches():
    document = {
        "min_slice_size": 1,
        "class_curves": [],
        "slices": [
            {"slice": {}, "metrics": {"auc": 0.5, "loss": float("nan")}, "heads": [{"x": [1, 2]}]},
            {"slice": {"f": "v"}, "metrics": {}, "heads": [[], {}]},
        ],
        "rejected": {"count": 0, "reasons": {}},
    }
    assert indented(document) == json.dumps(document, indent=2)


@pytest.mark.parametrize("value", [{"a": np.int64(3)}, [object()], {"a": {"b": [np.int32(1)]}}])
def test_a_value_json_cannot_hold_raises_its_type_error(value):
    with pytest.raises(TypeError, match="not JSON serializable"):
        indented(value)
