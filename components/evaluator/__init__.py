"""The Beam head evaluator: every head's metrics over tf.Example TFRecords, per slice.

`tfx_heads.components.evaluator.runner.evaluate` is the library entry point, taking an
`options.EvaluationOptions`; `config` resolves each model's evaluation, `transforms` holds
the PTransforms (`EvaluateHeads`) and their stages in order; `tfx-heads evaluate` is its
command line (`tfx_heads.components.evaluator.cli`). Modules are imported on use, so that
importing the package stays cheap.
"""
