"""Conformance with tf.estimator 2.15 heads: every case of the reference vectors.

The cases are read at run time through the `reference_vectors` fixture (see the README
beside vectors.json for the format); only their ids are read at collection time, to give
every case its own test id. Error cases must raise the original's exception class: the one
recorded (eagerly) in vectors.json, and inside `tf.function` the one error_modes.json
beside it names (see the README, "Eager and graph errors").
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

import heads

# --- The registry loss functions of vectors.json["registries"]["loss_fns"] -------------


def squared_error(labels, logits):
    """Mean over the last axis of (float(labels) - logits)**2, keepdims: `[D..., 1]`."""
    diff = tf.cast(labels, tf.float32) - logits
    return tf.reduce_mean(tf.square(diff), axis=-1, keepdims=True)


def scaled_sigmoid_ce(labels, logits, features):
    """features["scale"] * mean over the last axis of sigmoid cross-entropy."""
    cells = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.float32), logits=logits
    )
    return tf.cast(features["scale"], tf.float32) * tf.reduce_mean(cells, axis=-1, keepdims=True)


def sparse_softmax_ce_plus_one(labels, logits):
    """Sparse softmax cross-entropy of the int64 ids, expanded to `[D0, 1]`, plus 1."""
    ids = tf.squeeze(tf.cast(labels, tf.int64), axis=-1)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=logits)
    return tf.expand_dims(loss, -1) + 1.0


def bad_signature_labels_only(labels):
    """Invalid: no logits argument."""
    return labels


def bad_signature_extra_arg(labels, logits, weights):
    """Invalid: unexpected argument `weights`."""
    return labels, logits, weights


def bad_signature_no_labels(logits, features):
    """Invalid: no labels argument."""
    return logits, features


LOSS_FNS = {
    fn.__name__: fn
    for fn in (
        squared_error,
        scaled_sigmoid_ce,
        sparse_softmax_ce_plus_one,
        bad_signature_labels_only,
        bad_signature_extra_arg,
        bad_signature_no_labels,
    )
}

ERROR_TYPES = {
    "ValueError": ValueError,
    "TypeError": TypeError,
    "KeyError": KeyError,
    "InvalidArgumentError": tf.errors.InvalidArgumentError,
    "UnimplementedError": tf.errors.UnimplementedError,
}
SPECIAL_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
STAGES = ("loss", "metrics", "predictions")


# --- Collection ------------------------------------------------------------------------


def _vectors_path(config: pytest.Config):
    """Locates vectors.json with the `reference_dir` helper of tests/conftest.py."""
    for plugin in config.pluginmanager.get_plugins():
        finder = getattr(plugin, "reference_dir", None)
        if callable(finder) and str(getattr(plugin, "__file__", "")).endswith("conftest.py"):
            return finder() / "vectors.json"
    raise FileNotFoundError("tests/conftest.py with reference_dir() is not loaded")


def _error_modes_path(config: pytest.Config) -> pathlib.Path:
    """error_modes.json beside vectors.json, else the repository's copy."""
    path = _vectors_path(config).parent / "error_modes.json"
    if path.is_file():
        return path
    return pathlib.Path(__file__).resolve().parents[1] / "reference" / "error_modes.json"


def _cases(config: pytest.Config) -> list[dict]:
    try:
        with open(_vectors_path(config)) as f:
            return json.load(f)["cases"]
    except FileNotFoundError:
        return []


def _is_call_error(case: dict) -> bool:
    """An error case raised by a call (loss, metrics, predictions), not by the constructor."""
    return case["kind"] == "error" and case["expected_error"]["stage"] != "construct"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case_id" not in metafunc.fixturenames:
        return
    cases = _cases(metafunc.config)
    ids = [case["id"] for case in cases]
    if metafunc.function.__name__ == "test_case_in_tf_function":
        ids = _graph_sample(ids)
    if metafunc.function.__name__ == "test_error_case_in_tf_function":
        ids = [case["id"] for case in cases if _is_call_error(case)]
    if not ids:
        # Let the reference_vectors fixture report the missing file.
        metafunc.parametrize("case_id", [None], ids=["vectors-missing"])
        return
    metafunc.parametrize("case_id", ids, ids=ids)


def _graph_sample(ids: list[str]) -> list[str]:
    """One value case per group (first two id components), for the graph-mode test."""
    seen, sample = set(), []
    for case_id in ids:
        group = "/".join(case_id.split("/")[:2])
        if not case_id.startswith("error/") and group not in seen:
            seen.add(group)
            sample.append(case_id)
    return sample


@pytest.fixture(scope="module")
def cases_by_id(reference_vectors) -> dict:
    return {case["id"]: case for case in reference_vectors["cases"]}


@pytest.fixture(scope="module")
def tolerance(reference_vectors) -> dict:
    return reference_vectors["tolerance"]


@pytest.fixture(scope="module")
def error_modes(request) -> dict:
    """error_modes.json: per call-error case, the class raised eagerly and in tf.function."""
    with open(_error_modes_path(request.config)) as f:
        return json.load(f)["cases"]


# --- Inputs ----------------------------------------------------------------------------


def _leaves(value: Any) -> list:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _decode(value: Any) -> Any:
    """Replaces "nan"/"inf"/"-inf" strings with floats, recursively."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, str) and value in SPECIAL_FLOATS:
        return SPECIAL_FLOATS[value]
    return value


def _tensor(value: Any, default_dtype=tf.int64) -> tf.Tensor:
    """Builds a tensor: strings stay strings, floats are float32, ints int64."""
    leaves = _leaves(value)
    strings = [leaf for leaf in leaves if isinstance(leaf, str)]
    if strings and not all(s in SPECIAL_FLOATS for s in strings):
        return tf.constant(np.asarray(value, dtype=object).astype(bytes), tf.string)
    value = _decode(value)
    if any(isinstance(leaf, float) for leaf in _leaves(value)):
        return tf.constant(np.asarray(value, dtype=np.float32))
    if not leaves:
        return tf.constant(np.asarray(value), default_dtype)
    if all(isinstance(leaf, bool) for leaf in leaves):
        return tf.constant(np.asarray(value, dtype=bool))
    return tf.constant(np.asarray(value, dtype=np.int64))


def _labels(form: dict | None) -> Any:
    if form is None:
        return None
    if "dense" in form:
        return _tensor(form["dense"], tf.float32)
    sparse = form["sparse"]
    rank = len(sparse["dense_shape"])
    indices = np.asarray(sparse["indices"], dtype=np.int64).reshape([-1, rank])
    return tf.SparseTensor(
        indices=indices,
        values=_tensor(sparse["values"], tf.int64),
        dense_shape=np.asarray(sparse["dense_shape"], dtype=np.int64),
    )


def _logits(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _logits(v) for name, v in value.items()}
    return tf.constant(np.asarray(_decode(value), dtype=np.float32))


def _batch(case: dict, batch: dict) -> dict:
    """Returns the head arguments of one batch: labels, logits, features."""
    multi = case["head"]["class_name"] == "MultiHead"
    labels = batch.get("labels")
    if multi and labels is not None:
        labels = {name: _labels(form) for name, form in labels.items()}
    else:
        labels = _labels(labels)
    features = {name: _tensor(v, tf.float32) for name, v in batch.get("features", {}).items()}
    return {"labels": labels, "logits": _logits(batch["logits"]), "features": features}


# --- Stages ----------------------------------------------------------------------------


def _call(fn, batch: dict, traced: bool) -> Any:
    """`fn(labels, logits, features)` on one batch: eagerly, or in a `tf.function` traced
    with unknown dimensions (all but the last axis of labels and logits), as in a Keras step."""
    if not traced:
        return fn(batch["labels"], batch["logits"], batch["features"])
    names = [name for name in ("labels", "logits", "features") if batch[name] is not None]
    signature = [_relaxed_spec(batch[name], keep_last=name != "features") for name in names]

    def call(*args):
        inputs = {"labels": None, **dict(zip(names, args, strict=True))}
        return fn(inputs["labels"], inputs["logits"], inputs["features"])

    return tf.function(call, input_signature=signature)(*(batch[name] for name in names))


def _run_stage(
    stage: str, head, batches: list[dict], regularization_losses, traced: bool = False
) -> Any:
    if stage == "loss":
        return [
            _call(
                lambda labels, logits, features: head.loss(
                    labels, logits, features=features, regularization_losses=regularization_losses
                ),
                b,
                traced,
            )
            for b in batches
        ]
    if stage == "metrics":
        eval_metrics = head.metrics(regularization_losses=regularization_losses)

        def update(labels, logits, features):
            head.update_metrics(
                eval_metrics, features, logits, labels, regularization_losses=regularization_losses
            )

        for b in batches:
            _call(update, b, traced)
        return eval_metrics
    return [
        _call(
            lambda labels, logits, features: {
                _prediction_key(k): v for k, v in head.predictions(logits).items()
            },
            b,
            traced,
        )
        for b in batches
    ]


def _prediction_key(key: Any) -> str:
    return "/".join(key) if isinstance(key, tuple) else key


# --- Comparisons -----------------------------------------------------------------------


def _assert_close(what: str, got: Any, want: Any, rtol: float, atol: float) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(_decode(want), dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != expected {want.shape}"
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    assert close.all(), f"{what}: got {got.tolist()}, expected {want.tolist()}"


def _assert_prediction(what: str, got: tf.Tensor, want: Any, tolerance: dict) -> None:
    if got.dtype == tf.string:
        strings = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(got.numpy())
        want_array = np.asarray(want, dtype=object)
        assert strings.shape == want_array.shape, f"{what}: shape {strings.shape}"
        assert strings.tolist() == want, f"{what}: got {strings.tolist()}, expected {want}"
        return
    _assert_close(what, got.numpy(), want, tolerance["rtol"], tolerance["atol"])


def _assert_metrics(eval_metrics: dict, expected: dict, tolerance: dict) -> None:
    assert set(eval_metrics) == set(expected), (
        f"metric keys: missing {sorted(set(expected) - set(eval_metrics))}, "
        f"unexpected {sorted(set(eval_metrics) - set(expected))}"
    )
    for key, want in expected.items():
        atol = tolerance["auc_atol"] if "auc" in key else tolerance["atol"]
        _assert_close(f"metric {key}", eval_metrics[key].result(), want, tolerance["rtol"], atol)


def _assert_predictions(predictions: dict, expected: dict, tolerance: dict, batch: int) -> None:
    got = {_prediction_key(k): v for k, v in predictions.items()}
    assert set(got) == set(expected), f"batch {batch} prediction keys {sorted(got)}"
    for key, want in expected.items():
        _assert_prediction(f"batch {batch} prediction {key}", got[key], want, tolerance)


def _expected_error_type(case: dict, error_modes: dict, mode: str) -> type:
    """The class a case must raise in `mode` ("eager" or "tf_function").

    Constructor errors are Python checks, the same in both modes: the recorded `type`. For
    call errors, error_modes.json names the original's class per mode, and under "here"
    the class this project raises instead where it deliberately differs.
    """
    if not _is_call_error(case):
        return ERROR_TYPES[case["expected_error"]["type"]]
    modes = error_modes[case["id"]]
    return ERROR_TYPES[modes.get("here", {}).get(mode, modes[mode])]


def _assert_message(info: pytest.ExceptionInfo, match: str | None) -> None:
    if match is not None:
        message = str(info.value)
        assert re.search(re.escape(match), message, re.IGNORECASE), (
            f"{type(info.value).__name__} message {message!r} does not contain {match!r}"
        )


# --- Tests -----------------------------------------------------------------------------


def test_registry_covers_vectors(reference_vectors):
    assert set(LOSS_FNS) == set(reference_vectors["registries"]["loss_fns"])


def test_error_modes_cover_the_call_errors(reference_vectors, error_modes):
    """Every call-error case has an entry, and its eager class is the one recorded."""
    call_errors = {case["id"]: case for case in reference_vectors["cases"] if _is_call_error(case)}
    assert set(error_modes) == set(call_errors)
    for case_id, modes in error_modes.items():
        assert modes["eager"] == call_errors[case_id]["expected_error"]["type"], case_id
        here = {mode: name for mode, name in modes.get("here", {}).items() if mode != "why"}
        assert set(here) <= {"eager", "tf_function"}, case_id
        assert {modes["eager"], modes["tf_function"], *here.values()} <= set(ERROR_TYPES), case_id


def _assert_error_case(case: dict, error_modes: dict, traced: bool) -> None:
    """Runs the stages up to the one that must fail and checks the error it raises."""
    expected_error = case["expected_error"]
    expected = _expected_error_type(case, error_modes, "tf_function" if traced else "eager")
    regularization_losses = case.get("regularization_losses")
    if expected_error["stage"] == "construct":
        with pytest.raises(expected) as info:
            heads.deserialize(case["head"], custom_objects=LOSS_FNS)
        _assert_message(info, expected_error["match"])
        return
    head = heads.deserialize(case["head"], custom_objects=LOSS_FNS)
    batches = [_batch(case, b) for b in case["batches"]]
    for stage in STAGES:
        if stage == expected_error["stage"]:
            with pytest.raises(expected) as info:
                _run_stage(stage, head, batches, regularization_losses, traced)
            _assert_message(info, expected_error["match"])
            return
        _run_stage(stage, head, batches, regularization_losses, traced)
    pytest.fail(f"unknown stage {expected_error['stage']!r}")


def test_error_case_in_tf_function(case_id, cases_by_id, error_modes):
    """Call errors inside a `tf.function` (as in a Keras step) raise the graph-mode class."""
    _assert_error_case(cases_by_id[case_id], error_modes, traced=True)


def test_case(case_id, cases_by_id, tolerance, error_modes):
    case = cases_by_id[case_id]
    regularization_losses = case.get("regularization_losses")
    if case["kind"] == "error":
        _assert_error_case(case, error_modes, traced=False)
        return

    head = heads.deserialize(case["head"], custom_objects=LOSS_FNS)
    assert heads.serialize(head) == case["head"]
    batches = [_batch(case, b) for b in case["batches"]]
    expected = case["expected"]
    losses = _run_stage("loss", head, batches, regularization_losses)
    assert len(losses) == len(expected["loss"])
    for i, (got, want) in enumerate(zip(losses, expected["loss"], strict=True)):
        assert got.dtype == tf.float32 and got.shape == ()
        _assert_close(f"batch {i} loss", got, want, tolerance["rtol"], tolerance["atol"])
    eval_metrics = _run_stage("metrics", head, batches, regularization_losses)
    _assert_metrics(eval_metrics, expected["metrics"], tolerance)
    predictions = _run_stage("predictions", head, batches, regularization_losses)
    for i, (got, want) in enumerate(zip(predictions, expected["predictions"], strict=True)):
        _assert_predictions(got, want, tolerance, i)


def _relaxed_spec(value: Any, keep_last: bool) -> Any:
    """A spec with unknown dimensions (the last one kept for logits and labels)."""
    if isinstance(value, dict):
        return {k: _relaxed_spec(v, keep_last) for k, v in value.items()}
    if isinstance(value, tf.SparseTensor):
        return tf.SparseTensorSpec([None] * value.shape.rank, value.dtype)
    dims = [None] * value.shape.rank
    if keep_last and dims:
        dims[-1] = value.shape[-1]
    return tf.TensorSpec(dims, value.dtype)


def test_case_in_tf_function(case_id, cases_by_id, tolerance):
    """Value cases traced with unknown batch dimensions, as in a Keras train/test step."""
    case = cases_by_id[case_id]
    regularization_losses = case.get("regularization_losses")
    head = heads.deserialize(case["head"], custom_objects=LOSS_FNS)
    batches = [_batch(case, b) for b in case["batches"]]
    first = batches[0]
    signature = [
        _relaxed_spec(first["labels"], keep_last=True),
        _relaxed_spec(first["logits"], keep_last=True),
        _relaxed_spec(first["features"], keep_last=False),
    ]
    eval_metrics = head.metrics(regularization_losses=regularization_losses)

    @tf.function(input_signature=signature)
    def step(labels, logits, features):
        loss = head.loss(labels, logits, features, regularization_losses=regularization_losses)
        head.update_metrics(
            eval_metrics, features, logits, labels, regularization_losses=regularization_losses
        )
        return loss, {_prediction_key(k): v for k, v in head.predictions(logits).items()}

    expected = case["expected"]
    for i, b in enumerate(batches):
        loss, predictions = step(b["labels"], b["logits"], b["features"])
        _assert_close(f"batch {i} loss", loss, expected["loss"][i], **_tol(tolerance))
        _assert_predictions(predictions, expected["predictions"][i], tolerance, i)
    _assert_metrics(eval_metrics, expected["metrics"], tolerance)


def _tol(tolerance: dict) -> dict:
    return {"rtol": tolerance["rtol"], "atol": tolerance["atol"]}
