"""Tests of heads/__init__.py: the public names, imported on first use."""

import pytest

import heads


def test_every_public_name_resolves():
    assert set(heads.__all__) <= set(dir(heads))
    for name in heads.__all__:
        assert getattr(heads, name) is not None, name
    assert heads.BinaryClassHead.__module__ == "heads.binary_class_head"
    assert heads.contrib.multi_label_head is not None
    assert heads.MetricKeys.AUC == "auc"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        heads.no_such_name  # noqa: B018
