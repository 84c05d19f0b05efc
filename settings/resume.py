"""What a run's settings are when it starts: a new run's from its config file and the command line, a resumed
run's from its folder with the changes the command line asks for, refused when a change would make the
checkpoint or the quality numbers so far mean something else."""

import datetime
from pathlib import Path

from output import run_files
from settings import config
from settings.run import RunSettings
from settings.schema import ConfigError


# What the run's quality numbers are measured with (and, with Inception, data.limit: its reference is the
# training images): numbers measured otherwise would not compare with the earlier epochs'.
SCORED_WITH = ("eval.features", "eval.num_samples", "eval.evaluator_dir", "eval.inception_weights", "eval.classifier",
               "eval.evaluator_id", "data.dataset", "data.path")
# Settings whose 0 leaves a part out of the checkpoint: a network (the decoder's weights also out of D's optimizer),
# or Adam's beta_2 as a variable.
SWITCHED_PARTS = {"train.ema_decay": "the averaged generator", "train.reconstruction_weight": "the decoder",
                  "train.beta2_final": "Adam's moving beta_2"}
DATA_OWN = ("auto", "existing")  # eval.classifier's values that both mean the data's own classifier


def new_run(config_file, overrides):
    """A new run's RunSettings: `config_file` <- `overrides`, its folder named by output.run_name (or the time)."""
    user = config.load(config_file, overrides)
    name = user["output.run_name"] or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RunSettings(user, {}, Path(user["output.dir"]) / name)


def resumed_run(run_dir, overrides):
    """The RunSettings of the run in `run_dir` resumed with `overrides`: its settings as its user set them, with
    the overrides, and what it found out for the ones they leave as they were. A ConfigError for a change that
    would make its checkpoint or its quality numbers so far mean something else."""
    if not run_files.is_resumable(run_dir):
        raise ConfigError(f"{run_dir} is not a run directory (it has no config.yaml); "
                          f"pass the outputs/RUN directory of an earlier run")
    saved_user, found = config.saved_parts(run_dir)
    # A run folder written without train.cluster_axes clustered in all the features' dimensions: it goes on so.
    saved_user.setdefault("train.cluster_axes", 0)
    saved = config.load(base={**saved_user, **found})
    saved_user = config.load(base=saved_user)
    user = config.load(base=saved_user, overrides=overrides)
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
    for key, part in SWITCHED_PARTS.items():
        if bool(cfg[key]) != bool(saved[key]):
            raise ConfigError(f"{key} cannot be switched {'on' if cfg[key] else 'off'} when resuming (the checkpoint "
                              f"{'lacks' if cfg[key] else 'holds'} {part}); change its value, not whether it is 0, "
                              f"or start a new run")
    return RunSettings(user, found, run_dir, saved)
