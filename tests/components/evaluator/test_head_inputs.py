"""How each head reads its labels: formats from the head and the stored types, and errors."""

import pytest

import heads
from heads.description import per_head
from tfx_heads.components.evaluator.head_inputs import build_input_spec


def _spec(head, label_keys, types, **kwargs):
    return build_input_spec(heads.describe(head), label_keys, None, (), types, **kwargs)


def test_formats_follow_the_head_and_the_stored_type():
    multi = heads.MultiHead(
        [
            heads.BinaryClassHead(name="b", weight_column="w"),
            heads.BinaryClassHead(name="bv", label_vocabulary=["n", "y"]),
            heads.MultiClassHead(3, name="c"),
            heads.MultiClassHead(3, label_vocabulary=["p", "q", "r"], name="cv"),
            heads.MultiClassHead(3, label_vocabulary=["p", "q", "r"], name="ci"),
            heads.MultiLabelHead(3, name="hot"),
            heads.MultiLabelHead(3, name="ids"),
            heads.MultiLabelHead(3, label_vocabulary=["x", "y", "z"], name="names"),
            heads.MultiLabelHead(3, name="soft"),
            heads.RegressionHead(label_dimension=2, name="r"),
        ]
    )
    types = {"b": "float", "bv": "bytes", "c": "int64", "cv": "bytes", "ci": "int64"}
    types.update({"hot": "int64", "ids": "int64", "names": "bytes", "soft": "float"})
    spec = _spec(multi, {n: n for n in types} | {"r": "r"}, types, multi_hot_keys=["hot"])
    formats = {h.name: h.label_format for h in spec.heads}
    assert formats == {
        "b": "value",
        "bv": "class_names",
        "c": "class_ids",
        "cv": "class_names",
        "ci": "class_ids",
        "hot": "multi_hot",
        "ids": "class_ids",
        "names": "class_names",
        "soft": "multi_hot",
        "r": "value",
    }
    by_name = {h.name: h for h in spec.heads}
    assert by_name["b"].weight_key == "w" and by_name["b"].n_classes == 2
    assert by_name["r"].label_dimension == 2 and by_name["r"].n_classes is None
    assert spec.feature_types["w"] == "float" and spec.feature_types["r"] == "float"
    assert set(spec.feature_spec()) == set(types) | {"w", "r"}


def test_override_and_errors():
    head = heads.MultiLabelHead(3, name="m")
    spec = _spec(head, "y", {"y": "int64"}, multi_hot_keys=["y"], label_formats="class_ids")
    assert spec.heads[0].label_format == "class_ids"
    with pytest.raises(ValueError, match="expected numeric labels .the head has no label_voc"):
        _spec(heads.BinaryClassHead(), "y", {"y": "bytes"})
    with pytest.raises(ValueError, match="expected int64 or bytes values|expected int64 values"):
        _spec(heads.MultiClassHead(3), "y", {"y": "float"})
    with pytest.raises(ValueError, match="Invalid weight feature 'w'"):
        _spec(heads.BinaryClassHead(weight_column="w"), "y", {"y": "int64", "w": "bytes"})
    with pytest.raises(ValueError, match="Invalid label format of head 'm': expected one of"):
        _spec(head, "y", {"y": "int64"}, label_formats="value")


def test_per_head_arguments():
    multi = heads.MultiHead([heads.RegressionHead(name="a"), heads.RegressionHead(name="b")])
    assert per_head({"a": 1, "b": 2}, multi.heads, "x", True) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match=r"expected a value for every head \['a', 'b'\]"):
        per_head({"a": 1}, multi.heads, "label_keys", True)
    with pytest.raises(ValueError, match="unknown"):
        per_head({"a": 1, "z": 2}, multi.heads, "label_keys", True)
    with pytest.raises(ValueError, match="HEAD=VALUE"):
        per_head("y", multi.heads, "label_keys", True)
    assert per_head("y", (heads.RegressionHead(),), "label_keys", True) == {None: "y"}
