"""The Chicago taxi trips sample and the labels derived from it.

The data is the 15,002-trip CSV that ships inside the `tfx` package
(`tfx/examples/chicago_taxi_pipeline/data/simple/data.csv`). Every label comes from real
fields of the trip:

| label key | head | derivation |
|---|---|---|
| `big_tipper` | BinaryClassHead | 1 when `tips > 0.2 * fare`, else 0 |
| `payment_type` | MultiClassHead | the `payment_type` string, with `PAYMENT_TYPES` as vocabulary |
| `log_trip_seconds` | RegressionHead | `log1p(trip_seconds)` (missing seconds: 0) |
| `trip_tags` | MultiLabelHead | the `TRIP_TAGS` that hold (a list of strings, maybe empty) |

Trip tags: `airport` when the pickup or drop-off community area is O'Hare (76) or Midway (56);
`long` when `trip_miles >= 10`; `night` when the trip starts at 22:00-05:59; `weekend` when
it starts on a Saturday or Sunday (`trip_start_day` 7 or 1; the data counts days from Sunday).

The model's inputs are the remaining fields (`NUMERIC_FEATURES`, `CATEGORICAL_FEATURES`);
`tips`, `payment_type` and `trip_seconds` are excluded because labels are derived from them.
The tags are derived from input fields on purpose: they are easy to learn, which makes the
multi-label head's metrics a useful sanity check.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

PAYMENT_TYPES = ("Cash", "Credit Card", "No Charge", "Unknown", "Dispute", "Pcard", "Prcard")
TRIP_TAGS = ("airport", "long", "night", "weekend")
AIRPORT_COMMUNITY_AREAS = (76, 56)

NUMERIC_FEATURES = (
    "fare",
    "trip_miles",
    "trip_start_hour",
    "trip_start_day",
    "trip_start_month",
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
)
CATEGORICAL_FEATURES = ("pickup_community_area", "dropoff_community_area", "company")
INTEGER_FEATURES = ("trip_start_hour", "trip_start_day", "trip_start_month")
"""Numeric features written as int64 in tf.Examples (the model reads them as floats)."""
LABEL_KEYS = {
    "big_tipper": "big_tipper",
    "payment_type": "payment_type",
    "trip_seconds": "log_trip_seconds",
    "trip_tags": "trip_tags",
}
"""Head name to the label feature it reads."""


def sample_csv_path() -> str:
    """Path of the taxi CSV inside the installed `tfx` package."""
    import tfx

    path = os.path.join(
        os.path.dirname(tfx.__file__),
        "examples",
        "chicago_taxi_pipeline",
        "data",
        "simple",
        "data.csv",
    )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The taxi sample is missing: expected {path} in the installed tfx package."
        )
    return path


def load_trips(csv_path: str | None = None) -> pd.DataFrame:
    """Reads the trips CSV and adds the derived label columns.

    Missing numeric values become 0 and missing strings the empty string, so every row is
    kept.

    Returns:
        One row per trip: the input features, `big_tipper` (int64), `payment_type` (str),
        `log_trip_seconds` (float32) and `trip_tags` (tuple of str).
    """
    trips = pd.read_csv(csv_path or sample_csv_path())
    unknown = sorted(set(trips["payment_type"]) - set(PAYMENT_TYPES))
    if unknown:
        raise ValueError(
            f"Invalid payment_type values {unknown}: expected one of {list(PAYMENT_TYPES)}."
        )
    for column in ("pickup_community_area", "dropoff_community_area"):
        trips[column] = trips[column].fillna(-1).astype(np.int64).astype(str)
    trips["company"] = trips["company"].fillna("")
    numeric = list(NUMERIC_FEATURES) + ["tips", "trip_seconds"]
    trips[numeric] = trips[numeric].fillna(0.0).astype(np.float32)

    trips["big_tipper"] = (trips["tips"] > 0.2 * trips["fare"]).astype(np.int64)
    trips["log_trip_seconds"] = np.log1p(trips["trip_seconds"]).astype(np.float32)
    is_tagged = np.stack(
        [
            trips["pickup_community_area"].isin([str(a) for a in AIRPORT_COMMUNITY_AREAS])
            | trips["dropoff_community_area"].isin([str(a) for a in AIRPORT_COMMUNITY_AREAS]),
            trips["trip_miles"] >= 10,
            (trips["trip_start_hour"] >= 22) | (trips["trip_start_hour"] < 6),
            trips["trip_start_day"].isin([1, 7]),
        ],
        axis=1,
    )
    tag_names = np.array(TRIP_TAGS)
    trips["trip_tags"] = [tuple(tag_names[row]) for row in is_tagged]
    return trips


def multi_hot(tag_lists, vocabulary=TRIP_TAGS) -> np.ndarray:
    """int64 `[len(tag_lists), len(vocabulary)]` indicator of each row's tags."""
    index = {tag: i for i, tag in enumerate(vocabulary)}
    out = np.zeros((len(tag_lists), len(vocabulary)), dtype=np.int64)
    for row, tags in enumerate(tag_lists):
        out[row, [index[tag] for tag in tags]] = 1
    return out


def features_and_labels(trips: pd.DataFrame) -> tuple[dict, dict]:
    """In-memory features and labels of `trips` for `heads.HeadModel.fit` (no TFX).

    Returns:
        `(features, labels)`: every input feature as `[N, 1]` (float32, or str for the
        categorical ones), and per head name its labels: `[N, 1]`, or int64 `[N, 4]`
        multi-hot for `trip_tags`.
    """
    features = {
        name: trips[name].to_numpy().astype(np.float32).reshape(-1, 1) for name in NUMERIC_FEATURES
    }
    features.update(
        {name: trips[name].to_numpy().astype(str).reshape(-1, 1) for name in CATEGORICAL_FEATURES}
    )
    labels = {
        "big_tipper": trips["big_tipper"].to_numpy().reshape(-1, 1),
        "payment_type": trips["payment_type"].to_numpy().astype(str).reshape(-1, 1),
        "trip_seconds": trips["log_trip_seconds"].to_numpy().reshape(-1, 1),
        "trip_tags": multi_hot(trips["trip_tags"]),
    }
    return features, labels


def feature_spec() -> dict:
    """The `tf.io.parse_example` spec of the model's input features in the sample's examples."""
    import tensorflow as tf

    spec = {
        name: tf.io.FixedLenFeature([1], tf.int64 if name in INTEGER_FEATURES else tf.float32)
        for name in NUMERIC_FEATURES
    }
    spec.update({name: tf.io.FixedLenFeature([1], tf.string) for name in CATEGORICAL_FEATURES})
    return spec


def to_tf_examples(trips: pd.DataFrame) -> list[bytes]:
    """Serialized `tf.Example`s of `trips`: its input features and its labels.

    Numeric features (int64 for `INTEGER_FEATURES`) and `log_trip_seconds` are lists of one
    value, categorical features and `payment_type` byte lists of one value, `big_tipper` an
    int64 list of one value and `trip_tags` a byte list of 0 to 4 tag names.
    """
    import tensorflow as tf

    def floats(values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    def strings(values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))

    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    columns = {name: trips[name].tolist() for name in trips.columns}
    serialized = []
    for i in range(len(trips)):
        feature = {
            name: ints([int(columns[name][i])])
            if name in INTEGER_FEATURES
            else floats([columns[name][i]])
            for name in NUMERIC_FEATURES
        }
        feature.update({name: strings([columns[name][i]]) for name in CATEGORICAL_FEATURES})
        feature["big_tipper"] = ints([columns["big_tipper"][i]])
        feature["payment_type"] = strings([columns["payment_type"][i]])
        feature["log_trip_seconds"] = floats([columns["log_trip_seconds"][i]])
        feature["trip_tags"] = strings(columns["trip_tags"][i])
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        serialized.append(example.SerializeToString())
    return serialized


def write_tfrecords(trips: pd.DataFrame, path: str) -> str:
    """Writes `trips` as a gzipped TFRecord file of `tf.Example`s; returns `path`."""
    import tensorflow as tf

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in to_tf_examples(trips):
            writer.write(record)
    return path
