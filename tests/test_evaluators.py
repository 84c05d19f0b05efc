"""Quality numbers for other data: a classifier made for a labelled folder, and InceptionV3's features."""

import csv
import math
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from settings import config
from settings import schema
from data import folder_cache, pipeline, sources
from quality import evaluators, metrics, references
from conftest import ROOT, TINY, run_program, run_train


def digit_folder(path, count, start=0):
    """`count` bundled digits as PNGs in one subfolder per digit: a labelled folder of the user's kind."""
    images, labels = sources.load_sample()[start:start + count], sources.load_sample_labels()[start:start + count]
    for number, (image, label) in enumerate(zip(images, labels)):
        (path / str(label)).mkdir(parents=True, exist_ok=True)
        iio.imwrite(path / str(label) / f"{start + number:05d}.png", image)
    return path


def quality_rows(run):
    with open(run / "metrics.csv", newline="") as f:
        return [{key: row[key] for key in ("frechet_distance", "kernel_distance", "class_entropy", "label_accuracy")}
                for row in csv.DictReader(f)]


@pytest.mark.slow
def test_a_labelled_folder_gets_its_own_evaluator_made_once_and_not_reused_when_the_folder_changes(tmp_path, capsys):
    pictures, kept = digit_folder(tmp_path / "pictures", 600), tmp_path / "evaluators"
    settings = ["data.dataset=folder", f"data.path={pictures}", f"eval.evaluator_dir={kept}", "train.epochs=1",
                "eval.num_samples=200", *TINY, f"output.dir={tmp_path}"]
    first = run_train(*settings, "output.run_name=first", "model.conditional=true")  # eval.classifier=auto
    assert first.returncode == 0, first.stderr
    assert "training one first (eval.classifier=auto)" in first.stdout
    cfg = config.load(overrides=settings[:3] + ["data.image_size=28", "data.channels=1"])
    network, reference = references.load_classifier(cfg)
    assert reference.class_names == sources.DIGITS and len(reference.features) == 120  # 240 held out: two halves
    # The real-vs-real floor is far below what noise scores.
    noise = np.random.default_rng(0).uniform(-1, 1, size=(200, 28, 28, 1)).astype("float32")
    noise_scores = metrics.scores(*metrics.embed(network, noise), reference)
    assert noise_scores["frechet_distance"] > 20 * reference.real_scores["frechet_distance"]
    assert noise_scores["kernel_distance"] > 20 * abs(reference.real_scores["kernel_distance"])
    assert all(value != "" for value in quality_rows(tmp_path / "first")[0].values())  # label_accuracy too

    made, stale = {path.name: path.read_bytes() for path in kept.iterdir()}, references.name(cfg)
    again = run_train(*settings, "output.run_name=again", "model.conditional=true")
    assert again.returncode == 0 and "training one" not in again.stdout  # found, not trained again
    assert {path.name: path.read_bytes() for path in kept.iterdir()} == made
    assert quality_rows(tmp_path / "again") == quality_rows(tmp_path / "first")

    digit_folder(pictures, 1, start=600)  # one more picture: another folder, whose evaluator is not made yet
    changed = config.load(base=cfg, overrides=["eval.classifier=existing"])
    assert evaluators.for_run(changed, None) is None
    note = capsys.readouterr().err.strip()
    assert note.startswith("note: no quality numbers") and "\n" not in note
    assert f"make one with: python train_classifier.py data.dataset=folder data.path={pictures}" in note
    assert stale not in note and references.name(cfg) in note  # the changed folder's name


def test_images_without_labels_are_scored_by_the_evaluator_eval_classifier_names(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    for number, image in enumerate(sources.load_sample()[:30]):
        iio.imwrite(loose / f"{number:05d}.png", image)
    settings = ["data.dataset=folder", f"data.path={loose}", "data.image_size=28"]
    evaluator = evaluators.for_run(config.load(overrides=settings + ["eval.classifier=mnist", "data.channels=1"]), None)
    committed = evaluators.for_run(config.load(overrides=["data.dataset=mnist_sample", "data.image_size=28",
                                                          "data.channels=1"]), None)
    assert evaluator.reference.class_names == sources.DIGITS
    np.testing.assert_array_equal(evaluator.reference.features, committed.reference.features)
    with pytest.raises(schema.ConfigError, match="eval.classifier=mnist scores 28x28x1 images, and this run's are "
                                                 "28x28x3"):
        evaluators.for_run(config.load(overrides=settings + ["eval.classifier=mnist", "data.channels=3"]), None)
    with pytest.raises(schema.ConfigError, match="there is no evaluator nosuch in"):
        evaluators.for_run(config.load(overrides=settings + ["eval.classifier=nosuch", "data.channels=1"]), None)


@pytest.mark.slow
def test_train_classifier_says_in_one_line_that_a_folder_without_classes_cannot_have_a_classifier(tmp_path):
    for number, image in enumerate(sources.load_sample()[:300]):
        iio.imwrite(tmp_path / f"{number}.png", image)
    result = run_program("train_classifier", "data.dataset=folder", f"data.path={tmp_path}", "eval.features=classifier",
                         f"eval.evaluator_dir={tmp_path / 'kept'}")
    assert result.returncode == 2 and not (tmp_path / "kept").exists()
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {tmp_path / '0.png'} is not in a class subfolder")
    assert "eval.features=inception" in last


@pytest.fixture(scope="module")
def random_inception():
    return evaluators.inception_network(None, channels=1)


# InceptionV3 at its smallest input side: the same layers and weights file at a 16th of the arithmetic of 299x299
# (140 images: 1 s instead of 30), for tests of what is done with its features, not of its size.
SMALL_INCEPTION = 75


@pytest.fixture
def small_inception(monkeypatch):
    monkeypatch.setattr(evaluators, "INCEPTION_SIZE", SMALL_INCEPTION)
    return evaluators.inception_network(None, channels=1)


@pytest.mark.slow
def test_inception_features_resize_and_colour_small_greyscale_images(random_inception):
    digits = pipeline.scale(sources.load_sample()[:6])
    features, probabilities = metrics.embed(random_inception, digits)
    assert features.shape == (6, 2048) and probabilities is None
    import tensorflow as tf
    by_hand = tf.image.resize(np.repeat(digits, 3, axis=-1), (299, 299), method="bilinear")
    inception = random_inception.get_layer("inception_v3")
    np.testing.assert_allclose(features, inception(by_hand, training=False), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_inception_distances_of_a_set_with_itself_are_zero(small_inception):
    features, _ = metrics.embed(small_inception, pipeline.scale(sources.load_sample()[:24]))
    reference = metrics.Reference(features, {})
    itself, other = (metrics.scores(features[rows], None, reference) for rows in (slice(None), slice(12)))
    assert abs(itself["frechet_distance"]) < 1e-4 * other["frechet_distance"]  # rounding only; half the set is not it


def test_the_kernel_distance_is_unbiased_on_two_halves_of_one_set():
    rows = np.random.default_rng(0).normal(size=(400, 16))
    splits = [np.random.default_rng(seed).permutation(400) for seed in range(200)]
    halves = [metrics.kernel_distance(rows[order[:200]], rows[order[200:]]) for order in splits]
    spread = np.std(halves) / np.sqrt(len(halves))
    assert abs(np.mean(halves)) < 3 * spread and min(halves) < 0  # about 0: no positive bias

    def counting_each_row_with_itself(a, b):  # the biased estimate, for contrast
        kernel = lambda x, y: (x @ y.T / x.shape[1] + 1) ** 3  # noqa: E731
        return kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean()
    assert np.mean([counting_each_row_with_itself(rows[o[:200]], rows[o[200:]]) for o in splits[:20]]) > 20 * spread
    assert metrics.kernel_distance(rows[:200], rows[200:] + 0.5) > 20 * spread  # another distribution


def test_the_kernel_distance_in_blocks_equals_the_whole_matrices(monkeypatch):
    """Summed a block of rows at a time (memory bounded for any number of samples): the same number as the
    three whole kernel matrices, each without its diagonal."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 8)), rng.normal(0.3, size=(37, 8))
    whole = [(x @ y.T / 8 + 1) ** 3 for x, y in ((a, a), (b, b), (a, b))]
    expected = ((whole[0].sum() - np.trace(whole[0])) / (50 * 49) + (whole[1].sum() - np.trace(whole[1])) / (37 * 36)
                - 2 * whole[2].mean())
    monkeypatch.setattr(metrics, "KERNEL_BLOCK", 16)  # 4 x 3 blocks, the last ones partial
    assert metrics.kernel_distance(a, b) == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_inception_scores_a_conditional_run_with_a_local_weights_file(small_inception, tmp_path):
    weights = tmp_path / "inception.weights.h5"
    small_inception.get_layer("inception_v3").save_weights(weights)
    result = run_train(*TINY, "data.dataset=mnist_sample", "data.limit=40", "train.epochs=1", "eval.features=inception",
                       f"eval.inception_weights={weights}", "eval.num_samples=100", f"eval.evaluator_dir={tmp_path}",
                       "model.conditional=true", f"output.dir={tmp_path}", "output.run_name=run")  # asked each class
    assert result.returncode == 0, result.stderr
    assert "computing the Inception features of 40 real images" in result.stdout  # 20 reference, 20 baseline
    row = quality_rows(tmp_path / "run")[0]
    assert row["frechet_distance"] and row["kernel_distance"]
    assert row["class_entropy"] == row["label_accuracy"] == ""  # no classifier here
    # eval.every left empty: as seldom as keeps Inception (25 trained images' cost each) to 10% of the training
    assert config.saved(tmp_path / "run")["eval.every"] == math.ceil(100 * 25 / (0.1 * 40))


@pytest.mark.slow
def test_the_inception_reference_is_computed_once_for_the_same_images(small_inception, tmp_path, monkeypatch):
    cfg = config.load(overrides=["data.dataset=mnist_sample", "data.image_size=28", "data.channels=1",
                                 "eval.num_samples=100", f"eval.evaluator_dir={tmp_path}"])
    digits = sources.load_sample()[:24]
    first = evaluators.inception_reference(cfg, small_inception, digits, "weights")
    assert len(first.features) == 12 and set(first.real_scores) == {"frechet_distance", "kernel_distance",
                                                                    "precision", "recall", "density", "coverage"}

    def embed_again(*args):
        raise AssertionError("the reference was computed again")
    monkeypatch.setattr(metrics, "embed", embed_again)
    kept = evaluators.inception_reference(cfg, small_inception, digits, "weights")
    assert np.array_equal(kept.features, first.features) and kept.real_scores == first.real_scores
    with pytest.raises(AssertionError, match="computed again"):  # other images, or other weights: not reused
        evaluators.inception_reference(cfg, small_inception, digits[::-1], "weights")
    with pytest.raises(AssertionError, match="computed again"):
        evaluators.inception_reference(cfg, small_inception, digits, "other weights")


def stand_in_inception(weights, channels):
    """A convolution and a mean in InceptionV3's place (its weights ignored, nothing downloaded): for tests of how
    many real images the reference takes, not of their features."""
    import keras
    images = keras.Input(shape=(None, None, channels))
    return keras.Model(images, keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3)(images)))


def test_inception_refuses_in_one_line_a_reference_too_small_for_its_neighbours(tmp_path, monkeypatch):
    """Half the training images are the reference, the other half real vs real; density reaches each image's
    5th nearest neighbour, so each half needs 6: a folder of 11 images is refused before scoring, 12 are scored."""
    monkeypatch.setattr(evaluators, "inception_network", stand_in_inception)
    cfg = config.load(overrides=["data.dataset=mnist_sample", "data.image_size=28", "data.channels=1",
                                 "eval.features=inception", "eval.every=1", f"eval.evaluator_dir={tmp_path}"])
    digits = sources.load_sample()[:12]
    assert len(evaluators.for_run(cfg, digits).reference.features) == metrics.MIN_REFERENCE == 6
    with pytest.raises(schema.ConfigError) as refused:
        evaluators.for_run(cfg, digits[:11])
    assert str(refused.value) == (
        "eval.features=inception needs at least 12 training images, and there are 11: half are its reference and "
        "half real vs real, 6 each at least (density and coverage measure each one's 5th nearest neighbour); use "
        "more images (a larger data.limit), or eval.every=0 to train without quality numbers")


def test_a_data_limit_too_small_for_inceptions_reference_is_refused_before_tensorflow(tmp_path):
    assert schema.INCEPTION_MIN_IMAGES == 2 * metrics.MIN_REFERENCE  # settings/schema.py imports no numpy: said twice
    weights = tmp_path / "never_read.h5"  # no download: refused before the weights are read
    weights.write_bytes(b"")
    result = run_train("data.dataset=mnist_sample", "data.limit=11", "eval.features=inception", "train.epochs=1",
                       f"eval.inception_weights={weights}", *TINY, f"output.dir={tmp_path}", "output.run_name=run")
    assert result.returncode == 2 and not (tmp_path / "run").exists()
    assert result.stderr.strip() == (
        "error: data.limit=11 is too few images for eval.features=inception, whose reference and real-vs-real "
        "halves need 6 each (density and coverage measure each one's 5th nearest neighbour); raise data.limit to at "
        "least 12, or set eval.every=0 to train without quality numbers")
    for scored_or_not in ("data.limit=12", "eval.every=0"):
        config.load(overrides=["data.dataset=mnist_sample", "data.limit=11", "eval.features=inception", scored_or_not])


@pytest.mark.slow
def test_inception_weights_missing_is_one_line_before_tensorflow_and_offline_the_run_goes_on(tmp_path):
    missing = run_train("eval.features=inception", f"eval.inception_weights={tmp_path / 'nope.h5'}")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (f"error: eval.inception_weights {tmp_path / 'nope.h5'} is not a file; point it "
                                      f"at InceptionV3's weights (inception_v3_weights_tf_dim_ordering_tf_kernels_"
                                      f"notop.h5), or leave it empty to download")
    # No weights in Keras' cache, and a download that fails (a proxy nobody listens on): a note, then training.
    offline = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), https_proxy="http://127.0.0.1:9",
                   HTTPS_PROXY="http://127.0.0.1:9", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "data.dataset=mnist_sample", "data.limit=64",
                             "train.epochs=1", "eval.features=inception", *TINY, f"output.dir={tmp_path}"],
                            capture_output=True, text=True, env=offline, timeout=300)
    assert result.returncode == 0, result.stderr
    [note] = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert "InceptionV3's weights are not here and cannot be downloaded" in note
    assert "eval.inception_weights" in note


def test_each_dataset_and_shape_has_its_own_evaluator_name_and_a_folder_is_named_by_its_files(tmp_path):
    def name(*settings):
        return references.name(config.load(overrides=list(settings)))
    assert name("data.dataset=mnist_sample", "data.image_size=28", "data.channels=1") == "mnist"  # the committed one
    assert name("data.dataset=mnist", "data.image_size=28", "data.channels=1") == "mnist"
    assert name("data.dataset=mnist_sample", "data.image_size=32", "data.channels=3") == "mnist-32x32x3"
    assert name("data.dataset=cifar10", "data.image_size=32", "data.channels=3") == "cifar10-32x32x3"
    folder = digit_folder(tmp_path / "pictures", 20)
    settings = ["data.dataset=folder", f"data.path={folder}", "data.image_size=28", "data.channels=1"]
    before = name(*settings)
    assert before.startswith("folder-pictures-") and before.endswith("-28x28x1")
    os.utime(next(folder.rglob("*.png")), (0, 0))
    assert name(*settings) == before  # touched, not changed
    first = next(folder.rglob("*.png"))
    first.write_bytes(first.read_bytes() + b"\0")
    assert name(*settings) != before  # another size: another folder


def test_the_held_out_split_is_disjoint_and_keeps_mnists_committed_one():
    train, baseline, reference = references.split(10000, "mnist_sample")
    assert (train.tolist(), baseline.tolist(), reference.tolist()) == (
        list(range(6000)), list(range(6000, 8000)), list(range(8000, 10000)))
    for count, held in ((1000, 400), (60000, 4000)):
        parts = references.split(count, "folder")
        assert sorted(np.concatenate(parts).tolist()) == list(range(count))  # each image in one part only
        assert [len(part) for part in parts] == [count - held, held // 2, held // 2]
        assert not np.array_equal(parts[0], np.arange(count - held))  # shuffled: a folder comes sorted by class


@pytest.mark.parametrize("change, saved", [("eval.features=inception", "classifier"), ("eval.num_samples=500", 2000),
                                           ("eval.evaluator_dir=elsewhere", None), ("data.dataset=cifar10", "mnist"),
                                           ("eval.classifier=mnist", "auto"),
                                           ("eval.evaluator_id=0123456789ab", "a1b2c3d4e5f6")])
@pytest.mark.slow
def test_a_run_resumes_only_with_what_its_quality_numbers_were_measured_with(tmp_path, change, saved):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint").write_text("")  # refused before the checkpoint is read
    config.dump(config.load(), run / "config.yaml")
    # what eval.features=auto resolved to, and the evaluator that scored the run
    config.dump({"eval.features": "classifier", "eval.evaluator_id": "a1b2c3d4e5f6"}, run / "found.yaml")
    result = run_train("--resume", run, change)
    key = change.split("=")[0]
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: {key} cannot change when resuming: the run's quality numbers so far (and its best generator) were "
        f"measured with {key}={saved}, and new ones would not compare with them; start a new run to change it")


def test_an_evaluator_made_again_has_another_id_and_a_run_held_to_the_old_one_refuses_it():
    features = np.random.default_rng(0).standard_normal((300, 8)).astype("float32")
    same, again = metrics.Reference(features.copy(), {}), metrics.Reference(features + 1e-6, {})
    assert metrics.Reference(features, {}).evaluator_id == same.evaluator_id  # the same evaluator, loaded again
    assert again.evaluator_id != same.evaluator_id and len(same.evaluator_id) == 12
    shape = {"data.image_size": 28, "data.channels": 1}  # as the run finds them
    held = config.with_found(config.load(overrides=[f"eval.evaluator_id={same.evaluator_id}"]), shape)
    evaluators.check_evaluator_id(held, same.evaluator_id)
    evaluators.check_evaluator_id(config.with_found(config.load(), shape), again.evaluator_id)  # empty: any
    with pytest.raises(schema.ConfigError, match=f"eval.evaluator_id={same.evaluator_id}, but the evaluator mnist in "
                                                 f".* is {again.evaluator_id}: it was made again"):
        evaluators.check_evaluator_id(held, again.evaluator_id)
    with pytest.raises(schema.ConfigError, match="eval.evaluator_id must be 12 hex digits"):
        config.load(overrides=["eval.evaluator_id=xyz"])


def test_a_folder_is_listed_once_at_start_up_and_its_name_and_classes_describe_the_images_loaded(tmp_path, monkeypatch):
    pictures = digit_folder(tmp_path / "pictures", 30)
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={pictures}", "model.conditional=true"])
    fresh = references.fingerprint(pictures)
    sources.load_images(cfg)  # decoded into the cache (which lists again when done, to see nothing changed meanwhile)
    listed = []
    original = folder_cache.list_folder
    monkeypatch.setattr(folder_cache, "list_folder", lambda path: listed.append(path) or original(path))
    assert len(sources.load_images(cfg)[0]) == 30 and len(listed) == 1
    assert sources.class_names(cfg) == sorted({str(label) for label in sources.load_sample_labels()[:30]})
    cfg = config.with_found(cfg, {"data.image_size": 28, "data.channels": 1})  # as train.py finds them
    assert references.name(cfg) == f"folder-pictures-{fresh}-28x28x1" and references.classifier_paths(cfg)
    assert len(listed) == 1  # the classes, the evaluator's name and its files used the listing loaded
    digit_folder(pictures, 1, start=30)  # loading it again lists it again: the name follows the new picture
    assert len(sources.load_images(cfg)[0]) == 31 and references.fingerprint(pictures) != fresh


def test_a_folder_decoded_onto_another_background_has_an_evaluator_of_its_own(tmp_path):
    pictures = digit_folder(tmp_path / "pictures", 3)
    named = {background: references.name(config.load(overrides=[
        "data.dataset=folder", f"data.path={pictures}", f"data.background={background}", "data.image_size=28",
        "data.channels=1"])) for background in ("white", "black", "#808080")}
    fingerprint = references.fingerprint(pictures)
    assert named == {"white": f"folder-pictures-{fingerprint}-28x28x1",  # the default keeps its name
                     "black": f"folder-pictures-{fingerprint}-on-000000-28x28x1",
                     "#808080": f"folder-pictures-{fingerprint}-on-808080-28x28x1"}
