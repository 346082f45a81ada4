"""The training plan and hyperparameters (the training run itself: test_executor.py)."""

import pytest

from tfx_heads.components.trainer import train
from tfx_heads.components.trainer.options import TrainerOptions


@pytest.mark.parametrize(
    ("train_steps", "eval_steps", "epochs", "expected"),
    [
        (100, 10, 1, train.FitPlan(1, 100, None, 10, None)),
        (100, None, 3, train.FitPlan(3, 34, None, None, 1)),
        (2, 5, 4, train.FitPlan(2, 1, None, 5, None)),
        (None, None, 2, train.FitPlan(2, None, 1, None, 1)),
    ],
)
def test_fit_plan(train_steps, eval_steps, epochs, expected):
    assert train.fit_plan(train_steps, eval_steps, epochs) == expected


def test_tuner_values_override_option_hparams():
    options = TrainerOptions(hparams={"learning_rate": 0.1, "hidden_units": [8]})
    tuned = {"space": [], "values": {"learning_rate": 0.01}}
    assert train.merged_hparams(options, tuned) == {"learning_rate": 0.01, "hidden_units": [8]}
    assert train.merged_hparams(options, None) == options.hparams
    assert train.merged_hparams(options, {"hidden_units": [4]})["hidden_units"] == [4]
