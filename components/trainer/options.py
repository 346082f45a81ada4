"""`TrainerOptions`: the head trainer's typed options, carried in TFX's `custom_config`.

TFX's Trainer spec has no place for options of its own, so `HeadTrainer` stores them as a
JSON object under `custom_config["head_trainer"]`, and the executor reads them back with
`TrainerOptions.from_custom_config`. Both directions validate every value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tfx_heads.components.trainer import constants
from tfx_heads.components.trainer.strategy import STRATEGY_NAMES, StrategyName

MIXED_PRECISION_POLICIES = (None, "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class TrainerOptions:
    """How `HeadTrainer` trains.

    Attributes:
        strategy: one of `auto`, `mirrored`, `multi_worker`, `tpu`, `one_device` (see
            `tfx_heads.components.trainer.strategy`).
        devices: devices for `mirrored` (several) or `one_device` (one); None for the default.
        tpu: TPU address or name for `tpu` (and for `auto` to pick a TPU); None for the default.
        batch_size: global training batch size, split across replicas; >= 1.
        eval_batch_size: global evaluation batch size; None for `batch_size`.
        epochs: Keras epochs, >= 1. With `train_args.num_steps` set, the steps are split evenly
            across epochs (each ends with a validation pass and a TensorBoard point);
            otherwise each epoch is one pass over the training splits.
        steps_per_execution: training steps per `tf.function` call (speeds up TPUs); >= 1.
        jit_compile: compile the training, evaluation and prediction steps with XLA (True),
            not (False), or Keras's choice (None: XLA where a GPU is present). TPU steps are
            always compiled.
        mixed_precision: None (float32), `mixed_float16` (GPUs; the loss is scaled) or
            `mixed_bfloat16` (TPUs, recent CPUs). Layers compute in the lower precision; the
            head's loss, metrics and predictions stay float32.
        backup: back up the training state under `<model_run>/backup` and resume from it when
            the trainer is run again after a kill (see `tfx_heads.components.trainer.backup`); the
            backup is removed after a successful run.
        backup_steps: steps between backups (besides every epoch end); >= 1.
        hparams: hyperparameters passed to the module's `build_model` (values from a Tuner's
            `hyperparameters` input take precedence).
    """

    strategy: StrategyName = "auto"
    devices: tuple[str, ...] | None = None
    tpu: str | None = None
    batch_size: int = 64
    eval_batch_size: int | None = None
    epochs: int = 1
    steps_per_execution: int = 1
    jit_compile: bool | None = None
    mixed_precision: str | None = None
    backup: bool = True
    backup_steps: int = 500
    hparams: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGY_NAMES:
            raise ValueError(
                f"Invalid `strategy`: expected one of {STRATEGY_NAMES}; received {self.strategy!r}."
            )
        if self.devices is not None:
            if isinstance(self.devices, str) or not all(
                isinstance(d, str) and d for d in self.devices
            ):
                raise TypeError(
                    "Invalid `devices`: expected a list of device names such as '/gpu:0'; "
                    f"received {self.devices!r}."
                )
            object.__setattr__(self, "devices", tuple(self.devices))
        if self.tpu is not None and not isinstance(self.tpu, str):
            raise TypeError(f"Invalid `tpu`: expected a string; received {self.tpu!r}.")
        for name in ("batch_size", "epochs", "steps_per_execution", "backup_steps"):
            _check_positive_int(name, getattr(self, name))
        for name in ("jit_compile", "backup"):
            value = getattr(self, name)
            if not isinstance(value, bool) and not (name == "jit_compile" and value is None):
                raise TypeError(f"Invalid `{name}`: expected True or False; received {value!r}.")
        if self.mixed_precision not in MIXED_PRECISION_POLICIES:
            raise ValueError(
                f"Invalid `mixed_precision`: expected one of {MIXED_PRECISION_POLICIES}; "
                f"received {self.mixed_precision!r}."
            )
        if self.eval_batch_size is not None:
            _check_positive_int("eval_batch_size", self.eval_batch_size)
        if not isinstance(self.hparams, Mapping) or not all(
            isinstance(key, str) for key in self.hparams
        ):
            raise TypeError(
                f"Invalid `hparams`: expected a dict with string keys; received {self.hparams!r}."
            )
        object.__setattr__(self, "hparams", dict(self.hparams))

    @property
    def global_eval_batch_size(self) -> int:
        """`eval_batch_size`, or `batch_size` when it is None."""
        return self.eval_batch_size or self.batch_size

    def to_json_dict(self) -> dict[str, Any]:
        """The options as a JSON-serializable dict (for `custom_config`)."""
        values = dataclasses.asdict(self)
        values["devices"] = list(self.devices) if self.devices is not None else None
        return values

    @classmethod
    def from_custom_config(cls, custom_config: Mapping[str, Any] | None) -> TrainerOptions:
        """Reads the options stored by `HeadTrainer` (defaults when there are none).

        Raises:
            TypeError: if the stored options are not a dict, or a value has the wrong type.
            ValueError: if an option is unknown or has an invalid value.
        """
        stored = (custom_config or {}).get(constants.OPTIONS_KEY) or {}
        if not isinstance(stored, Mapping):
            raise TypeError(
                f"Invalid `custom_config[{constants.OPTIONS_KEY!r}]`: expected a dict of "
                f"trainer options; received {stored!r}."
            )
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(stored) - known)
        if unknown:
            raise ValueError(
                f"Invalid `custom_config[{constants.OPTIONS_KEY!r}]`: expected options among "
                f"{sorted(known)}; received unknown {unknown}."
            )
        values = dict(stored)
        if isinstance(values.get("devices"), Sequence) and not isinstance(values["devices"], str):
            values["devices"] = tuple(values["devices"])
        return cls(**values)


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid `{name}`: expected an integer >= 1; received {value!r}.")
