"""The quality numbers: each must tell real digits from bad ones."""

import numpy as np
import pytest

import data
import metrics


@pytest.fixture(scope="module")
def evaluator():
    return metrics.Evaluator(num_samples=500)


def test_distance_of_a_set_to_itself_is_zero_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(1000, 8))
    assert abs(metrics.frechet_distance(features, features)) < 1e-8
    # shifting every feature by 1 adds ||mu_a - mu_b||^2 = 8
    assert metrics.frechet_distance(features, features + 1) == pytest.approx(8, rel=1e-6)


def test_real_digits_score_near_perfect(evaluator):
    real = evaluator.score_real()
    assert real["frechet_distance"] < 5
    assert real["class_entropy"] > 0.99 and real["min_class_share"] > 0.07
    assert real["classifier_score"] > 9


def test_noise_is_far_from_real_digits(evaluator):
    noise = np.random.default_rng(0).uniform(-1, 1, size=(500, 28, 28, 1)).astype("float32")
    real = evaluator.score_real()["frechet_distance"]
    assert evaluator.score_images(noise)["frechet_distance"] > 50 * real


def test_one_repeated_digit_has_no_coverage(evaluator):
    one_digit = np.repeat(data.scale(data.load_sample()[:1]), 500, axis=0)
    scores = evaluator.score_images(one_digit)
    assert scores["class_entropy"] == 0.0 and scores["min_class_share"] == 0.0
    assert scores["classifier_score"] == pytest.approx(1.0, abs=1e-6)
    assert scores["frechet_distance"] > 10 * evaluator.score_real()["frechet_distance"]


def test_classifier_score_ranges_from_one_to_ten():
    certain_and_even = np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(certain_and_even) == pytest.approx(10, rel=1e-6)
    assert metrics.classifier_score(np.full((100, 10), 0.1)) == pytest.approx(1, rel=1e-6)


def test_the_committed_classifier_has_the_accuracy_the_readme_states(evaluator):
    held_out = slice(6000, 10000)
    images, labels = data.scale(data.load_sample()[held_out]), data.load_sample_labels()[held_out]
    _, probabilities = evaluator.embed(images)
    assert np.mean(np.argmax(probabilities, axis=1) == labels) >= 0.985
