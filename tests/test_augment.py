"""DiffAugment: shifts and masks that keep the background, differ per image, and let gradients through."""

import numpy as np
import tensorflow as tf

from training import augment
from data import pipeline, sources


def digits(n=32):
    return tf.constant(pipeline.scale(sources.load_sample()[:n]))


def test_translation_shifts_each_digit_whole_by_at_most_four_pixels():
    x = np.full((32, 28, 28, 1), -1.0, np.float32)  # background, with random ink inside a 4-pixel border
    x[:, 4:24, 4:24] = np.random.default_rng(0).uniform(-1, 1, (32, 20, 20, 1))
    x = tf.constant(x)
    shifted = augment.translation(x, tf.random.Generator.from_seed(0)).numpy()
    assert shifted.shape == x.shape and shifted.min() >= -1 and shifted.max() <= 1
    # A shift of up to 4 pixels keeps every stroke inside the image: ink is conserved.
    np.testing.assert_allclose((shifted + 1).sum(axis=(1, 2, 3)), (x.numpy() + 1).sum(axis=(1, 2, 3)), rtol=1e-5)
    moved = [not np.array_equal(a, b) for a, b in zip(shifted, x.numpy())]
    assert sum(moved) > len(moved) // 2  # a random shift per image, (0, 0) only by chance
    found = {next((dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                  if np.allclose(np.roll(x.numpy()[i], (dy, dx), axis=(0, 1)), shifted[i], atol=1e-6)) for i in range(8)}
    assert len(found) > 1


def test_cutout_blanks_one_square_of_half_the_size_to_background():
    x = tf.zeros((16, 28, 28, 1))  # mid-grey everywhere, so the blanked square is exactly the -1 pixels
    cut = augment.cutout(x, tf.random.Generator.from_seed(0)).numpy()[..., 0]
    for image in cut:
        rows, cols = np.nonzero(image == -1)
        assert set(np.unique(image)) <= {-1.0, 0.0} and len(rows) > 0
        assert rows.max() - rows.min() < 14 and cols.max() - cols.min() < 14
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one full rectangle


def test_gradients_flow_through_both_operations_to_the_generated_images():
    x = tf.Variable(digits(8))
    policy = augment.make_augment(["translation", "cutout"], tf.random.Generator.from_seed(1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(policy(x))
    gradient = tape.gradient(loss, x).numpy()
    assert gradient.max() == 1.0 and 0 < (gradient == 1.0).mean() < 1  # kept pixels pass it on, blanked ones not
    assert augment.make_augment([], None)(x) is x


def test_adaptive_strength_moves_p_by_its_step_towards_the_target_and_stays_within_0_and_1():
    strength = augment.AdaptiveStrength(target=0.6, step=0.25)
    for accuracy, expected in ((0.9, 0.25), (0.9, 0.5), (0.7, 0.25), (0.95, 0.5), (0.95, 0.75), (0.95, 1.0),
                               (0.95, 1.0), (0.5, 0.75)):
        strength.adjust(tf.constant(accuracy))  # r_t = 2 * accuracy - 1: 0.8 and 0.9 above 0.6, 0.4 and 0 below
        assert float(strength.probability.numpy()) == expected
    strength.probability.assign(0.0)
    strength.adjust(tf.constant(0.1))
    assert float(strength.probability.numpy()) == 0.0


def test_with_adaptive_strength_each_image_is_augmented_with_probability_p():
    x = digits(256)
    strength = augment.AdaptiveStrength(target=0.6, step=0.1)
    policy = augment.make_augment(["cutout"], tf.random.Generator.from_seed(2), strength)
    assert np.array_equal(policy(x).numpy(), x.numpy())  # p starts at 0: nothing changes
    strength.probability.assign(0.5)
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(policy(x).numpy(), x.numpy())])
    assert 0.35 < changed < 0.65  # about half (a cutout on the blank border alone changes nothing)
    strength.probability.assign(1.0)
    every = np.mean([not np.array_equal(a, b) for a, b in zip(policy(x).numpy(), x.numpy())])
    assert every > 0.9
