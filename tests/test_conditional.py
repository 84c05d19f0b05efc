"""Class-conditional training (model.conditional) and sampling: labels in, the asked class out."""

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

from settings import config
from data import pipeline, sources
from training import gan
import generate
import models
from record import columns, generator_files, log
from settings.schema import ConfigError
from conftest import TINY, TINY_DISCRIMINATOR, TINY_GENERATOR, run_train


@pytest.mark.parametrize("conditioning", ["projection", "planes"])
def test_the_discriminator_judges_the_image_as_the_class_it_is_given(conditioning):
    discriminator = models.make_discriminator(num_classes=10, conditioning=conditioning)
    image = tf.random.uniform((1, 28, 28, 1), -1, 1)
    verdicts = [float(discriminator([image, tf.one_hot([k], 10)])[0, 0]) for k in range(10)]
    assert len(set(verdicts)) == 10  # the same image, one verdict per class
    generator = models.make_generator(num_classes=10)
    assert generator.output_shape == (None, 28, 28, 1)
    z = tf.random.normal((1, 100))
    assert not np.allclose(generator([z, tf.one_hot([3], 10)]), generator([z, tf.one_hot([8], 10)]))


def test_a_saved_generator_keeps_its_class_names(tmp_path):
    generator = models.make_generator(num_classes=3)
    generator_files.save_generator(generator, tmp_path / "g.keras", ["cat", "dog", "owl"])
    assert generator_files.saved_class_names(tmp_path / "g.keras") == ["cat", "dog", "owl"]
    loaded, names = generate.load_generator("keras", tmp_path / "g.keras")
    assert names == ["cat", "dog", "owl"] and loaded.inputs[1].shape[-1] == 3
    generator_files.save_generator(generator, tmp_path / "bad.keras", ["cat", "../x", "owl"])  # a name that leaves --out
    with pytest.raises(ConfigError, match="names a class '../x', which cannot be part of a file name"):
        generate.load_generator("keras", tmp_path / "bad.keras")


def test_labels_come_with_the_images_and_leave_the_noise_as_it_was():
    cfg = config.load(overrides=["data.dataset=mnist_sample", "data.limit=40", "model.conditional=true"])
    images, labels, _ = sources.load_images(cfg)
    np.testing.assert_array_equal(labels, sources.load_sample_labels()[:40])
    assert sources.load_images(config.load(overrides=["data.dataset=mnist_sample", "data.limit=40"]))[1] is None
    labelled = next(iter(pipeline.epoch_batches(images, labels, 8, seed=1, epoch=1, noise_dim=100)))
    plain = next(iter(pipeline.epoch_batches(images, None, 8, seed=1, epoch=1, noise_dim=100)))
    assert len(labelled) == 3 and np.array_equal(labelled[0], plain[0]) and np.array_equal(labelled[2], plain[1])
    # each label stays with its image through the shuffle
    scaled = pipeline.scale(images)
    for image, label in zip(labelled[0].numpy(), labelled[1].numpy()):
        assert label == labels[np.flatnonzero((scaled == image).all(axis=(1, 2, 3)))[0]]


def test_a_folder_labels_its_images_by_subfolder_and_refuses_loose_images_or_one_class(tmp_path):
    for name, value in (("cats", 0), ("dogs", 255)):
        (tmp_path / name).mkdir()
        for i in range(3):
            iio.imwrite(tmp_path / name / f"{i}.png", np.full((8, 8), value, np.uint8))
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}", "model.conditional=true"])
    images, labels, _ = sources.load_images(cfg)
    assert sources.class_names(cfg) == ["cats", "dogs"]
    assert sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1] and all(images[labels == 1].min(axis=(1, 2, 3)) == 255)
    iio.imwrite(tmp_path / "loose.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ConfigError, match="loose.png is not in a class subfolder"):
        sources.load_images(cfg)
    (tmp_path / "loose.png").unlink()
    for file in (tmp_path / "dogs").iterdir():
        file.unlink()
    with pytest.raises(ConfigError, match="at least 2 class subfolders .* found 1"):
        sources.load_images(cfg)


@pytest.mark.parametrize("conditioning", ["projection", "planes"])
def test_a_conditional_step_with_r1_trains_both_networks(conditioning):
    generator = models.make_generator(widths=TINY_GENERATOR, num_classes=10)
    discriminator = models.make_discriminator(TINY_DISCRIMINATOR, dropout=0.0, num_classes=10,
                                              conditioning=conditioning)
    step = gan.make_train_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4),
                               r1_weight=1.0, num_classes=10)
    before = [w.numpy().copy() for w in generator.trainable_weights + discriminator.trainable_weights]
    stats = step((tf.zeros((8, 28, 28, 1)), tf.range(8) % 10, tf.random.normal((8, 100))))
    assert np.isfinite(float(stats["gen_loss"])) and np.isfinite(float(stats["disc_loss"]))
    after = generator.trainable_weights + discriminator.trainable_weights
    assert all(not np.array_equal(b, a.numpy()) for b, a in zip(before, after))


def test_label_warning_names_the_class_drawn_wrongly_for_three_evaluations():
    row = {column: 1.0 for column in columns.NAMES}
    rows = [dict(row, epoch=n, classifier_score=8.0, label_accuracy=0.9, min_label_accuracy=0.3) for n in (1, 2)]
    assert log.label_warnings(rows, 7, sources.DIGITS) == []  # two evaluations are not yet a pattern
    rows.append(dict(rows[-1], epoch=3))
    [(kind, message)] = log.label_warnings(rows, 7, sources.DIGITS)
    assert kind == "wrong_label" and "now 7" in message and "70%" in message
    rows.append(dict(rows[-1], epoch=4, min_label_accuracy=0.9))
    assert log.label_warnings(rows, 7, sources.DIGITS) == []


def test_each_generated_image_has_the_class_of_the_real_image_beside_it():
    """A generator that draws its class as a brightness, and a discriminator that is sure an image is real
    exactly when its brightness is the class it is told: D(G(z)) is 1/2 only if the classes match pairwise."""
    noise, classes, image = (keras.Input(shape=(100,)), keras.Input(shape=(10,)),
                             keras.Input(shape=(28, 28, 1)))
    brightness = keras.layers.Dense(1, kernel_initializer="zeros")(noise)  # 0: a weight for the optimizer only
    drawn = keras.layers.Lambda(lambda pair: tf.zeros((tf.shape(pair[1])[0], 28, 28, 1)) + pair[0][:, None, None]
                                + tf.cast(tf.argmax(pair[1], 1), tf.float32)[:, None, None, None] / 10)(
        [brightness, classes])
    generator = keras.Model([noise, classes], drawn)
    told = keras.layers.Dense(1, kernel_initializer="zeros")(keras.layers.Flatten()(image))
    logit = keras.layers.Lambda(lambda parts: parts[0] - 100 * tf.abs(
        tf.reduce_mean(parts[1], [1, 2]) - tf.cast(tf.argmax(parts[2], 1), tf.float32)[:, None] / 10))(
        [told, image, classes])
    discriminator = keras.Model([image, classes], logit)
    step = gan.make_train_step(generator, discriminator, keras.optimizers.Adam(0.0), keras.optimizers.Adam(0.0),
                               num_classes=10)
    labels = tf.constant([3, 1, 4, 1, 5, 9, 2, 6])
    statistics = step((tf.zeros((8, 28, 28, 1)), labels, tf.zeros((8, 100))))
    assert float(statistics["d_fake"]) == pytest.approx(0.5, abs=1e-4)  # sigmoid(0): every image judged as its own class


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = run_train(*TINY, "--config", "configs/conditional.yaml", "data.limit=128", "train.epochs=2",
                       "train.batch_size=64", "eval.num_samples=100", "output.grid_size=3", f"output.dir={out}",
                       "output.run_name=c")
    assert result.returncode == 0, result.stderr[-2000:]
    return out / "c", result.stdout


@pytest.mark.slow
def test_a_conditional_run_draws_one_row_per_class_and_scores_label_accuracy(run):
    run_dir, stdout = run
    assert (run_dir / "classes.txt").read_text().splitlines() == sources.DIGITS
    grid = iio.imread(run_dir / "images" / "epoch_0002.png")
    assert grid.shape == (3 * (10 * 29 + 1), 3 * (3 * 29 + 1))  # 10 rows of 3 digits, 28 pixels and 1 gap each, x3
    rows = log.RunLog(run_dir, 2).rows
    # The column is what the classifier reads of the final (averaged) generator's samples, asked per class.
    from quality import evaluators
    evaluator = evaluators.for_run(config.load(overrides=["data.dataset=mnist_sample", "data.image_size=28",
                                                          "data.channels=1", "eval.num_samples=100"]), None)
    scored = evaluator.score_generator(keras.models.load_model(run_dir / "generator_ema.keras"))
    assert len(rows) == 2 and rows[-1]["label_accuracy"] == pytest.approx(scored["label_accuracy"], abs=1e-6)
    assert rows[-1]["min_label_accuracy"] == pytest.approx(scored["min_label_accuracy"], abs=1e-6)
    assert "label_accuracy" in stdout
    assert generator_files.saved_class_names(run_dir / "generator_ema.keras") == sources.DIGITS


@pytest.mark.slow
def test_generate_draws_the_asked_classes_and_records_them(run, tmp_path):
    run_dir, _ = run
    generate.main([str(run_dir), "--label", "3,7", "--num", "5", "--seed", "1", "--out", str(tmp_path / "s.npz")])
    samples = np.load(tmp_path / "s.npz")
    assert samples["labels"].tolist() == [3, 7, 3, 7, 3] and samples["images"].shape == (5, 28, 28, 1)
    generate.main([str(run_dir), "--num", "12", "--seed", "1", "--out", str(tmp_path / "all")])
    names = sorted(path.name for path in (tmp_path / "all").iterdir())
    assert names[:3] == ["01_0.png", "02_1.png", "03_2.png"] and names[-1] == "12_1.png"
    # grids: one class is a square of it; several, one column each in the order asked
    generate.main([str(run_dir), "--label", "7", "--num", "64", "--out", str(tmp_path / "sevens.png")])
    assert iio.imread(tmp_path / "sevens.png").shape == (3 * (8 * 29 + 1),) * 2
    generate.main([str(run_dir), "--label", "3,8,3", "--num", "6", "--out", str(tmp_path / "mixed.png")])
    assert iio.imread(tmp_path / "mixed.png").shape == (3 * (2 * 29 + 1), 3 * (3 * 29 + 1))
    generate.main([str(run_dir), "--walk-classes", "--num", "2", "--seed", "1", "--out", str(tmp_path / "w.gif")])
    assert iio.imread(tmp_path / "w.gif").shape[0] == 10 * generate.FRAMES_PER_LEG


@pytest.mark.slow
def test_generate_refuses_an_unknown_class_in_one_line(run, capsys):
    run_dir, _ = run
    with pytest.raises(SystemExit) as exit_:
        generate.main([str(run_dir), "--label", "11"])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and "not a class of this generator" in error and len(error.strip().splitlines()) == 1


def test_the_class_walk_moves_the_class_and_not_the_noise():
    walk = generate.class_walk([2, 5], count=3, num_classes=6)
    assert walk.shape == (2 * generate.FRAMES_PER_LEG, 3, 6)
    np.testing.assert_allclose(walk.sum(axis=2), 1.0, rtol=1e-6)  # always a mix of classes summing to one
    assert walk[0, 0, 2] == 1 and walk[generate.FRAMES_PER_LEG, 0, 5] == 1


def test_a_grid_shows_every_class_up_to_ten_and_ten_spread_evenly_beyond():
    from training import loop
    assert loop.grid_classes(3) == [0, 1, 2] and loop.grid_classes(10) == list(range(10))
    shown = loop.grid_classes(100)
    assert len(shown) == 10 and shown[0] == 0 and shown[-1] == 99 and shown == sorted(set(shown))


def test_a_resumed_run_refuses_classes_other_than_it_was_built_for(tmp_path):
    from training import loop
    generator_files.write_run_class_names(tmp_path, ["cats", "dogs"])
    loop.check_classes(tmp_path, ["cats", "dogs"])  # the same classes: resumes
    with pytest.raises(ConfigError, match=r"the classes found now \(cats, dogs, owls; 3\) are not the 2 the run"):
        loop.check_classes(tmp_path, ["cats", "dogs", "owls"])


WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def renamed_mnist_evaluator(folder):
    """The committed MNIST evaluator as `words` in `folder`, its classes named zero ... nine in digit order."""
    import shutil
    from quality import references
    shutil.copy(references.DEFAULT_DIR / "mnist_classifier.keras", folder / "words_classifier.keras")
    with np.load(references.DEFAULT_DIR / "mnist_reference.npz") as saved:
        arrays = {key: saved[key] for key in saved.files}
    np.savez(folder / "words_reference.npz", **{**arrays, "class_names": np.array(WORDS)})


@pytest.mark.slow
def test_a_named_evaluator_is_matched_to_the_run_classes_by_name(tmp_path):
    """Run classes zero ... nine sort as eight, five, four, ...: an evaluator of the same names in digit order
    reads a generator that draws each class perfectly (the mean real digit of that class) as right, class by
    class; a run whose classes the evaluator does not all know is refused before training, in one line."""
    from quality import evaluators, metrics
    renamed_mnist_evaluator(tmp_path)
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}", "data.image_size=28",
                                 "data.channels=1", "model.conditional=true", "eval.classifier=words",
                                 f"eval.evaluator_dir={tmp_path}"])
    run_classes = sorted(WORDS)
    network, reference, order = evaluators.for_classifier(cfg, run_classes)
    digits, labels = sources.load_sample(), sources.load_sample_labels()
    means = np.stack([digits[labels == WORDS.index(name)].mean(axis=0) for name in run_classes])  # run class order
    classes = keras.Input(shape=(10,))
    noise = keras.Input(shape=(100,))
    drawn = keras.layers.Lambda(lambda pair: tf.reshape(
        pair[1] @ tf.constant(means.reshape(10, -1) / 127.5 - 1, tf.float32) + 0 * pair[0][:, :1], (-1, 28, 28, 1)))(
        [noise, classes])
    generator = keras.Model([noise, classes], drawn)
    found = metrics.Evaluator(network, reference, 500, class_order=order).score_generator(generator)
    assert found["label_accuracy"] > 0.9 and found["min_label_accuracy"] > 0.5
    with pytest.raises(ConfigError, match=r"eval.classifier=words knows the classes zero, one, two, three, four, "
                                          r"\.\.\. \(10\), and this run's are a, b, c \(3\): a conditional run's label"):
        evaluators.for_classifier(cfg, ["a", "b", "c"])
    with pytest.raises(ConfigError, match=r"and this run's are one, two, zero \(3\)"):
        evaluators.for_classifier(cfg, ["one", "two", "zero"])  # known names, but class coverage is over all ten


@pytest.mark.slow
def test_a_conditional_folder_of_three_digits_scored_by_mnist_is_refused_before_its_run_folder(tmp_path):
    digits, labels = sources.load_sample(), sources.load_sample_labels()
    for label in range(3):
        (tmp_path / "digits" / str(label)).mkdir(parents=True)
        for number in np.flatnonzero(labels == label)[:20]:
            iio.imwrite(tmp_path / "digits" / str(label) / f"{number:05d}.png", digits[number])
    result = run_train(*TINY, "data.dataset=folder", f"data.path={tmp_path / 'digits'}", "model.conditional=true",
                       "eval.classifier=mnist", f"output.dir={tmp_path / 'out'}", "output.run_name=r", "train.epochs=1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "eval.classifier=mnist knows the classes 0, 1, 2, 3, 4, ... (10)" in errors[0]
    assert not (tmp_path / "out" / "r").exists()
