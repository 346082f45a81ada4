"""How `tfx-heads` fails: one line on stderr, status 2 for bad input, 1 for internal errors,
the traceback only with `--debug` (each case a real subprocess)."""

import subprocess
import sys

import pytest


def _main(argv: list[str]) -> subprocess.CompletedProcess:
    code = f"import sys; from tfx_heads import cli; sys.exit(cli.main({argv!r}))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def test_bad_input_is_one_line_with_status_2(tmp_path):
    result = _main(["report", str(tmp_path / "missing"), "-o", str(tmp_path / "r.html")])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # TensorFlow's and other libraries' lines went to the log
    assert lines[-1].startswith("tfx-heads report: error: ") and "missing" in lines[-1]
    assert lines[-1].endswith(".log)") and "(log: " in lines[-1]
    assert "Traceback" not in result.stderr


def test_an_internal_error_is_one_line_with_status_1_and_debug_raises_it(
    monkeypatch, capsys, tmp_path
):
    from tfx_heads import cli

    def add_failing(subparsers):  # a subcommand with a bug
        def run(args):
            raise KeyError("slices")

        subparsers.add_parser("failing").set_defaults(run=run)

    monkeypatch.setattr(cli, "_subcommands", lambda: [add_failing])
    log = tmp_path / "failing.log"
    assert cli.main(["failing", "--log-file", str(log)]) == 1
    error = capsys.readouterr().err
    assert error.splitlines() == [
        f"tfx-heads failing: internal error: KeyError: 'slices' (the traceback is in {log}; "
        "run it again with --debug to see it here, and report it)"
    ]
    logged = log.read_text()
    assert "Traceback (most recent call last)" in logged and "KeyError: 'slices'" in logged
    with pytest.raises(KeyError, match="slices"):
        cli.main(["failing", "--debug"])


@pytest.mark.parametrize(
    "workers", [[], pytest.param(["--num-workers", "2"], marks=pytest.mark.slow)]
)
def test_a_malformed_example_in_evaluate_is_one_line_without_a_traceback(tmp_path, workers):
    # With worker processes, Beam prints the failing DoFn's traceback from each worker
    # itself: it goes to the log with every library's output.
    import json

    import tensorflow as tf

    import heads

    path = tmp_path / "data.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for label in (1, 3):  # 3 is no binary label
            feature = {
                "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                "logit": tf.train.Feature(float_list=tf.train.FloatList(value=[0.2])),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    config = tmp_path / "head.json"
    config.write_text(json.dumps(heads.serialize(heads.BinaryClassHead())))
    argv = ["evaluate", "--examples", str(path), "--output", str(tmp_path / "out")]
    argv += ["--head-config", str(config), "--logits-feature", "logit", "--label-key", "y"]
    result = _main([*argv, *workers])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("tfx-heads evaluate: error: Invalid") and "record 1 of" in line


COMPILE = ["compile", "--output", "o", "--image", "i", "--pipeline-root", "r", "--data-root", "d"]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--bogus", "1"],
        ["evaluate", "--examples", "e", "--output", "o", "--model", "m", "--bogus", "1"],
        [*COMPILE, "--bogus", "1"],
        ["run-spec", "job.json", "--bogus", "1"],
        ["report", "eval_dir", "--bogus", "1"],
    ],
)
def test_every_subcommand_refuses_an_unknown_argument_in_one_line_with_status_2(argv, capsys):
    from tfx_heads import cli

    assert cli.main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"tfx-heads {argv[0]}: error: Invalid argument `--bogus`: expected ")
    assert line.endswith(f"received `--bogus 1`. (see tfx-heads {argv[0]} --help)")


def test_a_missing_argument_or_command_is_one_line_with_status_2(capsys):
    from tfx_heads import cli

    assert cli.main(["report"]) == 2
    assert cli.main(["nonsense"]) == 2
    missing, invalid = capsys.readouterr().err.splitlines()
    assert missing == (
        "tfx-heads report: error: the following arguments are required: EVAL_DIR "
        "(see tfx-heads report --help)"
    )
    # argparse words the choices differently across Python versions (unquoted in 3.13).
    assert invalid.startswith("tfx-heads: error: argument COMMAND: invalid choice: 'nonsense'")
    assert invalid.endswith(" (see tfx-heads --help)")
    for command in ("run", "evaluate", "compile", "run-spec", "report"):
        assert command in invalid
