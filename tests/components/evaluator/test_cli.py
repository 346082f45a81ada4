"""`tfx-heads evaluate` in both logits modes, its errors, and Beam argument pass-through."""

import json
import os

import numpy as np
import pytest

import heads
from tfx_heads.components.evaluator import cli
from tfx_heads.pipeline import cli as main_cli
from tfx_heads.pipeline.errors import UsageError


def _load(output):
    with open(os.path.join(output, "metrics.json")) as f:
        return json.load(f)


def _assert_identical(first, second):
    """Identical results (to 1e-12) on every slice of `second`, which `first` must have."""
    assert first["rejected"] == second["rejected"]
    slices = {json.dumps(s["slice"], sort_keys=True): s for s in first["slices"]}
    assert first["slices"][0] == slices["{}"] and second["slices"][0]["slice"] == {}
    for b in second["slices"]:
        a = slices[json.dumps(b["slice"], sort_keys=True)]
        assert a["example_count"] == b["example_count"]
        assert set(a["metrics"]) == set(b["metrics"])
        for key, value in a["metrics"].items():
            np.testing.assert_allclose(
                b["metrics"][key], value, rtol=1e-12, atol=1e-12, err_msg=key
            )


@pytest.mark.slow
def test_model_mode_matches_the_library_at_another_batch_size(
    taxi_examples, taxi_model, taxi_result, tmp_path, capsys
):
    """The library run used batches of 512; the command uses its default (4096)."""
    output = str(tmp_path / "out")
    status = main_cli.main(
        [
            "evaluate",
            "--examples", taxi_examples,
            "--output", output,
            "--model", taxi_model,
            "--slice", "trip_start_day",
        ]
    )  # fmt: skip
    assert status == 0
    assert "Evaluated 3000 examples (rejected 0)" in capsys.readouterr().out
    _assert_identical(taxi_result[0], _load(output))


@pytest.mark.slow
def _logits_feature_argv(synthetic, tmp_path, output):
    """`tfx-heads evaluate` arguments for the synthetic data in logits-feature mode."""
    config = tmp_path / "head.json"
    config.write_text(json.dumps(heads.serialize(synthetic.head)))
    argv = ["evaluate", "--examples", synthetic.glob, "--output", output]
    argv += ["--head-config", str(config)]
    for name, key in synthetic.logits_features.items():
        argv += ["--logits-feature", f"{name}={key}"]
    for name, key in synthetic.label_keys.items():
        argv += ["--label-key", f"{name}={key}"]
    return argv


def test_logits_feature_mode_with_head_config(synthetic, synthetic_result, tmp_path):
    output = str(tmp_path / "out")
    argv = _logits_feature_argv(synthetic, tmp_path, output)
    argv += ["--batch-size", "300", "--slice", "group"]
    assert main_cli.main(argv) == 0
    document = _load(output)
    assert [s["slice"] for s in document["slices"]] == [
        {},
        {"group": "g0"},
        {"group": "g1"},
        {"group": "g2"},
    ]
    _assert_identical(synthetic_result[0], document)


def test_malformed_example_is_a_clear_error(tmp_path, helpers, capsys):
    path = helpers.write_examples(
        tmp_path / "data.tfrecord.gz", [{"y": 1, "logit": [0.2]}, {"y": 3, "logit": [0.1]}]
    )
    config = tmp_path / "head.json"
    config.write_text(json.dumps(heads.serialize(heads.BinaryClassHead())))
    argv = ["evaluate", "--examples", path, "--output", str(tmp_path / "out")]
    argv += ["--head-config", str(config), "--logits-feature", "logit", "--label-key", "y"]
    assert main_cli.main(argv) == 2  # bad input
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert error.strip().splitlines()[-1].startswith("tfx-heads evaluate: error: Invalid")
    assert f"record 1 of {path}; label_out_of_range)" in error
    assert "expected labels in [0, 1] in label feature 'y' of the head; received 3." in error


def test_beam_arguments_pass_through():
    args = main_cli.build_parser().parse_args(
        [
            "evaluate",
            "--examples", "gs://bucket/eval-*",
            "--output", "gs://bucket/out",
            "--model", "gs://bucket/model",
            "--runner=DataflowRunner",
            "--project", "my-project",
            "--region=us-central1",
            "--temp_location", "gs://bucket/tmp",
            "--slice", "a,b",
            "--num-workers", "2",
        ]
    )  # fmt: skip
    assert args.beam_args == [
        "--runner=DataflowRunner",
        "--project",
        "my-project",
        "--region=us-central1",
        "--temp_location",
        "gs://bucket/tmp",
    ]
    assert args.slice == ["a,b"] and args.num_workers == 2 and args.run is cli.run


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--slcie", "city"], "--slcie"),
        (["--runner=DirectRunner", "--num_wrkers=2"], "--num_wrkers"),
        (["--model-dir", "m"], "--model-dir"),
    ],
)
def test_an_argument_neither_the_command_nor_beam_knows_is_one_line_with_status_2(
    extra, named, capsys
):
    argv = ["evaluate", "--examples", "e", "--output", "o", "--model", "m", *extra]
    assert main_cli.main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"tfx-heads evaluate: error: Invalid argument `{named}`: expected ")
    assert "Beam's pipeline options" in line
    with pytest.raises(UsageError, match=named):
        main_cli.build_parser().parse_args(argv)


def test_beam_arguments_are_told_apart_with_beams_own_parser():
    known = ["--runner", "DataflowRunner", "--max_num_workers=3", "--sdk_container_image", "i"]
    assert cli.unknown_beam_arguments(known) == []
    assert cli.unknown_beam_arguments([*known, "--slcie", "city"]) == ["--slcie", "city"]


def test_arguments_become_evaluation_options():
    from tfx_heads.components.evaluator.options import EvaluationOptions

    argv = ["evaluate", "--examples", "e", "--output", "o", "--logits-feature", "h1=l1"]
    argv += ["--logits-feature", "h2=l2", "--label-key", "y", "--slice", "b,a"]
    argv += ["--batch-size", "8", "--reject-malformed", "--confidence-intervals"]
    argv += ["--num-bootstrap-samples", "5", "--label-format", "class_ids", "--num-buckets", "64"]
    options = cli.evaluation_options(main_cli.build_parser().parse_args(argv))
    assert options == EvaluationOptions(
        logits_features={"h1": "l1", "h2": "l2"},
        label_keys="y",
        slices=[("a", "b")],
        batch_size=8,
        reject_malformed=True,
        confidence_intervals=True,
        num_bootstrap_samples=5,
        label_formats="class_ids",
        num_buckets=64,
    )
    defaults = ["evaluate", "--examples", "e", "--output", "o", "--model", "m"]
    assert cli.evaluation_options(main_cli.build_parser().parse_args(defaults)) == (
        EvaluationOptions()
    )


def test_model_and_logits_features_are_exclusive():
    with pytest.raises(UsageError, match="not allowed with argument"):
        main_cli.build_parser().parse_args(
            [
                "evaluate",
                "--examples",
                "x",
                "--output",
                "o",
                "--model",
                "m",
                "--logits-feature",
                "l",
            ]
        )


def test_per_head_values():
    assert cli.per_head_values(None, "--label-key") is None
    assert cli.per_head_values(["y"], "--label-key") == "y"
    assert cli.per_head_values(["a=y1", "b=y2"], "--label-key") == {"a": "y1", "b": "y2"}
    with pytest.raises(ValueError, match="Invalid `--label-key`: expected one NAME"):
        cli.per_head_values(["y", "b=y2"], "--label-key")
    with pytest.raises(ValueError, match="expected each head once"):
        cli.per_head_values(["a=1", "a=2"], "--label-key")


def test_histogram_options_set_the_fallback_curves(synthetic, synthetic_result, tmp_path):
    output = str(tmp_path / "out")
    argv = _logits_feature_argv(synthetic, tmp_path, output)
    argv += ["--class-num-buckets", "16", "--max-exact-scores", "0"]
    assert main_cli.main(argv) == 0
    coarse = _load(output)["slices"][0]["metrics"]
    exact = synthetic_result[0]["slices"][0]["metrics"]  # the default: exact curves
    # Histograms only, 16 per-class buckets of 2 logits each: bounds (wide per class) that
    # hold the exact values; the other metrics are equal.
    for key in ("auc/a/error_bound/cls", "auc/x/error_bound/tags", "auc/error_bound/bin"):
        assert exact[key] == 0.0, key
        value = key.replace("/error_bound", "")
        assert abs(coarse[value] - exact[value]) <= coarse[key], key
    assert coarse["auc/a/error_bound/cls"] > 1e-3 and coarse["auc/x/error_bound/tags"] > 1e-3
    assert coarse["auc/error_bound/bin"] > 0
    for key in ("accuracy/cls", "average_loss/reg", "precision/bin"):
        assert coarse[key] == exact[key], key


def test_reject_malformed_reports_a_files_unreadable_rest(tmp_path, helpers, capsys):
    rows = [{"y": i % 2, "logit": [i / 10]} for i in range(40)]
    path = helpers.write_examples(tmp_path / "data.tfrecord", rows, gzip=False)
    first_10 = helpers.write_examples(tmp_path / "head.tfrecord.x", rows[:10], gzip=False)
    with open(path, "r+b") as f:  # record 10's data no longer matches its checksum
        f.seek(os.path.getsize(first_10) + 14)
        f.write(b"\xff")
    config = tmp_path / "head.json"
    config.write_text(json.dumps(heads.serialize(heads.BinaryClassHead())))
    argv = ["evaluate", "--examples", path, "--output", str(tmp_path / "out")]
    argv += ["--head-config", str(config), "--logits-feature", "logit", "--label-key", "y"]
    argv += ["--batch-size", "4"]
    assert main_cli.main(argv) == 2  # fails naming the file and the record
    assert f"file {path}: expected TFRecords; reading failed at record 10" in (
        capsys.readouterr().err
    )
    assert main_cli.main([*argv, "--reject-malformed"]) == 0
    out = capsys.readouterr().out
    assert 'Evaluated 8 examples (rejected 32: {"unreadable_records": 32})' in out
    assert f"Unreadable: {path} at or after record 8" in out and "32 records not read" in out


def test_thresholds_print_the_verdict_and_write_it_as_tfma_does(tmp_path, helpers, capsys):
    import tensorflow_model_analysis as tfma

    # Logits that rank every pair right but those of one negative above all five positives:
    # AUC 20/25 = 0.8.
    rows = [{"y": int(i >= 5), "logit": [i / 10 if i else 1.0]} for i in range(10)]
    path = helpers.write_examples(tmp_path / "data.tfrecord", rows, gzip=False)
    config = tmp_path / "head.json"
    config.write_text(json.dumps(heads.serialize(heads.BinaryClassHead())))
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(
        json.dumps(
            [
                {"metric": "auc", "lower_bound": 0.95},
                {"metric": "auc", "upper_bound": 1.0, "max_decrease": 0.1},
            ]
        )
    )
    output = str(tmp_path / "out")
    argv = ["evaluate", "--examples", path, "--output", output, "--head-config", str(config)]
    argv += ["--logits-feature", "logit", "--label-key", "y", "--thresholds", str(thresholds)]
    assert main_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "; NOT blessed: 1 of 2 conditions failed (auc in Overall: value 0.8 < lower_bound 0.95), "
        "1 skipped without a baseline"
    ) in out
    result = tfma.load_validation_result(output)
    assert not result.validation_ok and result.rubber_stamp
    (entry,) = result.metric_validations_per_slice
    (failure,) = entry.failures
    assert failure.metric_value.double_value.value == pytest.approx(0.8)
    assert failure.metric_threshold.value_threshold.lower_bound.value == 0.95
    thresholds.write_text(json.dumps([{"metric": "auc", "lower_bound": 0.5}]))
    assert main_cli.main(argv) == 0
    assert "; blessed (1 condition checked)" in capsys.readouterr().out
    assert tfma.load_validation_result(output).validation_ok


def test_an_eval_config_file_becomes_evaluation_options(tmp_path):
    from tfx_heads.components.evaluator.blessing import MetricThreshold
    from tfx_heads.components.evaluator.options import EvaluationOptions

    config = tmp_path / "eval_config.pbtxt"
    config.write_text(
        'model_specs { label_key: "y" }\n slicing_specs { feature_keys: ["day"] }\n'
        'metrics_specs { thresholds { key: "auc" value { value_threshold {'
        " lower_bound { value: 0.5 } } } } }\n"
    )
    argv = ["evaluate", "--examples", "e", "--output", "o", "--model", "m"]
    options = cli.evaluation_options(
        main_cli.build_parser().parse_args([*argv, "--eval-config", str(config)])
    )
    assert options == EvaluationOptions(
        label_keys="y", slices=["day"], thresholds=[MetricThreshold("auc", "*", lower_bound=0.5)]
    )
    argv += ["--eval-config", str(config), "--slice", "hour"]  # a second slicing place
    with pytest.raises(ValueError, match=r"\['slices'\].*eval_config\.pbtxt"):
        cli.evaluation_options(main_cli.build_parser().parse_args(argv))


def test_an_eval_config_naming_no_metric_of_the_head_fails_before_evaluating(
    tmp_path, helpers, capsys
):
    rows = [{"y": i % 2, "logit": [i / 10]} for i in range(10)]
    path = helpers.write_examples(tmp_path / "data.tfrecord", rows, gzip=False)
    head = tmp_path / "head.json"
    head.write_text(json.dumps(heads.serialize(heads.BinaryClassHead())))
    config = tmp_path / "eval_config.json"
    config.write_text(
        json.dumps(
            {
                "metricsSpecs": [
                    {"thresholds": {"mean_squared_error": {"valueThreshold": {"upperBound": 1}}}}
                ]
            }
        )
    )
    output = tmp_path / "out"
    argv = ["evaluate", "--examples", path, "--output", str(output), "--head-config", str(head)]
    argv += ["--logits-feature", "logit", "--label-key", "y", "--eval-config", str(config)]
    assert main_cli.main(argv) == 2  # bad input
    error = capsys.readouterr().err
    assert "'mean_squared_error'" in error and "no such metric key" in error
    assert not output.exists()
