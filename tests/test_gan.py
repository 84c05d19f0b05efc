import numpy as np
import keras
import tensorflow as tf

import data
import gan
import models


def make_step():
    generator, discriminator = models.make_generator(), models.make_discriminator()
    optimizers = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    step = gan.make_train_step(generator, discriminator, *optimizers, tf.random.Generator.from_seed(0))
    return generator, discriminator, step


def test_one_step_updates_both_networks_and_gives_finite_losses():
    generator, discriminator, step = make_step()
    before = [w.numpy().copy() for w in generator.trainable_weights + discriminator.trainable_weights]
    real = next(iter(data.epoch_batches(data.make_dataset(data.load_sample()[:32]), 32, 32, 0)))
    gen_loss, disc_loss = step(real)
    assert np.isfinite(gen_loss) and np.isfinite(disc_loss)
    after = generator.trainable_weights + discriminator.trainable_weights
    changed = [not np.array_equal(b, a.numpy()) for b, a in zip(before, after)]
    assert all(changed)


def test_a_smaller_last_batch_draws_as_much_noise_as_it_has_images():
    _, _, step = make_step()
    for size in (8, 3):  # the second call reuses the compiled step with a smaller batch
        gen_loss, disc_loss = step(tf.zeros((size, 28, 28, 1)))
        assert np.isfinite(gen_loss) and np.isfinite(disc_loss)


def test_losses_are_the_tutorials_cross_entropies():
    logits = tf.constant([[0.0], [0.0]])
    # D(x) = 0.5 everywhere: each cross-entropy is log 2
    np.testing.assert_allclose(gan.generator_loss(logits), np.log(2), rtol=1e-6)
    np.testing.assert_allclose(gan.discriminator_loss(logits, logits), 2 * np.log(2), rtol=1e-6)
    confident = tf.constant([[10.0]])
    assert gan.discriminator_loss(confident, -confident) < 1e-3  # real called real, fake called fake
    assert gan.generator_loss(-confident) > 9  # the discriminator saw through the fake
