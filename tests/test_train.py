"""End to end: train.py as a user runs it, on 512 bundled digits (2 steps an epoch)."""

import csv
import hashlib
import re
import shutil
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
import yaml

from settings import config
import generate
from record import columns, generator_files, images
from training import checkpoint, state, stopping
from training.loop import draw_checked
from conftest import ROOT, TINY, checkpoint_epoch, run_train


def epoch_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("epoch ")]


def hparams(run):
    """train.epochs in each record of the run's settings for TensorBoard's HParams dashboard."""
    from tensorboard.plugins.hparams import plugin_data_pb2
    found = []
    for file in sorted((run / "tensorboard").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(file)):
            for value in event.summary.value:
                if value.tag == "_hparams_/session_start_info":
                    start = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    found.append(start.session_start_info.hparams["train.epochs"].number_value)
    return found


@pytest.mark.slow
def test_two_epochs_write_every_output_then_resume_adds_epoch_three_only(tmp_path, small_run_args):
    result = run_train(*small_run_args, "train.epochs=2", "output.run_name=demo")
    assert result.returncode == 0 and result.stderr == "", result.stderr  # nor TensorFlow's start-up lines
    run = tmp_path / "demo"
    assert [line.split()[1] for line in epoch_lines(result.stdout)] == ["1/2", "2/2"]
    assert re.fullmatch(r"epoch 1/2  \d+\.\ds  gen_loss \d+\.\d{4}  disc_loss \d+\.\d{4}  D\(x\) [\d.]+  "
                        r"D\(G\(z\)\) [\d.]+  frechet_distance [\d.]+  kernel_distance -?\d+\.\d\d  "
                        r"precision [01]\.\d\d  recall [01]\.\d\d  density \d+\.\d\d  coverage [01]\.\d\d  "
                        r"class_entropy [\d.]+  min_class_share [\d.]+%",
                        epoch_lines(result.stdout)[0])
    assert result.stdout.startswith(f"starting {run}: loading TensorFlow")  # the program's word comes first
    assert sorted(p.name for p in (run / "images").iterdir()) == ["epoch_0001.png", "epoch_0002.png", "reals.png"]
    assert len(iio.imread(run / "progress.gif", index=None)) == 2
    assert checkpoint_epoch(run) == 2
    generator = tf.keras.models.load_model(run / "generator.keras")
    assert generator.output_shape == (None, 28, 28, 1)
    saved = config.saved(run)  # config.yaml as set, with found.yaml's image shape, seed and evaluation interval
    assert saved["train.epochs"] == 2 and saved["data.dataset"] == "mnist_sample"
    assert (saved["data.image_size"], saved["data.channels"]) == (28, 1)
    with np.load(ROOT / "evaluator" / "mnist_reference.npz") as committed:  # the evaluator that scored it
        assert saved["eval.evaluator_id"] == hashlib.sha256(committed["features"].tobytes()).hexdigest()[:12]
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["image_size"] is None  # as the user left it
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == columns.NAMES and [r["epoch"] for r in rows] == ["1", "2"]
    # conditional runs only; self-conditioned runs only; runs scored without labels only
    label_columns = ["label_accuracy", "min_label_accuracy", "cluster_seconds"] + [c.name for c in columns.CLUSTERS] \
        + ["mode_entropy", "min_mode_ratio", "augment_probability"]
    assert all((r[column] == "") == (column in label_columns) for r in rows for column in columns.NAMES)
    assert (run / "metrics.png").exists() and (run / "generator_best.keras").exists()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert not (run / "warnings.log").exists()  # no warning in 2 epochs: no empty file
    first_frame = (run / "images" / "epoch_0001.png").read_bytes()

    resumed = run_train("--resume", run, "train.epochs=3")
    assert resumed.returncode == 0, resumed.stderr
    assert [line.split()[1] for line in epoch_lines(resumed.stdout)] == ["3/3"]
    assert (run / "images" / "epoch_0001.png").read_bytes() == first_frame
    assert len(iio.imread(run / "progress.gif", index=None)) == 3
    assert checkpoint_epoch(run) == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"] == 3
    with open(run / "metrics.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3"]
    assert hparams(run) == [3]  # the settings for TensorBoard's HParams dashboard, once: the resumed run's
    files = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    again = run_train("--resume", run)  # finished: says so, and trains and writes nothing
    assert again.returncode == 0 and not epoch_lines(again.stdout)
    assert "is finished" in again.stdout and f"python train.py --resume {run} train.epochs=N" in again.stdout
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == files

    # A resumed run continues exactly: the same losses as three epochs in one go.
    straight = run_train(*small_run_args, "train.epochs=3", "output.run_name=straight")
    assert epoch_lines(straight.stdout)[2].split()[3:] == epoch_lines(resumed.stdout)[0].split()[3:]


@pytest.mark.slow
def test_an_existing_run_is_never_overwritten(tmp_path, small_run_args):
    run = tmp_path / "taken"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    result = run_train(*small_run_args, "output.run_name=taken")
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--resume" in result.stderr
    assert [p.name for p in run.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_resume_refuses_a_folder_that_is_not_a_run_and_a_model_change(tmp_path, small_run_args):
    result = run_train("--resume", tmp_path)
    assert result.returncode == 2 and "is not a run directory" in result.stderr

    assert run_train(*small_run_args, "train.epochs=1", "output.run_name=r").returncode == 0
    result = run_train("--resume", tmp_path / "r", "train.epochs=2", "model.noise_dim=64")
    assert result.returncode == 2
    assert "model.noise_dim cannot change when resuming" in result.stderr
    result = run_train("--resume", tmp_path / "r", "train.epochs=2", "model.conditional=true")
    assert result.returncode == 2 and "model.conditional cannot change when resuming" in result.stderr
    config_before = (tmp_path / "r" / "config.yaml").read_bytes()
    result = run_train("--resume", tmp_path / "r", "train.epochs=2", "output.grid_size=5")  # the fixed noise's shape
    assert result.returncode == 2 and "output.grid_size cannot change when resuming" in result.stderr
    assert (tmp_path / "r" / "config.yaml").read_bytes() == config_before
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_seed_empty_picks_one_and_records_it(tmp_path, small_run_args):
    result = run_train(*small_run_args, "train.epochs=1", "train.seed=", "output.run_name=s")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((tmp_path / "s" / "config.yaml").read_text())["train"]["seed"] is None  # as the user set it
    found = yaml.safe_load((tmp_path / "s" / "found.yaml").read_text())["train"]["seed"]
    assert isinstance(found, int)
    assert run_train("--resume", tmp_path / "s", "train.epochs=2").returncode == 0  # resumed with the seed it found
    assert yaml.safe_load((tmp_path / "s" / "found.yaml").read_text())["train"]["seed"] == found


@pytest.mark.slow
def test_divergence_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path, small_run_args):
    assert run_train(*small_run_args, "train.epochs=1", "eval.every=0", "output.run_name=n").returncode == 0
    run = tmp_path / "n"
    saved = (run / "checkpoints" / "ckpt-2.index").read_bytes()
    # An absurd learning rate, changed on resume, blows the weights up within an epoch.
    result = run_train("--resume", run, "train.epochs=3", "train.generator_lr=1e30", "train.discriminator_lr=1e30")
    assert result.returncode == 1
    assert "training diverged in epoch 2" in result.stderr and "The last good checkpoint is from epoch 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert checkpoint_epoch(run) == 1
    assert (run / "checkpoints" / "ckpt-2.index").read_bytes() == saved  # 2 steps: ckpt-2 is epoch 1's
    checkpoint = tf.train.Checkpoint(generator=tf.keras.models.load_model(run / "generator.keras"))
    checkpoint.restore(tf.train.latest_checkpoint(run / "checkpoints")).expect_partial().assert_existing_objects_matched()


class Counted:
    """A model stand-in that returns `output` and counts its calls."""

    def __init__(self, output):
        self.output, self.calls = output, 0

    def __call__(self, inputs, training):
        self.calls += 1
        return self.output


def test_the_epochs_grid_is_drawn_once_and_checked_and_a_blow_up_names_the_newest_checkpoint(tmp_path):
    row, noise = {"gen_loss": 0.7, "disc_loss": 1.3}, np.zeros((4, 100), np.float32)
    generator, discriminator = Counted(np.zeros((4, 28, 28, 1))), Counted(np.zeros((4, 1)))
    networks = SimpleNamespace(generator=generator, sampler=generator, discriminator=discriminator,
                               class_names=[])  # the parts of a state.TrainingState that draw_and_check reads
    samples, finite = state.TrainingState.draw_and_check(networks, noise)
    assert samples is generator.output and bool(finite) and generator.calls == 1  # one pass draws and checks
    networks.sampler = averaged = Counted(np.zeros((4, 28, 28, 1)))
    assert bool(state.TrainingState.draw_and_check(networks, noise)[1])
    assert averaged.calls == 1 and generator.calls == 2  # with an averaged generator, the trained one is checked too
    networks.generator = Counted(np.full((4, 28, 28, 1), np.nan))
    assert not bool(state.TrainingState.draw_and_check(networks, noise)[1])
    run = SimpleNamespace(draw=lambda inputs: state.TrainingState.draw_and_check(networks, inputs),
                          last_checkpoint=checkpoint.describe_checkpoint(2, 3))
    with pytest.raises(stopping.TrainingDiverged, match="in epoch 5: .* The last good checkpoint is from epoch 2 "
                                                     r"\(3 steps into epoch 3\)"):
        draw_checked(row, run, noise, 5, tmp_path)
    networks.generator = generator  # finite networks, but the epoch's loss was not
    with pytest.raises(stopping.TrainingDiverged, match="losses nan"):
        draw_checked({"gen_loss": float("nan"), "disc_loss": 1.3}, run, noise, 5, tmp_path)


@pytest.mark.slow
def test_an_averaged_generator_is_saved_drawn_from_and_cannot_be_switched_off_on_resume(tmp_path, small_run_args):
    result = run_train(*small_run_args, "train.epochs=2", "eval.every=0", "train.ema_decay=0.5", "output.run_name=e")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "e"
    raw, averaged = (tf.keras.models.load_model(run / name) for name in ("generator.keras", "generator_ema.keras"))
    assert not all(np.array_equal(a, b) for a, b in zip(raw.get_weights(), averaged.get_weights()))
    # The grids are the averaged generator's, from the fixed noise in the checkpoint.
    noise = tf.train.load_variable(tf.train.latest_checkpoint(run / "checkpoints"), "fixed_noise/.ATTRIBUTES/VARIABLE_VALUE")
    grid = images.grid(images.to_uint8(averaged(noise, training=False)), columns=4)
    np.testing.assert_array_equal(iio.imread(run / "images" / "epoch_0002.png").reshape(grid.shape), grid)
    assert generate.find_model(run, best=False) == ("keras", run / "generator_ema.keras")
    from_checkpoint, _ = generate.load_generator("checkpoint", (run / "checkpoints", run))
    assert all(np.array_equal(a, b) for a, b in zip(from_checkpoint.get_weights(), averaged.get_weights()))

    result = run_train("--resume", run, "train.epochs=3", "train.ema_decay=0")
    assert result.returncode == 2 and "train.ema_decay cannot be switched off when resuming" in result.stderr


@pytest.mark.slow
def test_a_folder_of_colour_pngs_trains_and_writes_colour_grids(tmp_path):
    folder = tmp_path / "pictures"
    rng = np.random.default_rng(0)
    for i in range(64):  # 32x32 RGB: a coloured background with a white square somewhere
        picture = np.zeros((32, 32, 3), np.uint8)
        picture[..., i % 3] = 200
        y, x = rng.integers(4, 20, 2)
        picture[y:y + 8, x:x + 8] = 255
        (folder / str(i % 4)).mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / str(i % 4) / f"{i}.png", picture)
    result = run_train(*TINY, "data.dataset=folder", f"data.path={folder}", "train.epochs=1", f"output.dir={tmp_path}",
                       "output.run_name=colour")
    assert result.returncode == 0, result.stderr
    assert "training on 64 folder images" in result.stdout
    assert "note: no quality numbers (the balance diagnostics still run): " in result.stderr
    assert "has 64 labelled images; a classifier for the quality numbers needs at least 250" in result.stderr
    assert "training one first" not in result.stdout  # what stops it is said before anything starts
    run = tmp_path / "colour"
    grid = iio.imread(run / "images" / "epoch_0001.png")
    assert grid.shape == (3 * (4 * 33 + 1), 3 * (4 * 33 + 1), 3)  # 4x4 images of 32 pixels and gaps, 3x
    reals = iio.imread(run / "images" / "reals.png")  # the first 16 of epoch 1, as the network gets them
    assert reals.shape == grid.shape
    pictures = {iio.imread(path).tobytes() for path in folder.rglob("*.png")}
    cells = [reals[3 * (1 + 33 * row):3 * (33 + 33 * row):3, 3 * (1 + 33 * column):3 * (33 + 33 * column):3]
             for row in range(4) for column in range(4)]
    assert all(cell.tobytes() in pictures for cell in cells) and len({cell.tobytes() for cell in cells}) == 16
    saved = config.saved(run)
    assert (saved["data.image_size"], saved["data.channels"]) == (32, 3)
    assert tf.keras.models.load_model(run / "generator.keras").output_shape == (None, 32, 32, 3)
    result = run_train("--resume", run, "train.epochs=2", "data.image_size=64")
    assert result.returncode == 2 and "data.image_size cannot change when resuming" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("option", ["train.mixed_precision=mixed_float16", "train.mixed_precision=mixed_bfloat16",
                                    "train.jit_compile=true"])
def test_each_speed_option_trains_with_finite_losses_and_resumes(tmp_path, option):
    """Under XLA with FastGAN's two additions on too: every operation of their layers and decoder loss must compile."""
    fastgan = ["train.reconstruction_weight=1", "model.skip_excitation=true"] if option == "train.jit_compile=true" else []
    args = [*TINY, "data.dataset=mnist_sample", "data.limit=64", "train.batch_size=32", "eval.every=0",
            f"output.dir={tmp_path}", "output.run_name=r", *fastgan, option]
    result = run_train(*args, "train.epochs=1")
    assert result.returncode == 0, result.stderr[-2000:]
    resumed = run_train("--resume", tmp_path / "r", "train.epochs=2")  # mixed_float16: the loss scale restores
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for line in epoch_lines(result.stdout + resumed.stdout):
        losses = [float(x) for x in re.findall(r"_loss (\S+)", line)]
        assert len(losses) == 2 and all(np.isfinite(losses)), line
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]


@pytest.mark.slow
def test_steps_per_call_and_the_background_writer_change_nothing_that_is_learned_or_written(tmp_path, small_run_args):
    """16 steps an epoch in calls of 5 (the last one short) with the writer thread, against one call per step
    with every file written before the next epoch: the same losses, quality numbers, grids, GIF and models.
    The default recipe's dropout and the fast recipe's R1 penalty and moving average run together here."""
    common = [*small_run_args, "train.batch_size=32", "train.epochs=2", "eval.num_samples=100", "train.r1_weight=1",
              "train.ema_decay=0.9"]
    grouped = run_train(*common, "train.steps_per_call=5", "output.run_name=grouped")
    single = run_train(*common, "train.steps_per_call=1", "output.write_in_background=false", "output.run_name=single")
    assert grouped.returncode == 0 and single.returncode == 0, grouped.stderr + single.stderr
    # Written to a pipe, not a terminal: a plain progress line after the first call, before the epoch's line.
    lines = grouped.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("training epoch 1/2: "))
    assert re.fullmatch(r"training epoch 1/2: 160/512, [\d,]+ images/s, \d+ s left", lines[first])
    assert first < next(i for i, line in enumerate(lines) if line.startswith("epoch 1/2 "))

    def outputs(run):
        with open(run / "metrics.csv", newline="") as f:
            rows = [{k: v for k, v in row.items() if k not in columns.TIMING_NAMES} for row in csv.DictReader(f)]
        pictures = [(run / name).read_bytes() for name in ("images/epoch_0001.png", "images/epoch_0002.png",
                                                           "progress.gif")]
        models = [tf.keras.models.load_model(run / name).get_weights()
                  for name in ("generator.keras", "generator_ema.keras", "generator_best.keras")]
        return rows, pictures, models
    (rows, pictures, models), (rows_1, pictures_1, models_1) = outputs(tmp_path / "grouped"), outputs(tmp_path / "single")
    assert rows == rows_1 and rows[1]["frechet_distance"] != "" and pictures == pictures_1
    assert all(np.array_equal(a, b) for model, model_1 in zip(models, models_1) for a, b in zip(model, model_1))


@pytest.mark.slow
def test_a_resume_redraws_what_the_writer_had_not_finished_when_the_run_was_killed(tmp_path, small_run_args):
    result = run_train(*small_run_args, "train.epochs=2", "eval.num_samples=100", "output.run_name=k")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "k"
    gif = (run / "progress.gif").read_bytes()
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["frechet_distance"] = "1e9"  # epoch 2 is the best, whatever it scored: its generator must come back too
    with open(run / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)
    # As a kill after the last checkpoint leaves it if the writer threads had not begun their epoch-2 work:
    for name in ("progress.gif", "metrics.png", "generator.keras", "generator_best.keras"):
        (run / name).unlink()
    shutil.rmtree(run / "tensorboard")
    resumed = run_train("--resume", run)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "progress.gif").read_bytes() == gif and (run / "metrics.png").is_file()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    again, last = (tf.keras.models.load_model(run / name) for name in ("generator_best.keras", "generator.keras"))
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), last.get_weights()))


def test_the_asynchronous_checkpoint_patch_checks_its_assumption_and_else_saves_in_place(tmp_path, monkeypatch,
                                                                                         capsys):
    class Foreign:  # a variable class that wraps no TensorFlow variable
        def __init__(self, value):
            self.number = value
    assert not checkpoint.patch_for_async_checkpoint(Foreign) and not hasattr(Foreign, "_copy_trackable_to_cpu")
    monkeypatch.setattr(checkpoint, "async_checkpoint_patched", lambda: False)
    run = state.TrainingState(config.load(), tf.distribute.get_strategy(), [], tmp_path / "checkpoints")
    assert "outside the tested range" in capsys.readouterr().out
    assert not run.save_options.experimental_enable_async_checkpoint
    run.save()
    run.step_counter.assign(3)
    run.save()  # a second save: the one the patch exists for
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(tmp_path / "checkpoints"))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 3


@pytest.mark.slow
def test_a_scored_run_resumes_unscored_or_without_its_evaluator_and_keeps_no_stale_best_generator(tmp_path,
                                                                                                 small_run_args):
    """Resumed from an older checkpoint (the newest deleted, as a damaged one's message advises), the record keeps
    epochs 1-2; generator_best.keras must then hold the best of those or be gone. Resumed with eval.every=0, and
    then with its evaluator's files moved away, the run trains on and draws metrics.png from the scored rows."""
    from quality import references
    evaluator_dir = tmp_path / "evaluator"
    shutil.copytree(references.DEFAULT_DIR, evaluator_dir)
    args = [*small_run_args, "output.run_name=r", "output.checkpoints_to_keep=2", f"eval.evaluator_dir={evaluator_dir}",
            "eval.classifier=existing"]
    assert run_train(*args, "train.epochs=3").returncode == 0
    run = tmp_path / "r"
    for path in run.glob("checkpoints/ckpt-6.*"):  # epoch 3's (2 steps an epoch)
        path.unlink()
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["frechet_distance"] = "0.5"  # epoch 1 the best of those kept: no generator of it is left to save
    with open(run / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader(), writer.writerows(rows)
    held = generator_files.saved_epoch(run / "generator_best.keras")
    resumed = run_train("--resume", run, "train.epochs=4", "eval.every=0")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    best = run / "generator_best.keras"
    assert (held == 1) == best.exists() and (not best.exists() or generator_files.saved_epoch(best) == 1)
    with open(run / "metrics.csv", newline="") as f:
        kept = list(csv.DictReader(f))
    assert [r["epoch"] for r in kept] == ["1", "2", "3", "4"] and kept[2]["frechet_distance"] == ""
    shutil.rmtree(evaluator_dir)
    (run / "metrics.png").unlink()
    gone = run_train("--resume", run, "train.epochs=5", "eval.every=1")
    assert gone.returncode == 0, gone.stderr[-2000:]
    assert "no quality numbers" in gone.stderr and (run / "metrics.png").is_file() and checkpoint_epoch(run) == 5


def test_the_learning_rates_penalty_and_beta2_move_in_a_straight_line_to_their_last_epochs_values(tmp_path):
    cfg = config.load(overrides=[*TINY, "train.lr_decay=0.9", "train.epochs=10", "train.generator_lr=2e-4",
                                 "train.discriminator_lr=4e-4", "train.r1_weight=1", "train.penalty_decay=0.9",
                                 "train.generator_beta2=0.9", "train.discriminator_beta2=0.9", "train.beta2_final=0.99"])
    run = state.TrainingState(cfg, tf.distribute.get_strategy(), [], tmp_path / "checkpoints")
    values = []
    for epoch in (1, 4, 10):
        run.set_schedules(cfg, epoch)
        values.append((float(run.generator_optimizer.learning_rate), float(run.discriminator_optimizer.learning_rate),
                       float(run.penalty_share), float(run.generator_optimizer.beta_2),
                       float(run.discriminator_optimizer.beta_2)))
    np.testing.assert_allclose(values, [(2e-4, 4e-4, 1.0, 0.9, 0.9), (1.4e-4, 2.8e-4, 0.7, 0.93, 0.93),
                                        (2e-5, 4e-5, 0.1, 0.99, 0.99)], rtol=1e-6)
    # a variable (which the compiled step reads), saved with the checkpoint
    assert "generator_optimizer/beta_2/.ATTRIBUTES/VARIABLE_VALUE" in {
        name for name, _ in tf.train.list_variables(run.checkpoint.write(str(tmp_path / "c")))}
    # under loss scaling the optimizers wrap the Adams, whose beta_2 still moves
    scaled = config.load(overrides=[*TINY, "train.epochs=10", "train.beta2_final=0.99", "train.generator_beta2=0.9",
                                    "train.discriminator_beta2=0.9", "train.mixed_precision=mixed_float16"])
    try:
        run = state.TrainingState(scaled, tf.distribute.get_strategy(), [], tmp_path / "checkpoints3")
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")  # the next test's layers as they would be
    run.set_schedules(scaled, 10)
    assert [float(adam.beta_2) for adam in run.adams] == [np.float32(0.99)] * 2
    constant = config.load(overrides=[*TINY, "train.epochs=10"])  # the default: the tutorial's rate every epoch
    run = state.TrainingState(constant, tf.distribute.get_strategy(), [], tmp_path / "checkpoints2")
    run.set_schedules(constant, 10)
    assert float(run.generator_optimizer.learning_rate) == np.float32(1e-4)
    assert run.generator_optimizer.beta_2 == 0.999 and float(run.penalty_share) == 1.0
