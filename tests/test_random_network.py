"""Quality numbers for a loose folder: a random network's features, and the modes that stand in for classes."""

import csv

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

import compare
from data import sources
from quality import metrics, random_network
from record import log
from conftest import TINY, run_train


def test_dropped_modes_lower_recall_coverage_and_the_rarest_share_and_the_warning_names_one(monkeypatch):
    """Four well-separated kinds of real image, found as four modes: samples from all four score like real ones;
    samples with one kind gone lose a quarter of recall and coverage, their rarest mode's share is 0, and the
    warning names the mode."""
    monkeypatch.setattr(random_network, "MODES", 4)
    rng = np.random.default_rng(0)
    centres = np.eye(4, 8) * 10
    real = centres[rng.integers(4, size=400)] + rng.normal(size=(400, 8))
    reference = metrics.measured_reference(real[:200], (real[200:], None), modes=random_network.modes_of(real[:200]))
    whole = metrics.scores(real[200:], None, reference)
    assert whole["min_mode_ratio"] > 0.6 and whole["mode_entropy"] > 0.98
    kept = real[200:][np.argmin(((real[200:, None] - centres[None]) ** 2).sum(-1), axis=1) != 2]  # kind 2 dropped
    dropped = metrics.scores(kept, None, reference)
    assert dropped["min_mode_ratio"] == 0 and dropped["recall"] < whole["recall"] - 0.15
    assert dropped["coverage"] < whole["coverage"] - 0.15
    rows = [{key: value for key, value in dropped.items() if key != "rarest_mode"} for _ in range(3)]
    [(kind, message)] = log.mode_warnings(rows, dropped["rarest_mode"])
    number, real_share, drawn, picture = dropped["rarest_mode"]
    assert kind == "mode_collapse" and f"mode {number} of the real images" in message and drawn == 0
    assert f"{real_share:.0%} of them) is drawn in 0.0% of samples:" in message and picture is None
    assert log.mode_warnings(rows[:2], dropped["rarest_mode"]) == []  # two evaluations are not yet a pattern
    reference.modes_picture = "evaluator/modes.png"  # as random_network.load sets it when the picture exists
    [(_, message)] = log.mode_warnings(rows, metrics.scores(kept, None, reference)["rarest_mode"])
    assert f"(row {number} of evaluator/modes.png shows its real images)" in message


def test_the_modes_picture_shows_each_modes_own_real_images_a_row_each(tmp_path, monkeypatch):
    """Three kinds of real image (flat grey levels, told apart by their features): row k of the picture holds
    only images of mode k, the mode whose centroid is that kind's."""
    monkeypatch.setattr(random_network, "MODES", 3)
    rng = np.random.default_rng(0)
    levels = np.array([0, 120, 240], np.uint8)
    kinds = rng.integers(3, size=90)
    images = np.broadcast_to(levels[kinds][:, None, None, None], (90, 4, 4, 1)).copy()
    features = np.stack([levels[kinds].astype(np.float32), np.zeros(90, np.float32)], axis=1) + rng.normal(size=(90, 2))
    reference = metrics.measured_reference(features, (features, None), modes=random_network.modes_of(features))
    random_network.save_modes_picture(tmp_path / "modes.png", images, np.arange(90), reference)
    picture = iio.imread(tmp_path / "modes.png")  # 4-pixel tiles and 1-pixel gaps, each pixel shown 3 times
    assert picture.shape == (3 * (3 * 5 + 1), 3 * (random_network.EXAMPLES * 5 + 1))
    for mode, centroid in enumerate(reference.modes):
        row = picture[3 * (1 + 5 * mode):3 * (5 + 5 * mode)]
        tiles = [row[:, 3 * (1 + 5 * column):3 * (5 + 5 * column)] for column in range(random_network.EXAMPLES)]
        assert all(np.all(tile == levels[np.abs(levels - centroid[0]).argmin()]) for tile in tiles)


@pytest.fixture(scope="module")
def loose_digits(tmp_path_factory):
    """300 bundled digits as loose PNGs: a folder without labels."""
    folder = tmp_path_factory.mktemp("loose")
    for number, image in enumerate(sources.load_sample()[:300]):
        iio.imwrite(folder / f"{number:05d}.png", image)
    return folder


@pytest.mark.slow
def test_a_loose_folder_is_scored_every_epoch_by_a_random_networks_features_and_compare_ranks_its_runs(
        tmp_path, loose_digits):
    evaluator_dir = tmp_path / "evaluators"
    common = [*TINY, "data.dataset=folder", f"data.path={loose_digits}", "train.epochs=2", "eval.num_samples=100",
              f"eval.evaluator_dir={evaluator_dir}", f"output.dir={tmp_path / 'runs'}"]
    first = run_train(*common, "output.run_name=a")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "no quality numbers" not in first.stderr and "making the features that score folder-" in first.stdout
    run = tmp_path / "runs" / "a"
    assert yaml.safe_load((run / "found.yaml").read_text())["eval"]["features"] == "random_network"
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(row[name] != "" for row in rows for name in ("frechet_distance", "precision", "coverage",
                                                             "mode_entropy", "min_mode_ratio"))
    assert all(row["class_entropy"] == "" for row in rows)  # modes are not classes
    assert (run / "generator_best.keras").is_file()
    assert len(list(evaluator_dir.glob("*_random_network.keras"))) == 1
    [modes] = evaluator_dir.glob("*_random_network_modes.png")
    drawn = modes.read_bytes()
    modes.unlink()  # as an evaluator made without the picture: the next run draws it from the saved reference
    second = run_train(*common, "output.run_name=b", "train.generator_lr=3e-4", "train.epochs=1")
    assert second.returncode == 0 and "making the features" not in second.stdout  # made once, kept
    assert "drew the real images of each of its" in second.stdout and modes.read_bytes() == drawn
    compare.main([str(tmp_path / "runs"), "--csv", str(tmp_path / "table.csv")])
    with open(tmp_path / "table.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [row["group"] for row in table] == ["1", "1"] and {row["run"] for row in table} == {"a", "b"}
    best = [float(row["best_fd"]) for row in table]
    assert best == sorted(best)  # ranked by their best Fréchet distance


@pytest.mark.slow
def test_train_classifier_makes_a_loose_folders_features_ahead_of_a_run_once_and_the_same_each_time(tmp_path,
                                                                                                   loose_digits):
    import keras
    from conftest import run_program
    settings = ["data.dataset=folder", f"data.path={loose_digits}", f"eval.evaluator_dir={tmp_path}"]
    made = run_program("train_classifier", *settings)
    assert made.returncode == 0, made.stderr[-2000:]
    assert "made them in" in made.stdout and "real vs the reference: frechet_distance" in made.stdout
    [network] = tmp_path.glob("folder-*-28x28x1_random_network.keras")
    [modes] = tmp_path.glob("folder-*-28x28x1_random_network_modes.png")
    assert f"a row each: {modes}" in made.stdout  # 10 modes of 10 digits, 28 pixels and a gap each, x3
    assert iio.imread(modes).shape == (3 * (random_network.MODES * 29 + 1), 3 * (random_network.EXAMPLES * 29 + 1))
    modes.unlink()  # made again without --replace, the network and reference kept
    again = run_program("train_classifier", *settings)
    assert again.returncode == 0 and "exist already" in again.stdout and "making the features" not in again.stdout
    assert "drew the real images of each of its 10 modes" in again.stdout and modes.is_file()
    saved = keras.models.load_model(network).layers[0].get_weights()
    remade = random_network.encoder(28, 1).get_weights()  # the seed makes the same network every time
    assert len(saved) == len(remade) and all(np.array_equal(a, b) for a, b in zip(saved, remade))
