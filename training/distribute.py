"""Where training runs: one device, several GPUs of one machine, or several machines (tf.distribute).

The choice (train.distribute) is read here, and TF_CONFIG checked, before TensorFlow loads, so a
malformed cluster description fails in milliseconds with one line. Only the chief worker writes the
run's files; other workers write their (required) checkpoint copies to a scratch folder.
"""

import json
import os

from settings.schema import ConfigError


def cluster():
    """TF_CONFIG as a dict, or None when unset; a ConfigError when it is not what TensorFlow expects."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        spec = json.loads(text)
        workers = spec["cluster"]["worker"]
        task_type, task_index = spec["task"]["type"], int(spec["task"]["index"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError('TF_CONFIG is not valid: expected JSON like {"cluster": {"worker": ["host1:port", '
                          '"host2:port"]}, "task": {"type": "worker", "index": 0}}; see README') from None
    if task_type not in spec["cluster"] or not 0 <= task_index < len(spec["cluster"][task_type]):
        raise ConfigError(f"TF_CONFIG's task {task_type} {task_index} is not in its cluster {sorted(spec['cluster'])} "
                          f"of {len(workers)} workers; fix task.type or task.index")
    return spec


def check(cfg):
    """Mistakes in the distribution settings, found before TensorFlow starts."""
    if cfg["train.distribute"] == "multi_worker" and cluster() is None:
        raise ConfigError("train.distribute=multi_worker needs the TF_CONFIG environment variable on every worker "
                          "(the cluster's addresses and this worker's place in it; see README); to train on this "
                          "machine alone, set train.distribute=auto")
    if cfg["train.distribute"] == "multi_worker" and cfg["train.seed"] is None:
        raise ConfigError("train.seed must be set for multi_worker: every worker shuffles and draws noise from it, "
                          "and each would pick its own; set train.seed=0 (or any number) on all workers")
    cluster()  # a malformed TF_CONFIG is an error whatever the setting: TensorFlow would read it
    if cfg["train.distribute"] == "multi_worker":
        check_replicas(cfg, replicas=2)


def check_replicas(cfg, replicas):
    """Settings that cannot run on `replicas` devices, known once the strategy is made (mirrored or auto on
    several GPUs) or before (multi_worker)."""
    if cfg["train.jit_compile"] and replicas > 1:
        # XLA compiles the step for one device; TensorFlow refuses the mirrored variables of the others.
        raise ConfigError(f"train.jit_compile cannot be combined with training on {replicas} devices "
                          f"(train.distribute={cfg['train.distribute']}): XLA compiles the step for one device; set "
                          f"train.jit_compile=false, or train.distribute=none to train on one device with XLA")
    if cfg["model.spectral_norm"] and replicas > 1:
        # Keras' SpectralNormalization assigns its normalised kernel in place within each replica's step; that
        # the replicas' copies stay identical through training is not tested, so it is not offered
        raise ConfigError(f"model.spectral_norm cannot be combined with training on {replicas} devices "
                          f"(train.distribute={cfg['train.distribute']}): it rewrites D's weights in place on "
                          f"each; set model.spectral_norm=false, or train.distribute=none")


def is_chief(cfg):
    """Whether this process writes the run's files: always, except for workers other than the chief
    (the "chief" task, or worker 0 when the cluster has none) of a multi_worker run."""
    spec = cluster() if cfg["train.distribute"] == "multi_worker" else None
    if spec is None:
        return True
    task_type, task_index = spec["task"]["type"], int(spec["task"]["index"])
    return task_type == "chief" or (task_type == "worker" and task_index == 0 and "chief" not in spec["cluster"])


def as_replica_zero_has_it(strategy, numbers):
    """`numbers` (integers, under 2**24) as replica 0 has them, on every replica and worker. Each worker of a
    multi_worker run clusters its images on its own, from features whose last bits depend on its CPU: the
    clusters of replica 0, on the chief, are the run's. On one device, `numbers` as they are."""
    if strategy.num_replicas_in_sync == 1:
        return numbers
    import numpy as np
    import tensorflow as tf

    def sum_of_replica_zeros():  # replica 0 adds its numbers, every other replica zeros
        context = tf.distribute.get_replica_context()
        mine = tf.constant(numbers, tf.float32) * tf.cast(context.replica_id_in_sync_group == 0, tf.float32)
        return context.all_reduce(tf.distribute.ReduceOp.SUM, mine)
    summed = strategy.experimental_local_results(strategy.run(tf.function(sum_of_replica_zeros)))[0]
    return np.rint(summed.numpy()).astype(numbers.dtype)


def make_strategy(choice):
    """The tf.distribute strategy for train.distribute. Must run before any other TensorFlow work:
    MultiWorkerMirroredStrategy sets up the cluster's collective ops when it is made."""
    import tensorflow as tf
    if choice == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if choice == "mirrored" or (choice == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()  # every visible GPU (or the CPU when there is none)
    return tf.distribute.get_strategy()  # the default: one device, no wrapping
