"""Differentiable augmentation (DiffAugment, Zhao et al. 2020, arxiv.org/abs/2006.10738) for small datasets.

With few real images the discriminator memorises them, wins, and the generator's gradients fade.
DiffAugment shifts and masks every image the discriminator sees, real and generated alike, with
operations the generator's gradient flows through, so D cannot memorise while G still learns to draw
unaugmented images. The trade-off: D's task gets harder, which slows its start on big datasets.

With train.augment_target the operations are applied to each image with a probability p that adapts (ADA,
Karras et al. 2020, arxiv.org/abs/2006.06676): p rises while the discriminator calls too many real images real
(it is memorising them) and falls otherwise, so augmentation costs nothing where the data is enough. The
trade-off: p moves at a fixed pace (train.augment_kimg), so a run of few images barely moves it.

Images are in [-1, 1] with -1 as the background, so both operations fill with -1, not 0 (DiffAugment's
CIFAR code fills with 0, the mid-grey of that range). The random draws come from the run's
tf.random.Generator, which the checkpoint holds, so a resumed run augments as an uninterrupted one would.
"""

import tensorflow as tf


def translation(images, rng, fraction=0.125):
    """Shift each image by up to `fraction` of its size in each direction (4 pixels for 28 or 32)."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    shift = int(height * fraction + 0.5)
    padded = tf.pad(images + 1.0, [[0, 0], [shift, shift], [shift, shift], [0, 0]]) - 1.0  # background border
    top = rng.uniform([batch, 1], 0, 2 * shift + 1, dtype=tf.int32)
    left = rng.uniform([batch, 1], 0, 2 * shift + 1, dtype=tf.int32)
    rows = tf.gather(padded, top + tf.range(height), axis=1, batch_dims=1)   # (batch, height, width + 2 shift, c)
    return tf.gather(rows, left + tf.range(width), axis=2, batch_dims=1)     # (batch, height, width, c)


def cutout(images, rng, fraction=0.5):
    """Blank one square of `fraction` of the image's size (14x14 for 28) at a random place in each image."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    size = int(height * fraction + 0.5)
    centre_y = rng.uniform([batch, 1, 1], 0, height, dtype=tf.int32)
    centre_x = rng.uniform([batch, 1, 1], 0, width, dtype=tf.int32)
    y = tf.range(height)[None, :, None] - centre_y + size // 2
    x = tf.range(width)[None, None, :] - centre_x + size // 2
    keep = tf.cast(~((y >= 0) & (y < size) & (x >= 0) & (x < size)), images.dtype)[..., None]  # (batch, h, w, 1)
    return (images + 1.0) * keep - 1.0


class AdaptiveStrength:
    """ADA's probability p of each operation, in a variable the checkpoint holds, and its update after each step
    from the share of real images the discriminator called real: r_t = E[sign D(x)] = 2 * share - 1, the
    overfitting heuristic of ADA, held at `target` (ADA: 0.6) by moving p `step` (batch / images) up or down."""

    def __init__(self, target, step):
        self.probability = tf.Variable(0.0, trainable=False, name="augment_probability")
        self.target, self.step = target, step

    def adjust(self, real_accuracy):
        # p <- clip(p + sign(r_t - target) * batch / (augment_kimg * 1000), 0, 1)
        overfitting = 2.0 * real_accuracy - 1.0
        self.probability.assign(tf.clip_by_value(
            self.probability + tf.sign(overfitting - self.target) * self.step, 0.0, 1.0))


def make_augment(policies, rng, strength=None):
    """A function applying `policies` (names from settings/schema.py's train.augment, in order) to a batch; the
    identity for none. With `strength` (an AdaptiveStrength) each operation reaches each image with its
    probability p, drawn independently (ADA); without, every image."""
    operations = [{"translation": translation, "cutout": cutout}[name] for name in policies]

    def augment(images):
        for operation in operations:
            changed = operation(images, rng)
            if strength is not None:
                chosen = rng.uniform([tf.shape(images)[0], 1, 1, 1]) < strength.probability
                changed = tf.where(chosen, changed, images)
            images = changed
        return images
    return augment
