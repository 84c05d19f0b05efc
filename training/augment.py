"""Differentiable augmentation (DiffAugment, Zhao et al. 2020, arxiv.org/abs/2006.10738) for small datasets.

With few real images the discriminator memorises them, wins, and the generator's gradients fade.
DiffAugment shifts and masks every image the discriminator sees, real and generated alike, with
operations the generator's gradient flows through, so D cannot memorise while G still learns to draw
unaugmented images. The trade-off: D's task gets harder, which slows its start on big datasets.

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


def make_augment(policies, rng):
    """A function applying `policies` (names from settings/schema.py's train.augment, in order) to a batch; the identity for none."""
    operations = [{"translation": translation, "cutout": cutout}[name] for name in policies]

    def augment(images):
        for operation in operations:
            images = operation(images, rng)
        return images
    return augment
