import contextlib
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# TensorFlow's C++ log as the tests read it: errors and worse (its level is read once, when TensorFlow loads).
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
# Each of pytest-xdist's workers, and the programs it starts, computes on its share of the cores: TensorFlow's
# default of a thread per core in every worker oversubscribes them (two Inception tests side by side took 60 s
# so, 27 s with one thread each on two cores).
CORE_SHARE = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", CORE_SHARE)
os.environ.setdefault("TF_NUM_INTEROP_THREADS", CORE_SHARE)


def run_train(*args):
    """python train.py ARGS: see run_program."""
    return run_program("train", *args)


def run_program(name, *args):
    """python NAME.py ARGS (train, generate, train_classifier) run as a user runs it, with its output and exit
    code, but in this test process: TensorFlow's start-up (5-10 s, most of a small run) is paid once per test
    worker instead of once per run. What a fresh process would show still shows: everything written to file
    descriptors 1 and 2 (Python's and TensorFlow's C++), the exit code, an uncaught exception as a traceback
    and exit code 1. A test that signals or kills a program, or checks what it imports, starts a process."""
    import importlib

    from data import folder_cache
    import keras
    program = importlib.import_module(name)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            contextlib.chdir(ROOT), unchanged_environment():
        with written_to(out, err):
            try:
                program.main([str(a) for a in args])
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            except Exception:
                traceback.print_exc()
                code = 1
        # What the run's process would have taken with it: its precision, its models, the folders it listed.
        keras.mixed_precision.set_global_policy("float32")
        keras.utils.clear_session(free_memory=True)
        folder_cache.LOADED_LISTINGS.clear(), folder_cache.NOTED_TRANSPARENCY.clear()
        return subprocess.CompletedProcess([f"{name}.py", *args], code, *(read(f) for f in (out, err)))


@contextlib.contextmanager
def written_to(out, err):
    """Within `with`, file descriptors 1 and 2, and sys.stdout and sys.stderr on them, write to `out` and `err`."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2), sys.stdout, sys.stderr
    os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
    sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)
    try:
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])
        sys.stdout, sys.stderr = saved[2:]


@contextlib.contextmanager
def unchanged_environment():
    """train.py sets environment variables for itself (TensorFlow's log level): they end with the run."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def read(file):
    file.seek(0)
    return file.read().decode(errors="replace")


# The tutorial's layers at a small fraction of their arithmetic (about 80,000 + 4,000 parameters instead of 2.3
# million + 0.2 million): every code path runs, and a resume compared to the last digit is just as strict. What
# needs the full-size networks (their parameter counts, the tutorial's step) is tested in-process elsewhere.
TINY_GENERATOR, TINY_DISCRIMINATOR = [16, 8, 8], [8, 16]
TINY = [f"model.generator_widths={TINY_GENERATOR}", f"model.discriminator_widths={TINY_DISCRIMINATOR}"]


@pytest.fixture
def small_run_args(tmp_path):
    """Settings for a fast run on 512 bundled digits (2 steps an epoch) with TINY networks, writing under
    tmp_path, scored on 200 samples when it scores (every code path of the scoring, a tenth of the default's)."""
    return ["data.dataset=mnist_sample", "data.limit=512", "eval.num_samples=200", *TINY, f"output.dir={tmp_path}"]


def checkpoint_epoch(run):
    """The last finished epoch recorded in a run's latest checkpoint."""
    import tensorflow as tf
    return int(tf.train.load_variable(tf.train.latest_checkpoint(run / "checkpoints"), "epoch/.ATTRIBUTES/VARIABLE_VALUE"))
