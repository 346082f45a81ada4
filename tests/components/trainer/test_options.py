"""TrainerOptions: validation and the round trip through TFX's custom_config."""

import pytest
from tfx.utils import json_utils

from tfx_heads.components.trainer import constants
from tfx_heads.components.trainer.options import TrainerOptions


def test_round_trip_through_json_custom_config():
    options = TrainerOptions(
        strategy="mirrored",
        devices=("/gpu:0", "/gpu:1"),
        batch_size=128,
        eval_batch_size=512,
        epochs=3,
        steps_per_execution=8,
        jit_compile=True,
        mixed_precision="mixed_bfloat16",
        backup=False,
        backup_steps=50,
        hparams={"hidden_units": [16, 8], "learning_rate": 0.01},
    )
    stored = json_utils.loads(json_utils.dumps({constants.OPTIONS_KEY: options.to_json_dict()}))
    assert TrainerOptions.from_custom_config(stored) == options
    assert options.global_eval_batch_size == 512
    assert TrainerOptions(batch_size=32).global_eval_batch_size == 32


def test_missing_options_give_the_defaults():
    assert TrainerOptions.from_custom_config(None) == TrainerOptions()
    assert TrainerOptions.from_custom_config({"other": 1}) == TrainerOptions()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"strategy": "gpu"}, ValueError, r"Invalid `strategy`: expected one of"),
        ({"batch_size": 0}, ValueError, r"Invalid `batch_size`: expected an integer >= 1; "),
        ({"epochs": 1.5}, ValueError, r"Invalid `epochs`: expected an integer >= 1"),
        ({"steps_per_execution": True}, ValueError, r"Invalid `steps_per_execution`"),
        ({"eval_batch_size": -1}, ValueError, r"Invalid `eval_batch_size`"),
        ({"devices": "/gpu:0"}, TypeError, r"Invalid `devices`: expected a list of device"),
        ({"tpu": 3}, TypeError, r"Invalid `tpu`: expected a string; received 3"),
        ({"hparams": [1]}, TypeError, r"Invalid `hparams`: expected a dict"),
        ({"jit_compile": "yes"}, TypeError, r"Invalid `jit_compile`: expected True or False"),
        ({"backup": None}, TypeError, r"Invalid `backup`: expected True or False"),
        ({"backup_steps": 0}, ValueError, r"Invalid `backup_steps`: expected an integer >= 1"),
        ({"mixed_precision": "float16"}, ValueError, r"Invalid `mixed_precision`: expected one"),
    ],
)
def test_invalid_values_name_the_option(kwargs, error, message):
    with pytest.raises(error, match=message):
        TrainerOptions(**kwargs)


def test_unknown_stored_options_are_rejected():
    with pytest.raises(ValueError, match=r"received unknown \['batchsize'\]"):
        TrainerOptions.from_custom_config({constants.OPTIONS_KEY: {"batchsize": 3}})
    with pytest.raises(TypeError, match=r"expected a dict of trainer options; received 3"):
        TrainerOptions.from_custom_config({constants.OPTIONS_KEY: 3})
