"""generate.py on a generator trained for one epoch on 256 bundled digits."""

import shutil

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from settings import config
import generate
from record import generator_files
from conftest import TINY, run_program, run_train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = run_train(*TINY, "data.dataset=mnist_sample", "data.limit=256", "train.epochs=1", f"output.dir={out}",
                       "output.run_name=r")
    assert result.returncode == 0, result.stderr
    return out / "r"


def draw(*argv):
    generate.main([str(a) for a in argv])


@pytest.mark.slow
def test_npz_has_the_documented_contract(run, tmp_path):
    draw(run, "--num", 300, "--seed", 7, "--out", tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as archive:
        assert archive.files == ["images"]
        samples = archive["images"]
    assert samples.shape == (300, 28, 28, 1) and samples.dtype == np.uint8
    assert samples.max() > samples.min()


@pytest.mark.slow
def test_same_seed_same_images_other_seed_other_images(run, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        draw(run, "--num", 1500, "--seed", seed, "--out", tmp_path / f"{name}.npz")  # > one batch of 1000
    a, b, c = (np.load(tmp_path / f"{name}.npz")["images"] for name in "abc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.slow
def test_png_grid_and_one_png_per_image(run, tmp_path):
    draw(run, "--num", 10, "--seed", 0, "--out", tmp_path / "grid.png")
    grid = iio.imread(tmp_path / "grid.png")
    assert grid.shape == ((3 * 29 + 1) * 3, (4 * 29 + 1) * 3) and grid.dtype == np.uint8  # 4 columns x 3 rows
    draw(run, "--num", 12, "--seed", 0, "--out", tmp_path / "digits")
    files = sorted((tmp_path / "digits").iterdir())
    assert [f.name for f in files][:2] == ["01.png", "02.png"] and len(files) == 12
    assert iio.imread(files[0]).shape == (28, 28)


@pytest.mark.slow
def test_without_out_the_grid_goes_into_the_run_and_never_replaces_one(run, capsys):
    for expected in ("samples.png", "samples_2.png"):
        draw(run, "--num", 4, "--seed", 0)
        printed = capsys.readouterr().out
        assert f"loaded {run / 'generator.keras'} (the trained generator)" in printed
        assert f"wrote {run / expected}" in printed and (run / expected).is_file()
    first, second = (run / "samples.png").read_bytes(), (run / "samples_2.png").read_bytes()
    assert first == second  # the same seed: the same picture, written beside the first, not over it
    for name in ("samples.png", "samples_2.png"):
        (run / name).unlink()  # the run fixture is shared: leave it as other tests expect


@pytest.mark.slow
def test_best_uses_the_best_generator(run, tmp_path):
    import models
    other = tmp_path / "run"  # a run whose best generator differs from its last (a fresh one stands in for it)
    shutil.copytree(run, other)
    generator_files.save_generator(models.make_generator(), other / "generator_best.keras")
    draw(other, "--best", "--num", 5, "--seed", 3, "--out", tmp_path / "b.npz")
    draw(other, "--num", 5, "--seed", 3, "--out", tmp_path / "last.npz")
    best = tf.keras.models.load_model(other / "generator_best.keras")
    noise = np.random.default_rng(3).standard_normal((5, 100)).astype("float32")
    expected = np.clip(np.rint(best(noise, training=False).numpy() * 127.5 + 127.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(np.load(tmp_path / "b.npz")["images"], expected)
    assert not np.array_equal(np.load(tmp_path / "last.npz")["images"], expected)


@pytest.mark.slow
def test_checkpoint_directory_gives_the_same_generator_as_the_keras_file(run, tmp_path):
    draw(run, "--num", 5, "--seed", 3, "--out", tmp_path / "k.npz")
    draw(run / "checkpoints", "--num", 5, "--seed", 3, "--out", tmp_path / "c.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "k.npz")["images"], np.load(tmp_path / "c.npz")["images"])


@pytest.mark.slow
def test_interpolation_gif_has_a_frame_count_of_points_times_frames_per_leg(run, tmp_path):
    draw(run, "--interpolate", 3, "--num", 4, "--seed", 0, "--out", tmp_path / "walk.gif")
    frames = iio.imread(tmp_path / "walk.gif", index=None)
    assert len(frames) == 3 * generate.FRAMES_PER_LEG


def test_slerp_keeps_the_ends_and_the_norm_of_orthogonal_unit_vectors():
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    np.testing.assert_allclose(generate.slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(generate.slerp(a, b, 1.0), b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(generate.slerp(a, b, 0.5)), 1.0)


@pytest.mark.parametrize("args, message", [
    (["{tmp}/missing"], "does not exist"),
    (["{tmp}"], "has no generator.keras and no checkpoint"),
    (["{tmp}/junk.keras"], "cannot load"),
    (["{tmp}/notes.txt"], "is not a .keras model file"),
    (["{run}", "--out", "{tmp}/x.jpg"], "unknown output type '.jpg'"),
    (["{run}", "--num", "0"], "--num must be at least 1, got 0"),
    (["{tmp}/no_best", "--best"], "has no generator_best.keras"),
    (["{run}", "--interpolate", "3", "--out", "{tmp}/w.png"], "give --out a .gif path"),
    (["{run}", "--label", "7"], "--label needs a conditional generator"),
    (["{run}", "--walk-classes", "--interpolate", "3"], "choose one"),
])
@pytest.mark.slow
def test_errors_exit_2_with_one_line(run, tmp_path, capsys, args, message):
    (tmp_path / "junk.keras").write_bytes(b"not a zip file")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "no_best").mkdir()
    shutil.copy(run / "generator.keras", tmp_path / "no_best")
    with pytest.raises(SystemExit) as exit_:
        draw(*[a.format(tmp=tmp_path, run=run) for a in args])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_corrupt_model_file_gives_no_traceback(tmp_path):
    (tmp_path / "generator.keras").write_bytes(b"PK\x03\x04 truncated")
    result = run_program("generate", tmp_path)
    assert result.returncode == 2
    assert "cannot load" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_deleted_newest_checkpoint_draws_from_the_one_before_it_and_none_left_is_one_line(tmp_path, capsys):
    import models
    result = run_train(*TINY, "data.dataset=mnist_sample", "data.limit=256", "train.epochs=2", "eval.every=0",
                       "output.checkpoints_to_keep=2", f"output.dir={tmp_path}", "output.run_name=r")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "r"
    for path in [*run.glob("*.keras"), *run.glob("checkpoints/ckpt-2.*")]:  # 1 step an epoch: ckpt-2 is epoch 2's
        path.unlink()
    for name in ("a", "b"):
        draw(run, "--num", 6, "--seed", 1, "--out", tmp_path / f"{name}.npz")
    assert "the newest checkpoint in" in capsys.readouterr().out.splitlines()[0]
    a, b = (np.load(tmp_path / f"{name}.npz")["images"] for name in "ab")
    generator, _ = models.from_config(config.load(base=config.saved(run)))
    tf.train.Checkpoint(generator=generator).restore(str(run / "checkpoints" / "ckpt-1")).expect_partial()
    noise = np.random.default_rng(1).standard_normal((6, 100)).astype("float32")
    expected = np.clip(np.rint(generator(noise, training=False).numpy() * 127.5 + 127.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(a, expected)  # epoch 1's generator, every time
    np.testing.assert_array_equal(b, expected)
    for path in run.glob("checkpoints/ckpt-1.*"):
        path.unlink()
    with pytest.raises(SystemExit) as exit_:
        draw(run, "--num", 6, "--out", tmp_path / "c.npz")
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.strip().splitlines()) == 1 and "holds no checkpoint files" in error
    assert not (tmp_path / "c.npz").exists()
