"""Train the TensorFlow tutorial's DCGAN on MNIST digits.

Each epoch draws a grid of digits from one fixed noise batch (images/epoch_NNNN.png), adds it to
progress.gif, scores the digits' quality and the two networks' balance (metrics.csv, metrics.png,
TensorBoard, warnings) and saves a checkpoint. Ctrl-C stops after the steps under way (one call of
train.steps_per_call steps) with a checkpoint; --resume continues any stopped or killed run
exactly. The trained generator ends in generator.keras, the settings in config.yaml (and what the
run found out for those left empty in found.yaml), all in the run directory.
"""

import datetime
import itertools
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import atomic
import config
import distribute
import tflog
from config import ConfigError
import run_files


def parse_args(argv=None):
    parser = config.argument_parser(__doc__)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML config; keys it leaves out keep their defaults (default: config.yaml)")
    parser.add_argument("--resume", type=Path, metavar="RUN",
                        help="continue the run in directory RUN from its last checkpoint, with its saved config")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="override one setting, e.g. train.epochs=5 data.limit=2048")
    return config.parse_arguments(parser, argv)


def resolve(args):
    """The settings as the user set them (read-only from here on), what a resumed run had found out for the ones
    left to it (its seed, its images' shape...; {} for a new run), the run directory and, when resuming, the
    settings it ran with. Every mistake in the user's input surfaces here, before TensorFlow loads and before
    anything is written (a resumed run's checkpoint is checked in train(), before anything is written either)."""
    user, found, run_dir, saved = resolve_run(args)
    distribute.check(user)
    return user, found, run_dir, saved


# What the run's quality numbers are measured with (and, with Inception, data.limit: its reference is the
# training images): numbers measured otherwise would not compare with the earlier epochs'.
SCORED_WITH = ("eval.features", "eval.num_samples", "eval.evaluator_dir", "eval.inception_weights", "eval.classifier",
               "data.dataset", "data.path")
DATA_OWN = ("auto", "existing")  # eval.classifier's values that both mean the data's own classifier


def resolve_run(args):
    """(the settings as the user set them, what the run found out for the ones left to it so far, the run
    directory, and when resuming the settings it ran with); see resolve."""
    if args.resume is None:
        user = config.load(args.config or config.DEFAULT_FILE, args.overrides)
        name = user["output.run_name"] or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path(user["output.dir"]) / name
        if run_dir.exists() and distribute.is_chief(user):
            raise ConfigError(f"{run_dir} already exists; choose another output.run_name, "
                              f"or continue it with --resume {run_dir}")
        return user, {}, run_dir, None

    run_dir = args.resume
    if args.config is not None:
        raise ConfigError("--config cannot be combined with --resume: a resumed run keeps its own config.yaml; "
                          "change settings with key=value")
    if not run_files.is_resumable(run_dir):
        raise ConfigError(f"{run_dir} is not a run directory (it has no config.yaml); "
                          f"pass the outputs/RUN directory of an earlier run")
    saved_user, found = config.saved_parts(run_dir)
    saved = config.load(base={**saved_user, **found})
    saved_user = config.load(base=saved_user)
    user = config.load(base=saved_user, overrides=args.overrides)
    found = {key: value for key, value in found.items() if user[key] == saved_user[key]}  # a new value replaces it
    cfg = config.with_found(user, found)
    for key in cfg:  # the checkpoint holds the models and the grid's fixed noise, shaped by these settings
        if (key.startswith("model.") or key in ("data.image_size", "data.channels", "output.grid_size")) \
                and cfg[key] != saved[key]:
            raise ConfigError(f"{key} cannot change when resuming: the checkpoint was built with "
                              f"{key}={saved[key]}; start a new run to change it")
    if (cfg["train.mixed_precision"] == "mixed_float16") != (saved["train.mixed_precision"] == "mixed_float16"):
        raise ConfigError("train.mixed_precision cannot switch to or from mixed_float16 when resuming (its optimizers "
                          "carry a loss scale the checkpoint must match); start a new run to change it")
    for key in SCORED_WITH + (("data.limit",) if cfg["eval.features"] == "inception" else ()):
        if cfg[key] != saved[key] and not (key == "eval.classifier" and {cfg[key], saved[key]} <= set(DATA_OWN)):
            raise ConfigError(f"{key} cannot change when resuming: the run's quality numbers so far (and its best "
                              f"generator) were measured with {key}={saved[key]}, and new ones would not compare "
                              f"with them; start a new run to change it")
    if bool(cfg["train.ema_decay"]) != bool(saved["train.ema_decay"]):
        raise ConfigError(f"train.ema_decay cannot be switched {'on' if cfg['train.ema_decay'] else 'off'} when "
                          f"resuming (the checkpoint {'lacks' if cfg['train.ema_decay'] else 'holds'} the averaged "
                          f"generator); change its value, not whether it is 0, or start a new run")
    return user, found, run_dir, saved


GRID_ROWS = 10  # a conditional grid shows at most this many classes, one per row


def grid_classes(count):
    """The classes a conditional grid shows, one per row: all of them, or GRID_ROWS spread evenly."""
    if count <= GRID_ROWS:
        return list(range(count))
    return [round(k * (count - 1) / (GRID_ROWS - 1)) for k in range(GRID_ROWS)]


def check_classes(run_dir, class_names):
    """A resumed conditional run must see the classes its models were built for (a folder may have changed)."""
    import models
    saved = models.run_class_names(run_dir)
    if saved != class_names:
        raise ConfigError(f"the classes found now ({', '.join(class_names[:5])}{', ...' if len(class_names) > 5 else ''}"
                          f"; {len(class_names)}) are not the {len(saved)} the run was built for "
                          f"({run_dir / models.CLASSES_FILE}); restore the data's class subfolders, or start a new run")


def save_settings(user, found, run_dir):
    """config.yaml: the settings as the user set them; found.yaml: what the run found out for the ones left to it.
    A resume reads both back (config.saved_parts)."""
    config.dump(user, run_dir / run_files.CONFIG)
    config.dump(found, run_dir / run_files.FOUND)


def create_run_dir(run_dir):
    try:
        (run_dir / run_files.IMAGES).mkdir(parents=True)
    except FileExistsError:
        raise ConfigError(f"{run_dir} already exists; choose another output.run_name") from None
    except OSError as e:
        raise ConfigError(f"cannot create {run_dir}: {e.strerror}; set output.dir to a writable folder") from None


class TrainingDiverged(Exception):
    """A loss became NaN or infinite: training stops, the last good checkpoint stays as it was."""


class Stopped(Exception):
    """Ctrl-C or SIGTERM: the step under way finished; `checkpoint` says what the newest checkpoint holds
    (None: there is none yet)."""

    def __init__(self, signal_number, checkpoint):
        super().__init__(signal_number)
        self.signal_number, self.checkpoint = signal_number, checkpoint


class Interrupted(KeyboardInterrupt):
    """A second Ctrl-C or SIGTERM: stop at once, with the exit code of the signal."""

    def __init__(self, signal_number):
        super().__init__(signal_number)
        self.signal_number = signal_number


class StopRequests:
    """Within `with`, the first Ctrl-C or SIGTERM asks to stop after the current step (or, during start-up,
    before the first); a second one stops at once, as usual, for a user who cannot wait.

    Python runs a signal's handler only between TensorFlow's calls, which can take seconds; the interpreter
    also writes each signal's number into a pipe the moment it arrives (signal.set_wakeup_fd), where a thread
    reads it and says at once that the stop is under way."""

    signal_number = None

    def __enter__(self):
        self.previous = {number: signal.signal(number, self.request) for number in (signal.SIGINT, signal.SIGTERM)}
        self.pipe = os.pipe()
        os.set_blocking(self.pipe[1], False)
        self.previous_wakeup = signal.set_wakeup_fd(self.pipe[1])
        self.announcer = threading.Thread(target=self.announce, name="stop-requests", daemon=True)
        self.announcer.start()
        return self

    def __exit__(self, *exc_info):
        signal.set_wakeup_fd(self.previous_wakeup)
        os.close(self.pipe[1])
        self.announcer.join()  # it reads to the end of the pipe, announcing a signal not yet announced, and stops
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def announce(self):
        with open(self.pipe[0], "rb", buffering=0) as arrivals:
            numbers = (number for chunk in iter(lambda: arrivals.read(16), b"") for number in chunk
                       if number in self.previous)
            for number in itertools.islice(numbers, 1):
                print(f"\n{signal.Signals(number).name}: stopping after the steps under way, with a checkpoint if "
                      f"training has begun (again to stop at once)", file=sys.stderr, flush=True)
            for _ in numbers:  # read on, so the pipe never fills
                pass

    def request(self, number, frame):
        if self.signal_number is not None:
            raise Interrupted(number)
        self.signal_number = number


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


def load_training_data(user, found, run_dir, resuming):
    """The run's settings: the user's with what the run finds out for the ones left to it (the images' shape,
    the dataset really used, the evaluation interval, the seed: added to `found`, saved in found.yaml); the
    training images, their labels and class names for a conditional run (else None and []; a self-conditioned
    run's classes are its clusters, its labels come later)."""
    import clusters
    from data import sources
    cfg = config.with_found(user, found)
    real_images, labels, dataset_used = sources.load_images(cfg, warn=lambda message: print(message, file=sys.stderr))
    found.update({key: int(real_images.shape[axis]) for key, axis in (("data.image_size", 1), ("data.channels", 3))
                  if cfg[key] is None})  # the data's own
    if dataset_used != cfg["data.dataset"]:  # what was really used
        found.update({"data.dataset": dataset_used, "data.path": None})
    if cfg["eval.every"] is None:  # its default depends on what scoring costs against an epoch of these images
        found["eval.every"] = config.evaluation_interval(cfg["eval.features"], cfg["eval.num_samples"],
                                                         len(real_images))
    if cfg["train.seed"] is None:
        found["train.seed"] = random.SystemRandom().randrange(2**31)  # recorded, so the run can be repeated
    cfg = config.with_found(user, found)
    config.check_combination(cfg)  # again, now that a folder's image size is known
    class_names = sources.class_names(cfg) if cfg["model.conditional"] else []
    if cfg["model.clusters"]:
        clustered = min(len(real_images), clusters.SAMPLE)  # k-means runs on at most a sample of the images
        if cfg["model.clusters"] > clustered:
            raise ConfigError(f"model.clusters={cfg['model.clusters']} is more clusters than the {clustered} images "
                              f"k-means runs on; choose at most {clustered} (a few per family of images)")
        class_names = clusters.names(cfg["model.clusters"])
    if resuming and class_names:
        check_classes(run_dir, class_names)
    return cfg, real_images, labels, class_names


def prepare_run_dir(cfg, run_dir, resuming, class_names):
    """The directory this process writes to: the run's (new, or cleaned of files a kill left half-written),
    or for a worker other than the chief a scratch folder: every worker takes part in saving checkpoints,
    but the chief alone writes the run's files and scores quality."""
    import models
    if not distribute.is_chief(cfg):
        scratch = Path(tempfile.mkdtemp(prefix="dcgan-worker-"))
        (scratch / run_files.IMAGES).mkdir()
        return scratch
    if resuming:
        for stale in atomic.stale(run_dir):  # being written when the run was killed: never renamed in
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        (run_dir / run_files.IMAGES).mkdir(exist_ok=True)
    else:
        create_run_dir(run_dir)
        if class_names:
            models.write_run_class_names(run_dir, class_names)
    return run_dir


def cluster_images(training, images, number, cfg, known, run_dir, strategy):
    """Epoch `number`'s clusters, when it is due to find them (clusters.due): the cluster numbers of `images`
    in training.cluster_numbers and clusters.csv (with the data's own classes, `known`, how well they match), and
    the seconds it took (None: not due)."""
    import clusters
    if not clusters.due(number, cfg["train.recluster_every"], training.step):
        return None
    started = time.perf_counter()
    previous = training.cluster_numbers.numpy() if number > 1 else None
    features_of, feature_seconds = training.features_of(images), []

    def timed_features_of(numbers):  # what the discriminator's passes take of the time, against k-means's
        begun = time.perf_counter()
        features = features_of(numbers)
        feature_seconds.append(time.perf_counter() - begun)
        return features
    found = clusters.cluster(timed_features_of, len(images), cfg["model.clusters"], [cfg["train.seed"], number],
                             previous)
    found = distribute.as_replica_zero_has_it(strategy, found)  # every worker trains on the chief's clusters
    training.cluster_numbers.assign(found)
    seconds = time.perf_counter() - started
    labels, names = known
    clusters.write_table(run_dir / run_files.CLUSTERS, number,
                         clusters.table_rows(number, found, cfg["model.clusters"], labels, names))
    match = clusters.diagnostics(found, cfg["model.clusters"], labels)
    print(f"{'re-clustered' if previous is not None else 'clustered'} the {len(images)} images into "
          f"{cfg['model.clusters']} clusters for epoch {number} in {seconds:.1f} s (the discriminator's features "
          f"{sum(feature_seconds):.1f} s, k-means {seconds - sum(feature_seconds):.1f} s; largest "
          f"{clusters.shares(found, cfg['model.clusters']).max():.1%})"
          + (f"; against the data's own classes: NMI {match['cluster_nmi']:.2f}, purity {match['cluster_purity']:.1%}"
             if match else ""), flush=True)
    return seconds


def run_epoch(training, images, labels, number, cfg, strategy, stop, epoch_started, cluster_seconds):
    """Train epoch `number` (from the step a mid-epoch checkpoint stopped at) and return its row: the mean of
    each statistic over its steps. A stop request saves a checkpoint after the call under way, with the time the
    epoch has taken since `epoch_started` (perf_counter) and `cluster_seconds`."""
    import keras

    import gan
    import progress
    from data import pipeline
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
    row = {"epoch": number, **dict(zip(gan.STATISTICS, (training.step_sums / done).numpy().tolist()))}
    # the mean over the steps that measured it
    row["gen_grad_norm"] *= done / math.ceil(done / training.gradient_norm_every)
    row["train_seconds"] = time.perf_counter() - started  # the steps (and their statistics, read here)
    return row


def train(user, found, run_dir, saved, stop):
    """Load the data, build the GAN or restore it (`saved`: the settings of the run being resumed), and train
    it epoch by epoch, writing the run's files; a request in `stop` (StopRequests) ends it at a step's end.
    `user` and `found` are resolve's: the run's settings are built once from them and the data (load_training_data),
    and read-only."""
    cfg = config.with_found(user, found)
    # TensorFlow's C++ log, errors included (a real one raises in Python): its start-up lines and a harmless
    # grappler "remapper failed" line looked like crashes. A few lines print before the level is read.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(f"{'resuming' if saved else 'starting'} {run_dir}: loading TensorFlow", flush=True)
    # Imported here, not at the top, so --help and config mistakes answer before TensorFlow's start-up.
    with tflog.start_up_lines_hidden():
        import clusters
        from data import sources
        from quality import evaluators
        from record import epoch_files
        import state
        strategy = start_tensorflow(cfg)
    resuming = saved is not None
    # A run stopped before its first checkpoint (killed just after its first epoch's row, say) starts again
    # from its first step with its saved settings: the same seed trains the same epochs.
    checkpoints, restored_epoch = [], 0
    if resuming and run_files.has_checkpoint(run_dir):
        checkpoints, restored_epoch, _ = state.checkpoint_to_resume(run_dir, cfg, saved)
        if restored_epoch >= cfg["train.epochs"] and run_files.is_finished(run_dir, cfg["train.ema_decay"]):
            print(f"{run_dir} is finished: it trained all {restored_epoch} of its epochs. To train it longer: "
                  f"python train.py --resume {run_dir} train.epochs=N, with N above {restored_epoch}")
            return
    cfg, real_images, labels, class_names = load_training_data(user, found, run_dir, resuming)
    known = sources.known_classes(cfg) if cfg["model.clusters"] else (None, [])  # to measure the clusters, no more
    if checkpoints and cfg["model.clusters"]:
        state.check_clustered_count(checkpoints[-1], len(real_images))
    chief = distribute.is_chief(cfg)
    # Before the run's folder is made: a classifier trained first (eval.classifier=auto) or a weights file that
    # will not load does not leave a half-begun run.
    evaluator = evaluators.for_run(cfg, real_images, class_names if cfg["model.conditional"] else ()) if chief else None
    run_dir = prepare_run_dir(cfg, run_dir, resuming, class_names)
    if not resuming:  # at once: a run killed from here on resumes with these settings
        save_settings(user, found, run_dir)

    training = state.TrainingState(cfg, strategy, class_names, run_dir / run_files.CHECKPOINTS, len(real_images))
    if checkpoints:
        training.restore(checkpoints, cfg)
        where = f", {training.step} steps into epoch {training.epoch + 1}" if training.step else ""
        print(f"resuming {run_dir} after epoch {training.epoch}{where}")
    elif resuming:
        print(f"resuming {run_dir} from its first step: it stopped before its first checkpoint")
    if resuming:
        save_settings(user, found, run_dir)  # once the checkpoint has restored: a refused resume keeps the old
    shown_classes = grid_classes(len(class_names))
    if len(shown_classes) < len(class_names):
        print(f"note: the epoch grids show {len(shown_classes)} of the {len(class_names)} classes, one per row: "
              f"{', '.join(class_names[k] for k in shown_classes)}")
    grid_inputs = training.grid_inputs(shown_classes)
    if chief:
        epoch_files.save_reals(real_images, cfg, run_dir, grid_inputs[0].shape[0] if class_names else grid_inputs.shape[0])
    steps_per_epoch = math.ceil(len(real_images) / cfg["train.batch_size"])
    if cfg["train.batch_size"] > len(real_images):
        print(f"note: train.batch_size={cfg['train.batch_size']} is more than the {len(real_images)} training images: "
              f"each epoch is one step on all of them; a smaller batch takes more steps an epoch", flush=True)
    with epoch_files.EpochRecord(cfg, run_dir, training, class_names, evaluator) as epoch_record:
        print(f"training on {len(real_images)} {cfg['data.dataset']} images, {steps_per_epoch} "
              f"step{'s' if steps_per_epoch > 1 else ''} per epoch, writing to {run_dir}", flush=True)
        if stop.signal_number is not None:  # asked during start-up: no step taken, nothing new to save
            raise Stopped(stop.signal_number, training.last_checkpoint)
        epochs = cfg["train.epochs"]
        for number in range(training.epoch + 1, epochs + 1):
            # an epoch resumed mid-way counts the time it had taken before its stop (state.SPENT)
            spent = dict(zip(state.SPENT, training.spent.numpy().tolist()))
            started = time.perf_counter() - spent["seconds"]
            cluster_seconds = None
            if cfg["model.clusters"]:
                cluster_seconds = cluster_images(training, real_images, number, cfg, known, run_dir, strategy)
                if cluster_seconds is None and not math.isnan(spent["cluster_seconds"]) and training.step:
                    cluster_seconds = spent["cluster_seconds"]
                labels = training.cluster_numbers.numpy()
            row = run_epoch(training, real_images, labels, number, cfg, strategy, stop, started, cluster_seconds)
            if cfg["model.clusters"]:
                row.update(cluster_seconds=cluster_seconds, **clusters.diagnostics(labels, len(class_names), known[0]))
            samples = draw_checked(row, training, grid_inputs, number, run_dir)
            training.end_epoch(number)
            warnings = epoch_record.add(row, samples, started, training.cluster_shares())
            # The checkpoint comes after the epoch's grid and row: a run killed before it redoes this epoch,
            # and drops its row on resume.
            if number % cfg["output.checkpoint_every"] == 0 or number == epochs:
                training.save(wait=number == epochs)  # written while the next epoch trains
            print(summary(row, epochs), flush=True)
            for warning in warnings:
                print(f"warning: epoch {number}: {warning}", flush=True)

    if not chief:
        shutil.rmtree(run_dir)  # the scratch folder: the chief has the run
        return
    shares = training.cluster_shares()
    epoch_files.save_generator(training.generator, run_dir / run_files.GENERATOR, class_names, shares)
    if training.average_generator:
        epoch_files.save_generator(training.average_generator, run_dir / run_files.AVERAGED_GENERATOR, class_names, shares)
    final = run_files.AVERAGED_GENERATOR if training.average_generator else run_files.GENERATOR
    print(f"done: {run_dir / final}, {run_dir / run_files.GIF}, {run_dir / run_files.PLOT}")


def start_again(run_dir):
    if run_dir is not None and run_files.is_resumable(run_dir):
        return (f"Start it again from its first step, with its settings, with: python train.py --resume {run_dir} "
                f"(or delete {run_dir})")
    if run_dir is not None and run_dir.exists():
        return f"To start again, delete {run_dir} (it holds no checkpoint) or choose another output.run_name."
    return "To start again, run the same command."


def main(argv=None):
    args = parse_args(argv)
    run_dir = None
    try:
        user, found, run_dir, saved = resolve(args)
        with StopRequests() as stop, tflog.harmless_errors_hidden():  # a Ctrl-C while TensorFlow loads stops too
            train(user, found, run_dir, saved, stop)
    except ConfigError as e:
        config.fail(str(e))
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except Stopped as e:
        if e.checkpoint is None:  # several workers stop without saving: they may not all be at the same step
            print(f"stopped before the first checkpoint: no training is saved. {start_again(run_dir)}",
                  file=sys.stderr)
        else:
            print(f"stopped; the checkpoint of {e.checkpoint} is saved. Continue with: python train.py --resume "
                  f"{run_dir}", file=sys.stderr)
        sys.exit(128 + e.signal_number)
    except KeyboardInterrupt as e:  # a second Ctrl-C or SIGTERM, or the first before training began
        if run_dir is not None and run_files.has_checkpoint(run_dir):
            print(f"\ninterrupted; continue from the last checkpoint with: python train.py --resume {run_dir}",
                  file=sys.stderr)
        else:
            print(f"\ninterrupted before the first checkpoint: no training is saved. {start_again(run_dir)}",
                  file=sys.stderr)
        sys.exit(128 + getattr(e, "signal_number", signal.SIGINT))
    except OSError as e:
        # A full disk or a vanished folder mid-run: files are written atomically and the checkpoint's index
        # only moves on once a checkpoint is complete, so the last one still loads.
        then = (f"continue from the last checkpoint with: python train.py --resume {run_dir}"
                if run_dir is not None and run_files.has_checkpoint(run_dir) else "start the run again")
        print(f"error: cannot write {e.filename or run_dir}: {e.strerror or e}; make room (or fix the folder), "
              f"then {then}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
