"""The Beam head evaluator: every head's metrics over tf.Example TFRecords, per slice.

`tfx_heads.components.evaluator.pipeline.evaluate` is the library entry point (and `EvaluateHeads`
the PTransform); `tfx-heads evaluate` its command line (`tfx_heads.components.evaluator.cli`).
Modules are imported on use, so that importing the package stays cheap.
"""
