"""Tests of components/compat.py: the private TFX, Beam and Keras APIs are still there."""

import os

import pytest

from tfx_heads.components import compat


@pytest.mark.parametrize("api", compat.PRIVATE_APIS, ids=lambda api: api.name)
def test_the_private_api_is_still_there(api):
    api.check()  # raises naming the upgrade that removed it


def test_packaging_is_disabled_only_inside_the_block(monkeypatch):
    monkeypatch.delenv("UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES", raising=False)
    with compat.user_module_packaging_disabled():
        assert os.environ["UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES"] == "1"
    assert "UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES" not in os.environ
