"""Merge properties of every head's stats (hypothesis): any split, any merge order, the
same metrics as one pass over all the data, to 1e-12; plus `merge_stats` itself."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heads.stats.base_stats import merge_stats, merge_stats_into
from heads.stats.binary_stats import BinaryStats
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.regression_stats import RegressionStats
from heads.stats.score_counts import ScoreCounts


def _binary_batch(rng, size):
    logits = np.round(rng.normal(size=(size, 1)) * 3, int(rng.integers(1, 6)))
    return {
        "logits": logits.astype(rng.choice([np.float32, np.float64])),
        "labels": rng.choice([0.0, 1.0, 0.5], size),
        "weights": rng.random(size) * 3,
    }


def _multiclass_batch(rng, size):
    return {
        "logits": rng.normal(size=(size, 4)) * 3,
        "labels": rng.integers(0, 4, (size, 1)),
        "weights": rng.integers(0, 5, size).astype(np.float64),
    }


def _multilabel_batch(rng, size):
    return {
        "logits": np.round(rng.normal(size=(size, 3)) * 2, 2).astype(np.float32),
        "labels": (rng.random((size, 3)) < 0.4).astype(np.float32),
        "weights": rng.random((size, 1)),
    }


def _regression_batch(rng, size):
    return {
        "logits": rng.normal(size=(size, 2)),
        "labels": rng.normal(size=(size, 2)) * 5,
        "weights": rng.random((size, 2)),
    }


def _multi_head_batch(rng, size):
    return {"b": _binary_batch(rng, size), "r": _regression_batch(rng, size)}


CASES = {
    "binary": (lambda: BinaryStats(thresholds=(0.25, 0.5), num_buckets=512), _binary_batch),
    "binary_full_resolution": (lambda: BinaryStats(), _binary_batch),
    "multiclass": (
        lambda: MulticlassStats(4, classes_for_class_based_metrics=(3, 0), num_buckets=256),
        _multiclass_batch,
    ),
    "multilabel_some_classes": (
        lambda: MultilabelStats(3, (0.5,), classes_for_class_based_metrics=(1,), num_buckets=128),
        _multilabel_batch,
    ),
    "multilabel_all_classes": (
        lambda: MultilabelStats(3, (0.3,), classes_for_class_based_metrics=(0, 1, 2)),
        _multilabel_batch,
    ),
    "regression": (lambda: RegressionStats(label_dimension=2), _regression_batch),
    "multi_head": (
        lambda: MultiHeadStats(
            [BinaryStats(name="b", num_buckets=64), RegressionStats(2, name="r")]
        ),
        _multi_head_batch,
    ),
}


def _slice(batch, start, stop):
    if "logits" not in batch:
        return {name: _slice(sub, start, stop) for name, sub in batch.items()}
    return {key: value[start:stop] for key, value in batch.items()}


def _assert_metrics_close(got, want):
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True), key


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_split_and_merge_order_gives_the_one_pass_result(case, data):
    make_stats, make_batch = CASES[case]
    stats_obj = make_stats()
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    size = data.draw(st.integers(1, 300), label="size")
    rng = np.random.default_rng(seed)
    batch = make_batch(rng, size)
    one_pass = stats_obj.compute(stats_obj.update(None, batch))
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=6), label="cuts"))
    bounds = [0, *cuts, size]
    parts = [
        stats_obj.update(None, _slice(batch, start, stop))
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    # Merge in a random tree: take any two partial stats, merge them in either order.
    while len(parts) > 1:
        i = data.draw(st.integers(0, len(parts) - 1), label="first")
        first = parts.pop(i)
        j = data.draw(st.integers(0, len(parts) - 1), label="second")
        second = parts.pop(j)
        if data.draw(st.booleans(), label="swap"):
            first, second = second, first
        if data.draw(st.booleans(), label="in_place"):
            parts.append(stats_obj.merge_into(first, second))
        else:
            parts.append(stats_obj.merge(first, second))
    _assert_metrics_close(stats_obj.compute(parts[0]), one_pass)


@pytest.mark.parametrize("case", sorted(CASES))
def test_merge_is_commutative_and_associative(case):
    make_stats, make_batch = CASES[case]
    stats_obj = make_stats()
    rng = np.random.default_rng(12)
    a, b, c = (stats_obj.update(None, make_batch(rng, size)) for size in (17, 40, 3))

    def leaves(stats):
        if isinstance(stats, dict):
            return [leaf for key in sorted(stats) for leaf in leaves(stats[key])]
        if isinstance(stats, ScoreCounts):
            curves = (stats.curve_counts(index) for index in range(stats.n_curves))
            return [array for counts in curves for array in counts]
        return [stats]

    for left, right in zip(
        leaves(stats_obj.merge(a, b)), leaves(stats_obj.merge(b, a)), strict=True
    ):
        np.testing.assert_array_equal(left, right)
    for left, right in zip(
        leaves(stats_obj.merge(stats_obj.merge(a, b), c)),
        leaves(stats_obj.merge(a, stats_obj.merge(b, c))),
        strict=True,
    ):
        np.testing.assert_allclose(left, right, rtol=1e-14, atol=0)
    empty = stats_obj.create()
    for left, right in zip(leaves(stats_obj.merge(a, empty)), leaves(a), strict=True):
        np.testing.assert_array_equal(left, right)


def test_merge_stats_leaves_inputs_alone_and_checks_layout():
    first = {"n": np.array(1), "h": {"x": np.ones(3)}}
    second = {"n": np.array(2), "h": {"x": np.full(3, 2.0)}}
    merged = merge_stats(first, second)
    assert merged["n"] == 3 and merged["h"]["x"].tolist() == [3.0, 3.0, 3.0]
    assert first["h"]["x"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="Invalid `second`: expected stats with keys"):
        merge_stats(first, {"n": np.array(2)})
    with pytest.raises(ValueError, match="Invalid `second\\['x'\\]`: expected shape \\(3,\\)"):
        merge_stats({"x": np.ones(3)}, {"x": np.ones(4)})
    with pytest.raises(TypeError, match="Invalid `stats`"):
        merge_stats([1], [2])


def test_merge_into_adds_in_place():
    target = {"n": np.array(1), "h": {"x": np.ones(3)}}
    inner = target["h"]["x"]
    result = merge_stats_into(target, {"n": np.array(2), "h": {"x": np.full(3, 2.0)}})
    assert result is target and target["h"]["x"] is inner
    assert target["n"] == 3 and inner.tolist() == [3.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="Invalid `second\\['x'\\]`"):
        merge_stats_into({"x": np.ones(3)}, {"x": np.ones(4)})
    stats_obj = CASES["binary"][0]()
    rng = np.random.default_rng(1)
    a = stats_obj.update(None, _binary_batch(rng, 30))
    b = stats_obj.update(None, _binary_batch(rng, 20))
    expected = stats_obj.compute(stats_obj.merge(a, b))
    assert stats_obj.compute(stats_obj.merge_into(a, b)) == expected


def test_stats_are_plain_picklable_data():
    import pickle

    stats_obj = CASES["multi_head"][0]()
    stats = stats_obj.update(None, _multi_head_batch(np.random.default_rng(0), 10))
    restored = pickle.loads(pickle.dumps(stats))
    assert stats_obj.compute(restored) == stats_obj.compute(stats)
