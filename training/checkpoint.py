"""A run's checkpoints: which of them can be resumed from and with what settings, the one-line answer to a
damaged one, and TensorFlow's asynchronous checkpoint made to work with Keras 3's variables (a workaround,
checked against its assumption at start)."""

import functools
from pathlib import Path

import keras
import tensorflow as tf

from output import run_files
from settings.schema import ConfigError


# The settings that decide which images each step of an epoch sees: a run stopped mid-epoch skips the steps it
# has done by number, so it must resume with the same ones.
EPOCH_ORDER = ("data.dataset", "data.path", "data.limit", "data.shuffle_buffer", "train.batch_size", "train.seed")


def copy_to_cpu(variable, object_map):
    """A Keras variable's copy for TensorFlow's asynchronous checkpoint: its TensorFlow variable's copy, which
    TensorFlow refreshes in place at each save. (Keras 3.15's own makes a new tf.Variable every time, which
    TensorFlow refuses from the second save on: "tf.function only supports singleton tf.Variables".)"""
    variable.value._copy_trackable_to_cpu(object_map)
    object_map[variable] = object_map[variable.value]


def patch_for_async_checkpoint(variable_class):
    """Give `variable_class` (keras.Variable) copy_to_cpu, if what it relies on holds: its variables wrap a
    TensorFlow variable (`.value`) that TensorFlow's asynchronous checkpoint can copy, as in TensorFlow
    2.16-2.21 with Keras 3. Returns whether it did; if not, checkpoints are written synchronously. Called
    once the strategy exists: the variable it makes starts TensorFlow's runtime, after which a multi-worker
    strategy could no longer set up its collective operations."""
    probe = variable_class(0.0)
    if not callable(getattr(getattr(probe, "value", None), "_copy_trackable_to_cpu", None)) \
            or not hasattr(variable_class, "_copy_trackable_to_cpu"):
        return False
    variable_class._copy_trackable_to_cpu = copy_to_cpu
    return True


@functools.cache
def async_checkpoint_patched():
    return patch_for_async_checkpoint(keras.Variable)


def to_resume(run_dir, cfg, saved):
    """The prefixes of `run_dir`'s checkpoints (the newest last), and the newest one's epoch and step, checked
    before anything is written: readable, and resumable with these settings (a run stopped mid-epoch keeps
    the order of its batches)."""
    prefixes = existing_checkpoints(run_dir / run_files.CHECKPOINTS, "there is nothing to resume: start a new run")
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


def existing_checkpoints(checkpoint_dir, otherwise):
    """The prefixes of the checkpoints in `checkpoint_dir` whose files are there, the newest last: the index
    file names the newest even when its files were deleted (as damaged_checkpoint advises), and restoring a
    prefix that is gone would silently restore nothing. A ConfigError ending in `otherwise` if there is none."""
    found = tf.train.get_checkpoint_state(checkpoint_dir)
    prefixes = [p for p in (found.all_model_checkpoint_paths if found else []) if Path(f"{p}.index").is_file()]
    if not prefixes:
        raise ConfigError(f"{checkpoint_dir} holds no checkpoint files (deleted?); {otherwise}")
    return prefixes


def check_clustered_count(prefix, count):
    """A self-conditioned run resumes on the images it clustered: as many as its checkpoint holds numbers for."""
    clustered = tf.train.load_variable(prefix, "clusters/.ATTRIBUTES/VARIABLE_VALUE").shape[0]
    if clustered != count:
        raise ConfigError(f"the run clustered {clustered} images and its data now has {count}; restore the images "
                          f"it trained on (data.path, data.limit), or start a new run")


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


def describe_checkpoint(epoch, step):
    return f"epoch {epoch}" + (f" ({step} steps into epoch {epoch + 1})" if step else "")
