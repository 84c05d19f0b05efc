"""Train the TensorFlow tutorial's DCGAN on MNIST digits.

Each epoch draws a grid of digits from one fixed noise batch (images/epoch_NNNN.png), rebuilds
progress.gif, and saves a checkpoint; an interrupted run continues with --resume. The trained
generator ends in generator.keras, the effective config in config.yaml, both in the run directory.
"""

import datetime
import math
import os
import random
import sys
import time
from pathlib import Path

import config
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


def has_checkpoint(run_dir):
    return (run_dir / "checkpoints" / "checkpoint").is_file()


def resolve(args):
    """The validated config and the run directory. Every mistake in the user's input surfaces here,
    before TensorFlow loads and before anything is written."""
    if args.resume is None:
        cfg = config.load(args.config or DEFAULT_CONFIG, args.overrides)
        output_dir = Path(cfg["output.dir"])
        name = cfg["output.run_name"] or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = output_dir / name
        if run_dir.exists():
            raise ConfigError(f"{run_dir} already exists; choose another output.run_name, "
                              f"or continue it with --resume {run_dir}")
        cfg["output.run_name"] = name
        return cfg, run_dir

    run_dir = args.resume
    if args.config is not None:
        raise ConfigError("--config cannot be combined with --resume: a resumed run keeps its own config.yaml; "
                          "change settings with key=value")
    if not (run_dir / "config.yaml").is_file() or not has_checkpoint(run_dir):
        raise ConfigError(f"{run_dir} is not a run directory with a checkpoint (config.yaml and checkpoints/); "
                          f"pass the outputs/RUN directory of an earlier run")
    saved = config.load(base=config.flatten(config.read_yaml(run_dir / "config.yaml"), str(run_dir)))
    cfg = config.load(base=saved, overrides=args.overrides)
    for key in cfg:
        if key.startswith("model.") and cfg[key] != saved[key]:
            raise ConfigError(f"{key} cannot change when resuming: the checkpoint holds a model built with "
                              f"{key}={saved[key]}; start a new run for a different model")
    cfg["output.dir"], cfg["output.run_name"] = str(run_dir.parent), run_dir.name
    return cfg, run_dir


def create_run_dir(run_dir):
    try:
        (run_dir / "images").mkdir(parents=True)
    except FileExistsError:
        raise ConfigError(f"{run_dir} already exists; choose another output.run_name") from None
    except OSError as e:
        raise ConfigError(f"cannot create {run_dir}: {e.strerror}; set output.dir to a writable folder") from None


def train(cfg, run_dir, resuming):
    """Load the data, build or restore the GAN, and train it epoch by epoch, writing the run's files."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the log
    # Imported here, not at the top, so --help and config mistakes answer before TensorFlow's start-up.
    import keras
    import numpy as np
    import tensorflow as tf

    import data
    import gan
    import images
    import models

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)  # take GPU memory as needed, not all of it at once

    real_images, dataset_used = data.load_images(cfg, warn=lambda message: print(message, file=sys.stderr))
    if dataset_used != cfg["data.dataset"]:
        cfg["data.dataset"], cfg["data.path"] = dataset_used, None  # the saved config says what was really used
    if cfg["train.seed"] is None:
        cfg["train.seed"] = random.SystemRandom().randrange(2**31)  # recorded, so the run can be repeated
    if not resuming:
        create_run_dir(run_dir)
    config.dump(cfg, run_dir / "config.yaml")

    seed, epochs, batch_size = cfg["train.seed"], cfg["train.epochs"], cfg["train.batch_size"]
    keras.utils.set_random_seed(seed)
    generator, discriminator = models.from_config(cfg)
    generator_optimizer = keras.optimizers.Adam(cfg["train.generator_lr"])
    discriminator_optimizer = keras.optimizers.Adam(cfg["train.discriminator_lr"])
    noise = tf.random.Generator.from_seed(seed)
    # The same noise draws every epoch's grid, so the frames show the generator learning, not chance.
    fixed_noise = tf.Variable(noise.normal([cfg["output.grid_size"] ** 2, cfg["model.noise_dim"]]), trainable=False)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # the last finished epoch
    checkpoint = tf.train.Checkpoint(generator=generator, discriminator=discriminator,
                                     generator_optimizer=generator_optimizer,
                                     discriminator_optimizer=discriminator_optimizer,
                                     noise=noise, fixed_noise=fixed_noise, epoch=epoch,
                                     # Keras leaves dropout's random state out of the model's checkpoint.
                                     dropout_seeds=[layer.seed_generator.state for layer in discriminator.layers
                                                    if isinstance(layer, keras.layers.Dropout)])
    manager = tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints",
                                         max_to_keep=cfg["output.checkpoints_to_keep"])
    if resuming:
        # Adam makes its slots lazily; build them now so the checkpoint restores into them.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"resuming {run_dir} after epoch {int(epoch.numpy())}")

    train_step = gan.make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer, noise)
    dataset = data.make_dataset(real_images)
    steps_per_epoch = math.ceil(len(real_images) / batch_size)
    show_progress = sys.stdout.isatty()
    print(f"training on {len(real_images)} {dataset_used} images, {steps_per_epoch} steps per epoch, "
          f"writing to {run_dir}", flush=True)

    for n in range(int(epoch.numpy()) + 1, epochs + 1):
        started = time.perf_counter()
        progress = keras.utils.Progbar(steps_per_epoch) if show_progress else None
        losses = []  # kept as tensors: reading them every step would stall the device for logging
        for step, batch in enumerate(data.epoch_batches(dataset, batch_size, cfg["data.shuffle_buffer"], seed + n), 1):
            losses.append(train_step(batch))
            if progress:
                progress.update(step)
        gen_loss, disc_loss = np.mean(np.array(losses), axis=0)
        epoch.assign(n)

        frame = run_dir / "images" / f"epoch_{n:04d}.png"
        images.save_grid(generator(fixed_noise, training=False), frame, columns=cfg["output.grid_size"])
        frames = [run_dir / "images" / f"epoch_{i:04d}.png" for i in range(1, n + 1)]
        images.save_gif([path for path in frames if path.exists()], run_dir / "progress.gif")
        if n % cfg["output.checkpoint_every"] == 0 or n == epochs:
            manager.save(checkpoint_number=n)
        print(f"epoch {n}/{epochs}  {time.perf_counter() - started:.1f}s  "
              f"gen_loss {gen_loss:.4f}  disc_loss {disc_loss:.4f}", flush=True)

    generator.save(run_dir / "generator.keras")
    print(f"done: {run_dir / 'generator.keras'}, {run_dir / 'progress.gif'}")


def main(argv=None):
    args = parse_args(argv)
    run_dir = None
    try:
        cfg, run_dir = resolve(args)
        train(cfg, run_dir, resuming=args.resume is not None)
    except ConfigError as e:
        config.fail(str(e))
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue from the last checkpoint with: python train.py --resume {run_dir}",
              file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
