"""`tfx-heads evaluate`: every head's metrics over TFRecords of tf.Examples, on Beam.

    tfx-heads evaluate --examples 'data/eval-*.gz' --output eval_out \\
        --model exported_model [--head-config head.json] [--label-key HEAD=KEY ...] \\
        [--slice FEATURE[,FEATURE]] [--thresholds thresholds.json | --eval-config FILE] \\
        [--num-workers 2] [BEAM ARGUMENTS ...]
    tfx-heads evaluate --examples 'scored-*.gz' --output eval_out --head-config head.json \\
        --logits-feature HEAD=FEATURE ... --label-key HEAD=KEY ...

Logits come from the SavedModel's `predict` signature (`--model`), or from float features
that already hold them (`--logits-feature`, `HEAD=NAME` per head of a MultiHead). The head
config is the JSON of `heads.serialize` (optional with a model exported by
`heads.export_saved_model`, which stores it with the label keys). Beam's pipeline options
are passed to Beam, e.g. `--runner=DataflowRunner --project P --region R
--temp_location gs://...`; an argument that neither this command nor Beam knows is an error.
Results: TFMA's files (`tfma.load_eval_result(output)`) and `metrics.json`. With
`--thresholds` (a JSON list of thresholds, as the HeadEvaluator's) or `--eval-config` (a
`tfma.EvalConfig` as JSON or text format, with slicing specs and thresholds as TFX's
Evaluator takes them) the model is also blessed or not: the verdict is printed on the result
line and written to `blessing.json` and TFMA's `validations.tfrecord`
(`tfma.load_validation_result(output)`).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tfx_heads.components import progress
from tfx_heads.components.arguments import unknown_arguments_message
from tfx_heads.components.evaluator import constants

if TYPE_CHECKING:  # imported on use: it imports TensorFlow and Beam
    from tfx_heads.components.evaluator.options import EvaluationOptions

_PROGRESS_SOURCE = "components/progress.py"
"""Where `tfx_heads.components.progress` records come from (the relayed records name the file)."""
_WORKER_LOGGER = "apache_beam.runners.portability.local_job_service"


_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--head-config", {"help": "JSON file of heads.serialize(head)"}),
    (
        "--label-key",
        {
            "action": "append",
            "metavar": "[HEAD=]KEY",
            "help": "label feature (HEAD=KEY per head of a MultiHead; repeat); default: stored "
            "with the model",
        },
    ),
    (
        "--slice",
        {
            "action": "append",
            "default": [],
            "metavar": "FEATURE[,FEATURE]",
            "help": "a slicing besides the overall slice; a comma makes a cross (repeat)",
        },
    ),
    ("--num-workers", {"type": int, "help": "DirectRunner worker processes (default: in-process)"}),
    (
        "--batch-size",
        {"type": int, "default": constants.DEFAULT_BATCH_SIZE, "help": "examples per batch"},
    ),
    (
        "--reject-malformed",
        {
            "action": "store_true",
            "help": "count malformed examples in metrics.json's `rejected` instead of failing",
        },
    ),
    (
        "--confidence-intervals",
        {"action": "store_true", "help": "add Poisson bootstrap confidence intervals"},
    ),
    (
        "--num-bootstrap-samples",
        {
            "type": int,
            "default": constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES,
            "help": "bootstrap replicates, with --confidence-intervals (default: %(default)s)",
        },
    ),
    (
        "--label-format",
        {
            "action": "append",
            "metavar": "[HEAD=]FORMAT",
            "help": "how labels are stored: value, class_ids, class_names or multi_hot "
            "(default: inferred)",
        },
    ),
    ("--num-buckets", {"type": int, "help": "AUC histogram resolution"}),
    (
        "--class-num-buckets",
        {
            "type": int,
            "help": "per-class histogram resolution (default: the finest within 16 MiB per head)",
        },
    ),
    (
        "--max-exact-scores",
        {
            "type": int,
            "help": "a curve with at most this many distinct scores is exact, one with more "
            "comes from its histogram with error bounds (default 2**20; 0: histograms only)",
        },
    ),
    (
        "--min-slice-size",
        {
            "type": int,
            "help": "a slice with fewer examples reports its example counts only (default 1)",
        },
    ),
    (
        "--thresholds",
        {
            "metavar": "FILE",
            "help": "JSON list of blessing thresholds (as the HeadEvaluator's): print and "
            "write the verdict",
        },
    ),
    (
        "--eval-config",
        {
            "metavar": "FILE",
            "help": "a tfma.EvalConfig as JSON or text format (as TFX's Evaluator takes it): "
            "slicings, thresholds, label keys, confidence intervals",
        },
    ),
)
"""The options besides `--examples`, `--output` and the logits source, in help order."""


def add_subcommand(subparsers: Any) -> None:
    """Registers `evaluate` with the `tfx-heads` command line."""
    parser = subparsers.add_parser(
        "evaluate",
        help="compute every head's metrics over tf.Example TFRecords on Beam",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--examples", required=True, help="glob of TFRecord files of tf.Examples")
    parser.add_argument("--output", required=True, help="output directory")
    logits = parser.add_mutually_exclusive_group(required=True)
    logits.add_argument("--model", help="SavedModel directory (logits from its predict signature)")
    logits.add_argument(
        "--logits-feature",
        action="append",
        metavar="[HEAD=]NAME",
        help="float feature holding the logits (HEAD=NAME per head of a MultiHead; repeat)",
    )
    for flag, settings in _OPTIONS:
        parser.add_argument(flag, **settings)
    parser.set_defaults(run=run)
    _pass_beam_arguments_to_beam(parser)


def _pass_beam_arguments_to_beam(parser: argparse.ArgumentParser) -> None:
    """Makes the parser keep the arguments it does not know in `beam_args` when Beam's
    pipeline options know them, and refuse them (`parser.error`) otherwise."""
    parse_known_args = parser.parse_known_args

    def parse_keeping_beam_args(args=None, namespace=None):
        namespace, unknown = parse_known_args(args, namespace)
        refused = unknown_beam_arguments(unknown)
        if refused:
            parser.error(
                unknown_arguments_message(
                    refused, f"{parser.prog}'s options or Beam's pipeline options"
                )
            )
        namespace.beam_args = list(getattr(namespace, "beam_args", None) or []) + unknown
        return namespace, []

    parser.parse_known_args = parse_keeping_beam_args


def unknown_beam_arguments(args: Sequence[str]) -> list[str]:
    """The arguments that none of Beam's pipeline options know (Beam itself would only log
    them as unparseable and run without them), with the values that follow them.

    >>> unknown_beam_arguments(["--runner=DataflowRunner", "--project", "p", "--slcie", "x"])
    ['--slcie', 'x']
    """
    if not args:
        return []
    from apache_beam.options.pipeline_options import PipelineOptions

    refused: list[str] = []

    def parse_with_every_option(parser: argparse.ArgumentParser) -> None:
        # Beam calls this with its parser of every registered option class's arguments.
        refused.extend(parser.parse_known_args(list(args))[1])

    # Retaining unknown arguments keeps Beam from logging them; only `refused` is used.
    PipelineOptions(list(args)).get_all_options(
        add_extra_args_fn=parse_with_every_option, retain_unknown_options=True
    )
    return refused


def per_head_values(values: Sequence[str] | None, arg: str) -> str | dict[str, str] | None:
    """`["NAME"]` -> `"NAME"`; `["h1=A", "h2=B"]` -> `{"h1": "A", "h2": "B"}`.

    Raises:
        ValueError: a mix of both forms, several plain values, or a head given twice.
    """
    if not values:
        return None
    pairs = [value.split("=", 1) for value in values]
    if all(len(pair) == 1 for pair in pairs) and len(pairs) == 1:
        return values[0]
    if not all(len(pair) == 2 and pair[0] and pair[1] for pair in pairs):
        raise ValueError(
            f"Invalid `{arg}`: expected one NAME, or HEAD=NAME for each head; received "
            f"{list(values)}."
        )
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError(f"Invalid `{arg}`: expected each head once; received {list(values)}.")
    return result


def evaluation_options(args: argparse.Namespace) -> EvaluationOptions:
    """The `EvaluationOptions` of parsed `evaluate` arguments (an option not given on the
    command line keeps its default).

    Raises:
        ValueError: for a malformed per-head value (`per_head_values`), an invalid option,
            thresholds file or EvalConfig (a field set both there and by an argument too).
        OSError: for a thresholds or EvalConfig file that cannot be read.
    """
    from tfx_heads.components.evaluator.blessing import read_threshold_file
    from tfx_heads.components.evaluator.options import EvaluationOptions

    optional = {
        name: getattr(args, name)
        for name in ("num_buckets", "class_num_buckets", "max_exact_scores", "min_slice_size")
        if getattr(args, name) is not None
    }
    values = dict(
        logits_features=per_head_values(args.logits_feature, "--logits-feature"),
        label_keys=per_head_values(args.label_key, "--label-key"),
        slices=args.slice,
        batch_size=args.batch_size,
        reject_malformed=args.reject_malformed,
        confidence_intervals=args.confidence_intervals,
        num_bootstrap_samples=args.num_bootstrap_samples,
        label_formats=per_head_values(args.label_format, "--label-format"),
        thresholds=read_threshold_file(args.thresholds) if args.thresholds else (),
        **optional,
    )
    if args.eval_config is None:
        return EvaluationOptions(**values)
    with open(args.eval_config) as f:
        text = f.read()
    try:
        return EvaluationOptions.from_eval_config(text, **values)
    except ValueError as error:
        raise ValueError(f"{error} (--eval-config {args.eval_config})") from error


def run(args: argparse.Namespace) -> int:
    """Runs the evaluation and prints a summary.

    Raises:
        ValueError: bad input (malformed examples, bad arguments or files), with the
            innermost message; `tfx_heads.pipeline.cli` prints it and exits with status 2.
    """
    _relay_worker_progress()
    from tfx_heads.components.evaluator import runner
    from tfx_heads.components.evaluator.example_inputs import MalformedExampleError

    started = time.time()
    args.console.begin("evaluating", announce=False)
    try:
        head = None
        if args.head_config:
            with open(args.head_config) as f:
                head = json.load(f)
        options = evaluation_options(args)
        document = runner.evaluate(
            examples=args.examples,
            output=args.output,
            head=head,
            model=args.model,
            options=options,
            beam_pipeline_args=args.beam_args,
            num_workers=args.num_workers,
        )
    except (MalformedExampleError, ValueError, TypeError, OSError, RuntimeError) as error:
        # Beam wraps errors raised in a DoFn: report the innermost `Invalid ...` message as
        # bad input (`tfx_heads.pipeline.cli` prints it); anything else is an internal error.
        message = _root_message(error)
        if message is None:
            raise
        raise ValueError(message) from error
    overall = document["slices"][0]
    rejected = document["rejected"]
    args.console.end(
        f"Evaluated {overall['example_count']} examples (rejected {rejected['count']}"
        f"{': ' + json.dumps(rejected['reasons']) if rejected['count'] else ''}) in "
        f"{len(document['slices'])} slices in {time.time() - started:.0f} s: {args.output} "
        "(metrics.json; TFMA: tfma.load_eval_result)"
        f"{verdict_text(args.output) if options.thresholds else ''}"
    )
    for entry in rejected.get("unreadable_files", []):
        records = "an unknown number of" if entry["records"] is None else entry["records"]
        args.console.line(
            f"Unreadable: {entry['file']} {entry['where']}: {records} records not read"
        )
    return 0


def verdict_text(output: str) -> str:
    """The verdict written in `output` (`blessing.json`), for the result line: `; blessed
    (N conditions checked)` or `; NOT blessed: F of N conditions failed (first failure)`."""
    from tfx_heads.components.evaluator.validations import read_blessing

    verdict = read_blessing(output)
    count = verdict["checked"]
    conditions = f"{count} condition{'' if count == 1 else 's'}"
    skipped = len(verdict["skipped"])
    without = f", {skipped} skipped without a baseline" if skipped else ""
    if verdict["blessed"]:
        return f"; blessed ({conditions} checked{without})"
    first = verdict["failures"][0]
    return (
        f"; NOT blessed: {len(verdict['failures'])} of {conditions} failed ({first['metric']} "
        f"in {first['slice']}: {first['reason']}){without}"
    )


def _root_message(error: BaseException) -> str | None:
    """The innermost `Invalid ...` message of `error` and its causes (Beam wraps errors
    raised in DoFns), else the last line of a bad-input error's own message, else None."""
    messages, current = [str(error)], error
    while current.__cause__ is not None or current.__context__ is not None:
        current = current.__cause__ or current.__context__
        messages.append(str(current))
    for message in reversed(messages):
        found = re.search(r"Invalid [^\n]*", message)
        if found:
            return found.group(0).split(" [while running")[0]
    if isinstance(error, RuntimeError) or not messages[0].strip():
        return None
    return messages[0].strip().splitlines()[-1]


class _WorkerProgress(logging.Handler):
    """Passes the progress reports that DirectRunner worker processes relay to this process
    (`--num-workers`; as text in a `local_job_service` record) on to
    `tfx_heads.components.progress`'s logger, which the command line shows."""

    _MESSAGE = re.compile(r'message: "(.*?)"(?: instruction_id| log_location| thread|$)')

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.levelno >= logging.ERROR or _PROGRESS_SOURCE not in text:
            return  # a worker's error reaches the command line as the pipeline's error
        found = self._MESSAGE.search(text)
        logging.getLogger(progress.LOGGER_NAME).info("%s", found.group(1) if found else text)


def _relay_worker_progress() -> None:
    """Shows the workers' progress reports too (once per process)."""
    workers = logging.getLogger(_WORKER_LOGGER)
    if not any(isinstance(handler, _WorkerProgress) for handler in workers.handlers):
        workers.addHandler(_WorkerProgress(logging.INFO))
    if workers.getEffectiveLevel() > logging.INFO:
        workers.setLevel(logging.INFO)
