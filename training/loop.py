"""The training loop: one run from its settings to its trained generator, in the sections StyleGAN's loop has
(start TensorFlow, resume from a checkpoint, load the training set, construct the networks, train epoch by
epoch, save). Each epoch draws a grid from one fixed noise batch, adds it to progress.gif, scores quality and
the networks' balance (metrics.csv, metrics.png, TensorBoard, warnings) and saves a checkpoint; a stop request
saves one after the steps under way, and a resume continues exactly. train.py is its command line."""

import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from output import atomic, run_files
from quality import interval
from settings import schema
from settings.schema import ConfigError
from training import distribute, tflog
from training.stopping import Stopped, TrainingDiverged


GRID_ROWS = 10  # a conditional grid shows at most this many classes, one per row


def grid_classes(count):
    """The classes a conditional grid shows, one per row: all of them, or GRID_ROWS spread evenly."""
    if count <= GRID_ROWS:
        return list(range(count))
    return [round(k * (count - 1) / (GRID_ROWS - 1)) for k in range(GRID_ROWS)]


def check_classes(run_dir, class_names):
    """A resumed conditional run must see the classes its models were built for (a folder may have changed)."""
    from record import generator_files
    saved = generator_files.run_class_names(run_dir)
    if saved != class_names:
        raise ConfigError(f"the classes found now ({', '.join(class_names[:5])}{', ...' if len(class_names) > 5 else ''}"
                          f"; {len(class_names)}) are not the {len(saved)} the run was built for "
                          f"({run_dir / generator_files.CLASSES_FILE}); restore the data's class subfolders, or start a new run")


def create_run_dir(run_dir):
    try:
        (run_dir / run_files.IMAGES).mkdir(parents=True)
    except FileExistsError:
        raise ConfigError(f"{run_dir} already exists; choose another output.run_name") from None
    except OSError as e:
        raise ConfigError(f"cannot create {run_dir}: {e.strerror}; set output.dir to a writable folder") from None


def draw_checked(row, training, grid_inputs, epoch, run_dir):
    """The epoch's grid, drawn by the run's sampler from `grid_inputs` (state.TrainingState.grid_inputs), once the
    epoch's losses and what the networks now compute are known to be finite."""
    import numpy as np
    samples, finite = training.draw(grid_inputs)
    if finite and np.isfinite(row["gen_loss"]) and np.isfinite(row["disc_loss"]):
        return samples
    if training.last_checkpoint is None:
        then = ("No checkpoint was saved before it: start again with lower train.generator_lr and "
                "train.discriminator_lr")
    else:
        then = (f"The last good checkpoint is from {training.last_checkpoint}: lower the learning rates and continue "
                f"with python train.py --resume {run_dir} train.generator_lr=... train.discriminator_lr=...")
    raise TrainingDiverged(
        f"training diverged in epoch {epoch}: losses {row['gen_loss']:.4g} (generator) and {row['disc_loss']:.4g} "
        f"(discriminator), outputs no longer finite; stopped without saving the epoch. {then}")


def summary(row, epochs):
    from record import columns
    return f"epoch {row['epoch']}/{epochs}  {row['seconds']:.1f}s" + columns.in_line(row)


def start_tensorflow(cfg):
    """TensorFlow's device settings for the run, and its tf.distribute strategy."""
    import tensorflow as tf
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)  # take GPU memory as needed, not all of it at once
    if cfg["train.deterministic"]:
        tf.config.experimental.enable_op_determinism()
    strategy = distribute.make_strategy(cfg["train.distribute"])
    distribute.check_replicas(cfg, strategy.num_replicas_in_sync)
    return strategy


def load_training_data(run):
    """The run's settings with what it finds out for the ones left to it (the images' shape, the dataset really
    used, the evaluation interval, the seed, the features that score it: saved in found.yaml); the training images, their labels and class
    names for a conditional run (else None and []; a self-conditioned run's classes are its clusters, its labels
    come later)."""
    from data import sources
    from training import clusters
    real_images, labels, dataset_used = sources.load_images(run, warn=lambda message: print(message, file=sys.stderr))
    found = {key: int(real_images.shape[axis]) for key, axis in (("data.image_size", 1), ("data.channels", 3))
             if run[key] is None}  # the data's own
    if dataset_used != run["data.dataset"]:  # what was really used
        found.update({"data.dataset": dataset_used, "data.path": None})
    if run["eval.every"] is None:  # its default depends on what scoring costs against an epoch of these images
        found["eval.every"] = interval.evaluation_interval(run["eval.features"], run["eval.num_samples"],
                                                           len(real_images))
    if run["train.seed"] is None:
        found["train.seed"] = random.SystemRandom().randrange(2**31)  # recorded, so the run can be repeated
    if run["eval.features"] == "auto":  # the classifier where the data has labels, else a random network's
        from quality import evaluators
        found["eval.features"] = evaluators.features_for(run.finding(found))
    run = run.finding(found)
    schema.check_combination(run)  # again, now that a folder's image size is known
    class_names = sources.class_names(run) if run["model.conditional"] else []
    if run["model.clusters"]:
        clustered = min(len(real_images), clusters.SAMPLE)  # k-means runs on at most a sample of the images
        if run["model.clusters"] > clustered:
            raise ConfigError(f"model.clusters={run['model.clusters']} is more clusters than the {clustered} images "
                              f"k-means runs on; choose at most {clustered} (a few per family of images)")
        class_names = clusters.names(run["model.clusters"])
    if run.resuming and class_names:
        check_classes(run.directory, class_names)
    return run, real_images, labels, class_names


def prepare_run_dir(run, class_names):
    """The directory this process writes to: the run's (new, or cleaned of files a kill left half-written),
    or for a worker other than the chief a scratch folder: every worker takes part in saving checkpoints,
    but the chief alone writes the run's files and scores quality."""
    from record import generator_files
    run_dir = run.directory
    if not distribute.is_chief(run):
        scratch = Path(tempfile.mkdtemp(prefix="dcgan-worker-"))
        (scratch / run_files.IMAGES).mkdir()
        return scratch
    if run.resuming:
        for stale in atomic.stale(run_dir):  # being written when the run was killed: never renamed in
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        (run_dir / run_files.IMAGES).mkdir(exist_ok=True)
    else:
        create_run_dir(run_dir)
        if class_names:
            generator_files.write_run_class_names(run_dir, class_names)
    return run_dir


def train(run, stop):
    """Train the run `run` describes (settings.run.RunSettings) epoch by epoch, writing its files; a request in
    `stop` (stopping.StopRequests) ends it at a step's end."""
    # Start TensorFlow. Its C++ log, errors included (a real one raises in Python): its start-up lines and a
    # harmless grappler "remapper failed" line looked like crashes. A few lines print before the level is read.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(f"{'resuming' if run.resuming else 'starting'} {run.directory}: loading TensorFlow", flush=True)
    with tflog.start_up_lines_hidden():
        from data import sources
        from quality import evaluators
        from training import checkpoint, clusters, epoch, epoch_files, state
        strategy = start_tensorflow(run)

    # Find where a resumed run stopped. One stopped before its first checkpoint (killed just after its first
    # epoch's row, say) starts again from its first step with its saved settings: the same seed trains the same.
    checkpoints, restored_epoch = [], 0
    if run.resuming and run_files.has_checkpoint(run.directory):
        checkpoints, restored_epoch, _ = checkpoint.to_resume(run.directory, run, run.resumed)
        if restored_epoch >= run["train.epochs"] and run_files.is_finished(run.directory, run["train.ema_decay"]):
            print(f"{run.directory} is finished: it trained all {restored_epoch} of its epochs. To train it longer: "
                  f"python train.py --resume {run.directory} train.epochs=N, with N above {restored_epoch}")
            return

    # Load the training set, and find out what the settings leave to it.
    run, real_images, labels, class_names = load_training_data(run)
    known = sources.known_classes(run) if run["model.clusters"] else (None, [])  # to measure the clusters, no more
    if checkpoints and run["model.clusters"]:
        checkpoint.check_clustered_count(checkpoints[-1], len(real_images))

    # Load the evaluator, then make the run's folder: a classifier trained first (eval.classifier=auto) or a
    # weights file that will not load does not leave a half-begun run.
    chief = distribute.is_chief(run)
    evaluator = evaluators.for_run(run, real_images, class_names if run["model.conditional"] else ()) if chief else None
    if evaluator and run["eval.evaluator_id"] is None:  # recorded: a resume, and compare.py, tell evaluators apart
        run = run.finding({"eval.evaluator_id": evaluator.reference.evaluator_id})
    run_dir = prepare_run_dir(run, class_names)
    if not run.resuming:  # at once: a run killed from here on resumes with these settings
        run.save(run_dir)

    # Construct the networks, or restore them.
    training = state.TrainingState(run, strategy, class_names, run_dir / run_files.CHECKPOINTS, len(real_images))
    if checkpoints:
        training.restore(checkpoints, run)
        where = f", {training.step} steps into epoch {training.epoch + 1}" if training.step else ""
        print(f"resuming {run_dir} after epoch {training.epoch}{where}")
    elif run.resuming:
        print(f"resuming {run_dir} from its first step: it stopped before its first checkpoint")
    if run.resuming:
        run.save(run_dir)  # once the checkpoint has restored: a refused resume keeps the old

    # Show the real images as the network gets them, and choose the grids' rows.
    shown_classes = grid_classes(len(class_names))
    if len(shown_classes) < len(class_names):
        print(f"note: the epoch grids show {len(shown_classes)} of the {len(class_names)} classes, one per row: "
              f"{', '.join(class_names[k] for k in shown_classes)}")
    grid_inputs = training.grid_inputs(shown_classes)
    if chief:
        epoch_files.save_reals(real_images, run, run_dir, grid_inputs[0].shape[0] if class_names else grid_inputs.shape[0])
    steps_per_epoch = math.ceil(len(real_images) / run["train.batch_size"])
    if run["train.batch_size"] > len(real_images):
        print(f"note: train.batch_size={run['train.batch_size']} is more than the {len(real_images)} training images: "
              f"each epoch is one step on all of them; a smaller batch takes more steps an epoch", flush=True)

    # Train, epoch by epoch.
    with epoch_files.EpochRecord(run, run_dir, training, class_names, evaluator) as epoch_record:
        print(f"training on {len(real_images)} {run['data.dataset']} images, {steps_per_epoch} "
              f"step{'s' if steps_per_epoch > 1 else ''} per epoch, writing to {run_dir}", flush=True)
        if stop.signal_number is not None:  # asked during start-up: no step taken, nothing new to save
            raise Stopped(stop.signal_number, training.last_checkpoint)
        epochs = run["train.epochs"]
        for number in range(training.epoch + 1, epochs + 1):
            # an epoch resumed mid-way counts the time it had taken before its stop (state.SPENT)
            spent = dict(zip(state.SPENT, training.spent.numpy().tolist()))
            started = time.perf_counter() - spent["seconds"]
            training.set_schedules(run, number)
            cluster_seconds = None
            if run["model.clusters"]:
                cluster_seconds = epoch.cluster_images(training, real_images, number, run, known, run_dir, strategy)
                if cluster_seconds is None and not math.isnan(spent["cluster_seconds"]) and training.step:
                    cluster_seconds = spent["cluster_seconds"]
                labels = training.cluster_numbers.numpy()
            row = epoch.run_epoch(training, real_images, labels, number, run, strategy, stop, started, cluster_seconds)
            if run["model.clusters"]:
                row.update(cluster_seconds=cluster_seconds, **clusters.diagnostics(labels, len(class_names), known[0]))
            samples = draw_checked(row, training, grid_inputs, number, run_dir)
            training.end_epoch(number)
            warnings = epoch_record.add(row, samples, started, training.cluster_shares())
            # The checkpoint comes after the epoch's grid and row: a run killed before it redoes this epoch,
            # and drops its row on resume.
            if number % run["output.checkpoint_every"] == 0 or number == epochs:
                training.save(wait=number == epochs)  # written while the next epoch trains
            print(summary(row, epochs), flush=True)
            for warning in warnings:
                print(f"warning: epoch {number}: {warning}", flush=True)

    # Save the trained generators (the chief's; another worker's scratch folder goes).
    if not chief:
        shutil.rmtree(run_dir)
        return
    shares = training.cluster_shares()
    epoch_files.save_generator(training.generator, run_dir / run_files.GENERATOR, class_names, shares)
    if training.average_generator:
        epoch_files.save_generator(training.average_generator, run_dir / run_files.AVERAGED_GENERATOR, class_names, shares)
    final = run_files.AVERAGED_GENERATOR if training.average_generator else run_files.GENERATOR
    print(f"done: {run_dir / final}, {run_dir / run_files.GIF}, {run_dir / run_files.PLOT}")
