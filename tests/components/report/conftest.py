"""Fixtures of the report tests: one small real evaluation (with a baseline and a blessing),
and headless chromium (Debian's `chromium`; `make test` installs it when missing)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import types

import numpy as np
import pytest
import tensorflow as tf

ARTIFACTS = pathlib.Path(__file__).resolve().parents[3] / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    # `--virtual-time-budget` runs the clock of the page's own renderer only, and chromium
    # puts a sandboxed frame (the notebook view's) in a process of its own, on the wall clock:
    # whether the frame was laid out when its script ran depended on timing. One process
    # keeps the whole page on the one virtual clock.
    "--disable-features=IsolateSandboxedIframes",
)


def chromium_path() -> str:
    """The chromium executable; fails the test without one."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "chromium is missing: the browser test needs Debian's `chromium` package "
        "(`apt-get install -y chromium`; `make test` installs it when missing)."
    )


def run_chromium(url: str, profile: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
    """Runs headless chromium on `url` with `extra` flags; fails the test if it fails."""
    command = [chromium_path(), *FLAGS, f"--user-data-dir={profile}", *extra, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


def console_errors(stderr: str) -> list[str]:
    """The page's console errors in chromium's stderr."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and re.search(r"error|uncaught", line, re.IGNORECASE)
    ]


def body_data(dom: str) -> dict[str, str]:
    """The `data-*` attributes of the `<body>` of a dumped DOM."""
    return _element_data(dom, "body")


def frame_data(dom: str) -> dict[str, str]:
    """The `data-*` attributes of the first `<iframe>` of a dumped DOM (the notebook view's
    state, as its page posted it)."""
    return _element_data(dom, "iframe")


def _element_data(dom: str, tag: str) -> dict[str, str]:
    attributes = re.search(rf"<{tag}([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', attributes))


@pytest.fixture
def browser():
    """Headless chromium: `run`, `console_errors`, `body`, `frame` (see above) and `artifacts`
    (the folder for screenshots, `test-artifacts/` at the repository root)."""
    return types.SimpleNamespace(
        run=run_chromium,
        console_errors=console_errors,
        body=body_data,
        frame=frame_data,
        artifacts=ARTIFACTS,
    )


SIZE = 1500
SMALL_GROUP = 40
"""Examples in the rare slice `group:rare` (below the report's small-slice limit)."""
THRESHOLDS = [
    {"metric": "auc/bin", "slice": {}, "lower_bound": 0.6},
    {"metric": "accuracy/cls", "slice": {}, "lower_bound": 0.99},
    {"metric": "auc/bin", "slice": {}, "max_decrease": 0.05},
    {"metric": "auc/bin", "slice": {"group": "g1"}, "lower_bound": 0.5, "upper_bound": 0.99},
    {"metric": "average_loss/bin", "slice": {}, "max_increase": 0.01},
    # Names the report must escape (the slice and the metric are missing: the check fails).
    {"metric": 'recall/<bin>&"', "slice": {"group": "<rare & 'x'>"}, "lower_bound": 0.5},
]
"""The blessing's thresholds (`blessing.json`, written by `validations.bless`)."""


def report_head():
    """A MultiHead with a binary, a multi-class and a multi-label head."""
    import heads

    return heads.MultiHead(
        [
            heads.BinaryClassHead(weight_column="w", thresholds=(0.3, 0.7), name="bin"),
            heads.MultiClassHead(n_classes=4, label_vocabulary=["a", "b", "c", "d"], name="cls"),
            heads.MultiLabelHead(
                n_classes=3,
                label_vocabulary=["x", "y", "z"],
                thresholds=(0.5,),
                classes_for_class_based_metrics=["x", "z"],
                name="tags",
            ),
        ]
    )


def _feature(values) -> tf.train.Feature:
    values = list(np.atleast_1d(values))
    if values and isinstance(values[0], (str, np.str_)):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
    if values and isinstance(values[0], (float, np.floating)):
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def write_examples(path: str, seed: int = 0) -> None:
    """Labels, the candidate's logits and noisier baseline logits as tf.Examples."""
    rng = np.random.default_rng(seed)
    y_bin = rng.integers(0, 2, SIZE)
    y_cls = rng.integers(0, 4, SIZE)
    y_tags = rng.random((SIZE, 3)) < [0.3, 0.5, 0.2]
    groups = np.array(["g0", "g1"], dtype="<U8")[rng.integers(0, 2, SIZE)]
    groups[:SMALL_GROUP] = "rare"
    vocab_cls, vocab_tags = np.array(list("abcd")), np.array(list("xyz"))
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(SIZE):
            feature = {
                "y_bin": _feature(y_bin[i]),
                "y_cls": _feature(str(vocab_cls[y_cls[i]])),
                "w": _feature(float(rng.choice([0.5, 1.0, 2.0]))),
                "group": _feature(str(groups[i])),
            }
            tags = [str(v) for v in vocab_tags[y_tags[i]]]
            if tags:
                feature["y_tags"] = _feature(tags)
            for suffix, signal in (("", 1.0), ("_base", 0.6)):
                feature[f"logit_bin{suffix}"] = _feature(
                    np.float32(rng.normal(signal * (2 * y_bin[i] - 1), 1.5))
                )
                feature[f"logit_cls{suffix}"] = _feature(
                    (rng.normal(size=4) + 1.5 * signal * np.eye(4)[y_cls[i]]).astype(np.float32)
                )
                feature[f"logit_tags{suffix}"] = _feature(
                    rng.normal(signal * (2 * y_tags[i] - 1), 1.2).astype(np.float32)
                )
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())


@pytest.fixture(scope="session")
def evaluation(tmp_path_factory):
    """A namespace: `dir` (the evaluation output, with `baseline/` and `blessing.json`),
    `document` (its metrics.json) and `baseline` (the baseline's metrics.json)."""
    from tfx_heads.components.evaluator import blessing, runner, validations

    folder = tmp_path_factory.mktemp("report_eval")
    examples = str(folder / "examples.tfrecord")
    write_examples(examples)
    output = str(folder / "evaluation")
    label_keys = {"bin": "y_bin", "cls": "y_cls", "tags": "y_tags"}
    options = dict(
        head=report_head(),
        label_keys=label_keys,
        slices=("group",),
        batch_size=500,
        confidence_intervals=True,
        num_bootstrap_samples=8,
    )
    # Relative to the folder, so the report (and the README's screenshot of it) shows
    # "examples.tfrecord" rather than a temporary path of the machine that ran the tests.
    working_directory = os.getcwd()
    os.chdir(folder)
    try:
        document = runner.evaluate(
            "examples.tfrecord",
            output,
            logits_features={k: f"logit_{k}" for k in label_keys},
            **options,
        )
        baseline = runner.evaluate(
            "examples.tfrecord",
            os.path.join(output, "baseline"),
            logits_features={k: f"logit_{k}_base" for k in label_keys},
            **options,
        )
    finally:
        os.chdir(working_directory)
    validations.bless(
        output, blessing.parse_thresholds(THRESHOLDS), os.path.join(output, "baseline")
    )
    return types.SimpleNamespace(dir=output, document=document, baseline=baseline)


MANY_CLASSES = 1000


@pytest.fixture(scope="session")
def many_classes_dir(tmp_path_factory):
    """An evaluation directory with only a metrics.json: one multi-label head `ml` with
    per-class metrics of `MANY_CLASSES` classes (`auc/classI/ml` = 0.5 + I / 2000)."""
    metrics = {"weighted_example_count/ml": 5000.0, "auc/ml": 0.8}
    for i in range(MANY_CLASSES):
        metrics[f"auc/class{i}/ml"] = 0.5 + i / 2000
        metrics[f"auc/class{i}/error_bound/ml"] = 1e-4
        metrics[f"probability_mean/class{i}/ml"] = 0.1
    import heads
    from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout

    layout = HeadMetricLayout(heads.describe(heads.MultiLabelHead(MANY_CLASSES, name="ml")))
    document = {
        "slices": [
            {
                "slice": {},
                "example_count": 5000,
                "weighted_example_count": 5000.0,
                "metrics": metrics,
                "heads": layout.entries(metrics),
            }
        ],
        "rejected": {"count": 0, "reasons": {}},
    }
    folder = tmp_path_factory.mktemp("many_classes")
    (folder / "metrics.json").write_text(json.dumps(document))
    return str(folder)
