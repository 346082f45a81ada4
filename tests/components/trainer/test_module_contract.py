"""Loading and checking the user module; every error names the module and the attribute."""

import os
import textwrap

import pytest

import heads
from tfx_heads.components.trainer import module_contract
from tfx_heads.pipeline.taxi import sample

MODEL = """
import keras
import heads


def _logits_model(*names):
    inputs = {n: keras.Input(shape=(1,), name=n) for n in names}
    hidden = keras.layers.Concatenate()(list(inputs.values()))
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))
"""


def write_module(tmp_path, body, name="user_module.py"):
    path = tmp_path / name
    path.write_text(MODEL + textwrap.dedent(body))
    return str(path)


def load(path):
    return module_contract.load_user_module({"module_file": path})


def test_taxi_trainer_module_satisfies_the_contract():
    path = os.path.join(os.path.dirname(sample.__file__), "trainer_module.py")
    user_module = load(path)
    assert user_module.label_keys == sample.LABEL_KEYS
    assert user_module.raw_label_keys == sample.LABEL_KEYS
    assert user_module.serving_feature_keys is None and user_module.build_optimizer is None
    logits_model, head = module_contract.build_model(user_module, {})
    assert isinstance(head, heads.MultiHead)
    assert module_contract.model_input_names(logits_model) == sorted(
        sample.NUMERIC_FEATURES + sample.CATEGORICAL_FEATURES
    )


def test_optional_attributes_are_read(tmp_path):
    path = write_module(
        tmp_path,
        """
        LABEL_KEYS = "y"
        RAW_LABEL_KEYS = "raw_y"
        SERVING_FEATURE_KEYS = ["a", "b"]
        def build_model(hparams):
            return _logits_model("a"), heads.BinaryClassHead()
        def build_optimizer(hparams):
            return keras.optimizers.SGD()
        """,
    )
    user_module = load(path)
    assert (user_module.label_keys, user_module.raw_label_keys) == ("y", "raw_y")
    assert user_module.serving_feature_keys == ("a", "b")
    assert callable(user_module.build_optimizer)
    module_contract.build_model(user_module, {})


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            'LABEL_KEYS = "y"\n',
            ValueError,
            r"Invalid `build_model` in user module '.*user_module"
            r"\.py': expected a function build_model\(hparams\) -> \(logits_model, head\); "
            r"received nothing",
        ),
        (
            'LABEL_KEYS = "y"\nbuild_model = 3\n',
            TypeError,
            r"Invalid `build_model`.*received int 3",
        ),
        ("def build_model(h):\n    pass\n", ValueError, r"Invalid `LABEL_KEYS`.*received nothing"),
        (
            "LABEL_KEYS = ['y']\ndef build_model(h):\n    pass\n",
            TypeError,
            r"Invalid `LABEL_KEYS`.*received \['y'\]",
        ),
        (
            "LABEL_KEYS = {'a': ''}\ndef build_model(h):\n    pass\n",
            TypeError,
            r"Invalid `LABEL_KEYS`",
        ),
        (
            "LABEL_KEYS = 'y'\nRAW_LABEL_KEYS = 4\ndef build_model(h):\n    pass\n",
            TypeError,
            r"Invalid `RAW_LABEL_KEYS`.*received 4",
        ),
        (
            "LABEL_KEYS = 'y'\nSERVING_FEATURE_KEYS = 'a'\ndef build_model(h):\n    pass\n",
            TypeError,
            r"Invalid `SERVING_FEATURE_KEYS`.*a non-empty list of feature names",
        ),
        (
            "LABEL_KEYS = 'y'\nbuild_optimizer = 'adam'\ndef build_model(h):\n    pass\n",
            TypeError,
            r"Invalid `build_optimizer`",
        ),
    ],
)
def test_missing_or_invalid_attributes(tmp_path, body, error, message):
    path = write_module(tmp_path, body)
    with pytest.raises(error, match=message):
        load(path)


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            "LABEL_KEYS = 'y'\ndef build_model(h):\n    return _logits_model('a')\n",
            TypeError,
            r"Invalid `build_model`.*expected a function returning \(keras.Model, heads.Head\); "
            r"received a call that returned Functional",
        ),
        (
            "LABEL_KEYS = 'y'\ndef build_model(h):\n    return heads.BinaryClassHead(), "
            "_logits_model('a')\n",
            TypeError,
            r"returned \(BinaryClassHead, Functional\)",
        ),
        (
            "LABEL_KEYS = {'y': 'y'}\ndef build_model(h):\n"
            "    return _logits_model('a'), heads.BinaryClassHead()\n",
            ValueError,
            r"Invalid `LABEL_KEYS`.*expected one label feature name for the BinaryClassHead",
        ),
        (
            "LABEL_KEYS = {'a': 'y'}\ndef build_model(h):\n    return _logits_model('x'), "
            "heads.MultiHead([heads.BinaryClassHead(name='a'), heads.RegressionHead(name='b')])\n",
            ValueError,
            r"expected a dict with exactly the MultiHead's head names \['a', 'b'\]",
        ),
        (
            "LABEL_KEYS = 'a'\ndef build_model(h):\n"
            "    return _logits_model('a'), heads.BinaryClassHead()\n",
            ValueError,
            r"expected label features that are not inputs of the logits model; received \['a'\]",
        ),
        (
            "LABEL_KEYS = 'y'\nSERVING_FEATURE_KEYS = ['a', 'y']\ndef build_model(h):\n"
            "    return _logits_model('a'), heads.BinaryClassHead()\n",
            ValueError,
            r"Invalid `SERVING_FEATURE_KEYS`.*received label features \['y'\]",
        ),
    ],
)
def test_build_model_result_is_checked_against_the_labels(tmp_path, body, error, message):
    user_module = load(write_module(tmp_path, body))
    with pytest.raises(error, match=message):
        module_contract.build_model(user_module, {})


def test_hparams_reach_build_model(tmp_path):
    path = write_module(
        tmp_path,
        """
        LABEL_KEYS = "y"
        def build_model(hparams):
            return _logits_model(*hparams["inputs"]), heads.BinaryClassHead()
        """,
    )
    logits_model, _ = module_contract.build_model(load(path), {"inputs": ["p", "q"]})
    assert module_contract.model_input_names(logits_model) == ["p", "q"]


def test_unimportable_modules_raise_import_error_naming_the_file(tmp_path):
    broken = write_module(tmp_path, "def build_model(:\n", name="broken.py")
    with pytest.raises(ImportError, match=r"Invalid `module_file`: .*broken\.py.*SyntaxError"):
        load(broken)
    with pytest.raises(ImportError, match=r"missing\.py"):
        load(str(tmp_path / "missing.py"))
    with pytest.raises(ValueError, match=r"Invalid `module_file`: expected the path"):
        module_contract.load_user_module({"module_file": None})
