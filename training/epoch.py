"""One epoch of training: its clusters first when a self-conditioned run is due to find them, then its steps,
fed by data/pipeline.py, with a progress bar (or lines, off a terminal) and a checkpoint when a stop is asked
for between calls."""

import math
import sys
import time

from output import run_files
from training import distribute
from training.stopping import Stopped


def cluster_images(training, images, number, cfg, known, run_dir, strategy):
    """Epoch `number`'s clusters, when it is due to find them (clusters.due): the cluster numbers of `images`
    in training.cluster_numbers and clusters.csv (with the data's own classes, `known`, how well they match), and
    the seconds it took (None: not due)."""
    from training import clusters
    if not clusters.due(number, cfg["train.recluster_every"], training.step):
        return None
    started = time.perf_counter()
    previous = training.cluster_numbers.numpy() if number > 1 else None
    features_of, feature_seconds = training.features_of(images), []

    def timed_features_of(*numbers_and_reduction):  # what the discriminator's passes take, against k-means
        begun = time.perf_counter()
        features = features_of(*numbers_and_reduction)
        feature_seconds.append(time.perf_counter() - begun)
        return features
    found = clusters.cluster(timed_features_of, len(images), cfg["model.clusters"], [cfg["train.seed"], number],
                             previous, axes=cfg["train.cluster_axes"])
    found = distribute.as_replica_zero_has_it(strategy, found)  # every worker trains on the chief's clusters
    training.cluster_numbers.assign(found)
    seconds = time.perf_counter() - started
    labels, names = known
    clusters.write_table(run_dir / run_files.CLUSTERS, number,
                         clusters.table_rows(number, found, cfg["model.clusters"], labels, names))
    match = clusters.diagnostics(found, cfg["model.clusters"], labels)
    print(f"{'re-clustered' if previous is not None else 'clustered'} the {len(images)} images into "
          f"{cfg['model.clusters']} clusters for epoch {number} in {seconds:.1f} s (the discriminator's features "
          f"{sum(feature_seconds):.1f} s, k-means{' with its principal axes' if cfg['train.cluster_axes'] else ''} "
          f"{seconds - sum(feature_seconds):.1f} s; largest "
          f"{clusters.shares(found, cfg['model.clusters']).max():.1%})"
          + (f"; against the data's own classes: NMI {match['cluster_nmi']:.2f}, purity {match['cluster_purity']:.1%}"
             if match else ""), flush=True)
    return seconds


def run_epoch(training, images, labels, number, cfg, strategy, stop, epoch_started, cluster_seconds):
    """Train epoch `number` (from the step a mid-epoch checkpoint stopped at) and return its row: the mean of
    each statistic over its steps. A stop request saves a checkpoint after the call under way, with the time the
    epoch has taken since `epoch_started` (perf_counter) and `cluster_seconds`."""
    import keras

    from data import pipeline
    from output import progress
    from record import columns
    started = time.perf_counter() - float(training.spent[1])  # a resumed epoch's steps before the stop count
    steps_per_epoch = math.ceil(len(images) / cfg["train.batch_size"])
    done = training.step  # counted in Python: reading a variable every step would wait for the device
    if sys.stdout.isatty():
        bar = keras.utils.Progbar(steps_per_epoch)
        bar.update(done)  # at once, not after the first call's steps
    else:  # a log file, nohup, a cluster job: a plain line after the first call, then every 10 s
        lines = progress.Progress(f"training epoch {number}/{cfg['train.epochs']}", len(images))
        bar = None

    def batches(context=None):
        """The epoch's batches, from the step a mid-epoch checkpoint stopped at: each epoch's order is seeded by
        (seed, its number), so a resumed run skips exactly the batches already seen. With several devices,
        `context` says which of them this worker feeds: it reads their parts of each batch only."""
        replicas = context.num_replicas_in_sync if context else 1
        here = replicas // context.num_input_pipelines if context else 1
        first = context.input_pipeline_id * here if context else 0
        return pipeline.epoch_batches(images, labels, cfg["train.batch_size"], cfg["train.seed"], number,
                                      cfg["model.noise_dim"], cfg["data.shuffle_buffer"], skip=done, parts=replicas,
                                      mine=tuple(range(first, first + here)))
    iterator = iter(batches() if strategy.num_replicas_in_sync == 1
                    else strategy.distribute_datasets_from_function(batches))
    last_batch = len(images) - (steps_per_epoch - 1) * cfg["train.batch_size"]

    def batch_size(step):  # on one device, so each step runs with its batch's static size
        if strategy.num_replicas_in_sync > 1:
            return None
        return last_batch if step == steps_per_epoch - 1 else cfg["train.batch_size"]
    while done < steps_per_epoch:
        count = min(cfg["train.steps_per_call"], steps_per_epoch - done)
        training.train_steps(iterator, done, count, batch_size)
        done += count
        if bar and stop.signal_number is None:  # a stop's message has begun a new line
            bar.update(done)
        elif bar is None and done < steps_per_epoch:  # the epoch's own line follows its last step
            lines.show(min(done * cfg["train.batch_size"], len(images)))
        if stop.signal_number is not None:
            # Saving is collective across workers: one stopped alone would wait for the others forever.
            if cfg["train.distribute"] != "multi_worker":
                training.step_counter.assign(done)
                now = time.perf_counter()
                training.spent.assign([now - epoch_started, now - started,
                                       math.nan if cluster_seconds is None else cluster_seconds])
                training.save()
            raise Stopped(stop.signal_number, training.last_checkpoint)
    row = {"epoch": number, **dict(zip(columns.TRAINING_NAMES, (training.step_sums / done).numpy().tolist()))}
    # the mean over the steps that measured it
    row["gen_grad_norm"] *= done / math.ceil(done / training.gradient_norm_every)
    row["train_seconds"] = time.perf_counter() - started  # the steps (and their statistics, read here)
    if training.strength:
        row["augment_probability"] = float(training.strength.probability.numpy())  # at the epoch's end
    return row
