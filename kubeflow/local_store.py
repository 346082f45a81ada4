"""The artifacts of `run-spec` runs under a pipeline root, and the artifact queries of the
job's resolver tasks over them.

On Vertex AI Pipelines every artifact a task outputs is recorded in Vertex ML Metadata, and a
resolver task (TFX's latest-blessed-model resolver compiles to two) is a query of that store:
a filter such as `schema_title="tfx.ModelBlessing" AND state=LIVE AND
metadata.blessed.number_value=1`, answered with the newest matching artifact. Locally each run
keeps its record in `<root>/<run>/run.json` (every finished task's state, log and output
artifacts), and a query searches the records of every run under the same root.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

RUN_RECORD = "run.json"

_CLAUSE = re.compile(r'^(?P<field>[A-Za-z_][\w.]*)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)$')
_METADATA_FIELD = re.compile(r"^metadata\.(?P<key>[\w-]+)\.(?P<kind>number|string|bool)_value$")


@dataclasses.dataclass(frozen=True)
class StoredArtifact:
    """An output artifact of a task of a local run.

    Attributes:
        artifact: the `RuntimeArtifact` (name, type, uri, metadata) as the task output it.
        schema_title: its type's title, e.g. `tfx.Model`.
        run: the run's name.
        task: the task that output it.
        key: its output key.
        created: when it was recorded (seconds since the epoch).
    """

    artifact: pb.RuntimeArtifact
    schema_title: str
    run: str
    task: str
    key: str
    created: float


def schema_title(artifact_type: pb.ArtifactTypeSchema) -> str:
    """The type's title: `schemaTitle`, else the `title` of its instance schema."""
    if artifact_type.schema_title:
        return artifact_type.schema_title
    if artifact_type.instance_schema:
        return str(yaml.safe_load(artifact_type.instance_schema).get("title", ""))
    return ""


class RunRecord:
    """The record of one run, `<root>/<run>/run.json`, rewritten after every task."""

    def __init__(self, root: str, pipeline: str, run: str) -> None:
        self.path = os.path.join(root, run, RUN_RECORD)
        self.document: dict[str, Any] = {
            "pipeline": pipeline,
            "run": run,
            "tasks": {},
            "artifacts": [],
        }

    def add_task(
        self,
        task: str,
        state: str,
        log: str | None,
        outputs: Mapping[str, Iterable[pb.RuntimeArtifact]] = (),
    ) -> None:
        """Records a finished task (`SUCCEEDED`, `FAILED`) with its output artifacts."""
        self.document["tasks"][task] = {"state": state, "log": log}
        created = time.time()
        for key, artifacts in dict(outputs).items():
            for artifact in artifacts:
                self.document["artifacts"].append(
                    {
                        "task": task,
                        "key": key,
                        "created": created,
                        "artifact": json_format.MessageToDict(artifact),
                    }
                )
        self.write()

    def write(self) -> None:
        """Writes the record (through a temporary file, so a reader never sees half)."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path + ".tmp", "w") as f:
            json.dump(self.document, f, indent=2, sort_keys=True)
        os.replace(self.path + ".tmp", self.path)


def stored_artifacts(root: str) -> list[StoredArtifact]:
    """Every recorded output artifact of the runs under `root`, oldest first.

    Raises:
        ValueError: naming a run record that is not valid JSON of the expected shape.
    """
    found = []
    for path in sorted(glob.glob(os.path.join(glob.escape(root), "*", RUN_RECORD))):
        try:
            with open(path) as f:
                document = json.load(f)
            for entry in document["artifacts"]:
                artifact = json_format.ParseDict(entry["artifact"], pb.RuntimeArtifact())
                found.append(
                    StoredArtifact(
                        artifact=artifact,
                        schema_title=schema_title(artifact.type),
                        run=document["run"],
                        task=entry["task"],
                        key=entry["key"],
                        created=float(entry["created"]),
                    )
                )
        except (KeyError, TypeError, ValueError, json_format.ParseError) as error:
            raise ValueError(
                f"Invalid run record {path!r}: expected the run.json run-spec writes ({error})."
            ) from error
    return sorted(found, key=lambda stored: stored.created)


def query(artifacts: Iterable[StoredArtifact], artifact_filter: str) -> StoredArtifact | None:
    """The newest artifact that matches a Vertex ML Metadata filter, or None.

    The filter is clauses joined by ` AND `: `schema_title="T"`, `state=LIVE`, `name="N"`,
    `uri="U"` and `metadata.KEY.number_value=X` (also `string_value`, `bool_value`), which is
    what TFX's Kubeflow V2 compiler writes for its resolvers. Recorded artifacts are all LIVE.

    Raises:
        ValueError: for a clause outside that language.
    """
    clauses = [_clause(text.strip()) for text in artifact_filter.split(" AND ")]
    matching = [stored for stored in artifacts if all(match(stored) for match in clauses)]
    return matching[-1] if matching else None


def _clause(text: str) -> Any:
    parsed = _CLAUSE.match(text)
    if not parsed:
        raise ValueError(f"Unsupported artifact filter clause {text!r}: expected FIELD=VALUE.")
    field, raw = parsed["field"], parsed["value"]
    value = json.loads(raw) if raw.startswith('"') else raw
    if field == "schema_title":
        return lambda stored: stored.schema_title == value
    if field == "state":
        return lambda stored: value == "LIVE"
    if field in ("name", "uri"):
        return lambda stored: getattr(stored.artifact, field) == value
    metadata = _METADATA_FIELD.match(field)
    if metadata:
        return _metadata_clause(metadata["key"], metadata["kind"], value)
    raise ValueError(
        f"Unsupported artifact filter clause {text!r}: expected a field among schema_title, "
        "state, name, uri and metadata.KEY.number_value/string_value/bool_value."
    )


def _metadata_clause(key: str, kind: str, value: str) -> Any:
    def match(stored: StoredArtifact) -> bool:
        fields = stored.artifact.metadata.fields
        if key not in fields:
            return False
        field = fields[key]
        if kind == "number":
            return field.HasField("number_value") and field.number_value == float(value)
        if kind == "bool":
            return field.HasField("bool_value") and field.bool_value == (value.lower() == "true")
        return field.HasField("string_value") and field.string_value == value

    return match
