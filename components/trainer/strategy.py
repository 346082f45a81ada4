"""The trainer's distribution strategy: choose it, build it, and tell the chief from workers.

`select_strategy` is pure: it decides from the configured name, the parsed `TF_CONFIG`, the
local GPU count and whether a TPU is configured, so it is unit-tested with fake values.
`create_distribution` builds the `tf.distribute` object, with its kind and this process's
role in the cluster, from one parsed `TF_CONFIG`. It keeps one strategy per configuration
and process, because several `MirroredStrategy` objects in one process can clash in their
collective ops (docs/heads-behaviour.md §12.6) and a long-lived process (a notebook, a test
session) may run the trainer more than once.

| name | strategy | when `auto` picks it |
|---|---|---|
| `tpu` | `TPUStrategy` | a TPU is configured: the `tpu` option, `TPU_NAME`, or local TPUs |
| `multi_worker` | `MultiWorkerMirroredStrategy` | `TF_CONFIG` names 2+ chief/worker tasks |
| `mirrored` | `MirroredStrategy` | two or more local GPUs (one GPU gains nothing from mirroring) |
| `one_device` | `OneDeviceStrategy` | never (explicit only) |
| `default` | `tf.distribute.get_strategy()` | otherwise |
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import tensorflow as tf

StrategyName = Literal["auto", "mirrored", "multi_worker", "tpu", "one_device"]
ResolvedStrategy = Literal["mirrored", "multi_worker", "tpu", "one_device", "default"]
STRATEGY_NAMES: tuple[str, ...] = ("auto", "mirrored", "multi_worker", "tpu", "one_device")

TF_CONFIG_ENV = "TF_CONFIG"
TPU_NAME_ENV = "TPU_NAME"
_TRAINING_TASKS = ("chief", "master", "worker")
EVALUATOR_TASK = "evaluator"

_STRATEGIES: dict[tuple[Any, ...], tf.distribute.Strategy] = {}


def parse_tf_config(value: str | None) -> dict[str, Any]:
    """The parsed `TF_CONFIG` (an empty dict when unset or empty).

    Raises:
        ValueError: if `value` is not a JSON object.
    """
    if not value:
        return {}
    try:
        config = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Invalid `{TF_CONFIG_ENV}`: expected a JSON object; received {value!r}."
        ) from error
    if not isinstance(config, dict):
        raise ValueError(f"Invalid `{TF_CONFIG_ENV}`: expected a JSON object; received {value!r}.")
    return config


def num_training_workers(tf_config: Mapping[str, Any]) -> int:
    """How many chief, master and worker tasks the `TF_CONFIG` cluster names."""
    cluster = tf_config.get("cluster") or {}
    return sum(len(cluster.get(task) or ()) for task in _TRAINING_TASKS)


def task_type(tf_config: Mapping[str, Any]) -> str | None:
    """This process's task type in `TF_CONFIG` (`chief`, `worker`, `evaluator`, ...), or None."""
    return (tf_config.get("task") or {}).get("type")


def training_cluster(
    tf_config: Mapping[str, Any],
) -> tf.distribute.cluster_resolver.ClusterResolver:
    """The cluster that trains, as MultiWorkerMirroredStrategy expects it.

    Vertex AI and Kubeflow set `TF_CONFIG` with `chief`, `worker` and, for a separate
    evaluation pool, `evaluator` tasks; older AI Platform runtimes name the chief `master`
    (tensorflow/tfx#4587), which MultiWorkerMirroredStrategy does not know. Here `master` is
    renamed `chief` and `evaluator` tasks are left out (they do not train).

    Raises:
        ValueError: if this process is not one of the training tasks.
    """
    cluster = {
        ("chief" if name == "master" else name): list(addresses)
        for name, addresses in (tf_config.get("cluster") or {}).items()
        if name in _TRAINING_TASKS and addresses
    }
    task = tf_config.get("task") or {}
    own_type = "chief" if task.get("type") == "master" else task.get("type")
    if own_type not in cluster:
        raise ValueError(
            f"Invalid `{TF_CONFIG_ENV}`: expected this process's task to be one of "
            f"{_TRAINING_TASKS} in the cluster; received task {dict(task)!r}."
        )
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster),
        task_type=own_type,
        task_id=int(task.get("index", 0)),
        rpc_layer=tf_config.get("rpc_layer") or "grpc",
    )


def is_chief(tf_config: Mapping[str, Any]) -> bool:
    """Whether this process writes the final model (the chief of a multi-worker cluster).

    Without a cluster the process is alone, so it is the chief. Otherwise the chief is the
    `chief` task, the legacy `master` task 0, or, in a cluster with neither, `worker` 0 (the
    task `MultiWorkerMirroredStrategy` treats as chief). Evaluators and parameter servers
    are never chiefs.

    Args:
        tf_config: the parsed `TF_CONFIG` (see `parse_tf_config`).
    """
    cluster = tf_config.get("cluster") or {}
    if not cluster:
        return True
    task = tf_config.get("task") or {}
    task_type, task_index = task.get("type"), int(task.get("index", 0))
    if task_type == "chief":
        return True
    if task_type == "master":
        return task_index == 0
    if task_type == "worker":
        return task_index == 0 and not cluster.get("chief") and not cluster.get("master")
    return False


def select_strategy(
    name: str,
    tf_config: Mapping[str, Any],
    num_gpus: int,
    tpu_configured: bool,
) -> ResolvedStrategy:
    """The strategy to build for the configured `name` (see the module docstring).

    Args:
        name: one of `STRATEGY_NAMES`.
        tf_config: the parsed `TF_CONFIG`.
        num_gpus: the number of local GPUs.
        tpu_configured: whether a TPU cluster is configured.

    Raises:
        ValueError: if `name` is unknown, or `TF_CONFIG` names parameter servers (not
            supported), or `multi_worker` is asked for without a cluster in `TF_CONFIG`.
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(
            f"Invalid `strategy`: expected one of {STRATEGY_NAMES}; received {name!r}."
        )
    cluster = tf_config.get("cluster") or {}
    if cluster.get("ps"):
        raise ValueError(
            f"Invalid `{TF_CONFIG_ENV}`: expected a cluster of chief and worker tasks; received "
            f"parameter servers {cluster['ps']!r}. ParameterServerStrategy is not supported."
        )
    if name == "multi_worker" and not cluster:
        raise ValueError(
            "Invalid `strategy`: expected `TF_CONFIG` to describe a cluster for 'multi_worker'; "
            f"received TF_CONFIG={dict(tf_config)!r}."
        )
    if name != "auto":
        return name  # type: ignore[return-value]
    if tpu_configured:
        return "tpu"
    if num_training_workers(tf_config) > 1:
        return "multi_worker"
    if num_gpus > 1:
        return "mirrored"
    return "default"


def tpu_is_configured(tpu: str | None) -> bool:
    """Whether a TPU is configured: a `tpu` address, `TPU_NAME`, or TPUs on this host."""
    return (
        bool(tpu)
        or bool(os.environ.get(TPU_NAME_ENV))
        or bool(tf.config.list_physical_devices("TPU"))
    )


@dataclasses.dataclass(frozen=True)
class Distribution:
    """How this process trains: the strategy, its kind, and its place in the cluster.

    Attributes:
        strategy: the `tf.distribute.Strategy` the model is built and trained in.
        kind: the strategy's resolved name (the module docstring's table).
        chief: whether this process writes to the Model and ModelRun artifacts.
        num_workers: the training workers that share the data (1 unless multi-worker).
    """

    strategy: tf.distribute.Strategy
    kind: ResolvedStrategy
    chief: bool
    num_workers: int

    @property
    def num_replicas(self) -> int:
        """The replicas that train the model in sync."""
        return self.strategy.num_replicas_in_sync


def read_tf_config() -> dict[str, Any]:
    """The parsed `TF_CONFIG` environment variable (see `parse_tf_config`)."""
    return parse_tf_config(os.environ.get(TF_CONFIG_ENV))


def create_distribution(
    name: str,
    devices: Sequence[str] | None,
    tpu: str | None,
    tf_config: Mapping[str, Any],
) -> Distribution:
    """Builds (or reuses this process's earlier) strategy, with this process's role.

    Args:
        name: one of `STRATEGY_NAMES`; `auto` is resolved with `select_strategy` from
            `tf_config` and the local devices.
        devices: for `mirrored`, the devices to mirror over (default: all local GPUs, or the
            CPU without GPUs); for `one_device`, a single device (default: the first GPU,
            else the CPU). Ignored by the other strategies.
        tpu: the TPU address or name for `TPUClusterResolver` (default: `TPU_NAME`, or the
            local TPU).
        tf_config: the parsed `TF_CONFIG` (`read_tf_config`).

    Raises:
        ValueError: see `select_strategy`; also if `one_device` gets several devices.
    """
    num_gpus = len(tf.config.list_physical_devices("GPU"))
    tpu_configured = name == "auto" and tpu_is_configured(tpu)
    kind = select_strategy(name, tf_config, num_gpus, tpu_configured)
    devices = tuple(devices) if devices else None
    if kind == "one_device" and devices is not None and len(devices) != 1:
        raise ValueError(
            f"Invalid `devices`: expected one device for 'one_device'; received {list(devices)}."
        )
    key = (kind, devices, tpu, json.dumps(tf_config, sort_keys=True))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build(kind, devices, tpu, num_gpus, tf_config)
    return Distribution(
        strategy=_STRATEGIES[key],
        kind=kind,
        chief=is_chief(tf_config),
        num_workers=num_training_workers(tf_config) if kind == "multi_worker" else 1,
    )


def _build(
    resolved: ResolvedStrategy,
    devices: tuple[str, ...] | None,
    tpu: str | None,
    num_gpus: int,
    tf_config: Mapping[str, Any],
) -> tf.distribute.Strategy:
    if resolved == "mirrored":
        return tf.distribute.MirroredStrategy(list(devices) if devices else None)
    if resolved == "one_device":
        device = devices[0] if devices else ("/gpu:0" if num_gpus else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(device)
    if resolved == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=training_cluster(tf_config)
        )
    if resolved == "tpu":
        address = tpu or os.environ.get(TPU_NAME_ENV) or "local"
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return tf.distribute.get_strategy()
