"""Resolving an evaluation: the head's forms, the files, and the options a config carries."""

import pytest

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
