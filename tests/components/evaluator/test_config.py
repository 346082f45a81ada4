"""Resolving an evaluation: the head's forms, the files, and the options a config carries."""

import dataclasses

import pytest
import tensorflow as tf

import heads
from tfx_heads.components.evaluator import config
from tfx_heads.components.evaluator.options import EvaluationOptions


def test_head_config_forms(taxi_model):
    head = heads.BinaryClassHead(name="b")
    stored = {"head": heads.serialize(head), "label_keys": "y"}
    assert config.resolve_head(stored, None, None)[:2] == (heads.serialize(head), "y")
    assert config.resolve_head(heads.serialize(head), None, "z")[1] == "z"
    stored_config, keys, description = config.resolve_head(None, taxi_model, None)
    assert stored_config["class_name"] == "MultiHead" and keys["trip_tags"] == "trip_tags"
    assert description == heads.describe(heads.load_head_config(taxi_model)[0])
    with pytest.raises(ValueError, match="Invalid `label_keys`"):
        config.resolve_head(head, None, None)


def test_a_stored_description_is_read_back_and_the_head_built_only_for_a_custom_loss():
    description = heads.describe(heads.BinaryClassHead(name="b")).to_json()
    # A head config no one can build: only the stored description is read.
    unbuildable = {"class_name": "NotAHead", "config": {}}
    document = {"head": unbuildable, "label_keys": "y", "description": description}
    resolved_config, keys, resolved = config.resolve_head(document, None, None)
    assert (resolved_config, keys) == (unbuildable, "y")
    assert resolved == heads.HeadDescription.from_json(description) and resolved.name == "b"
    custom = dict(description, loss="custom")
    with pytest.raises(ValueError, match="Unknown head class_name 'NotAHead'"):
        config.resolve_head({**document, "description": custom}, None, None)


def test_match_files_sorts_and_fails_without_a_match(tmp_path):
    for name in ("b.tfrecord", "a.tfrecord"):
        (tmp_path / name).write_bytes(b"")
    pattern = str(tmp_path / "*.tfrecord")
    expected = (str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord"))
    assert config.match_files([pattern, pattern]) == expected
    with pytest.raises(ValueError, match="matches no file"):
        config.match_files(str(tmp_path / "none-*"))


def test_build_config_resolves_the_inputs_and_keeps_the_options(synthetic, tmp_path):
    options = EvaluationOptions(
        label_keys=synthetic.label_keys,
        logits_features=synthetic.logits_features,
        slices=synthetic.slices,
        batch_size=10,
    )
    built = config.build_config(synthetic.glob, str(tmp_path), options, head=synthetic.head)
    assert built.options is options and built.model is None
    assert built.files == config.match_files(synthetic.glob)
    assert built.slices[0].features == () and built.slices[1:] == options.slices
    assert built.reading == {
        "files": built.files,
        "batch_size": 10,
        "compression": "auto",
        "reject_malformed": False,
    }
    with pytest.raises(ValueError, match="exactly one of `model`"):
        config.build_config(synthetic.glob, str(tmp_path), head=synthetic.head)


def test_a_head_wider_than_the_logits_fails_before_any_statistics(helpers, tmp_path):
    # A head of 10**8 classes would allocate per-class statistics of hundreds of GiB; the
    # sampled logits' width is compared with the head's first.
    rows = [{"y": [1.0, 0.0, 1.0], "logits": [0.5, -1.0, 2.0]} for _ in range(5)]
    path = helpers.write_examples(str(tmp_path / "data.tfrecord.gz"), rows)
    options = EvaluationOptions(label_keys="y", logits_features="logits")
    head = heads.MultiLabelHead(n_classes=10**8)
    expected = "'logits' of the head: expected 100000000 values .* received 3 values"
    with pytest.raises(ValueError, match=expected):
        config.build_config(path, str(tmp_path / "out"), options, head=head)
    built = config.build_config(
        path, str(tmp_path / "out"), options, head=heads.MultiLabelHead(n_classes=3)
    )
    assert built.input_spec.heads[0].logits_dimension == 3


def test_some_rows_of_the_head_width_pass_the_early_check(helpers, tmp_path):
    # Rows of another width are then rejected one by one (reject_malformed) in the pipeline.
    rows = [{"y": 1, "logits": [0.5]}, {"y": 0, "logits": [0.5, 1.0]}]
    path = helpers.write_examples(str(tmp_path / "data.tfrecord.gz"), rows)
    options = EvaluationOptions(label_keys="y", logits_features="logits", reject_malformed=True)
    head = heads.BinaryClassHead()
    assert config.build_config(path, str(tmp_path / "out"), options, head=head).model is None
    sample = [tf.train.Example.FromString(helpers.example(row)) for row in rows[1:]]
    with pytest.raises(ValueError, match="expected 1 values .* received 2 values"):
        config.check_logits_widths(sample, [heads.describe(head)], {None: "logits"})


def test_a_model_whose_logits_differ_from_its_head_fails_early(taxi_model):
    _, _, description = config.resolve_head(None, taxi_model, None)
    config.check_model_logits(taxi_model, description)
    wider = dataclasses.replace(
        description,
        sub_heads=tuple(
            dataclasses.replace(sub, logits_dimension=sub.logits_dimension + 7)
            for sub in description.sub_heads
        ),
    )
    with pytest.raises(ValueError, match="Invalid `model` .*logits per example"):
        config.check_model_logits(taxi_model, wider)
