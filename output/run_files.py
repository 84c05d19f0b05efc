"""A run folder's files, named once: the training loop writes them (training/loop.py, training/epoch_files.py),
and generate.py, compare.py and sweep.py read them. README's "What a run writes" says what each holds."""

from pathlib import Path


CONFIG = "config.yaml"              # the run's settings as its user set them: a resume reads them back
FOUND = "found.yaml"                # what the run found out for the settings left to it (its seed, image shape...)
CHECKPOINTS = "checkpoints"         # tf.train.CheckpointManager's folder
IMAGES = "images"                   # one grid PNG per epoch, and reals.png
REALS = "reals.png"                 # in IMAGES: training images as the network gets them
GIF = "progress.gif"
METRICS = "metrics.csv"
PLOT = "metrics.png"
WARNINGS = "warnings.log"
TENSORBOARD = "tensorboard"
CLUSTERS = "clusters.csv"           # a self-conditioned run's clusters, each time they are made
GENERATOR = "generator.keras"       # the final generator
AVERAGED_GENERATOR = "generator_ema.keras"  # its moving average, with train.ema_decay
BEST_GENERATOR = "generator_best.keras"     # the epoch with the best Fréchet distance so far


def epoch_grid(run_dir, number):
    """The grid PNG of epoch `number`."""
    return Path(run_dir) / IMAGES / f"epoch_{number:04d}.png"


def is_resumable(run_dir):
    """Whether train.py --resume continues `run_dir`: it has its settings (from its last checkpoint, or with none
    yet from its first step)."""
    return (Path(run_dir) / CONFIG).is_file()


def has_checkpoint(run_dir):
    return (Path(run_dir) / CHECKPOINTS / "checkpoint").is_file()


def is_finished(run_dir, averaged):
    """Whether the run saved its final models (`averaged`: with the moving average's; a run killed after its last
    checkpoint has yet to)."""
    final = [GENERATOR] + ([AVERAGED_GENERATOR] if averaged else [])
    return all((Path(run_dir) / name).is_file() for name in final)
