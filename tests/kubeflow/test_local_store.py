"""Tests of `tfx_heads.kubeflow.local_store`: run records and the resolvers' artifact queries."""

import pytest
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

from tfx_heads.kubeflow import local_store

BLESSING_TYPE = pb.ArtifactTypeSchema(instance_schema="title: tfx.ModelBlessing\ntype: object\n")
MODEL_TYPE = pb.ArtifactTypeSchema(schema_title="tfx.Model")
BLESSED = 'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'


def _artifact(name, artifact_type, **metadata):
    artifact = pb.RuntimeArtifact(name=name, uri=f"/root/{name}", type=artifact_type)
    artifact.metadata.update(metadata)
    return artifact


def _record(root, run, outputs):
    record = local_store.RunRecord(str(root), "p", run)
    record.add_task("HeadEvaluator", "SUCCEEDED", None, outputs)


def test_a_query_answers_the_newest_matching_artifact(tmp_path):
    _record(tmp_path, "run-1", {"blessing": [_artifact("b1", BLESSING_TYPE, blessed=1)]})
    _record(tmp_path, "run-2", {"blessing": [_artifact("b2", BLESSING_TYPE, blessed=1)]})
    _record(tmp_path, "run-3", {"blessing": [_artifact("b3", BLESSING_TYPE, blessed=0)]})
    _record(tmp_path, "run-4", {"model": [_artifact("m4", MODEL_TYPE)]})
    stored = local_store.stored_artifacts(str(tmp_path))

    assert [s.artifact.name for s in stored] == ["b1", "b2", "b3", "m4"]
    assert local_store.query(stored, BLESSED).artifact.name == "b2"
    assert local_store.query(stored, 'schema_title="tfx.Model" AND name="m4"').run == "run-4"
    assert local_store.query(stored, 'schema_title="tfx.Model" AND name="b2"') is None
    assert local_store.query(stored, 'name="null"') is None  # an unresolved placeholder


def test_nothing_is_found_under_an_empty_root(tmp_path):
    assert local_store.query(local_store.stored_artifacts(str(tmp_path)), BLESSED) is None


@pytest.mark.parametrize(
    "artifact_filter",
    ["create_time>1", 'display_name="x"', "schema_title"],
)
def test_an_unsupported_clause_is_named(artifact_filter):
    with pytest.raises(ValueError, match="Unsupported artifact filter clause"):
        local_store.query([], artifact_filter)


def test_a_damaged_record_is_named(tmp_path):
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "run.json").write_text('{"artifacts": [{"task": "t"}]}')

    with pytest.raises(ValueError, match=r"Invalid run record .*run-1/run.json"):
        local_store.stored_artifacts(str(tmp_path))
