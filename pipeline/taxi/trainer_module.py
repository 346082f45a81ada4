"""The taxi sample's `HeadTrainer` user module: the four-head model of
`tfx_heads.pipeline.taxi.model`.

See `tfx_heads.components.trainer.HeadTrainer` for the contract. The labels are the sample's derived
label features (`tfx_heads.pipeline.taxi.sample.LABEL_KEYS`); the serving signatures parse the
model's input features.
"""

from __future__ import annotations

from tfx_heads.pipeline.taxi import sample
from tfx_heads.pipeline.taxi.model import build_model

__all__ = ["LABEL_KEYS", "build_model"]

LABEL_KEYS = dict(sample.LABEL_KEYS)
"""Head name to the label feature it reads."""
