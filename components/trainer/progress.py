"""A Keras callback that reports training steps through `tfx_heads.components.progress`.

Keras's own progress output (`verbose=2`) prints one line per epoch with every metric; this
reports the optimizer's step count and the running loss instead, often enough for a live
display and rarely enough for logs.
"""

from __future__ import annotations

from typing import Any

import keras

from tfx_heads.components import progress


class TrainingProgress(keras.callbacks.Callback):
    """Reports "training: step N of TOTAL, loss L" while `fit` runs.

    Args:
        total_steps: the steps the whole training takes (None: unknown); the step count is
            the optimizer's, so a training resumed from a backup counts from where it was.
    """

    def __init__(self, total_steps: int | None) -> None:
        super().__init__()
        self._progress = progress.Progress("training", "step", total_steps)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._progress.due():  # reading the step and the loss waits for the device
            self._progress.update(int(self.model.optimizer.iterations.numpy()), _loss(logs))


def _loss(logs: dict[str, Any] | None) -> str:
    """ "loss 5.2748" from Keras's batch logs, or "" without a loss."""
    if not logs or "loss" not in logs:
        return ""
    return f"loss {float(logs['loss']):.4g}"
