"""The head trainer: a TFX Trainer that trains a logits model with a `heads.Head`."""

# This module only re-exports the public API.
# ruff: noqa: F401

from tfx_heads.components.trainer.component import HeadTrainer
from tfx_heads.components.trainer.executor import Executor
from tfx_heads.components.trainer.options import TrainerOptions
