"""`HeadModel`: trains and evaluates a Keras logits model with a head.

This replaces `Head.create_estimator_spec`. The logits model maps a features dict to logits
(for a MultiHead, to a dict of logits by head name); the head supplies the training loss,
the evaluation metrics and the predictions.

Under `tf.distribute` (see docs/heads-behaviour.md §12):
* the head's metric objects are created in `__init__`, so inside the strategy's scope, and
  `metrics` returns exactly them (named by their head keys) plus the loss tracker, so Keras
  reports their cross-replica values rather than one replica's;
* the logits model receives only its own inputs (Keras matches dict inputs by position);
* the per-replica training loss is divided by the number of replicas, because gradients are
  summed across replicas;
* the model and its optimizer are built before `fit` (in `__init__` and `compile`), so Keras
  has no reason to average a first batch over replicas to build them, which fails for string
  features and sparse labels (keras-team/keras#21172, tensorflow/tensorflow#80951; the
  skip is `heads._compat.SkipsBuildWhenBuilt`);
* under MultiWorkerMirroredStrategy the step's logs are shaped `[1]` (`_step_logs`), because
  Keras reduces them along axis 0 there.

Compiled steps (`compile(jit_compile=True)`, and every TPU step) cannot run string ops or
`Assert`s, so the head's host-side work is split out (`heads/_host.py`): `fit` and `evaluate`
convert and check the labels in the input pipeline (vocabulary strings to class ids, sparse
labels to multi-hot), the step uses the head without its vocabulary, and `predict` adds the
`classes` and `all_classes` strings after the step. Uncompiled models convert labels the
same way (their steps still check the label ranges themselves). A consequence: a head with a
`label_vocabulary` also accepts class ids as labels here.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from heads import _compat, _host, serialization
from heads.base_head import Head

_LOSS_KEY = "loss"


class HeadModel(_compat.SkipsBuildWhenBuilt, keras.Model):
    """A `keras.Model` that trains `logits_model` with `head`.

    Use it like any Keras model: `compile(optimizer=...)` (no `loss` or `metrics`: the head
    owns both), `fit(features, labels)`, `evaluate(features, labels, return_dict=True)` and
    `predict(features)`. Labels are a tensor for a single head and a dict by head name for a
    MultiHead; the features dict may hold keys the logits model does not take (the head's
    weight column, for example).

    `evaluate` returns `loss` (the head's training loss, averaged over batches) and every key of
    `head.metrics()`. `predict` returns the head's predictions dict (for a MultiHead keyed by
    `(head_name, prediction_key)`).

    A head that carries `centered_bias=True` (the legacy `heads.contrib.multi_label_head`
    option) gets a learned bias of shape `[logits_dimension]` added to the logits.

    Args:
        logits_model: a Keras model from the features dict to float logits
            `[batch_size, logits_dimension]` (a dict of them by head name for a MultiHead).
        head: the `heads.Head` that defines loss, metrics and predictions.
        **kwargs: passed to `keras.Model` (for example `name`).

    Raises:
        TypeError: if `logits_model` is not a Keras model or `head` is not a `heads.Head`.
    """

    def __init__(self, logits_model: keras.Model, head: Head, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(logits_model, keras.Model):
            raise TypeError(
                "Invalid `logits_model`: expected a keras.Model; received "
                f"{type(logits_model).__name__}."
            )
        if not isinstance(head, Head):
            raise TypeError(
                f"Invalid `head`: expected a heads.Head; received {type(head).__name__}."
            )
        self.logits_model = logits_model
        self.head = head
        self._step_head = _host.step_head(head)
        self.centered_bias = None
        if getattr(head, "centered_bias", False):
            self.centered_bias = self.add_weight(
                shape=(head.logits_dimension,), initializer="zeros", name="centered_bias"
            )
        self._head_loss_tracker = keras.metrics.Mean(name=_LOSS_KEY)
        # The regularization_loss metric exists when the logits model has regularizers (a
        # functional model reports them once built; an unbuilt subclassed model does not).
        self._regularized = bool(logits_model.losses)
        self._head_metrics = head.metrics(
            regularization_losses=[0.0] if self._regularized else None
        )
        for key, metric in self._head_metrics.items():
            # Keras reports a metric under its `.name`; the head's base metrics carry the
            # bare constant (`auc`), so name every object by its (possibly suffixed) key.
            metric.name = key
        self._metric_list = [self._head_loss_tracker, *self._head_metrics.values()]
        self.built = logits_model.built

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """The loss tracker and the head's metrics, exactly: see the module docstring."""
        return self._metric_list

    def compile(self, optimizer: Any = "rmsprop", **kwargs: Any) -> None:
        """Configures the optimizer. The head supplies loss and metrics.

        Raises:
            ValueError: if `loss` or `metrics` is given.
        """
        for arg in ("loss", "metrics", "weighted_metrics"):
            if kwargs.get(arg) is not None:
                raise ValueError(
                    f"Invalid `{arg}`: HeadModel takes its loss and metrics from the head; "
                    f"received {arg}={kwargs[arg]!r}. Pass only the optimizer."
                )
        super().compile(optimizer=optimizer, **kwargs)
        if self.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """`keras.Model.fit`, with the labels prepared on the host (see the module docstring)."""
        x, y = self._host_prepared(x, y)
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = self._host_prepared_validation(kwargs["validation_data"])
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """`keras.Model.evaluate`, with the labels prepared on the host."""
        x, y = self._host_prepared(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def make_predict_function(self, force: bool = False) -> Any:
        """Keras's predict function, followed on the host by the string predictions."""
        if self.predict_function is not None and not force:
            return self.predict_function
        super().make_predict_function(force=force)
        device_function = self.predict_function

        def predict_function(data: Any) -> dict[Any, Any]:
            predictions = device_function(data)
            return {**predictions, **_host.string_predictions(self.head, predictions)}

        self.predict_function = predict_function
        return predict_function

    @property
    def _compiled_steps(self) -> bool:
        """Whether the steps run compiled: with `jit_compile`, or on TPUs (always)."""
        return bool(self.jit_compile) or isinstance(
            self.distribute_strategy, tf.distribute.TPUStrategy
        )

    def _host_prepared(self, x: Any, y: Any) -> tuple[Any, Any]:
        """`(x, y)` with the labels converted and checked by `_host.prepare_labels`.

        Nothing is done where nothing is needed (`_host.needs_preparation`). A
        `tf.data.Dataset` of `(features, labels, ...)` gets a `map` (which runs on the host,
        in the input pipeline); labels given as arrays are converted eagerly. Other inputs
        (generators, `PyDataset`, distributed datasets) pass unchanged, and their labels are
        converted inside the step, which works only when it is not compiled.
        """
        if not _host.needs_preparation(self.head, compiled=self._compiled_steps):
            return x, y
        if isinstance(x, tf.data.Dataset):
            prepared = x.map(
                self._prepare_element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
            return prepared.prefetch(tf.data.AUTOTUNE), y
        if y is not None:
            return x, _host.prepare_labels(self.head, y, check_ranges=self._compiled_steps)
        return x, y

    def _host_prepared_validation(self, validation_data: Any) -> Any:
        if isinstance(validation_data, tuple) and len(validation_data) >= 2:
            x, y = self._host_prepared(*validation_data[:2])
            return (x, y, *validation_data[2:])
        return self._host_prepared(validation_data, None)[0]

    def _prepare_element(self, *element: Any) -> Any:
        if len(element) < 2:
            return element[0] if len(element) == 1 else element
        labels = _host.prepare_labels(self.head, element[1], check_ranges=self._compiled_steps)
        return (element[0], labels, *element[2:])

    def call(self, features: dict[str, Any], training: bool = False) -> Any:
        """Logits of the wrapped model for `features` (only its own inputs are passed)."""
        logits = self.logits_model(_model_inputs(self.logits_model, features), training=training)
        if self.centered_bias is not None:
            logits = logits + self.centered_bias
        return logits

    def train_step(self, data: Any) -> dict[str, Any]:
        features, labels = _unpack(data)
        head = self._head_for(labels)
        with tf.GradientTape() as tape:
            logits = self(features, training=True)
            loss = head.loss(
                labels=labels,
                logits=logits,
                features=features,
                regularization_losses=list(self.losses) or None,
            )
            replica_loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
            # A LossScaleOptimizer (mixed_float16) scales here and unscales the gradients.
            replica_loss = self.optimizer.scale_loss(replica_loss)
        variables = self.trainable_variables
        gradients = tape.gradient(replica_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        self._head_loss_tracker.update_state(loss)
        return _step_logs({_LOSS_KEY: self._head_loss_tracker.result()})

    def test_step(self, data: Any) -> dict[str, Any]:
        features, labels = _unpack(data)
        logits = self(features, training=False)
        regularization_losses = list(self.losses) if self._regularized else None
        head = self._head_for(labels)
        loss = head.loss(
            labels=labels,
            logits=logits,
            features=features,
            regularization_losses=regularization_losses,
        )
        self._head_loss_tracker.update_state(loss)
        head.update_metrics(
            self._head_metrics,
            features=features,
            logits=logits,
            labels=labels,
            regularization_losses=regularization_losses,
        )
        return _step_logs({metric.name: metric.result() for metric in self._metric_list})

    def predict_step(self, data: Any) -> dict[Any, Any]:
        features, _ = _unpack(data)
        return _host.device_predictions(self.head, self(features, training=False))

    def _head_for(self, labels: Any) -> Head:
        """The vocabulary-free step head for prepared labels, else the head itself."""
        return self._step_head if _host.labels_are_prepared(labels) else self.head

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "logits_model": keras.saving.serialize_keras_object(self.logits_model),
            "head": serialization.serialize(self.head),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HeadModel:
        config = dict(config)
        logits_model = keras.saving.deserialize_keras_object(config.pop("logits_model"))
        head = serialization.deserialize(config.pop("head"))
        return cls(logits_model, head, **config)


def _step_logs(logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """A step's scalar logs, shaped `[1]` where Keras reduces them along axis 0.

    Under MultiWorkerMirroredStrategy in multi-worker mode, Keras 3 (up to at least 3.12)
    reduces a step's outputs with `strategy.reduce("MEAN", value, axis=0)`, which fails on
    the scalars every step returns (tensorflow/tensorflow#72388). A `[1]` value reduces to
    the same scalar. Keras reports the metrics' own cross-worker results after each epoch
    (see the module docstring), so only the per-batch progress values pass through here.
    """
    if not _compat.in_multi_worker_mode(tf.distribute.get_strategy()):
        return logs
    return {key: tf.reshape(value, [1]) for key, value in logs.items()}


def _unpack(data: Any) -> tuple[Any, Any]:
    """(features, labels) of a batch; sample weights come from the head's weight column."""
    features, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None:
        raise ValueError(
            "Invalid `sample_weight`: HeadModel reads example weights from the features by "
            "the head's `weight_column`; received a separate sample_weight. Put the weights "
            "in the features dict and set weight_column on the head."
        )
    return features, labels


def _model_inputs(logits_model: keras.Model, features: Any) -> Any:
    """The part of `features` that `logits_model` takes.

    A functional model with dict inputs matches a dict by position, not by key, so extra
    features would shift its inputs; pass exactly the keys of its input dict.
    """
    if not isinstance(features, dict):
        return features
    model_input = dict_inputs(logits_model)
    if model_input is None:  # a subclassed model, or other inputs: it takes the whole dict
        return features
    missing = sorted(set(model_input) - set(features))
    if missing:
        raise ValueError(
            f"Invalid features: the logits model takes inputs {sorted(model_input)}; "
            f"missing {missing}. Received keys {sorted(features)}."
        )
    return {key: features[key] for key in model_input}


def dict_inputs(logits_model: keras.Model) -> dict[str, Any] | None:
    """The input dict (name to Keras input tensor) of a functional model with dict inputs;
    None for a subclassed model (its inputs are unknown) or inputs that are not a dict."""
    try:
        model_input = logits_model.input
    except (AttributeError, ValueError):
        return None
    return model_input if isinstance(model_input, dict) else None
