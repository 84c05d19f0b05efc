"""Interruptions and bad input: nothing lost, nothing half-written, one clear line for every mistake."""

import csv
import gzip
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from output import atomic
from record import columns, log
import train
from training import stopping
from conftest import ROOT, TINY, checkpoint_epoch, run_train

RUN = [sys.executable, str(ROOT / "train.py")]


def epoch_results(stdout):
    """Each epoch line without its timing: what must match between an interrupted and a straight run."""
    return [line.split()[1:2] + line.split()[3:] for line in stdout.splitlines() if line.startswith("epoch ")]


def start(args):
    return subprocess.Popen(RUN + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(process, prefix):
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return "".join(lines)
    raise AssertionError(f"no line starting with {prefix!r}; stderr: {process.stderr.read()[-2000:]}")


# The SIGINT case is the conditional recipe's models: no dropout (so no dropout random state to save), the R1
# penalty instead, and each batch's labels, with FastGAN's decoder (its weights and Adam's slots for them saved too);
# the SIGTERM case keeps dropout and also augments, adapting how often
# (ADA's p, 0.064 a step, from 0 to 0.26 in epoch 2, shown in the epoch line), and averages: their random draws, p and the average must
# resume exactly too.
@pytest.mark.parametrize("stop_signal, exit_code, extra", [
    (signal.SIGINT, 130, ["model.dropout=0", "train.r1_weight=1", "model.conditional=true",
                          "train.reconstruction_weight=1"]),
    (signal.SIGTERM, 143, ["train.augment=[translation,cutout]", "train.augment_target=0.01", "train.augment_kimg=2",
                           "train.ema_decay=0.9"])])
@pytest.mark.slow
def test_ctrl_c_or_sigterm_stops_after_a_step_saves_and_resumes_exactly(tmp_path, stop_signal, exit_code, extra):
    args = [*TINY, "data.dataset=mnist_sample", "data.limit=1024", "train.batch_size=128", "train.epochs=3", "eval.every=0",
            f"output.dir={tmp_path}", "train.steps_per_call=3", *extra]  # 8 steps an epoch, calls of 3, 3 and 2:
    # a stop comes between calls, 3, 6 or 8 steps into an epoch
    process = start(args + ["output.run_name=stopped"])
    before = wait_for_line(process, "epoch 1/3")
    # At once: the request is checked after each call, so it stops epoch 2 after its first call (or a later one
    # if this process is slow to send it), on any machine. A sleep here could outlast epoch 2's 0.4 s.
    process.send_signal(stop_signal)
    rest, errors = process.communicate(timeout=120)
    assert process.returncode == exit_code
    assert f"Continue with: python train.py --resume {tmp_path / 'stopped'}" in errors
    assert "the checkpoint of epoch 1 (" in errors and "steps into epoch 2) is saved" in errors
    assert "Traceback" not in errors

    # The time epoch 2 had taken is saved with it, and counted in its row once resumed.
    import tensorflow as tf
    newest = tf.train.latest_checkpoint(tmp_path / "stopped" / "checkpoints")
    seconds, train_seconds, _ = tf.train.load_variable(newest, "spent/.ATTRIBUTES/VARIABLE_VALUE")
    assert seconds >= train_seconds > 0
    if "train.augment_target=0.01" in extra:  # ADA's p is saved with them
        assert 0 <= tf.train.load_variable(newest, "augment_probability/.ATTRIBUTES/VARIABLE_VALUE") <= 1

    # The steps already done are skipped by number: other batches would skip other images.
    config_before = (tmp_path / "stopped" / "config.yaml").read_bytes()
    changed = run_train("--resume", tmp_path / "stopped", "train.batch_size=64")
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    assert "train.batch_size cannot change when resuming" in changed.stderr and "steps into epoch 2" in changed.stderr
    assert (tmp_path / "stopped" / "config.yaml").read_bytes() == config_before

    resumed = run_train("--resume", tmp_path / "stopped")
    assert resumed.returncode == 0, resumed.stderr
    assert "steps into epoch" in resumed.stdout
    with open(tmp_path / "stopped" / "metrics.csv", newline="") as f:
        epoch_2 = list(csv.DictReader(f))[1]
    assert float(epoch_2["seconds"]) > seconds and float(epoch_2["train_seconds"]) > train_seconds
    straight = run_train(*args, "output.run_name=straight")
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert epoch_results(before + rest + resumed.stdout) == epoch_results(straight.stdout)
    for name in ("generator.keras", "generator_ema.keras" if "train.ema_decay=0.9" in extra else "generator.keras"):
        weights = [keras.models.load_model(tmp_path / run / name).get_weights() for run in ("stopped", "straight")]
        assert all(np.array_equal(a, b) for a, b in zip(*weights))


@pytest.mark.slow
def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path, small_run_args):
    args = [*small_run_args, "train.epochs=4"]
    process = start(args + ["output.run_name=killed"])
    wait_for_line(process, "epoch 2/4")
    time.sleep(0.3)  # into epoch 3, wherever that is on this machine: a step, an image, the GIF, a file, a checkpoint
    process.kill()
    process.wait()
    run = tmp_path / "killed"
    assert process.returncode == -9 and not (run / "generator.keras").exists()  # killed, before it could finish
    # What a kill can leave besides: TensorFlow's unfinished checkpoint folder, a config being rewritten.
    (run / "checkpoints" / "ckpt-999_temp").mkdir()
    (run / "checkpoints" / "ckpt-999_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half")
    (run / ".config.tmp.yaml").write_text("data:\n")
    resumed = run_train("--resume", run)
    assert resumed.returncode == 0, resumed.stderr

    with open(run / "metrics.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2", "3", "4"]
    assert len(iio.imread(run / "progress.gif", index=None)) == 4
    assert checkpoint_epoch(run) == 4
    assert not atomic.stale(run) and not (run / "checkpoints" / "ckpt-999_temp").exists()
    straight = run_train(*args, "output.run_name=straight")
    assert straight.returncode == 0, straight.stderr[-2000:]
    # Every column but the timings, every digit: losses, balance, gradient norm and quality numbers.
    assert metrics_rows(run) == metrics_rows(tmp_path / "straight")


@pytest.mark.slow
def test_a_run_killed_as_its_first_row_appears_resumes_from_its_first_step(tmp_path, small_run_args):
    """Killed the moment metrics.csv has its first row: with output.checkpoint_every=2 there is certainly no
    checkpoint yet (with 1, the kill can land before epoch 1's), so --resume must start again with the saved
    settings and rewrite epoch 1 once."""
    args = [*small_run_args, "train.epochs=2", "output.checkpoint_every=2"]
    process = subprocess.Popen(RUN + args + ["output.run_name=killed"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    run = tmp_path / "killed"
    while not metrics_rows_written(run) and process.poll() is None:
        time.sleep(0.002)
    process.kill()
    _, errors = process.communicate()
    assert process.returncode == -9, errors[-2000:]
    assert not (run / "checkpoints" / "checkpoint").exists() and len(metrics_rows(run)) == 1
    resumed = run_train("--resume", run)
    assert resumed.returncode == 0, resumed.stderr
    assert "from its first step" in resumed.stdout
    with open(run / "metrics.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    assert len(iio.imread(run / "progress.gif", index=None)) == 2
    assert sorted(log.kept_tensorboard_epochs(run / "tensorboard", 2)) == [1, 2]
    straight = run_train(*args, "output.run_name=straight")
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert metrics_rows(run) == metrics_rows(tmp_path / "straight")


def metrics_rows_written(run):
    try:
        return len((run / "metrics.csv").read_text().splitlines()) > 1
    except FileNotFoundError:
        return False


def metrics_rows(run):
    with open(run / "metrics.csv", newline="") as f:
        return [{key: value for key, value in row.items() if key not in columns.TIMING_NAMES}
                for row in csv.DictReader(f)]


def test_a_second_sigterm_stops_at_once_with_sigterms_exit_code(monkeypatch, tmp_path, small_run_args):
    from training import loop

    def train_until_signalled_twice(run, stop):
        os.kill(os.getpid(), signal.SIGTERM)  # the first asks to stop after the step under way ...
        os.kill(os.getpid(), signal.SIGTERM)  # ... the second stops at once
        time.sleep(5)
    monkeypatch.setattr(loop, "train", train_until_signalled_twice)
    with pytest.raises(SystemExit) as stopped:
        train.main([*small_run_args, "output.run_name=twice"])
    assert stopped.value.code == 143


@pytest.mark.slow
def test_ctrl_c_before_the_first_checkpoint_says_how_to_start_again(tmp_path, small_run_args):
    process = start([*small_run_args, "output.run_name=early"])
    run = tmp_path / "early"
    while not (run / "images").is_dir() and process.poll() is None:  # the run has begun: data read, folder made
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # while the models are built: it stops before the first step
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in errors
    assert "no training is saved" in errors and f"python train.py --resume {run}" in errors
    assert not (run / "checkpoints" / "checkpoint").exists()


@pytest.mark.slow
def test_a_damaged_checkpoint_is_one_line_and_the_one_before_it_resumes(tmp_path, small_run_args):
    assert run_train(*small_run_args, "train.epochs=2", "eval.every=0", "output.checkpoints_to_keep=2",
                     "output.run_name=r").returncode == 0
    run = tmp_path / "r"
    newest = run / "checkpoints" / "ckpt-4.data-00000-of-00001"  # 2 steps an epoch: epoch 2's
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated, as by a full disk outside this program
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    result = run_train("--resume", run, "train.epochs=3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"checkpoint {run / 'checkpoints' / 'ckpt-4'} cannot be read" in errors[0]
    assert "delete ckpt-4.index and ckpt-4.data-*" in errors[0] and "the one before it, ckpt-2" in errors[0]
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    for damaged in run.glob("checkpoints/ckpt-4.*"):
        damaged.unlink()
    resumed = run_train("--resume", run, "train.epochs=3")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout and "after epoch 1" in resumed.stdout and checkpoint_epoch(run) == 3


# Run train.main in a process where saving metrics.png fails as on a full disk (matplotlib raises ENOSPC).
FULL_DISK_FOR_THE_PLOT = """
import errno, sys
import matplotlib.figure
import train
def full(figure, path, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))
matplotlib.figure.Figure.savefig = full
train.main(sys.argv[1:])
"""


@pytest.mark.slow
def test_unwritable_tensorboard_or_plot_files_are_one_line_and_keep_the_checkpoint(tmp_path, small_run_args):
    assert run_train(*small_run_args, "train.epochs=1", "eval.every=0", "output.run_name=r").returncode == 0
    run = tmp_path / "r"
    checkpoints = {p: p.read_bytes() for p in (run / "checkpoints").iterdir()}
    full = subprocess.run([sys.executable, "-c", FULL_DISK_FOR_THE_PLOT, "--resume", run, "train.epochs=2"],
                          cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    shutil.rmtree(run / "tensorboard")
    (run / "tensorboard").write_text("a file where TensorBoard's folder should be")
    blocked = run_train("--resume", run, "train.epochs=2")
    for result, file in ((full, run / "metrics.png"), (blocked, run / "tensorboard")):
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"cannot write {file}:" in errors[0], result.stderr[-2000:]
        assert f"python train.py --resume {run}" in errors[0]
    assert "No space left on device" in full.stderr and "TensorBoard's event file not written" in blocked.stderr
    assert {p: p.read_bytes() for p in (run / "checkpoints").iterdir()} == checkpoints  # epoch 1's, untouched
    (run / "tensorboard").unlink()
    resumed = run_train("--resume", run, "train.epochs=2")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert checkpoint_epoch(run) == 2


@pytest.mark.slow
def test_the_same_seed_gives_the_same_losses_and_images(tmp_path, small_run_args):
    first = run_train(*small_run_args, "train.epochs=1", "eval.every=0", "output.run_name=a")
    second = run_train(*small_run_args, "train.epochs=1", "eval.every=0", "output.run_name=b",
                       "train.deterministic=true")
    assert epoch_results(first.stdout) == epoch_results(second.stdout)
    assert (tmp_path / "a/images/epoch_0001.png").read_bytes() == (tmp_path / "b/images/epoch_0001.png").read_bytes()


@pytest.fixture
def data_files(tmp_path):
    """Bad data files of every kind, and an earlier run that no mistake may touch."""
    files = tmp_path / "files"
    files.mkdir()
    (files / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    np.savez(files / "floats.npz", x_train=np.zeros((10, 28, 28), np.float32))
    np.savez(files / "small.npz", x_train=np.zeros((10, 14, 14), np.uint8))
    np.savez(files / "flat.npz", x_train=np.zeros((10, 784), np.uint8))
    (files / "idx").mkdir()
    with gzip.open(files / "idx" / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x03 truncated")
    (files / "empty").mkdir()
    (files / "pngs").mkdir()
    for i in range(2):
        iio.imwrite(files / "pngs" / f"{i}.png", np.zeros((32, 32, 3), np.uint8))
    (files / "broken.yaml").write_text("train:\n  epochs: [1\n")
    (files / "not_a_dir").write_text("a file where a folder should be")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "metrics.csv").write_text("epoch\n1\n")
    return files


BAD_INPUT = [  # (arguments, what the one-line message must contain)
    (["--config", "{files}/missing.yaml"], "missing.yaml not found"),
    (["--config", "{files}/broken.yaml"], "broken.yaml is not valid YAML at line"),
    (["train.epoch=5"], "unknown key train.epoch"),
    (["train.epochs=ten"], "train.epochs must be an integer >= 1, got 'ten'"),
    (["train.epochs=0"], "train.epochs must be an integer >= 1"),
    (["train.batch_size=0"], "train.batch_size must be an integer >= 1"),
    (["train.generator_lr=-1"], "train.generator_lr must be a number > 0"),
    (["train.discriminator_lr=0"], "train.discriminator_lr must be a number > 0"),
    (["model.noise_dim=0"], "model.noise_dim must be an integer >= 1"),
    (["model.dropout=1"], "model.dropout must be a number in [0.0, 1.0)"),
    (["output.checkpoint_every=0"], "output.checkpoint_every must be an integer >= 1"),
    (["data.dataset=imagenet"], "data.dataset must be one of mnist, mnist_sample"),
    (["data.limit=0"], "data.limit must be an integer >= 1"),
    (["train.augment=[flip]"], "train.augment must be a list of distinct names from translation, cutout"),
    (["train.ema_decay=1"], "train.ema_decay must be a number in [0.0, 1.0)"),
    (["train.r1_weight=-1"], "train.r1_weight must be a number >= 0.0"),
    (["data.path={files}/nope.npz"], "data.path {files}/nope.npz does not exist"),
    (["data.path={files}/empty"], "has no train-images-idx3-ubyte"),
    (["data.path={files}/idx"], "is not an MNIST IDX file"),
    (["data.path={files}/corrupt.npz"], "is not a readable .npz file"),
    (["data.path={files}/floats.npz"], "x_train must be uint8"),
    (["data.path={files}/flat.npz"], "x_train must be uint8 of shape (N, 28, 28)"),
    (["data.path={files}/small.npz"], "images must be 28x28"),
    (["data.dataset=mnist_sample", "data.limit=20000"], "data.limit=20000 is larger than the 10000 images"),
    (["data.dataset=cifar10", "data.limit=60000"], "data.limit=60000 is larger than the 50000 images of cifar10"),
    (["data.dataset=folder", "data.path={files}/empty"], "has no images"),
    (["data.dataset=folder", "data.path={files}/pngs", "model.generator_widths=[256,128,64,32,16]"],
     "32x32 images need 3"),
    (["data.dataset=mnist_sample", "output.dir={files}/not_a_dir"], "cannot create"),
    (["output.run_name=earlier"], "already exists"),
    (["--resume", "{files}/empty"], "is not a run directory"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_gets_one_line_exit_2_and_touches_no_earlier_run(tmp_path, data_files, args, message):
    earlier_before = {p.name: p.read_bytes() for p in (tmp_path / "earlier").iterdir()}
    result = run_train(f"output.dir={tmp_path}", *[a.format(files=data_files) for a in args])
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message.format(files=data_files) in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "earlier").iterdir()} == earlier_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier", "files"]


@pytest.mark.slow
def test_a_stop_request_is_announced_at_once_while_a_long_call_runs(monkeypatch):
    """Python's handler waits for the call under way (a call of train.steps_per_call steps can take seconds);
    the announcement does not."""
    said = []

    class Timed(io.StringIO):
        def write(self, text):
            said.append((time.perf_counter(), text))
            return len(text)
    monkeypatch.setattr(sys, "stderr", Timed())
    matrix = np.random.default_rng(0).random((4000, 4000))
    with stopping.StopRequests() as stop:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        matrix @ matrix  # one call into C that takes seconds
        finished = time.perf_counter()
    assert stop.signal_number == signal.SIGINT
    announced = [when for when, text in said if "SIGINT: stopping after the steps under way" in text]
    assert len(announced) == 1 and announced[0] < finished - 0.3
