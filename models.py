"""The tutorial's DCGAN: a generator that upsamples noise to a 28x28 digit, a discriminator that scores it.

With the default widths these are layer for layer the models of
tensorflow.org/tutorials/generative/dcgan (2,330,944 and 212,865 parameters).
"""

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)


def make_generator(noise_dim=100, widths=(256, 128, 64), kernel_size=5):
    """Noise (noise_dim,) -> image (28, 28, 1) in [-1, 1].

    A dense layer makes a 7x7 feature map; transposed convolutions upsample it 7 -> 7 -> 14 -> 28.
    Batch normalisation makes the biases redundant, hence use_bias=False.
    """
    dense_width, mid_width, last_width = widths
    return keras.Sequential([
        keras.Input(shape=(noise_dim,)),
        layers.Dense(7 * 7 * dense_width, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, dense_width)),                                     # (7, 7, 256)
        layers.Conv2DTranspose(mid_width, kernel_size, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),                                                      # (7, 7, 128)
        layers.Conv2DTranspose(last_width, kernel_size, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),                                                      # (14, 14, 64)
        layers.Conv2DTranspose(IMAGE_SHAPE[-1], kernel_size, strides=2, padding="same", use_bias=False,
                               activation="tanh"),                               # (28, 28, 1)
    ], name="generator")


def make_discriminator(widths=(64, 128), kernel_size=5, dropout=0.3):
    """Image (28, 28, 1) -> one logit: positive means "real", negative "generated".

    Each stride-2 convolution halves the image (28 -> 14 -> 7); no sigmoid, the loss works on logits.
    """
    model = keras.Sequential([keras.Input(shape=IMAGE_SHAPE)], name="discriminator")
    for width in widths:
        model.add(layers.Conv2D(width, kernel_size, strides=2, padding="same"))  # (14, 14, 64), (7, 7, 128)
        model.add(layers.LeakyReLU())
        model.add(layers.Dropout(dropout))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))                                                   # (1,)
    return model


def from_config(cfg):
    """Both models as `cfg` (a flat config from config.load) describes them."""
    generator = make_generator(cfg["model.noise_dim"], cfg["model.generator_widths"], cfg["model.kernel_size"])
    discriminator = make_discriminator(cfg["model.discriminator_widths"], cfg["model.kernel_size"],
                                       cfg["model.dropout"])
    return generator, discriminator
