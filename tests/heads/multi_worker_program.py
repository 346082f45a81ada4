"""One process of the multi-worker HeadModel test (run by test_keras_model_multi_worker.py).

Under a `TF_CONFIG` cluster it trains with MultiWorkerMirroredStrategy; without one it is
the single-process reference. Either way it takes one SGD step on one global batch of a
MultiHead with a weight column, evaluates, predicts, and writes the weights, metrics and
predictions to `<output_dir>/<task>.npz`.

    python tests/heads/multi_worker_program.py OUTPUT_DIR
"""

import json
import os
import sys

GLOBAL_BATCH = 32
N_FEATURES = 4


def data():
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.normal(size=(GLOBAL_BATCH, N_FEATURES)).astype(np.float32)
    features = {"x": x, "w": rng.uniform(0.5, 2.0, size=(GLOBAL_BATCH, 1)).astype(np.float32)}
    labels = {
        "bin": (x[:, :1] + rng.normal(size=(GLOBAL_BATCH, 1)) > 0).astype(np.int64),
        "kind": np.array(["a", "b", "c"])[rng.integers(0, 3, size=(GLOBAL_BATCH, 1))],
        "reg": (x[:, 1:2] * 2.0).astype(np.float32),
    }
    return features, labels


def build_model():
    import keras
    import numpy as np

    import heads

    head = heads.MultiHead(
        [
            heads.BinaryClassHead(weight_column="w", name="bin"),
            heads.MultiClassHead(
                3, weight_column="w", label_vocabulary=["a", "b", "c"], name="kind"
            ),
            heads.RegressionHead(weight_column="w", name="reg"),
        ],
        head_weights=[1.0, 0.5, 2.0],
    )
    inputs = {"x": keras.Input(shape=(N_FEATURES,), name="x")}
    hidden = keras.layers.Dense(8, activation="tanh")(inputs["x"])
    outputs = {
        name: keras.layers.Dense(units)(hidden)
        for name, units in (("bin", 1), ("kind", 3), ("reg", 1))
    }
    logits_model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    logits_model.set_weights(
        [rng.normal(size=w.shape).astype(np.float32) for w in logits_model.get_weights()]
    )
    model = heads.HeadModel(logits_model, head)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    return model


def main(output_dir: str) -> None:
    import numpy as np
    import tensorflow as tf

    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if tf_config:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        task = f"{tf_config['task']['type']}{tf_config['task']['index']}"
    else:
        strategy = tf.distribute.get_strategy()
        task = "single"
    with strategy.scope():
        model = build_model()
    features, labels = data()
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(GLOBAL_BATCH)
    model.fit(dataset, epochs=1, verbose=0)
    metrics = model.evaluate(dataset.unbatch().batch(8), return_dict=True, verbose=0)
    predictions = model.predict(features, batch_size=8, verbose=0)
    np.savez(
        os.path.join(output_dir, f"{task}.npz"),
        weights=np.concatenate([w.ravel() for w in model.logits_model.get_weights()]),
        metrics=json.dumps({key: float(value) for key, value in metrics.items()}),
        predictions=json.dumps(
            {"/".join(key): np.asarray(value).tolist() for key, value in predictions.items()},
            default=lambda b: b.decode(),
        ),
    )


if __name__ == "__main__":
    main(sys.argv[1])
