"""Tests of heads/_compat.py: the private TensorFlow and Keras APIs are still there."""

import pytest

from heads import _compat


@pytest.mark.parametrize("api", _compat.PRIVATE_APIS, ids=lambda api: api.name)
def test_the_private_api_is_still_there(api):
    api.check()  # raises naming the upgrade that removed it


def test_a_missing_api_names_the_upgrade():
    gone = _compat.PrivateApi("keras.Model._gone", "Keras after 3.99", lambda: False)
    with pytest.raises(RuntimeError, match=r"Keras after 3\.99 .*`keras\.Model\._gone`"):
        gone.check()


def test_the_head_model_overrides_keras_first_batch_build():
    # The mixin must come before keras.Model so that its override is the one Keras calls.
    import keras

    import heads

    mro = heads.HeadModel.__mro__
    assert mro.index(_compat.SkipsBuildWhenBuilt) < mro.index(keras.Model)
