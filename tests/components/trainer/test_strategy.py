"""Strategy selection and chief detection, from fake TF_CONFIGs and device counts."""

import json

import pytest
import tensorflow as tf

from tfx_heads.components.trainer import strategy

CHIEF_AND_WORKER = {
    "cluster": {"chief": ["host0:2222"], "worker": ["host1:2222"]},
    "task": {"type": "chief", "index": 0},
}
TWO_WORKERS = {
    "cluster": {"worker": ["host0:2222", "host1:2222"]},
    "task": {"type": "worker", "index": 1},
}
ONE_WORKER = {"cluster": {"worker": ["host0:2222"]}, "task": {"type": "worker", "index": 0}}


@pytest.mark.parametrize(
    ("tf_config", "num_gpus", "tpu", "expected"),
    [
        ({}, 0, False, "default"),
        ({}, 1, False, "default"),
        ({}, 4, False, "mirrored"),
        (CHIEF_AND_WORKER, 0, False, "multi_worker"),
        (TWO_WORKERS, 8, False, "multi_worker"),
        (ONE_WORKER, 2, False, "mirrored"),
        (ONE_WORKER, 0, False, "default"),
        (TWO_WORKERS, 0, True, "tpu"),
        ({}, 2, True, "tpu"),
    ],
)
def test_auto_picks_tpu_then_multi_worker_then_mirrored_then_default(
    tf_config, num_gpus, tpu, expected
):
    assert strategy.select_strategy("auto", tf_config, num_gpus, tpu) == expected


@pytest.mark.parametrize("name", ["mirrored", "one_device", "tpu"])
def test_explicit_names_are_kept(name):
    assert strategy.select_strategy(name, {}, 0, False) == name


def test_explicit_multi_worker_needs_a_cluster():
    assert strategy.select_strategy("multi_worker", TWO_WORKERS, 0, False) == "multi_worker"
    with pytest.raises(ValueError, match=r"expected `TF_CONFIG` to describe a cluster"):
        strategy.select_strategy("multi_worker", {}, 0, False)


def test_unknown_name_and_parameter_servers_are_rejected():
    with pytest.raises(ValueError, match=r"Invalid `strategy`: expected one of .*'mirrorred'"):
        strategy.select_strategy("mirrorred", {}, 0, False)
    with_ps = {"cluster": {"worker": ["a:1"], "ps": ["b:1"]}, "task": {"type": "worker"}}
    with pytest.raises(ValueError, match="ParameterServerStrategy is not supported"):
        strategy.select_strategy("auto", with_ps, 0, False)


@pytest.mark.parametrize(
    ("tf_config", "expected"),
    [
        ({}, True),
        ({"task": {"type": "worker", "index": 3}}, True),  # no cluster: alone
        (CHIEF_AND_WORKER, True),
        ({**CHIEF_AND_WORKER, "task": {"type": "worker", "index": 0}}, False),
        ({**TWO_WORKERS, "task": {"type": "worker", "index": 0}}, True),
        (TWO_WORKERS, False),
        ({"cluster": {"master": ["a:1"], "worker": ["b:1"]}, "task": {"type": "master"}}, True),
        ({"cluster": {"master": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker"}}, False),
        ({**CHIEF_AND_WORKER, "task": {"type": "evaluator", "index": 0}}, False),
    ],
)
def test_only_the_chief_or_the_first_worker_without_chief_is_chief(tf_config, expected):
    assert strategy.is_chief(tf_config) is expected


def test_parse_tf_config():
    assert strategy.parse_tf_config(None) == {}
    assert strategy.parse_tf_config("") == {}
    assert strategy.parse_tf_config(json.dumps(TWO_WORKERS)) == TWO_WORKERS
    with pytest.raises(ValueError, match=r"Invalid `TF_CONFIG`: expected a JSON object"):
        strategy.parse_tf_config("{not json")
    with pytest.raises(ValueError, match=r"received '\[1\]'"):
        strategy.parse_tf_config("[1]")


def test_num_training_workers_counts_chief_master_and_workers():
    assert strategy.num_training_workers({}) == 0
    assert strategy.num_training_workers(CHIEF_AND_WORKER) == 2
    assert strategy.num_training_workers(ONE_WORKER) == 1


def test_create_distribution_builds_once_per_configuration(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    one_device = strategy.create_distribution("one_device", ["/cpu:1"], None, {})
    assert isinstance(one_device.strategy, tf.distribute.OneDeviceStrategy)
    assert (one_device.kind, one_device.chief, one_device.num_workers) == ("one_device", True, 1)
    again = strategy.create_distribution("one_device", ("/cpu:1",), None, {})
    assert again.strategy is one_device.strategy
    default = strategy.create_distribution("auto", None, None, {})
    assert default.strategy is tf.distribute.get_strategy()
    assert default.kind == "default" and default.num_replicas == 1


def test_create_distribution_tells_the_role_of_this_process_from_tf_config():
    worker = strategy.create_distribution("one_device", ["/cpu:0"], None, TWO_WORKERS)
    assert (worker.kind, worker.chief, worker.num_workers) == ("one_device", False, 1)


def test_create_distribution_rejects_several_devices_for_one_device():
    with pytest.raises(ValueError, match=r"Invalid `devices`: expected one device"):
        strategy.create_distribution("one_device", ["/cpu:0", "/cpu:1"], None, {})


def test_read_tf_config_reads_the_environment(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    assert strategy.read_tf_config() == TWO_WORKERS
    monkeypatch.setenv("TF_CONFIG", "{broken")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        strategy.read_tf_config()


VERTEX_WITH_EVALUATOR = {
    "cluster": {
        "chief": ["host0:2222"],
        "worker": ["host1:2222", "host2:2222"],
        "evaluator": ["host3:2222"],
    },
    "task": {"type": "worker", "index": 1},
    "environment": "cloud",
}
LEGACY_MASTER = {
    "cluster": {"master": ["host0:2222"], "worker": ["host1:2222"]},
    "task": {"type": "master", "index": 0},
}


def test_training_cluster_leaves_out_the_evaluator():
    resolver = strategy.training_cluster(VERTEX_WITH_EVALUATOR)
    assert resolver.cluster_spec().as_dict() == {
        "chief": ["host0:2222"],
        "worker": ["host1:2222", "host2:2222"],
    }
    assert (resolver.task_type, resolver.task_id, resolver.rpc_layer) == ("worker", 1, "grpc")
    assert strategy.num_training_workers(VERTEX_WITH_EVALUATOR) == 3
    assert not strategy.is_chief(VERTEX_WITH_EVALUATOR)


def test_training_cluster_renames_the_legacy_master_to_chief():
    resolver = strategy.training_cluster(LEGACY_MASTER)
    assert resolver.cluster_spec().as_dict() == {"chief": ["host0:2222"], "worker": ["host1:2222"]}
    assert (resolver.task_type, resolver.task_id) == ("chief", 0)
    assert strategy.is_chief(LEGACY_MASTER)
    assert strategy.select_strategy("auto", LEGACY_MASTER, 0, False) == "multi_worker"


def test_training_cluster_rejects_a_task_that_does_not_train():
    evaluator = {**VERTEX_WITH_EVALUATOR, "task": {"type": "evaluator", "index": 0}}
    assert strategy.task_type(evaluator) == "evaluator"
    with pytest.raises(ValueError, match=r"expected this process's task to be one of"):
        strategy.training_cluster(evaluator)
