"""tf.estimator heads (losses, metrics, predictions) for TF2 and Keras 3.

This module only re-exports the public API. The names are imported on first use (PEP 562
`__getattr__`), so that `import heads.stats`, the NumPy-only metric core, does not import
TensorFlow or Keras; `import heads; heads.BinaryClassHead(...)` works as before.
"""

# The TYPE_CHECKING imports below only re-export (for type checkers).
# ruff: noqa: F401

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it (`contrib` is the module itself).
_EXPORTS = {
    "BinaryClassHead": "heads.binary_class_head",
    "Head": "heads.base_head",
    "HeadModel": "heads.keras_model",
    "LogisticRegressionHead": "heads.logistic_regression_head",
    "MetricKeys": "heads.keys",
    "MultiClassHead": "heads.multi_class_head",
    "MultiHead": "heads.multi_head",
    "MultiLabelHead": "heads.multi_label_head",
    "PoissonRegressionHead": "heads.poisson_regression_head",
    "PredictionKeys": "heads.keys",
    "RegressionHead": "heads.regression_head",
    "contrib": "heads.contrib",
    "HeadDescription": "heads.description",
    "describe": "heads.description",
    "deserialize": "heads.serialization",
    "export_saved_model": "heads.export",
    "load_head_config": "heads.export",
    "serialize": "heads.serialization",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'heads' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"heads.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what a type checker and an IDE see; at run time `__getattr__` imports
    from heads import contrib
    from heads.base_head import Head
    from heads.binary_class_head import BinaryClassHead
    from heads.description import HeadDescription, describe
    from heads.export import export_saved_model, load_head_config
    from heads.keras_model import HeadModel
    from heads.keys import MetricKeys, PredictionKeys
    from heads.logistic_regression_head import LogisticRegressionHead
    from heads.multi_class_head import MultiClassHead
    from heads.multi_head import MultiHead
    from heads.multi_label_head import MultiLabelHead
    from heads.poisson_regression_head import PoissonRegressionHead
    from heads.regression_head import RegressionHead
    from heads.serialization import deserialize, serialize
