"""Resuming training after a worker is killed (preemption of spot GPUs and TPU VMs).

The training state (model weights, optimizer state, the step count in
`optimizer.iterations` and the finished epochs) is backed up with `tf.train.Checkpoint`
every `backup_steps` steps and at each epoch end, under `<model_run>/backup`. When the
trainer starts again with the same ModelRun directory (a retried task), `restore` loads
the last backup and training continues from its step; `StepBackup` stops `fit` at the
configured step count, and `remove` deletes the backup after a successful run.

Keras's own `BackupAndRestore` resumes only at epoch boundaries (the trainer's default is one
epoch) and writes the same file from every worker; here, as with TensorFlow's multi-worker
checkpointing, every worker saves (saving may run collective ops) but only the chief writes
to the backup directory, the others to a temporary directory that is removed at once.
`tf.train.CheckpointManager` writes the new checkpoint before it points to it, so a kill
during a save leaves the previous backup usable. The input data restarts from its beginning
on resumption (the position in the dataset is not saved).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

import keras
import tensorflow as tf
from absl import logging

BACKUP_DIR = "backup"


@dataclasses.dataclass
class TrainingState:
    """The backed-up state of a training run.

    Attributes:
        checkpoint: the `tf.train.Checkpoint` of the model, its optimizer and `epoch`.
        epoch: the number of finished epochs (a variable, saved with the checkpoint).
        directory: where this process writes backups (a temporary one on a non-chief).
        chief: whether this process writes the real backup.
    """

    checkpoint: tf.train.Checkpoint
    epoch: tf.Variable
    directory: str
    chief: bool

    @property
    def finished_epochs(self) -> int:
        """Epochs finished so far."""
        return int(self.epoch.numpy())

    @property
    def step(self) -> int:
        """Training steps done so far (the optimizer's iteration count)."""
        return int(self.checkpoint.optimizer.iterations.numpy())


def training_state(model: keras.Model, directory: str, chief: bool) -> TrainingState:
    """The state of `model` (built and compiled) to back up under `directory`."""
    with model.distribute_strategy.scope():
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="finished_epochs")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, epoch=epoch)
    return TrainingState(checkpoint=checkpoint, epoch=epoch, directory=directory, chief=chief)


def restore(state: TrainingState) -> int:
    """Loads the latest backup in `state.directory`, if any; returns the step it holds (0)."""
    latest = tf.train.latest_checkpoint(state.directory)
    if latest is None:
        return 0
    state.checkpoint.restore(latest).assert_existing_objects_matched()
    logging.info("HeadTrainer: resumed from backup %s at step %d.", latest, state.step)
    return state.step


def remove(state: TrainingState) -> None:
    """Deletes the backup after a successful run (on the chief only)."""
    if state.chief and tf.io.gfile.exists(state.directory):
        tf.io.gfile.rmtree(state.directory)


class StepBackup(keras.callbacks.Callback):
    """Backs up every `every_steps` steps and at each epoch end; stops at `total_steps`.

    Args:
        state: what to back up and where (see `training_state`).
        every_steps: steps between backups; None backs up at epoch ends only.
        total_steps: the configured step count; `fit` stops when the optimizer reaches it
            (a resumed run's first epoch would otherwise run past it). None: no limit.
    """

    def __init__(self, state: TrainingState, every_steps: int | None, total_steps: int | None):
        super().__init__()
        self._state = state
        self._every_steps = every_steps
        self._total_steps = total_steps
        self._last_saved = 0
        self._manager = None
        if state.chief:
            self._manager = tf.train.CheckpointManager(
                state.checkpoint, state.directory, max_to_keep=1
            )

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._last_saved = self._state.step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = self._state.step
        if self._every_steps and step - self._last_saved >= self._every_steps:
            self._save(step)
        if self._total_steps is not None and step >= self._total_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._state.epoch.assign(epoch + 1)
        self._save(self._state.step)

    def _save(self, step: int) -> None:
        if self._manager is not None:
            self._manager.save(checkpoint_number=step)
        else:  # a non-chief worker: save (for its collective ops) into a throwaway directory
            directory = tempfile.mkdtemp(prefix="head_trainer_backup_")
            try:
                self._state.checkpoint.write(f"{directory}/ckpt")
            finally:
                shutil.rmtree(directory, ignore_errors=True)
        self._last_saved = step
