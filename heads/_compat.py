"""The private TensorFlow and Keras APIs the heads library uses, all in this module.

Each use below says what it is, why the library needs it and which upgrade may break it.
`PRIVATE_APIS` lists them; `tests/heads/test_compat.py` checks each against the installed
TensorFlow and Keras and fails naming the upgrade when one is gone, so an upgrade breaks a
named test instead of a training run. The components' TFX, Beam and Keras uses are in
`components/compat.py`. TensorFlow and Keras are imported on use, so that the components'
compatibility module can share `PrivateApi` cheaply.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "PRIVATE_APIS",
    "SAVED_MODEL_FILE",
    "PrivateApi",
    "SkipsBuildWhenBuilt",
    "in_multi_worker_mode",
    "set_signature_method_names",
]

SAVED_MODEL_FILE = "saved_model.pb"
"""The SavedModel's graph and signatures, in the export directory (TensorFlow's file name)."""


@dataclasses.dataclass(frozen=True)
class PrivateApi:
    """One private API of a third-party library that this code relies on.

    Attributes:
        name: the API, as code spells it (`keras.Model._maybe_symbolic_build`).
        upgrade: the upgrade that may remove or change it (`Keras after 3.12`).
        present: True when the installed library still has it as this code uses it.
    """

    name: str
    upgrade: str
    present: Callable[[], bool]

    def check(self) -> None:
        """Raises RuntimeError naming the API and the upgrade when it is gone."""
        if not self.present():
            raise RuntimeError(
                f"{self.upgrade} removed or changed the private API `{self.name}`; see where "
                "it is used (heads/_compat.py or components/compat.py) and adapt the code."
            )


# --- keras.Model._maybe_symbolic_build (Keras 3, TensorFlow backend trainer) ---
# What: the hook `fit`/`evaluate` call on the first batch to build an unbuilt model and
# optimizer. Why: Keras 3.12 reduces that first batch with MEAN across replicas before it
# looks at whether anything needs building, which fails on string features and sparse labels
# (keras-team/keras#21172); a built HeadModel with a built optimizer has nothing to build.
# May break: Keras after 3.12 (a rename or new arguments), or becomes unneeded when the bug
# is fixed.
class SkipsBuildWhenBuilt:
    """A `keras.Model` mixin: skips Keras's first-batch build when the model is built."""

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        if self.built and (self.optimizer is None or self.optimizer.built):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def _has_symbolic_build() -> bool:
    import keras

    method = getattr(keras.Model, "_maybe_symbolic_build", None)
    return method is not None and {"iterator", "data_batch"} <= set(
        inspect.signature(method).parameters
    )


# --- tf.distribute MultiWorkerMirroredStrategy.extended._in_multi_worker_mode() ---
# What: whether a MultiWorkerMirroredStrategy spans several workers. Why: Keras itself
# checks it to decide to reduce a step's logs along axis 0 (which fails on scalars,
# tensorflow/tensorflow#72388); `HeadModel` must make the same decision to shape its logs
# `[1]`. May break: TensorFlow after 2.21 (a rename of the private method).
def in_multi_worker_mode(strategy: Any) -> bool:
    """True for a MultiWorkerMirroredStrategy in multi-worker mode (Keras's own check)."""
    import tensorflow as tf

    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )  # noqa: SLF001


def _has_multi_worker_mode() -> bool:
    from tensorflow.python.distribute import collective_all_reduce_strategy

    return callable(
        getattr(
            collective_all_reduce_strategy.CollectiveAllReduceExtended,
            "_in_multi_worker_mode",
            None,
        )
    )


# --- the `saved_model.pb` rewrite (tensorflow.core.protobuf.saved_model_pb2) ---
# What: parses the written `saved_model.pb` with TensorFlow's SavedModel proto (a module
# outside the public `tf.*` API) and sets each signature's `method_name`. Why:
# `tf.saved_model.save` writes every signature with the predict method, and TensorFlow
# Serving's Classify and Regress APIs only accept signatures with the classify and regress
# methods (as the estimator heads exported them). May break: a TensorFlow release that moves
# the proto module or changes the SavedModel file layout.
def set_signature_method_names(export_dir: str, methods: Mapping[str, str]) -> None:
    """Rewrites the method names of the signatures `methods` names in `saved_model.pb`."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(export_dir, SAVED_MODEL_FILE)
    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        for name, method in methods.items():
            meta_graph.signature_def[name].method_name = method
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(saved_model.SerializeToString())


def _has_saved_model_proto() -> bool:
    try:
        from tensorflow.core.protobuf import saved_model_pb2
    except ImportError:
        return False
    signature = saved_model_pb2.SavedModel().meta_graphs.add().signature_def["serving_default"]
    signature.method_name = "tensorflow/serving/classify"
    return signature.method_name == "tensorflow/serving/classify"


PRIVATE_APIS = (
    PrivateApi("keras.Model._maybe_symbolic_build", "Keras after 3.12", _has_symbolic_build),
    PrivateApi(
        "tf.distribute.MultiWorkerMirroredStrategy.extended._in_multi_worker_mode",
        "TensorFlow after 2.21",
        _has_multi_worker_mode,
    ),
    PrivateApi(
        "tensorflow.core.protobuf.saved_model_pb2 (the saved_model.pb rewrite)",
        "TensorFlow after 2.21",
        _has_saved_model_proto,
    ),
)
