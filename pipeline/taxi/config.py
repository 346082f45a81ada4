"""The sample pipeline's evaluation settings: slices and blessing thresholds.

The thresholds are deliberately modest (the model trains for a short while on 12,000 trips);
they show each kind: absolute bounds per head and a change against the last blessed model.
"""

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
