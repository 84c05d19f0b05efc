import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_train(*args, cwd=None):
    """Run train.py as a user would; returns the CompletedProcess with text stdout/stderr."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, env=env, timeout=600)


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
