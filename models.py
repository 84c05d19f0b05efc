"""The tutorial's DCGAN: a generator that upsamples noise to an image, a discriminator that scores it.

With the defaults (28x28 greyscale, the default widths) these are layer for layer the models of
tensorflow.org/tutorials/generative/dcgan (2,330,944 and 212,865 parameters). Other image sizes
keep the same pattern with one more stride-2 stage per doubling (config.upsampling_stages).
"""

import keras
from keras import layers

import config


def extend(widths, count, factor):
    """`widths` lengthened to `count` entries, each new one `factor` times the last (at least 8)."""
    widths = list(widths)
    while len(widths) < count:
        widths.append(max(8, int(widths[-1] * factor)))
    return widths


def make_generator(noise_dim=100, widths=(256, 128, 64), kernel_size=5, image_size=28, channels=1,
                   synchronized=False):
    """Noise (noise_dim,) -> image (image_size, image_size, channels) in [-1, 1].

    A dense layer makes a small feature map (7x7 for 28, 8x8 for 32 and 64); transposed convolutions
    keep its size once, then double it until the image size (7 -> 7 -> 14 -> 28 for the tutorial).
    Batch normalisation makes the biases redundant, hence use_bias=False; `synchronized` computes its
    statistics over the whole batch when a tf.distribute strategy splits it over several devices.
    """
    stages = config.upsampling_stages(image_size)
    start = image_size // 2 ** stages
    dense_width, mid_width, *upsampling_widths = extend(widths, stages + 1, 0.5)
    model = keras.Sequential([
        keras.Input(shape=(noise_dim,)),
        layers.Dense(start * start * dense_width, use_bias=False),
        layers.BatchNormalization(synchronized=synchronized),
        layers.LeakyReLU(),
        layers.Reshape((start, start, dense_width)),                             # (7, 7, 256)
        layers.Conv2DTranspose(mid_width, kernel_size, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(synchronized=synchronized),
        layers.LeakyReLU(),                                                      # (7, 7, 128)
    ], name="generator")
    for width in upsampling_widths:
        model.add(layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same", use_bias=False))
        model.add(layers.BatchNormalization(synchronized=synchronized))
        model.add(layers.LeakyReLU())                                            # (14, 14, 64)
    # float32 even under mixed precision: the images are compared with real ones in float32.
    model.add(layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", use_bias=False,
                                     activation="tanh", dtype="float32"))        # (28, 28, 1)
    return model


def make_discriminator(widths=(64, 128), kernel_size=5, dropout=0.3, image_size=28, channels=1):
    """Image (image_size, image_size, channels) -> one logit: positive means "real", negative "generated".

    Each stride-2 convolution halves the image (28 -> 14 -> 7), one per generator upsampling; no sigmoid,
    the loss works on logits.
    """
    model = keras.Sequential([keras.Input(shape=(image_size, image_size, channels))], name="discriminator")
    for width in extend(widths, config.upsampling_stages(image_size), 2):
        model.add(layers.Conv2D(width, kernel_size, strides=2, padding="same"))  # (14, 14, 64), (7, 7, 128)
        model.add(layers.LeakyReLU())
        model.add(layers.Dropout(dropout))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, dtype="float32"))  # (1,); float32 under mixed precision: the loss needs its range
    return model


def from_config(cfg, synchronized=False):
    """Both models as `cfg` (a flat config from config.load) describes them. Empty image settings mean
    the dataset's own shape (data.load_images fills them in for a folder)."""
    size, channels = config.image_shape(cfg)
    generator = make_generator(cfg["model.noise_dim"], cfg["model.generator_widths"], cfg["model.kernel_size"],
                               size, channels, synchronized)
    discriminator = make_discriminator(cfg["model.discriminator_widths"], cfg["model.kernel_size"],
                                       cfg["model.dropout"], size, channels)
    return generator, discriminator
