"""Train the TensorFlow tutorial's DCGAN on MNIST digits.

Each epoch draws a grid of digits from one fixed noise batch (images/epoch_NNNN.png), rebuilds
progress.gif, scores the digits' quality and the two networks' balance (metrics.csv, metrics.png,
TensorBoard, warnings) and saves a checkpoint. Ctrl-C stops after the current step with a
checkpoint; --resume continues any stopped or killed run exactly. The trained generator ends in
generator.keras, the effective config in config.yaml, both in the run directory.
"""

import datetime
import errno
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import config
import distribute
from config import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.yaml"


def parse_args(argv=None):
    parser = config.argument_parser(__doc__)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML config; keys it leaves out keep their defaults (default: config.yaml)")
    parser.add_argument("--resume", type=Path, metavar="RUN",
                        help="continue the run in directory RUN from its last checkpoint, with its saved config")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="override one setting, e.g. train.epochs=5 data.limit=2048")
    return parser.parse_args(argv)


# With several replicas the generator's gradient norm costs an all-reduce of its whole gradient (2.3 million
# numbers for the tutorial's generator): measured on every 16th step of an epoch only. On one device it is free.
GRADIENT_NORM_EVERY = 16


def has_checkpoint(run_dir):
    return (run_dir / "checkpoints" / "checkpoint").is_file()


def resolve(args):
    """The validated config, the run directory and, when resuming, the run's saved config. Every mistake in
    the user's input surfaces here, before TensorFlow loads and before anything is written (a resumed run's
    checkpoint is checked in train(), before anything is written either)."""
    cfg, run_dir, saved = resolve_run(args)
    distribute.check(cfg)
    return cfg, run_dir, saved


def resolve_run(args):
    if args.resume is None:
        cfg = config.load(args.config or DEFAULT_CONFIG, args.overrides)
        output_dir = Path(cfg["output.dir"])
        name = cfg["output.run_name"] or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = output_dir / name
        if run_dir.exists() and distribute.is_chief(cfg):
            raise ConfigError(f"{run_dir} already exists; choose another output.run_name, "
                              f"or continue it with --resume {run_dir}")
        cfg["output.run_name"] = name
        return cfg, run_dir, None

    run_dir = args.resume
    if args.config is not None:
        raise ConfigError("--config cannot be combined with --resume: a resumed run keeps its own config.yaml; "
                          "change settings with key=value")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{run_dir} is not a run directory (it has no config.yaml); "
                          f"pass the outputs/RUN directory of an earlier run")
    if not has_checkpoint(run_dir):
        raise ConfigError(f"{run_dir} has no checkpoint: it stopped before its first epoch ended, so there is "
                          f"nothing to resume; delete it and start the run again")
    saved = config.load(base=config.flatten(config.read_yaml(run_dir / "config.yaml"), str(run_dir)))
    cfg = config.load(base=saved, overrides=args.overrides)
    for key in cfg:  # the checkpoint holds the models and the grid's fixed noise, shaped by these settings
        if (key.startswith("model.") or key in ("data.image_size", "data.channels", "output.grid_size")) \
                and cfg[key] != saved[key]:
            raise ConfigError(f"{key} cannot change when resuming: the checkpoint was built with "
                              f"{key}={saved[key]}; start a new run to change it")
    if (cfg["train.mixed_precision"] == "mixed_float16") != (saved["train.mixed_precision"] == "mixed_float16"):
        raise ConfigError("train.mixed_precision cannot switch to or from mixed_float16 when resuming (its optimizers "
                          "carry a loss scale the checkpoint must match); start a new run to change it")
    if bool(cfg["train.ema_decay"]) != bool(saved["train.ema_decay"]):
        raise ConfigError(f"train.ema_decay cannot be switched {'on' if cfg['train.ema_decay'] else 'off'} when "
                          f"resuming (the checkpoint {'lacks' if cfg['train.ema_decay'] else 'holds'} the averaged "
                          f"generator); change its value, not whether it is 0, or start a new run")
    cfg["output.dir"], cfg["output.run_name"] = str(run_dir.parent), run_dir.name
    return cfg, run_dir, saved


# The settings that decide which images each step of an epoch sees: a run stopped mid-epoch skips the steps it
# has done by number, so it must resume with the same ones.
EPOCH_ORDER = ("data.dataset", "data.path", "data.limit", "data.shuffle_buffer", "train.batch_size", "train.seed")


def checkpoint_to_resume(run_dir, cfg, saved):
    """The prefixes of `run_dir`'s checkpoints (the newest last), and the newest one's epoch and step, checked
    before anything is written: readable, and resumable with these settings (a run stopped mid-epoch keeps
    the order of its batches)."""
    import tensorflow as tf
    state = tf.train.get_checkpoint_state(run_dir / "checkpoints")
    prefixes = [p for p in (state.all_model_checkpoint_paths if state else []) if Path(f"{p}.index").is_file()]
    if not prefixes:
        raise ConfigError(f"{run_dir / 'checkpoints'} holds no checkpoint files (deleted?); there is nothing to "
                          f"resume: start a new run")
    try:  # every value read once (about as long as the restore takes): a truncated file is found here
        reader = tf.train.load_checkpoint(prefixes[-1])
        values = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
        epoch, step = (int(values[f"{name}/.ATTRIBUTES/VARIABLE_VALUE"]) for name in ("epoch", "step"))
    except Exception as e:  # the reader raises several types (OpError, IndexError, ...) for a damaged file
        raise damaged_checkpoint(prefixes, e) from None
    changed = [key for key in EPOCH_ORDER if cfg[key] != saved[key]]
    if step and changed:
        raise ConfigError(f"{changed[0]} cannot change when resuming {run_dir}: it stopped {step} steps into epoch "
                          f"{epoch + 1}, and those steps are skipped by number; resume with {changed[0]}="
                          f"{saved[changed[0]]}, and change it once that epoch has ended (train.epochs={epoch + 1} "
                          f"stops there)")
    return prefixes, epoch, step


def damaged_checkpoint(prefixes, error):
    """The one-line answer to a newest checkpoint (the last of `prefixes`) that cannot be restored."""
    prefix = prefixes[-1]
    reason = (getattr(error, "message", None) or str(error) or type(error).__name__).splitlines()[0][:160]
    if len(prefixes) > 1:
        fix = (f"delete {Path(prefix).name}.index and {Path(prefix).name}.data-* in {Path(prefix).parent} to "
               f"continue from the one before it, {Path(prefixes[-2]).name}")
    else:
        fix = "it is the only one, so start a new run"
    return ConfigError(f"checkpoint {prefix} cannot be read ({reason}): it is damaged or incomplete; {fix}")


def is_finished(run_dir, cfg):
    """Whether the run saved its final models (a run killed after its last checkpoint has yet to)."""
    final = ["generator.keras"] + (["generator_ema.keras"] if cfg["train.ema_decay"] else [])
    return all((run_dir / name).is_file() for name in final)


CLASSES_FILE = "classes.txt"  # a conditional run's class names, one per line, in label order
GRID_ROWS = 10  # a conditional grid shows at most this many classes, one per row


def grid_classes(count):
    """The classes a conditional grid shows, one per row: all of them, or GRID_ROWS spread evenly."""
    if count <= GRID_ROWS:
        return list(range(count))
    return [round(k * (count - 1) / (GRID_ROWS - 1)) for k in range(GRID_ROWS)]


def check_classes(run_dir, class_names):
    """A resumed conditional run must see the classes its models were built for (a folder may have changed)."""
    saved = (run_dir / CLASSES_FILE).read_text().splitlines() if (run_dir / CLASSES_FILE).is_file() else None
    if saved != class_names:
        raise ConfigError(f"the classes found now ({', '.join(class_names[:5])}{', ...' if len(class_names) > 5 else ''}"
                          f"; {len(class_names)}) are not the {len(saved or [])} the run was built for "
                          f"({run_dir / CLASSES_FILE}); restore the data's class subfolders, or start a new run")


def save_generator(generator, path, class_names):
    import images
    import models
    images.write_atomically(path, lambda temporary: models.save_generator(generator, temporary, class_names))


def describe_checkpoint(epoch, step):
    return f"epoch {epoch}" + (f" ({step} steps into epoch {epoch + 1})" if step else "")


def create_run_dir(run_dir):
    try:
        (run_dir / "images").mkdir(parents=True)
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
    before the first); a second one stops at once, as usual, for a user who cannot wait."""

    signal_number = None

    def __enter__(self):
        self.previous = {number: signal.signal(number, self.request) for number in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc_info):
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def request(self, number, frame):
        if self.signal_number is not None:
            raise Interrupted(number)
        self.signal_number = number
        print(f"\n{signal.Signals(number).name}: stopping after the step under way, with a checkpoint if training "
              f"has begun (again to stop at once)", file=sys.stderr, flush=True)


def draw_checked(row, generator, sampler, discriminator, grid_inputs, epoch, last_checkpoint, run_dir):
    """The epoch's grid, drawn by `sampler` from the fixed noise (and classes: `grid_inputs`), once the epoch's
    losses and what the networks now compute are known to be finite: weights can blow up in an epoch's last
    step while that step's loss was still finite. The trained generator is checked too when an averaged one
    draws."""
    import numpy as np
    samples = sampler(grid_inputs, training=False)
    raw = samples if sampler is generator else generator(grid_inputs, training=False)
    verdict = discriminator([samples, grid_inputs[1]] if isinstance(grid_inputs, list) else samples, training=False)
    if all(np.isfinite(x).all() for x in (row["gen_loss"], row["disc_loss"], raw, samples, verdict)):
        return samples
    if last_checkpoint is None:
        then = ("No checkpoint was saved before it: start again with lower train.generator_lr and "
                "train.discriminator_lr")
    else:
        then = (f"The last good checkpoint is from {last_checkpoint}: lower the learning rates and continue with "
                f"python train.py --resume {run_dir} train.generator_lr=... train.discriminator_lr=...")
    raise TrainingDiverged(
        f"training diverged in epoch {epoch}: losses {row['gen_loss']:.4g} (generator) and {row['disc_loss']:.4g} "
        f"(discriminator), outputs no longer finite; stopped without saving the epoch. {then}")


def summary(row, epochs):
    line = (f"epoch {row['epoch']}/{epochs}  {row['seconds']:.1f}s  gen_loss {row['gen_loss']:.4f}  "
            f"disc_loss {row['disc_loss']:.4f}  D(x) {row['d_real']:.2f}  D(G(z)) {row['d_fake']:.2f}")
    if row.get("frechet_distance") is not None:  # named as in metrics.csv
        line += (f"  frechet_distance {row['frechet_distance']:.1f}  class_entropy {row['class_entropy']:.2f}  "
                 f"min_class_share {row['min_class_share']:.1%}")
    if row.get("label_accuracy") is not None:
        line += f"  label_accuracy {row['label_accuracy']:.1%}"
    return line


def train(cfg, run_dir, saved, stop):
    """Load the data, build the GAN or restore it (`saved`: the config of the run being resumed), and train
    it epoch by epoch, writing the run's files; a request in `stop` (StopRequests) ends it at a step's end."""
    # TensorFlow's C++ log, errors included (a real one raises in Python): its start-up lines and a harmless
    # grappler "remapper failed" line looked like crashes. A few lines print before the level is read.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(f"{'resuming' if saved else 'starting'} {run_dir}: loading TensorFlow", flush=True)
    # Imported here, not at the top, so --help and config mistakes answer before TensorFlow's start-up.
    import keras
    import tensorflow as tf

    import augment
    import data
    import gan
    import images
    import metrics
    import models
    import runlog

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)  # take GPU memory as needed, not all of it at once
    if cfg["train.deterministic"]:
        tf.config.experimental.enable_op_determinism()
    strategy = distribute.make_strategy(cfg["train.distribute"])
    distribute.check_replicas(cfg, strategy.num_replicas_in_sync)
    resuming = saved is not None
    if resuming:
        checkpoints, restored_epoch, restored_step = checkpoint_to_resume(run_dir, cfg, saved)
        if restored_epoch >= cfg["train.epochs"] and is_finished(run_dir, cfg):
            print(f"{run_dir} is finished: it trained all {restored_epoch} of its epochs. To train it longer: "
                  f"python train.py --resume {run_dir} train.epochs=N, with N above {restored_epoch}")
            return

    real_images, labels, dataset_used = data.load_images(cfg, warn=lambda message: print(message, file=sys.stderr))
    if dataset_used != cfg["data.dataset"]:
        cfg["data.dataset"], cfg["data.path"] = dataset_used, None  # the saved config says what was really used
    config.check_combination(cfg)  # again, now that a folder's image size is known
    class_names = data.class_names(cfg) if cfg["model.conditional"] else []
    if resuming and class_names:
        check_classes(run_dir, class_names)
    if cfg["train.seed"] is None:
        cfg["train.seed"] = random.SystemRandom().randrange(2**31)  # recorded, so the run can be repeated
    chief = distribute.is_chief(cfg)
    if not chief:
        # Every worker takes part in saving checkpoints; the others save theirs to a scratch folder, and the
        # chief alone writes the run's files and scores quality.
        run_dir = Path(tempfile.mkdtemp(prefix="dcgan-worker-"))
        (run_dir / "images").mkdir()
        cfg["eval.every"] = 0
    elif resuming:
        for stale in run_dir.rglob(".*.tmp*"):  # a file being written when the run was killed: never renamed in
            stale.unlink()
    else:
        create_run_dir(run_dir)
        if class_names:
            (run_dir / CLASSES_FILE).write_text("".join(f"{name}\n" for name in class_names))

    seed, epochs, batch_size = cfg["train.seed"], cfg["train.epochs"], cfg["train.batch_size"]
    with strategy.scope():  # variables made here are mirrored on every replica
        keras.utils.set_random_seed(seed)
        if cfg["train.mixed_precision"] != "none":
            keras.mixed_precision.set_global_policy(cfg["train.mixed_precision"])  # layers built from here on
        # Batch normalisation over the whole batch, not each replica's part: N devices learn as one does.
        generator, discriminator = models.from_config(cfg, synchronized=strategy.num_replicas_in_sync > 1,
                                                      class_names=class_names)
        generator_optimizer = keras.optimizers.Adam(cfg["train.generator_lr"], cfg["train.generator_beta1"],
                                                    cfg["train.generator_beta2"])
        discriminator_optimizer = keras.optimizers.Adam(cfg["train.discriminator_lr"],
                                                        cfg["train.discriminator_beta1"], cfg["train.discriminator_beta2"])
        if cfg["train.mixed_precision"] == "mixed_float16":  # float16 gradients underflow without loss scaling
            generator_optimizer = keras.optimizers.LossScaleOptimizer(generator_optimizer)
            discriminator_optimizer = keras.optimizers.LossScaleOptimizer(discriminator_optimizer)
        # The averaged generator draws the grids and is scored and saved: its weights move more smoothly.
        average_generator = None
        if cfg["train.ema_decay"]:
            average_generator = keras.models.clone_model(generator)
            average_generator.set_weights(generator.get_weights())
        sampler = average_generator or generator
        noise = tf.random.Generator.from_seed(seed)
        # The same noise draws every epoch's grid, so the frames show the generator learning, not chance; a
        # conditional grid has one row per class, all rows with the same noise columns.
        shown_classes = grid_classes(len(class_names))
        grid_noise_count = cfg["output.grid_size"] * (1 if class_names else cfg["output.grid_size"])
        fixed_noise = tf.Variable(noise.normal([grid_noise_count, cfg["model.noise_dim"]]), trainable=False)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # the last finished epoch
        # Non-zero only in a checkpoint saved on Ctrl-C: how far the next epoch got, and its statistics so far.
        step = tf.Variable(0, dtype=tf.int64, trainable=False)
        step_sums = tf.Variable(tf.zeros([len(gan.STATISTICS)]), trainable=False)
        averaged = {"average_generator": average_generator} if average_generator else {}
        checkpoint = tf.train.Checkpoint(generator=generator, discriminator=discriminator, **averaged,
                                         generator_optimizer=generator_optimizer,
                                         discriminator_optimizer=discriminator_optimizer,
                                         noise=noise, fixed_noise=fixed_noise, epoch=epoch, step=step,
                                         step_sums=step_sums,
                                         # Keras leaves dropout's random state out of the model's checkpoint
                                         # (and makes none at rate 0).
                                         dropout_seeds=[layer.seed_generator.state for layer in discriminator.layers
                                                        if getattr(layer, "seed_generator", None) is not None])
        # Checkpoints are numbered by training step (ckpt-120), as TensorFlow does, so a mid-epoch one fits in.
        manager = tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints",
                                             max_to_keep=cfg["output.checkpoints_to_keep"])

        def save_checkpoint():
            nonlocal last_checkpoint
            try:
                manager.save(checkpoint_number=discriminator_optimizer.iterations)
            except tf.errors.OpError as e:  # TensorFlow reports a full disk as its own error, not as an OSError
                raise OSError(errno.EIO, f"checkpoint not saved ({e.message.split(';')[-1].strip()})",
                              str(run_dir / "checkpoints")) from None
            last_checkpoint = describe_checkpoint(int(epoch.numpy()), int(step.numpy()))

        # Made before a restore: it also builds Adam's slots, which the checkpoint then fills.
        train_step = gan.make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                                         real_label=1.0 - cfg["train.label_smoothing"],
                                         augment=augment.make_augment(cfg["train.augment"], noise),
                                         average_generator=average_generator, average_decay=cfg["train.ema_decay"],
                                         r1_weight=cfg["train.r1_weight"], num_classes=len(class_names),
                                         jit_compile=cfg["train.jit_compile"], strategy=strategy)
        last_checkpoint = None  # what the newest checkpoint holds, for the messages of a stop
        if resuming:
            try:
                checkpoint.restore(checkpoints[-1]).assert_existing_objects_matched()
            except (tf.errors.OpError, ValueError, AssertionError) as e:
                raise damaged_checkpoint(checkpoints, e) from None
            last_checkpoint = describe_checkpoint(restored_epoch, restored_step)
            # The checkpoint restored the old learning rates; the config's may have been changed for this resume.
            generator_optimizer.learning_rate.assign(cfg["train.generator_lr"])
            discriminator_optimizer.learning_rate.assign(cfg["train.discriminator_lr"])
            where = f", {int(step.numpy())} steps into epoch {int(epoch.numpy()) + 1}" if int(step.numpy()) else ""
            print(f"resuming {run_dir} after epoch {int(epoch.numpy())}{where}")
    config.dump(cfg, run_dir / "config.yaml")  # once the checkpoint has restored: a refused resume keeps the old
    grid_inputs = fixed_noise
    if class_names:
        grid_inputs = [tf.tile(fixed_noise, [len(shown_classes), 1]),  # row k: class shown_classes[k]
                       tf.repeat(tf.one_hot(shown_classes, len(class_names)), cfg["output.grid_size"], axis=0)]
        if len(shown_classes) < len(class_names):
            print(f"note: the epoch grids show {len(shown_classes)} of the {len(class_names)} classes, one per "
                  f"row: {', '.join(class_names[k] for k in shown_classes)}")

    evaluator = None
    if cfg["eval.every"] and metrics.can_score(cfg):
        evaluator = metrics.Evaluator(cfg["eval.num_samples"], conditional=bool(class_names))
    elif cfg["eval.every"]:
        print(f"note: the quality numbers (Frechet distance, class coverage) come from a classifier that knows "
              f"MNIST digits only, so they are skipped for {cfg['data.dataset']}; the balance diagnostics still run",
              file=sys.stderr)
    log = runlog.RunLog(run_dir, int(epoch.numpy()),
                        real_frechet=evaluator.score_real()["frechet_distance"] if evaluator else None,
                        class_names=class_names)
    # The GIF's frames stay in memory; a resumed run reads its earlier ones from disk once.
    earlier_frames = [run_dir / "images" / f"epoch_{i:04d}.png" for i in range(1, int(epoch.numpy()) + 1)]
    frames = images.read_pngs(path for path in earlier_frames if path.exists())
    dataset = data.make_dataset(real_images, labels)
    steps_per_epoch = math.ceil(len(real_images) / batch_size)
    print(f"training on {len(real_images)} {dataset_used} images, {steps_per_epoch} "
          f"step{'s' if steps_per_epoch > 1 else ''} per epoch, writing to {run_dir}", flush=True)

    norm_every = 1 if strategy.num_replicas_in_sync == 1 else GRADIENT_NORM_EVERY
    if stop.signal_number is not None:  # asked during start-up: no step taken, nothing new to save
        raise Stopped(stop.signal_number, last_checkpoint)
    for n in range(int(epoch.numpy()) + 1, epochs + 1):
        started = time.perf_counter()
        progress = keras.utils.Progbar(steps_per_epoch) if sys.stdout.isatty() else None
        done = int(step.numpy())  # counted in Python: reading a variable every step would wait for the device
        # Each epoch's shuffle is seeded by (seed, its number): a resumed run skips exactly the batches already seen.
        batches = data.epoch_batches(dataset, batch_size, cfg["data.shuffle_buffer"], seed, n,
                                     cfg["model.noise_dim"]).skip(done)
        # Each replica gets its part of every batch (on one device, the batch itself).
        batches = strategy.experimental_distribute_dataset(batches)
        for batch in batches:
            stats = train_step(batch, update_generator=(done + 1) % cfg["train.discriminator_steps"] == 0,
                               measure_gradient=done % norm_every == 0)
            step_sums.assign_add(tf.stack([stats[key] for key in gan.STATISTICS]))  # summed on the device
            done += 1
            if progress:
                progress.update(done)
            if stop.signal_number is not None:
                # Saving is collective across workers: one stopped alone would wait for the others forever.
                if cfg["train.distribute"] != "multi_worker":
                    step.assign(done)
                    save_checkpoint()
                raise Stopped(stop.signal_number, last_checkpoint)
        row = {"epoch": n, **dict(zip(gan.STATISTICS, (step_sums / done).numpy().tolist()))}
        row["gen_grad_norm"] *= done / math.ceil(done / norm_every)  # the mean over the steps that measured it
        row["train_seconds"] = time.perf_counter() - started  # the steps (and their statistics, read here)
        samples = draw_checked(row, generator, sampler, discriminator, grid_inputs, n, last_checkpoint, run_dir)
        epoch.assign(n)
        step.assign(0)
        step_sums.assign(tf.zeros_like(step_sums))

        picture = images.save_grid(samples, run_dir / "images" / f"epoch_{n:04d}.png",
                                   columns=cfg["output.grid_size"])
        frames.append(picture)
        images.save_gif(frames, run_dir / "progress.gif")
        if evaluator and (n % cfg["eval.every"] == 0 or n == epochs):
            quality = evaluator.score_generator(sampler)
            if quality["frechet_distance"] < log.best_frechet:
                save_generator(sampler, run_dir / "generator_best.keras", class_names)
            row.update(quality)
        row["seconds"] = time.perf_counter() - started
        warnings = log.add(row, picture)
        # The checkpoint comes last: a run killed before it redoes this epoch, and drops its row on resume.
        if n % cfg["output.checkpoint_every"] == 0 or n == epochs:
            save_checkpoint()
        print(summary(row, epochs), flush=True)
        for warning in warnings:
            print(f"warning: epoch {n}: {warning}", flush=True)

    if not chief:
        shutil.rmtree(run_dir)  # the scratch folder: the chief has the run
        return
    save_generator(generator, run_dir / "generator.keras", class_names)
    if average_generator:
        save_generator(average_generator, run_dir / "generator_ema.keras", class_names)
    print(f"done: {run_dir / ('generator_ema.keras' if average_generator else 'generator.keras')}, "
          f"{run_dir / 'progress.gif'}, {run_dir / 'metrics.png'}")


def start_again(run_dir):
    if run_dir is not None and run_dir.exists():
        return f"To start again, delete {run_dir} (it holds no checkpoint) or choose another output.run_name."
    return "To start again, run the same command."


def main(argv=None):
    args = parse_args(argv)
    run_dir = None
    try:
        cfg, run_dir, saved = resolve(args)
        with StopRequests() as stop:  # from the start: a Ctrl-C while TensorFlow loads stops at a safe point too
            train(cfg, run_dir, saved, stop)
    except ConfigError as e:
        config.fail(str(e))
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except Stopped as e:
        if e.checkpoint is None:  # several workers stop without saving: they may not all be at the same step
            print(f"stopped before the first checkpoint: there is nothing to resume yet. {start_again(run_dir)}",
                  file=sys.stderr)
        else:
            print(f"stopped; the checkpoint of {e.checkpoint} is saved. Continue with: python train.py --resume "
                  f"{run_dir}", file=sys.stderr)
        sys.exit(128 + e.signal_number)
    except KeyboardInterrupt as e:  # a second Ctrl-C or SIGTERM, or the first before training began
        if run_dir is not None and has_checkpoint(run_dir):
            print(f"\ninterrupted; continue from the last checkpoint with: python train.py --resume {run_dir}",
                  file=sys.stderr)
        else:
            print(f"\ninterrupted before the first checkpoint: there is nothing to resume. {start_again(run_dir)}",
                  file=sys.stderr)
        sys.exit(128 + getattr(e, "signal_number", signal.SIGINT))
    except OSError as e:
        # A full disk or a vanished folder mid-run: files are written atomically and the checkpoint's index
        # only moves on once a checkpoint is complete, so the last one still loads.
        then = (f"continue from the last checkpoint with: python train.py --resume {run_dir}"
                if run_dir is not None and has_checkpoint(run_dir) else "start the run again")
        print(f"error: cannot write {e.filename or run_dir}: {e.strerror or e}; make room (or fix the folder), "
              f"then {then}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
