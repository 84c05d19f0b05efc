"""tf.distribute: N replicas learn what one device learns; two worker processes train one run."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from settings import config
from training import distribute
from settings.schema import ConfigError
from conftest import ROOT, TINY, checkpoint_epoch, run_train

# Run in a fresh process: logical devices must be set before TensorFlow starts, and pytest's has.
MIRRORED_VS_ONE_DEVICE = """
import json
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import models
from settings import config
from training import gan
from data import pipeline, sources

images, labels = sources.load_sample()[:96, ..., None], sources.load_sample_labels()[:96]

def statistics(cfg, strategy, weights=None):
    with strategy.scope():
        generator, discriminator = models.from_config(cfg, synchronized=strategy.num_replicas_in_sync > 1,
                                                      class_names=sources.DIGITS)
        if weights:
            generator.set_weights(weights[0])
            discriminator.set_weights(weights[1])
        start = generator.get_weights(), discriminator.get_weights()
        # SGD, not Adam: its update is proportional to the gradient, so a gradient of the wrong size shows in the next
        # step's losses (Adam would normalise it away).
        step = gan.make_train_step(generator, discriminator, keras.optimizers.SGD(0.05),
                                   keras.optimizers.SGD(0.05), strategy=strategy,
                                   num_classes=10 if cfg["model.conditional"] else 0)
    replicas = strategy.num_replicas_in_sync
    # as train.py feeds the replicas: each batch cut into one consecutive piece per replica
    batches = strategy.distribute_datasets_from_function(lambda context: pipeline.epoch_batches(
        images, labels if cfg["model.conditional"] else None, 32, seed=1, epoch=1, noise_dim=100, parts=replicas,
        mine=tuple(range(replicas))))
    rows = [{k: float(v) for k, v in step(b).items()} for b in batches]
    return rows, start, strategy.num_replicas_in_sync

found = {}
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one: two would number their all-reduces alike
TINY = json.loads(sys.argv[1])
for conditional in ("false", "true"):  # dropout draws its masks per replica: not comparable
    cfg = config.load(overrides=["model.dropout=0", f"model.conditional={conditional}", *TINY])
    one, start, _ = statistics(cfg, tf.distribute.get_strategy())
    two, _, replicas = statistics(cfg, mirrored, start)
    found[conditional] = {"one": one, "two": two, "replicas": replicas}
import numpy as np
from training import distribute
found["shared"] = distribute.as_replica_zero_has_it(mirrored, np.array([3, 0, 7, 1], np.int32)).tolist()
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def mirrored_runs():
    """The statistics of 3 steps on one device and on two, for the tutorial's models and conditional ones (the
    projection discriminator), from one fresh process."""
    result = subprocess.run([sys.executable, "-c", MIRRORED_VS_ONE_DEVICE, json.dumps(TINY)], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("conditional", ["false", "true"])
def test_mirrored_over_two_devices_gives_the_losses_of_one_device(conditional, mirrored_runs):
    found = mirrored_runs[conditional]
    assert found["replicas"] == 2
    names = list(found["one"][0])
    one, two = (np.array([[row[name] for name in names] for row in found[run]]) for run in ("one", "two"))
    # 3 steps of 32 images, 16 per replica. The first starts from the same weights: losses and balance statistics
    # agree to float rounding (<= 1.3e-5 relative seen), the generator's gradient norm, a sum over every weight of
    # both halves' gradients, to 4.1e-4 on one CPU kind. Without batch norm synchronised over the replicas the losses
    # differ by ~1e-3 and the gradient norm by ~2e-2; with a per-replica mean, by 2x.
    norm = names.index("gen_grad_norm")
    rest = [i for i in range(len(names)) if i != norm]
    np.testing.assert_allclose(two[0, rest], one[0, rest], rtol=3e-4, atol=1e-6)
    np.testing.assert_allclose(two[0, norm], one[0, norm], rtol=2e-3)
    # Later steps start from weights each run updated itself. Adding the replicas' halves in another order rounds
    # differently, and GAN steps amplify that: up to 2.2e-4 relative after 3 steps in 24 runs on the 2-core AMD EPYC
    # machine, so compare at 2e-3, ten times that. An update of the wrong size (the replicas' mean gradient instead
    # of their sum) is off by 3-15%.
    # The accuracies are left out: a logit within rounding of 0 may flip, moving them by 1/32.
    continuous = [i for i, name in enumerate(names) if not name.endswith("_accuracy")]
    np.testing.assert_allclose(two[1:, continuous], one[1:, continuous], rtol=2e-3)


@pytest.mark.slow
def test_every_replica_gets_replica_zeros_clusters_once_not_summed(mirrored_runs):
    assert mirrored_runs["shared"] == [3, 0, 7, 1]  # the other replica added zeros, not its own numbers


def test_xla_is_refused_on_several_devices_and_allowed_on_one():
    cfg = config.load(overrides=["train.jit_compile=true", "train.distribute=mirrored"])
    with pytest.raises(ConfigError, match="train.jit_compile cannot be combined with training on 2 devices"):
        distribute.check_replicas(cfg, replicas=2)  # XLA's step cannot reach the other device's variables
    distribute.check_replicas(cfg, replicas=1)
    normalised = config.load(overrides=["model.spectral_norm=true", "train.distribute=mirrored"])
    with pytest.raises(ConfigError, match="model.spectral_norm cannot be combined with training on 2 devices"):
        distribute.check_replicas(normalised, replicas=2)  # it rewrites D's mirrored weights in place
    distribute.check_replicas(normalised, replicas=1)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_worker_processes_train_one_run_only_the_chief_writes_and_it_resumes_on_one_machine(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # self-conditioned, clustering before each epoch: every worker must train on the chief's clusters
    args = [sys.executable, str(ROOT / "train.py"), *TINY, "train.distribute=multi_worker", "data.dataset=mnist_sample",
            "data.limit=256", "train.batch_size=64", "train.epochs=2", "eval.every=0", "model.clusters=4",
            "train.recluster_every=1", f"output.dir={tmp_path / 'runs'}", "output.run_name=cluster"]
    processes = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(scratch), TF_CONFIG=json.dumps(
                                      {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})))
                 for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    epochs = [[line for line in out.splitlines() if line.startswith("epoch ")] for out, _ in outputs]
    assert len(epochs[0]) == 2 and [l.split()[3:] for l in epochs[0]] == [l.split()[3:] for l in epochs[1]]
    clustered = [[line.split(" in ")[0] + line.split("; largest")[1] for line in out.splitlines() if "clustered the" in line]
                 for out, _ in outputs]  # without the seconds
    assert len(clustered[0]) == 2 and clustered[0] == clustered[1]  # the same clusters, sizes and NMI
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["cluster"]  # the chief's run, nothing else
    assert not list(scratch.iterdir())  # worker 1 removed its scratch checkpoints
    run = tmp_path / "runs" / "cluster"
    assert (run / "generator.keras").is_file() and len(list((run / "images").glob("epoch_*.png"))) == 2
    assert checkpoint_epoch(run) == 2

    resumed = run_train("--resume", run, "train.epochs=3", "train.distribute=none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout and "epoch 3/3" in resumed.stdout
    assert checkpoint_epoch(run) == 3


@pytest.mark.slow
def test_multi_worker_without_or_with_a_broken_tf_config_or_seed_is_one_line(tmp_path, monkeypatch):
    result = run_train("train.distribute=multi_worker", f"output.dir={tmp_path}")
    assert result.returncode == 2 and "needs the TF_CONFIG environment variable" in result.stderr
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}')
    result = run_train("train.distribute=multi_worker", f"output.dir={tmp_path}")
    assert result.returncode == 2 and "task worker 3 is not in its cluster" in result.stderr
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}')
    result = run_train("train.distribute=multi_worker", "train.seed=", f"output.dir={tmp_path}")
    assert result.returncode == 2 and "train.seed must be set for multi_worker" in result.stderr
    result = run_train("train.distribute=multi_worker", "train.jit_compile=true", f"output.dir={tmp_path}")
    assert result.returncode == 2 and "train.jit_compile cannot be combined with training on 2 devices" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_one_device_checkpoint_resumes_under_mirrored_strategy(tmp_path, small_run_args):
    assert run_train(*small_run_args, "train.epochs=1", "eval.every=0", "train.distribute=none",
                     "output.run_name=r").returncode == 0
    # On a machine without GPUs MirroredStrategy has one replica, but mirrored variables all the same.
    resumed = run_train("--resume", tmp_path / "r", "train.epochs=2", "train.distribute=mirrored")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "epoch 2/2" in resumed.stdout and checkpoint_epoch(tmp_path / "r") == 2
