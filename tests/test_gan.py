import numpy as np
import pytest
import keras
import tensorflow as tf

from data import pipeline, sources
from record import columns
from training import augment, gan
import models
from conftest import TINY_DISCRIMINATOR, TINY_GENERATOR


def make_step(generator_widths=TINY_GENERATOR, discriminator_widths=TINY_DISCRIMINATOR):
    """A step of small networks, or with the tutorial's widths (models' defaults) where they are the point."""
    generator = models.make_generator(widths=generator_widths)
    discriminator = models.make_discriminator(widths=discriminator_widths)
    optimizers = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    step = gan.make_train_step(generator, discriminator, *optimizers)
    return generator, discriminator, step


def same_weights(a, b):
    """Two steps traced with different options are different graphs; TensorFlow may fuse or order their
    operations differently, so the same update agrees to float32 rounding, not always to the bit."""
    return all(np.allclose(x, y, rtol=1e-5, atol=1e-7) for x, y in zip(a, b))


def blank(size):
    """A batch of `size` black images with the generator's noise, as pipeline.epoch_batches makes them."""
    return tf.zeros((size, 28, 28, 1)), tf.random.stateless_normal((size, 100), seed=(0, size))


def test_one_step_of_the_tutorials_networks_updates_both_and_gives_finite_losses():
    generator, discriminator, step = make_step((256, 128, 64), (64, 128))
    before = [w.numpy().copy() for w in generator.trainable_weights + discriminator.trainable_weights]
    batch = next(iter(pipeline.epoch_batches(sources.load_sample()[:32, ..., None], None, 32, seed=0, epoch=1,
                                             noise_dim=100)))
    stats = step(batch)
    assert np.isfinite(stats["gen_loss"]) and np.isfinite(stats["disc_loss"])
    after = generator.trainable_weights + discriminator.trainable_weights
    changed = [not np.array_equal(b, a.numpy()) for b, a in zip(before, after)]
    assert all(changed)


def test_a_smaller_last_batch_is_compiled_once_per_run_not_once_per_epoch():
    _, _, step = make_step()
    for epoch in range(3):
        for size in (8, 3):  # an epoch's batches, the last one smaller
            stats = step(blank(size))
            assert np.isfinite(stats["gen_loss"]) and np.isfinite(stats["disc_loss"])
        # the smaller shape is traced once, in the first epoch; later epochs reuse both traces
        assert step.experimental_get_tracing_count() == 2


def test_a_step_without_the_gradient_norm_reports_0_and_learns_the_same():
    generator = models.make_generator(widths=TINY_GENERATOR)
    discriminator = models.make_discriminator(TINY_DISCRIMINATOR, dropout=0.0)
    start = generator.get_weights(), discriminator.get_weights()
    results = []
    for measure in (True, False):
        generator.set_weights(start[0])
        discriminator.set_weights(start[1])
        step = gan.make_train_step(generator, discriminator, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        stats = step(blank(8), measure_gradient=measure)
        results.append((float(stats["gen_grad_norm"]), float(stats["gen_loss"]),
                        generator.get_weights() + discriminator.get_weights()))
    (norm_on, loss_on, weights_on), (norm_off, loss_off, weights_off) = results
    assert norm_on > 0 and norm_off == 0 and np.isclose(loss_on, loss_off, rtol=1e-6)
    assert same_weights(weights_on, weights_off)


def test_losses_are_the_tutorials_cross_entropies():
    logits = tf.constant([[0.0], [0.0]])
    # D(x) = 0.5 everywhere: each cross-entropy is log 2
    np.testing.assert_allclose(gan.generator_loss(logits), np.log(2), rtol=1e-6)
    np.testing.assert_allclose(gan.discriminator_loss(logits, logits), 2 * np.log(2), rtol=1e-6)
    confident = tf.constant([[10.0]])
    assert gan.discriminator_loss(confident, -confident) < 1e-3  # real called real, fake called fake
    assert gan.generator_loss(-confident) > 9  # the discriminator saw through the fake


def test_balance_statistics_are_probabilities_and_a_discriminator_only_step_leaves_the_generator():
    generator, discriminator, step = make_step()
    before = [w.numpy().copy() for w in generator.trainable_weights]
    stats = step(blank(8), update_generator=False)
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, generator.trainable_weights))
    for key in ("d_real", "d_fake", "real_accuracy", "fake_accuracy"):
        assert 0.0 <= float(stats[key]) <= 1.0
    assert float(stats["gen_grad_norm"]) > 0  # measured even when not applied
    step(blank(8))  # then a full step (train.discriminator_steps=2): Adam's slots already exist
    assert not all(np.array_equal(b, w.numpy()) for b, w in zip(before, generator.trainable_weights))


def test_label_smoothing_aims_real_logits_below_one():
    logits = tf.constant([[5.0]])
    assert gan.discriminator_loss(logits, -logits, real_label=0.9) > gan.discriminator_loss(logits, -logits)


def test_the_averaged_generator_moves_a_fraction_of_the_way_after_each_generator_update():
    generator = models.make_generator(widths=TINY_GENERATOR)
    discriminator = models.make_discriminator(TINY_DISCRIMINATOR)
    average = keras.models.clone_model(generator)
    average.set_weights(generator.get_weights())
    generator_optimizer = keras.optimizers.Adam(1e-3)
    step = gan.make_train_step(generator, discriminator, generator_optimizer, keras.optimizers.Adam(1e-3),
                               average_generator=average, average_decay=0.9)
    start = [w.numpy().copy() for w in average.weights]
    step(blank(8), update_generator=False)
    assert all(np.array_equal(s, a.numpy()) for s, a in zip(start, average.weights))  # G did not move
    # The first update (G's Adam at iteration 1) decays by (1 + 1) / (10 + 1), not yet by 0.9 ...
    # ... and from iteration 80 on by 0.9 (shown at 1001).
    for iteration, decay in ((1, 2 / 11), (1001, 0.9)):
        generator_optimizer.iterations.assign(iteration - 1)
        start = [w.numpy().copy() for w in average.weights]
        step(blank(8))
        for s, a, w in zip(start, average.weights, generator.weights):
            np.testing.assert_allclose(a.numpy(), decay * s + (1 - decay) * w.numpy(), rtol=1e-5, atol=1e-6)
        assert not all(np.array_equal(s, a.numpy()) for s, a in zip(start, average.weights))


def test_r1_slopes_of_a_linear_discriminator_are_its_squared_weights():
    # D(x) = w . x + b has the slope w at every image, so each image's squared slope is ||w||^2.
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    logits, slopes = gan.logits_and_slopes(discriminator, tf.random.normal((3, 28, 28, 1)))
    assert logits.shape == (3, 1)
    np.testing.assert_allclose(slopes, [np.sum(discriminator.layers[-1].kernel.numpy() ** 2)] * 3, rtol=1e-5)


def test_r1_slopes_below_float16s_smallest_number_survive_loss_scaling():
    # D(x) = w2 . (W1 x) with every weight 5e-5: each pixel's slope is 8 * 5e-5 * 5e-5 = 2e-8, which rounds to 0 in
    # float16 (its smallest number is 6e-8); the LossScaleOptimizer's scale (2^15) lifts it while in float16.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        discriminator = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                                          keras.layers.Dense(8, use_bias=False),
                                          keras.layers.Dense(1, use_bias=False, dtype="float32")])
        optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
        optimizer.build(discriminator.trainable_variables)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    first, second = np.full((16, 8), 5e-5, np.float32), np.full((8, 1), 5e-5, np.float32)
    discriminator.set_weights([first, second])
    images = tf.random.normal((3, 4, 4, 1))
    _, unscaled = gan.logits_and_slopes(discriminator, images)
    _, scaled = gan.logits_and_slopes(discriminator, images, optimizer.scale_loss)
    assert np.all(unscaled.numpy() == 0)  # the underflow the scaling is there for
    np.testing.assert_allclose(scaled, [np.sum((first @ second) ** 2)] * 3, rtol=1e-2)


@pytest.mark.parametrize("penalty", ["r1_weight", "r2_weight"])
def test_a_penalty_changes_the_discriminators_update_only(penalty):
    """Same start, one step with and one without the penalty (R1 at real images, R2 at generated ones): only
    D's update differs, and the reported disc_loss is the adversarial loss either way. SGD, because Adam's
    first step is the gradient's sign."""
    batch = next(iter(pipeline.epoch_batches(sources.load_sample()[:16, ..., None], None, 16, seed=0, epoch=1,
                                             noise_dim=100)))
    generator = models.make_generator(widths=TINY_GENERATOR)
    discriminator = models.make_discriminator(TINY_DISCRIMINATOR, dropout=0.0)
    start = generator.get_weights(), discriminator.get_weights()
    results = []
    for weight, share in ((0.0, 1.0), (10.0, 1.0), (10.0, 0.0)):  # share: what train.penalty_decay leaves of it
        generator.set_weights(start[0])
        discriminator.set_weights(start[1])
        step = gan.make_train_step(generator, discriminator, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1),
                                   penalty_share=tf.Variable(share), **{penalty: weight})
        stats = step(batch)
        results.append((float(stats["disc_loss"]), generator.get_weights(), discriminator.get_weights()))
    (loss_off, generator_off, discriminator_off), (loss_on, generator_on, discriminator_on), (_, _, faded) = results
    assert np.isclose(loss_on, loss_off, rtol=1e-6)
    assert same_weights(generator_off, generator_on)
    assert not all(np.allclose(a, b) for a, b in zip(discriminator_off, discriminator_on))
    assert same_weights(discriminator_off, faded)


def test_the_self_supervised_discriminator_learns_to_redraw_real_images_and_leaves_the_generator_alone():
    """FastGAN's decoder, trained by D's optimizer on D's features of the real images: over a few steps its
    redrawing of them improves, D's update differs from a step without it, G's does not, and the reported
    disc_loss is the adversarial loss either way (SGD for one step, as for the penalties; Adam to learn)."""
    keras.utils.set_random_seed(0)
    batch = next(iter(pipeline.epoch_batches(sources.load_sample()[:16, ..., None], None, 16, seed=0, epoch=1,
                                             noise_dim=100)))
    generator = models.make_generator(widths=TINY_GENERATOR)
    discriminator = models.make_discriminator(TINY_DISCRIMINATOR, dropout=0.0)
    decoder = models.make_decoder(discriminator, width=8)
    start = generator.get_weights(), discriminator.get_weights(), decoder.get_weights()

    def redrawing_error():
        redrawn = decoder(models.feature_map(discriminator)(batch[0]), training=True)  # as the step sees it
        return float(tf.reduce_mean(tf.abs(redrawn - tf.image.resize(batch[0], (14, 14), method="area"))))
    results = []
    for weight in (0.0, 1.0):
        for model, weights in zip((generator, discriminator, decoder), start):
            model.set_weights(weights)
        step = gan.make_train_step(generator, discriminator, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1),
                                   decoder=decoder if weight else None, reconstruction_weight=weight)
        loss = float(step(batch)["disc_loss"])
        results.append((loss, generator.get_weights(), discriminator.get_weights()))
    (loss_off, generator_off, discriminator_off), (loss_on, generator_on, discriminator_on) = results
    assert np.isclose(loss_on, loss_off, rtol=1e-6)
    assert same_weights(generator_off, generator_on)
    assert not all(np.allclose(a, b) for a, b in zip(discriminator_off, discriminator_on))
    step = gan.make_train_step(generator, discriminator, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                               decoder=decoder, reconstruction_weight=1.0)
    first = redrawing_error()
    for _ in range(40):
        step(batch)
    assert redrawing_error() < 0.8 * first


def test_the_relativistic_losses_rank_each_real_image_against_its_pair_and_ignore_a_shared_shift():
    real, fake = tf.constant([2.0, -1.0, 0.5]), tf.constant([1.0, 0.0, 3.0])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    np.testing.assert_allclose(gan.relativistic_discriminator_loss(real, fake), np.mean(softplus(fake - real)), rtol=1e-6)
    np.testing.assert_allclose(gan.relativistic_generator_loss(real, fake), np.mean(softplus(real - fake)), rtol=1e-6)
    # Only the pairs' differences count: D's logits may drift together without changing either loss.
    np.testing.assert_allclose(gan.relativistic_discriminator_loss(real + 7, fake + 7),
                               gan.relativistic_discriminator_loss(real, fake), rtol=1e-6)
    assert not np.isclose(gan.discriminator_loss(real + 7, fake + 7), gan.discriminator_loss(real, fake))


def test_a_relativistic_step_trains_both_networks_and_reports_the_pairs_verdicts():
    generator, discriminator = models.make_generator(widths=TINY_GENERATOR), models.make_discriminator(TINY_DISCRIMINATOR)
    before = [w.numpy().copy() for w in generator.trainable_weights + discriminator.trainable_weights]
    step = gan.make_train_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4),
                               relativistic=True, r1_weight=1.0, r2_weight=1.0)
    stats = step(blank(8))
    after = generator.trainable_weights + discriminator.trainable_weights
    unchanged = [a.path for b, a in zip(before, after) if np.array_equal(b, a.numpy())]
    assert unchanged == [discriminator.trainable_weights[-1].path]  # D's last bias: it cancels in D(x) - D(G(z))
    # D(x) is sigmoid(D(x) - D(G(z))) and D(G(z)) its complement; one pair's verdict is both accuracies.
    np.testing.assert_allclose(stats["d_real"] + stats["d_fake"], 1.0, rtol=1e-6)
    assert stats["real_accuracy"] == stats["fake_accuracy"]
    assert np.isfinite(stats["gen_loss"]) and np.isfinite(stats["disc_loss"])


def test_a_step_with_adaptive_augmentation_moves_its_probability_by_the_share_of_reals_called_real():
    generator = models.make_generator(widths=TINY_GENERATOR)
    discriminator = models.make_discriminator(widths=TINY_DISCRIMINATOR)
    strength = augment.AdaptiveStrength(target=0.6, step=0.125)
    shifts = augment.make_augment(["translation"], tf.random.Generator.from_seed(0), strength)
    step = gan.make_train_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4),
                               augment=shifts, strength=strength)
    expected = 0.0
    for _ in range(3):
        stats = step(blank(16))
        overfitting = 2 * float(stats["real_accuracy"]) - 1  # ADA's r_t
        expected = min(1.0, max(0.0, expected + (0.125 if overfitting > 0.6 else -0.125)))
        assert float(strength.probability.numpy()) == expected


def test_the_training_loop_takes_each_batch_once_and_chooses_per_step_as_one_call_per_step_would():
    """Calls of several steps, split where the step's choices change: which steps update the generator and
    measure its gradient must not depend on how the steps are grouped into calls."""
    def train_step(batch, update_generator, measure_gradient):  # reports which batch it saw and what it chose
        chosen = {"gen_loss": batch, "disc_loss": 1.0, "d_real": tf.cast(update_generator, tf.float32),
                  "d_fake": tf.cast(measure_gradient, tf.float32)}
        chosen.update({key: batch * tf.cast(update_generator, tf.float32) if key == "gen_grad_norm" else 0.0
                       for key in columns.TRAINING_NAMES if key not in chosen})
        return chosen
    batches = tf.data.Dataset.range(20).map(lambda n: tf.cast(n, tf.float32))
    sums = tf.Variable(tf.zeros([len(columns.TRAINING_NAMES)]))
    train_steps = gan.make_train_loop(train_step, sums, columns.TRAINING_NAMES, discriminator_steps=3, gradient_norm_every=4)
    iterator = iter(batches)
    for first, count in [(0, 7), (7, 1), (8, 12)]:  # calls of uneven sizes, as a stop and resume would make
        train_steps(iterator, first, count)
    totals = dict(zip(columns.TRAINING_NAMES, sums.numpy()))
    updating = [n for n in range(20) if (n + 1) % 3 == 0]
    assert totals["gen_loss"] == sum(range(20)) and totals["disc_loss"] == 20  # every batch, once
    assert totals["d_real"] == len(updating) and totals["gen_grad_norm"] == sum(updating)  # the right steps
    assert totals["d_fake"] == len(range(0, 20, 4))
