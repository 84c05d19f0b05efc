"""An epoch's batches: image numbers shuffled, each batch's images read (from memory or a folder's cache) and
scaled as it is made, with the generator's noise; seeded by (run seed, epoch) so a resumed run sees what an
uninterrupted one would have.
"""

import numpy as np
import tensorflow as tf


def scale(images):
    """uint8 (N, H, W[, C]) -> float32 (N, H, W, C) in [-1, 1], the range of the generator's tanh output."""
    images = images[..., None] if images.ndim == 3 else images
    return (images.astype("float32") - 127.5) / 127.5


class ScaledView:
    """images[numbers], scaled like scale() a slice at a time as it is read: a network goes through any number
    of a cache's images (metrics.embed slices it by batch) with one batch in memory."""

    def __init__(self, images, numbers):
        self.images, self.numbers = images, np.asarray(numbers)

    def __len__(self):
        return len(self.numbers)

    def __getitem__(self, part):
        return scale(self.images[self.numbers[part]])


def epoch_seed(seed, epoch):
    """The seed of one epoch's shuffle and noise, mixed from the pair (run seed, epoch): runs with seeds s and
    s + 1 draw unrelated streams (a sum, seed + epoch, would give seed s's epoch n + 1 the draws of seed s + 1's
    epoch n), and a resumed run re-derives each epoch's seed exactly."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint32)[0])


def epoch_order(count, seed, shuffle_buffer):
    """One epoch's order of the image numbers 0..count-1: an exact seeded permutation. Up to `shuffle_buffer`
    images it is tf.data's shuffle (the tutorial's order: the same as shuffling the images themselves with
    this seed, at ~200 bytes an index); beyond, one stateless shuffle of all the numbers (8 bytes an index)."""
    if count <= shuffle_buffer:
        return tf.data.Dataset.range(count).shuffle(count, seed=seed)
    return tf.data.Dataset.from_tensors(tf.range(count, dtype=tf.int64)).map(
        lambda numbers: tf.random.experimental.stateless_shuffle(numbers, seed=[seed, 0])).unbatch()


READERS = 2  # batches of an epoch read at once, and ready ahead of the steps


def epoch_batches(images, labels, batch_size, seed, epoch, noise_dim, shuffle_buffer=60000, skip=0, parts=1,
                  mine=(0,)):
    """One epoch of shuffled batches scaled to [-1, 1], each with the generator's noise: (images, z), or
    (images, labels, z) with `labels`, prefetched so the next batch is ready when a step ends.

    Only image numbers are shuffled and batched: each batch's images are read (from memory or the folder's
    cache) and scaled when it is made, so memory holds a few batches whatever the dataset's size. The order
    is seeded by epoch_seed(seed, epoch), and the noise drawn from (that seed, the batch's number), so a
    resumed run that skips the `skip` batches it has done sees what an uninterrupted run would have. With
    several devices each batch is cut into `parts` consecutive pieces and this pipeline reads only the pieces
    numbered in `mine`, one after another: each device's share, with its share of the batch's noise.
    """
    this_epoch = epoch_seed(seed, epoch)
    shape = images.shape[1:]

    @tf.autograph.experimental.do_not_convert  # no Python branch on a tensor: autograph would only add tracing time
    def piece(number, indices, part):
        key = tf.stack([tf.constant(this_epoch, tf.int64), number])
        z = tf.random.stateless_normal([tf.shape(indices)[0], noise_dim], seed=key)
        size = tf.shape(indices, out_type=tf.int64)[0]
        start, stop = size * part // parts, size * (part + 1) // parts
        return indices[start:stop], z[start:stop]

    @tf.autograph.experimental.do_not_convert
    def read(indices, z):
        def gather(numbers):
            return (images[numbers],) + (() if labels is None else (labels[numbers].astype(np.int32),))
        found = tf.numpy_function(gather, [indices], [tf.uint8] + ([] if labels is None else [tf.int32]),
                                  stateful=False)
        found[0].set_shape([None, *shape])
        pixels = (tf.cast(found[0], tf.float32) - 127.5) / 127.5  # the range of the generator's tanh output
        if labels is None:
            return pixels, z
        found[1].set_shape([None])
        return pixels, found[1], z
    batches = epoch_order(len(images), this_epoch, shuffle_buffer).batch(batch_size).enumerate().skip(skip)
    if len(mine) == 1:  # one piece of each batch: one traced function instead of three, built in less time each epoch
        pieces = batches.map(lambda number, indices: read(*piece(number, indices, mine[0])), num_parallel_calls=READERS)
    else:
        pieces = batches.flat_map(lambda number, indices: tf.data.Dataset.from_tensor_slices(
            tf.constant(mine, tf.int64)).map(lambda part: piece(number, indices, part))).map(read, num_parallel_calls=READERS)
    # Fixed parallelism rather than tf.data's autotuner: deleting an iterator waits for the autotuner's thread, which
    # on a busy CPU held up the end of an epoch for seconds (docs/speed.md). Reading a batch is a gather, far
    # shorter than a step: READERS batches read at once, as many ready ahead, keep the steps fed.
    options = tf.data.Options()
    options.autotune.enabled = READERS == tf.data.AUTOTUNE  # as bench/iterator_teardown.py compares them
    return pieces.prefetch(READERS).with_options(options)
