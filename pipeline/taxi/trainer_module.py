"""The taxi sample's `HeadTrainer` user module: the four-head model of `pipeline.taxi.model`.

See `components.trainer.HeadTrainer` for the contract. The labels are the sample's derived
label features (`pipeline.taxi.sample.LABEL_KEYS`); the serving signatures parse the model's
input features.
"""

from __future__ import annotations

from pipeline.taxi import sample
from pipeline.taxi.model import build_model

__all__ = ["LABEL_KEYS", "build_model"]

LABEL_KEYS = dict(sample.LABEL_KEYS)
"""Head name to the label feature it reads."""
