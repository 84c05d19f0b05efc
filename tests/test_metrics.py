"""The quality numbers: each must tell real digits from bad ones."""


import numpy as np
import pytest

from settings import config
from data import pipeline, sources
from quality import classifier, metrics, references
from conftest import ROOT, run_program

MNIST = config.load(overrides=["data.dataset=mnist_sample", "data.image_size=28", "data.channels=1"])


@pytest.fixture(scope="module")
def evaluator():
    return metrics.Evaluator(*references.load_classifier(MNIST), num_samples=500)


def test_distance_of_a_set_to_itself_is_zero_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(1000, 8))
    assert abs(metrics.frechet_distance(features, metrics.statistics(features))) < 1e-8
    # shifting every feature by 1 adds ||mu_a - mu_b||^2 = 8
    assert metrics.frechet_distance(features, metrics.statistics(features + 1)) == pytest.approx(8, rel=1e-6)


def whitened(rng, count, dimensions):
    """`count` rows whose sample mean is exactly 0 and sample covariance exactly the identity."""
    rows = rng.normal(size=(count, dimensions))
    rows -= rows.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(rows, rowvar=False))
    return rows @ vectors / np.sqrt(values) @ vectors.T


def test_distance_between_diagonal_gaussians_has_the_closed_form():
    # Covariances diag(a) and diag(b) commute: Tr(C_a + C_b - 2 (C_a C_b)^1/2) = sum (sqrt(a) - sqrt(b))^2.
    rng = np.random.default_rng(1)
    a, b, shift = np.array([1.0, 4.0, 9.0, 0.25]), np.array([4.0, 1.0, 9.0, 2.25]), np.array([1.0, 0, -2, 0])
    features_a = whitened(rng, 2000, 4) * np.sqrt(a)
    features_b = whitened(rng, 3000, 4) * np.sqrt(b) + shift
    expected = np.sum(shift ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # 5 + (1 + 1 + 0 + 1)
    assert metrics.frechet_distance(features_a, metrics.statistics(features_b)) == pytest.approx(expected, rel=1e-9)


def test_distance_between_full_covariances_matches_the_eigenvalues_of_their_product():
    # Tr((C_a C_b)^1/2) is the sum of the square roots of C_a C_b's eigenvalues (real and >= 0 for two
    # covariances): computed here without the symmetric rewriting metrics.py uses.
    rng = np.random.default_rng(2)
    for dimensions in (3, 16):
        mix_a, mix_b = rng.normal(size=(2, dimensions, dimensions))
        features_a = whitened(rng, 1000, dimensions) @ mix_a.T
        features_b = whitened(rng, 1500, dimensions) @ mix_b.T + rng.normal(size=dimensions)
        cov_a, cov_b = mix_a @ mix_a.T, mix_b @ mix_b.T
        trace_root = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real.clip(0)))
        expected = (np.sum((features_a.mean(axis=0) - features_b.mean(axis=0)) ** 2)
                    + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
        assert metrics.frechet_distance(features_a, metrics.statistics(features_b)) == pytest.approx(expected, rel=1e-6)


def scored(evaluator, images):
    """The quality numbers of a set of scaled images, as the evaluator scores a generator's."""
    return metrics.scores(*metrics.embed(evaluator.network, images), evaluator.reference)


def test_real_digits_score_near_perfect(evaluator):
    real = evaluator.reference.real_scores
    assert real["frechet_distance"] < 5 and abs(real["kernel_distance"]) < 2
    assert real["class_entropy"] > 0.99 and real["min_class_share"] > 0.07
    assert real["classifier_score"] > 9
    assert real["precision"] > 0.8 and real["recall"] > 0.7  # two samples of 2,000: not quite 1 (docs/quality.md)


def test_noise_is_far_from_real_digits(evaluator):
    noise = np.random.default_rng(0).uniform(-1, 1, size=(500, 28, 28, 1)).astype("float32")
    real, scores = evaluator.reference.real_scores, scored(evaluator, noise)
    assert scores["frechet_distance"] > 50 * real["frechet_distance"]
    assert scores["kernel_distance"] > 1000 * abs(real["kernel_distance"])
    assert scores["precision"] < real["precision"] / 2 and scores["recall"] == 0.0


def test_one_repeated_digit_has_no_coverage(evaluator):
    one_digit = np.repeat(pipeline.scale(sources.load_sample()[:1]), 500, axis=0)
    scores = scored(evaluator, one_digit)
    assert scores["class_entropy"] == 0.0 and scores["min_class_share"] == 0.0
    assert scores["classifier_score"] == pytest.approx(1.0, abs=1e-6)
    assert scores["frechet_distance"] > 10 * evaluator.reference.real_scores["frechet_distance"]
    assert scores["precision"] == 1.0 and scores["recall"] == 0.0  # a real-looking digit, and nothing else


def counted_precision_recall(fake, real, k=3):
    """Precision and recall as the paper defines them, one point at a time."""
    def radii(points):  # each point's distance to its kth nearest other point
        return [sorted(np.linalg.norm(points - point, axis=1))[k] for point in points]

    def share_inside(points, centres):
        balls = list(zip(centres, radii(centres)))
        return np.mean([any(np.linalg.norm(point - centre) <= radius for centre, radius in balls) for point in points])
    return {"precision": share_inside(fake, real), "recall": share_inside(real, fake)}


def test_precision_and_recall_count_the_samples_inside_the_other_sets_balls(monkeypatch):
    # On a line: real 0, 1, 2, 3, 10 have balls of radius 3, 2, 2, 3, 9 (their 3rd nearest neighbours)
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    fake = np.array([[-4.0], [0.5], [5.0], [25.0], [30.0]])  # -4 and 25, 30 outside them; 0.5 and 5 inside
    assert metrics.precision_recall(fake, real)["precision"] == 0.4
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 5)), rng.normal(0.5, 1.3, size=(200, 5))
    expected = counted_precision_recall(fake, real)
    assert metrics.precision_recall(fake, real) == pytest.approx(expected, abs=1e-12)
    monkeypatch.setattr(metrics, "DISTANCE_ENTRIES", 1000)  # a few rows at a time: the same counts
    assert metrics.precision_recall(fake, real) == pytest.approx(expected, abs=1e-12)
    assert 0 < expected["precision"] < 1 and 0 < expected["recall"] < 1
    assert metrics.precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    assert metrics.precision_recall(real + 100, real) == {"precision": 0.0, "recall": 0.0}


def test_classifier_score_ranges_from_one_to_ten():
    certain_and_even = np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(certain_and_even) == pytest.approx(10, rel=1e-6)
    assert metrics.classifier_score(np.full((100, 10), 0.1)) == pytest.approx(1, rel=1e-6)


def test_the_committed_classifier_has_the_accuracy_the_readme_states(evaluator):
    held_out = slice(6000, 10000)
    images, labels = pipeline.scale(sources.load_sample()[held_out]), sources.load_sample_labels()[held_out]
    _, probabilities = metrics.embed(evaluator.network, images)
    assert round(100 * np.mean(np.argmax(probabilities, axis=1) == labels), 1) == 98.9  # README: 98.9%
    with np.load(references.classifier_paths(MNIST)[1]) as saved:
        assert round(100 * float(saved["accuracy"]), 1) == 98.9


@pytest.mark.slow
def test_train_classifier_refuses_mistakes_and_keeps_the_committed_evaluator():
    classifier, reference = references.classifier_paths(MNIST)
    before = classifier.read_bytes(), reference.read_bytes()
    for mistake, said in ((["--bogus"], "unknown option --bogus (--help lists the options)"),
                          (["data.datset=folder"],
                           "unknown key data.datset in the command line (did you mean data.dataset?)")):
        result = run_program("train_classifier", *mistake)
        assert result.returncode == 2 and said in result.stderr.splitlines()[-1]
    kept = run_program("train_classifier")
    assert kept.returncode == 0 and "exist already" in kept.stdout and "--replace" in kept.stdout
    assert (classifier.read_bytes(), reference.read_bytes()) == before


@pytest.mark.slow
def test_the_committed_reference_is_what_a_fresh_computation_gives(evaluator, tmp_path):
    # A copy of the committed classifier without its reference: train_classifier.py computes only the reference.
    cfg = config.load(base=MNIST, overrides=[f"eval.evaluator_dir={tmp_path}"])
    (tmp_path / "mnist_classifier.keras").write_bytes(references.classifier_paths(MNIST)[0].read_bytes())
    classifier.make_evaluator(cfg)
    fresh = metrics.Evaluator(*references.load_classifier(cfg), num_samples=500)
    # The committed file's numbers, to float32's rounding: the classifier's kernels (oneDNN) sum in an order that
    # depends on the CPU's instructions, so another CPU's features differ in their last bits (seen: 3e-8 relative
    # in the Frechet distance). A change of data, split or network moves them by far more.
    fresh_scores, committed = fresh.reference.real_scores, evaluator.reference.real_scores
    assert fresh_scores.keys() == committed.keys()
    # precision, recall, density and coverage count samples: one on a ball's edge may fall either side (1 of 2,000)
    assert all(fresh_scores[name] == pytest.approx(committed[name], rel=1e-5, abs=5e-4 if name in (
        "precision", "recall", "density", "coverage") else 0) for name in committed)
    np.testing.assert_allclose(fresh.reference.features, evaluator.reference.features, rtol=1e-4, atol=1e-5)
    assert fresh.reference.class_names == sources.DIGITS and np.array_equal(
        fresh.reference.labels, sources.load_sample_labels()[8000:])
    with np.load(tmp_path / "mnist_reference.npz") as saved:  # made for another classifier: not used
        np.savez(tmp_path / "mnist_reference.npz", **{**saved, "key": "another"})
    assert references.load_classifier(cfg) == (None, None)


def test_a_generator_is_scored_as_its_images_are(evaluator):
    from settings import config
    import models
    generator = models.from_config(config.load(ROOT / "config.yaml"))[0]
    noise = np.random.default_rng(evaluator.seed).standard_normal((500, 100)).astype("float32")
    direct = scored(evaluator, np.asarray(generator(noise, training=False)))
    assert evaluator.score_generator(generator) == pytest.approx(direct, rel=1e-4)


@pytest.mark.slow
def test_the_neighbour_radii_hold_one_block_of_distances_at_a_time(monkeypatch):
    """4,000 samples in blocks of 16 rows: at most a few blocks' distances (0.5 MB each) are held at once, not
    the 128 MB of all of them."""
    import tracemalloc
    monkeypatch.setattr(metrics, "DISTANCE_ENTRIES", 16 * 4000)
    features = np.random.default_rng(0).standard_normal((4000, 8)).astype(np.float32)
    tracemalloc.start()
    radii = metrics.neighbour_radii(features)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8e6 and radii.shape == (4000,)
    distances = ((features[:300, None].astype(np.float64) - features[None].astype(np.float64)) ** 2).sum(-1)
    np.testing.assert_allclose(radii[:300], np.sort(distances, axis=1)[:, metrics.NEIGHBOURS], rtol=1e-6, atol=1e-9)


def test_the_smallest_reference_has_a_kth_nearest_neighbour_for_every_k():
    """MIN_REFERENCE rows give each row its 3rd (precision) and 5th (density) nearest other row; one row fewer
    has no 5th."""
    rows = np.random.default_rng(0).standard_normal((metrics.MIN_REFERENCE, 4))
    reference = metrics.measured_reference(rows, (rows + 0.1, None))
    assert len(reference.density_radii) == metrics.MIN_REFERENCE and set(reference.real_scores) == {
        "frechet_distance", "kernel_distance", "precision", "recall", "density", "coverage"}
    with pytest.raises(ValueError):
        metrics.Reference(rows[1:], {})


def test_larger_images_pass_through_the_evaluator_in_fewer_at_a_time():
    """As many pixels a pass as 1,000 digits: 1,000 64x64 images at once held 2 GB of a classifier's activations."""
    seen = []

    def network(images, training):
        seen.append(len(images))
        return np.zeros((len(images), 4), np.float32)
    for side in (28, 64):
        seen.clear()
        features, _ = metrics.embed(network, np.zeros((1200, side, side, 3), np.float32))
        assert len(features) == 1200 and max(seen) == metrics.batch_for(side, side)
    assert metrics.batch_for(28, 28) == 1000 and metrics.batch_for(64, 64) == 191
