"""`heads.describe`: one description per head, checked against each head's own attributes
for every head of the reference vectors, and against hand-written values."""

import json

import pytest
import tensorflow as tf

import heads
from heads.description import HeadDescription


def _loss_fn(labels, logits):
    return tf.math.abs(tf.cast(labels, tf.float32) - logits)


def _constructible(reference_vectors):
    for case in reference_vectors["cases"]:
        config = json.loads(json.dumps(case["head"]).replace('"registry:', '"'))
        try:
            yield heads.deserialize(config, custom_objects=_LossFns())
        except (ValueError, TypeError, KeyError):
            continue  # A constructor-error case.


class _LossFns(dict):
    """Every registry loss name resolves to `_loss_fn`."""

    def __missing__(self, key):
        return _loss_fn


def _check_single(head, description, kinds):
    kind, loss, link = kinds[next(c.__name__ for c in type(head).__mro__ if c.__name__ in kinds)]
    assert description.kind == kind
    assert description.head_type == type(head).__name__
    assert description.name == head.name
    assert description.logits_dimension == head.logits_dimension
    custom_loss = getattr(head, "loss_fn", None) is not None
    if isinstance(head, heads.PoissonRegressionHead) and not head.compute_full_loss:
        loss = "log_poisson"
    assert description.loss == ("custom" if custom_loss else loss)
    if kind == "regression":
        assert description.label_dimension == head.label_dimension
        user_link = type(head) is heads.RegressionHead and head.inverse_link_fn is not None
        assert description.link == ("custom" if user_link else link)
        assert description.n_classes is None
    else:
        assert description.link == link
        assert description.n_classes == getattr(head, "n_classes", 2)
        assert description.label_vocabulary == head.label_vocabulary
        assert description.label_dimension == (None if kind == "multi_label" else 1)
    if kind in ("binary", "multi_label"):
        assert description.thresholds == tuple(head.thresholds)
    if kind == "multi_label":
        assert description.classes_for_class_based_metrics == tuple(
            head.classes_for_class_based_metrics
        )
    column = head.weight_column
    assert description.weight_key == (
        column if isinstance(column, (str, type(None))) else column.key
    )


def test_every_vector_head_is_described_from_its_own_attributes(
    reference_vectors, built_in_head_kinds
):
    described = set()
    for head in _constructible(reference_vectors):
        description = heads.describe(head)
        assert HeadDescription.from_json(json.loads(json.dumps(description.to_json()))) == (
            description
        )
        if isinstance(head, heads.MultiHead):
            described.add("MultiHead")
            assert description.kind == "multi_head" and description.name == head.name
            assert description.head_weights == head.head_weights
            assert len(description.sub_heads) == len(head.heads)
            pairs = zip(head.heads, description.sub_heads, strict=True)
        else:
            pairs = [(head, description)]
        for single, single_description in pairs:
            _check_single(single, single_description, built_in_head_kinds)
            described.add(type(single).__name__)
    assert described == {*built_in_head_kinds, "MultiHead"}


def test_hand_written_descriptions():
    poisson = heads.PoissonRegressionHead(
        label_dimension=2,
        weight_column=tf.feature_column.numeric_column("w"),
        compute_full_loss=False,
        name="count",
    )
    assert heads.describe(poisson) == HeadDescription(
        kind="regression",
        head_type="PoissonRegressionHead",
        name="count",
        logits_dimension=2,
        label_dimension=2,
        weight_key="w",
        loss="log_poisson",
        link="exp",
    )
    multi_label = heads.MultiLabelHead(
        3, label_vocabulary=["a", "b", "c"], classes_for_class_based_metrics=["c"], name="tags"
    )
    both = heads.describe(heads.MultiHead([multi_label, poisson], head_weights=[1.0, 0.5]))
    assert both.kind == "multi_head" and both.name == "tags_count"
    assert both.logits_dimension == 5 and both.head_weights == (1.0, 0.5)
    assert [h.name for h in both.single_heads] == ["tags", "count"]
    assert both.sub_heads[0].classes_for_class_based_metrics == (2,)
    assert both.sub_heads[0].label_vocabulary == ("a", "b", "c")
    binary = heads.describe(heads.BinaryClassHead(thresholds=[0.25, 0.75]))
    assert binary.single_heads == (binary,) and binary.subject == "the head"
    assert binary.thresholds == (0.25, 0.75) and binary.n_classes == 2


def test_a_multi_head_is_told_from_a_single_head_by_the_description():
    named = heads.describe(heads.BinaryClassHead(name="ctr"))
    multi = heads.describe(
        heads.MultiHead([heads.BinaryClassHead(name="ctr"), heads.RegressionHead(name="r")])
    )
    lone = heads.describe(heads.MultiHead([heads.BinaryClassHead(name="ctr")]))
    # A named single head's outputs are the model's; a MultiHead's are per head, even alone.
    assert named.output_name("ctr") == ""
    assert [multi.output_name(h.name) for h in multi.single_heads] == ["ctr", "r"]
    assert lone.output_name("ctr") == "ctr" and lone.single_heads == (named,)
    assert named.by_head({"ctr": 1}) == 1
    assert multi.by_head({"ctr": 1, "r": 2}) == {"ctr": 1, "r": 2}
    assert lone.by_head({"ctr": 1}) == {"ctr": 1}
    assert multi.by_head({"ctr": 1, "r": 2}, combine=lambda values: sum(values.values())) == 3
    assert named.by_head({"ctr": 1}, combine=lambda values: pytest.fail("combined")) == 1


def test_built_in_losses_are_not_presented_as_a_user_loss_fn():
    assert heads.PoissonRegressionHead().loss_fn is None
    assert heads.LogisticRegressionHead().loss_fn is None
    assert heads.describe(heads.RegressionHead(loss_fn=_loss_fn)).loss == "custom"
    assert heads.describe(heads.RegressionHead(inverse_link_fn=tf.math.exp)).link == "custom"


def test_only_a_user_loss_or_link_needs_the_head_object():
    built_in = heads.RegressionHead(name="r")
    user_loss = heads.RegressionHead(name="l", loss_fn=_loss_fn)
    user_link = heads.RegressionHead(name="k", inverse_link_fn=tf.math.exp)
    assert not heads.describe(built_in).needs_head_object
    assert not heads.describe(heads.PoissonRegressionHead(compute_full_loss=True)).needs_head_object
    assert heads.describe(user_loss).needs_head_object
    assert heads.describe(user_link).needs_head_object
    assert heads.describe(heads.MultiHead([built_in, user_link])).needs_head_object
    assert not heads.describe(heads.MultiHead([built_in])).needs_head_object


def test_what_is_not_a_head_of_this_library_is_refused():
    with pytest.raises(TypeError, match="expected a head of this library"):
        heads.describe(object())

    class OwnHead(heads.Head):
        name = "own"
        logits_dimension = 1
        loss_reduction = "sum"

        def loss(self, *args, **kwargs):
            raise NotImplementedError

        def predictions(self, *args, **kwargs):
            raise NotImplementedError

        def metrics(self, *args, **kwargs):
            raise NotImplementedError

        def update_metrics(self, *args, **kwargs):
            raise NotImplementedError

    with pytest.raises(TypeError, match="received OwnHead, which has no description"):
        heads.describe(OwnHead())


def test_a_bad_json_description_is_named():
    with pytest.raises(ValueError, match=r"expected `kind`, `head_type`.*received \['colour'"):
        HeadDescription.from_json({"colour": "red"})
