"""The Beam head evaluator: every head's metrics over tf.Example TFRecords, per slice.

`components.evaluator.pipeline.evaluate` is the library entry point (and `EvaluateHeads` the
PTransform); `tfx-heads evaluate` its command line (`components.evaluator.cli`). Modules are
imported on use, so that importing the package stays cheap.
"""
