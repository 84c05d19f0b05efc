"""The tutorial's DCGAN: a generator that upsamples noise to an image, a discriminator that scores it.

With the defaults (28x28 greyscale, the default widths) these are layer for layer the models of
tensorflow.org/tutorials/generative/dcgan (2,330,944 and 212,865 parameters). Other image sizes
keep the same pattern with one more stride-2 stage per doubling (schema.upsampling_stages).
"""

import keras
from keras import layers, ops

from settings import schema


def extend(widths, count, factor):
    """`widths` lengthened to `count` entries, each new one `factor` times the last (at least 8)."""
    widths = list(widths)
    while len(widths) < count:
        widths.append(max(8, int(widths[-1] * factor)))
    return widths


def excited(small, large):
    """FastGAN's skip-layer excitation (Liu et al. 2021): the generator's small early feature map `small` scales
    each channel of a late, large one `large` by a gate in (0, 1) it computes, a shortcut by which the layout
    drawn first steers the detail drawn last (and gradients reach the early layers directly)."""
    gate = layers.AveragePooling2D(2, padding="same")(small)                      # (4, 4, 256)
    gate = layers.LeakyReLU(0.1)(layers.Conv2D(large.shape[-1], gate.shape[1], padding="valid")(gate))  # (1, 1, 64)
    gate = layers.Conv2D(large.shape[-1], 1, activation="sigmoid")(gate)          # (1, 1, 64)
    return layers.Multiply()([large, gate])                                       # (32, 32, 64)


def make_generator(noise_dim=100, widths=(256, 128, 64), kernel_size=5, image_size=28, channels=1,
                   synchronized=False, num_classes=0, skip_excitation=False):
    """Noise (noise_dim,) -> image (image_size, image_size, channels) in [-1, 1]; with `num_classes`, a
    second input, the class as a one-hot vector (num_classes,), joined to the noise.

    A dense layer makes a small feature map (7x7 for 28, 8x8 for 32 and 64); transposed convolutions
    keep its size once, then double it until the image size (7 -> 7 -> 14 -> 28 for the tutorial).
    The dense layer's weights on the one-hot part are a learned class embedding added to its output, so
    no separate embedding layer is needed; a one-hot input (not an integer) also lets generate.py walk
    smoothly from one class to another. `skip_excitation` gates the last feature map before the image by the
    first one, the start x start map (see `excited`).
    Batch normalisation makes the biases redundant, hence use_bias=False; `synchronized` computes its
    statistics over the whole batch when a tf.distribute strategy splits it over several devices.
    """
    stages = schema.upsampling_stages(image_size)
    start = image_size // 2 ** stages
    dense_width, mid_width, *upsampling_widths = extend(widths, stages + 1, 0.5)
    first = [
        layers.Dense(start * start * dense_width, use_bias=False),
        layers.BatchNormalization(synchronized=synchronized),
        layers.LeakyReLU(),
        layers.Reshape((start, start, dense_width)),                             # (7, 7, 256)
        layers.Conv2DTranspose(mid_width, kernel_size, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(synchronized=synchronized),
        layers.LeakyReLU(),                                                      # (7, 7, 128)
    ]
    upsampling = []
    for width in upsampling_widths:
        upsampling += [layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same", use_bias=False),
                       layers.BatchNormalization(synchronized=synchronized),
                       layers.LeakyReLU()]                                       # (14, 14, 64)
    # float32 even under mixed precision: the images are compared with real ones in float32.
    to_image = layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", use_bias=False,
                                      activation="tanh", dtype="float32")      # (28, 28, 1)
    if not num_classes and not skip_excitation:
        return keras.Sequential([keras.Input(shape=(noise_dim,))] + first + upsampling + [to_image], name="generator")
    noise = keras.Input(shape=(noise_dim,), name="noise")
    classes = keras.Input(shape=(num_classes,), name="class") if num_classes else None
    x = layers.Concatenate()([noise, classes]) if num_classes else noise         # (110,)
    for layer in first:
        x = layer(x)
    first_map = x
    for layer in upsampling:
        x = layer(x)
    if skip_excitation:
        x = excited(first_map, x)
    return keras.Model([noise, classes] if num_classes else noise, to_image(x), name="generator")


class MinibatchStddev(layers.Layer):
    """(batch, h, w, c) -> (batch, h, w, c + 1): one more feature map, the same for every image, holding how
    much the batch's features vary (each feature's standard deviation over the batch, averaged; Karras et al.
    2018). A generator that draws one picture for every noise makes it small, so D can see the collapse and
    push G apart. The trade-off: an image's logit now depends a little on the rest of its batch (the
    R1/R2 slope then includes that share, as in StyleGAN), and on several devices each one's part of it."""

    def call(self, x):
        spread = ops.mean(ops.sqrt(ops.var(x, axis=0) + 1e-8))
        return ops.concatenate([x, ops.ones_like(x[..., :1]) * spread], axis=-1)


def make_discriminator(widths=(64, 128), kernel_size=5, dropout=0.3, image_size=28, channels=1, num_classes=0,
                       conditioning="projection", minibatch_std=False, spectral_norm=False):
    """Image (image_size, image_size, channels) -> one logit: positive means "real", negative "generated";
    with `num_classes`, a second input, the class (one-hot), and the logit says "a real image of this class".

    Each stride-2 convolution halves the image (28 -> 14 -> 7), one per generator upsampling; no sigmoid,
    the loss works on logits. The class enters in one of two ways: `planes` joins one constant plane per
    class to the image (keras.io's conditional GAN), so the first convolution sees it; `projection` (Miyato &
    Koyama 2018) adds the inner product of a learned class embedding with the image's features to the logit,
    which asks D the question per class at the end and costs one embedding, however many classes.
    `minibatch_std` adds MinibatchStddev's feature map before the logit. `spectral_norm` wraps each
    convolution in Keras' SpectralNormalization (Miyato et al. 2018): every training call divides its kernel, in
    place, by its largest singular value (one power iteration), so no layer can stretch its input; the logit's
    dense layer stays plain, keeping its float32 output under mixed precision.
    """
    stack = []
    for width in extend(widths, schema.upsampling_stages(image_size), 2):
        convolution = layers.Conv2D(width, kernel_size, strides=2, padding="same")
        stack += [layers.SpectralNormalization(convolution) if spectral_norm else convolution,
                  layers.LeakyReLU(),                                            # (14, 14, 64), (7, 7, 128)
                  layers.Dropout(dropout)]
    if minibatch_std:
        stack.append(MinibatchStddev())                                          # (7, 7, 129)
    stack.append(layers.Flatten())                                               # (6272,)
    # (1,); float32 under mixed precision: the loss needs its range
    verdict = layers.Dense(1, dtype="float32")
    if not num_classes:
        return keras.Sequential([keras.Input(shape=(image_size, image_size, channels))] + stack + [verdict],
                                name="discriminator")
    image = keras.Input(shape=(image_size, image_size, channels), name="image")
    classes = keras.Input(shape=(num_classes,), name="class")
    x = image
    if conditioning == "planes":
        planes = layers.UpSampling2D(image_size)(layers.Reshape((1, 1, num_classes))(classes))
        x = layers.Concatenate()([image, planes])                                # (28, 28, 1 + 10)
    for layer in stack:
        x = layer(x)
    logit = verdict(x)
    if conditioning == "projection":
        embedding = layers.Dense(x.shape[-1], use_bias=False, name="class_embedding")(classes)  # (6272,)
        logit = layers.Add(dtype="float32")([logit, layers.Dot(axes=1, dtype="float32")([x, embedding])])
    return keras.Model([image, classes], logit, name="discriminator")


def feature_map(discriminator):
    """A model that gives the discriminator's last feature map, (8, 8, 256) at 64x64, the layer its logit reads
    (shares its weights). It takes what the discriminator takes: the image, and a class when it is conditional."""
    flatten = next(layer for layer in discriminator.layers if isinstance(layer, layers.Flatten))
    inputs = discriminator.inputs if len(discriminator.inputs) > 1 else discriminator.inputs[0]
    return keras.Model(inputs, flatten.input, name="feature_map")


def make_decoder(discriminator, width=64, kernel_size=3, synchronized=False):
    """The discriminator's last feature map (feature_map) -> its image at half size, (32, 32, 3) at 64x64.

    FastGAN's self-supervised discriminator (Liu et al. 2021): trained with D to redraw each real image from D's
    features, it makes those features keep what the image shows, not only what tells a few thousand training
    images from the generator's, so D overfits them later. FastGAN also redraws a random quarter of the feature
    map at higher detail and compares by a perceptual distance; here the whole image is redrawn once and
    compared pixel by pixel, which needs no pretrained network. Narrow (`width` channels, 3x3 kernels); with the
    second pass of D's convolutions it needs (training/gan.py), a step at 64x64 takes about an eighth longer."""
    image_size, _, channels = discriminator.inputs[0].shape[1:]
    feature_shape = feature_map(discriminator).output.shape[1:]
    size, stack = feature_shape[0], [keras.Input(shape=feature_shape)]               # (8, 8, 256)
    while size * 4 < image_size:
        stack += [layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same", use_bias=False),
                  layers.BatchNormalization(synchronized=synchronized),
                  layers.LeakyReLU()]                                            # (16, 16, 64)
        size *= 2
    stack.append(layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", activation="tanh",
                                        dtype="float32"))                       # (32, 32, 3)
    return keras.Sequential(stack, name="decoder")


def from_config(cfg, synchronized=False, class_names=()):
    """Both models as `cfg` (a flat config from config.load) describes them. Empty image settings mean
    the dataset's own shape (data.load_images fills them in for a folder); a conditional run's models take
    one class of `class_names` each (the data's classes, or with model.clusters its clusters)."""
    size, channels = schema.image_shape(cfg)
    num_classes = len(class_names) if cfg["model.conditional"] or cfg["model.clusters"] else 0
    generator = make_generator(cfg["model.noise_dim"], cfg["model.generator_widths"], cfg["model.kernel_size"],
                               size, channels, synchronized, num_classes, cfg["model.skip_excitation"])
    discriminator = make_discriminator(cfg["model.discriminator_widths"], cfg["model.kernel_size"],
                                       cfg["model.dropout"], size, channels, num_classes, cfg["model.conditioning"],
                                       cfg["model.minibatch_std"], cfg["model.spectral_norm"])
    return generator, discriminator
