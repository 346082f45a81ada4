"""The sample pipeline's evaluation settings: slices and blessing thresholds.

The thresholds are deliberately modest (the model trains for a short while on 12,000 trips);
they show each kind: absolute bounds per head and a change against the last blessed model.
`eval_config()` gives them as the `tfma.EvalConfig` the pipeline's evaluator takes (the form
TFX's own Evaluator takes); `SLICES` and `THRESHOLDS` are the same in the evaluator's dict
form.
"""

from __future__ import annotations

from typing import Any

PIPELINE_NAME = "tfx-heads-taxi"
"""The sample pipeline's name (the local runner's and the compiled Kubeflow job's)."""

SLICES = (("trip_start_day",), ("trip_start_hour",))

THRESHOLDS = (
    {"metric": "auc/big_tipper", "lower_bound": 0.5},
    {"metric": "accuracy/payment_type", "lower_bound": 0.5},
    {"metric": "average_loss/trip_seconds", "upper_bound": 4.0},
    {"metric": "auc/trip_tags", "lower_bound": 0.5},
    # Against the last blessed model (ignored on the first run, when there is none).
    {"metric": "average_loss/big_tipper", "max_increase": 0.05},
)


def eval_config() -> Any:
    """`SLICES` and `THRESHOLDS` as a `tfma.EvalConfig`: thresholds by head metric key, on
    the overall slice (a per-slice threshold with an empty slicing spec), as TFX's
    Evaluator takes them (the stock Evaluator computes these keys with
    `tfma_metric.head_metrics_spec` added to `metrics_specs`)."""
    from tensorflow_model_analysis.proto import config_pb2

    def overall(**threshold: Any) -> config_pb2.PerSliceMetricThresholds:
        return config_pb2.PerSliceMetricThresholds(
            thresholds=[
                config_pb2.PerSliceMetricThreshold(
                    slicing_specs=[config_pb2.SlicingSpec()],
                    threshold=config_pb2.MetricThreshold(**threshold),
                )
            ]
        )

    def value(**bounds: float) -> dict[str, Any]:
        return {"value_threshold": {k: {"value": v} for k, v in bounds.items()}}

    lower = config_pb2.MetricDirection.LOWER_IS_BETTER
    return config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(name="candidate", signature_name="predict"),
            config_pb2.ModelSpec(name="baseline", signature_name="predict", is_baseline=True),
        ],
        slicing_specs=[config_pb2.SlicingSpec()]
        + [config_pb2.SlicingSpec(feature_keys=list(features)) for features in SLICES],
        metrics_specs=[
            config_pb2.MetricsSpec(
                per_slice_thresholds={
                    "auc/big_tipper": overall(**value(lower_bound=0.5)),
                    "accuracy/payment_type": overall(**value(lower_bound=0.5)),
                    "average_loss/trip_seconds": overall(**value(upper_bound=4.0)),
                    "auc/trip_tags": overall(**value(lower_bound=0.5)),
                    # Against the last blessed model (skipped on the first run, without one).
                    "average_loss/big_tipper": overall(
                        change_threshold={"direction": lower, "absolute": {"value": 0.05}}
                    ),
                }
            )
        ],
    )
