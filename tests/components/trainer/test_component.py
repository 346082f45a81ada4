"""HeadTrainer keeps TFX's Trainer spec and carries its options in custom_config."""

import pytest
from tfx import types
from tfx.components import Trainer
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from tfx_heads.components.trainer import HeadTrainer, constants, executor
from tfx_heads.components.trainer.options import TrainerOptions


def channel(artifact_type):
    return types.Channel(type=artifact_type)


def test_head_trainer_is_a_trainer_with_the_head_executor():
    trainer = HeadTrainer(
        examples=channel(standard_artifacts.Examples),
        schema=channel(standard_artifacts.Schema),
        module_file="trainer_module.py",
        train_args=trainer_pb2.TrainArgs(num_steps=10),
        strategy="mirrored",
        batch_size=32,
        hparams={"hidden_units": [4]},
    )
    assert isinstance(trainer, Trainer)
    assert trainer.spec.__class__ is standard_component_specs.TrainerSpec
    assert trainer.executor_spec.executor_class is executor.Executor
    assert set(trainer.outputs) == {"model", "model_run"}
    assert trainer.outputs["model"].type is standard_artifacts.Model
    properties = trainer.exec_properties
    assert properties["module_file"] == "trainer_module.py"
    custom_config = json_utils.loads(properties["custom_config"])
    assert TrainerOptions.from_custom_config(custom_config) == TrainerOptions(
        strategy="mirrored", batch_size=32, hparams={"hidden_units": [4]}
    )
    assert set(custom_config) == {constants.OPTIONS_KEY}


def test_transform_graph_can_replace_the_schema():
    trainer = HeadTrainer(
        examples=channel(standard_artifacts.Examples),
        transform_graph=channel(standard_artifacts.TransformGraph),
        module_file="trainer_module.py",
    )
    assert "transform_graph" in trainer.inputs


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"module_file": ""}, ValueError, r"Invalid `module_file`: expected the path"),
        ({"schema": None}, ValueError, r"Invalid `schema`: expected a Schema channel"),
        ({"strategy": "gpus"}, ValueError, r"Invalid `strategy`"),
        ({"epochs": 0}, ValueError, r"Invalid `epochs`"),
    ],
)
def test_invalid_arguments(kwargs, error, message):
    arguments = {
        "examples": channel(standard_artifacts.Examples),
        "schema": channel(standard_artifacts.Schema),
        "module_file": "trainer_module.py",
        **kwargs,
    }
    with pytest.raises(error, match=message):
        HeadTrainer(**arguments)
