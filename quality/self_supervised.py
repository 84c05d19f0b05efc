"""Quality numbers for images without labels: a feature network learnt from the data's own images, and the modes
of real images that stand in for classes.

The network is the evaluator classifier's convolutions and 64-unit feature layer (evaluators.make_classifier)
trained by SimCLR's contrastive loss (Chen et al. 2020, NT-Xent): two random crops of one image must map to
nearby features, crops of other images far apart. It learns from its first step, which suits a CPU's budget of a
few hundred steps. Crops are its only invariance: colour jitter or greyscale would make the distances blind to
wrong colours, and flips to mirrored digits. The features are the backbone's, not the projection head's, whose
contrastive training discards what tells crops apart (Chen et al., section 4.2).

Modes: k-means (quality/kmeans.py) on the real reference images' features finds MODES groups; each generated
image belongs to the nearest. Their entropy and the rarest one's share say what class entropy says with labels:
whether the generator draws every kind of image in the data, or has dropped some (mode collapse). They are
clusters of features, not the data's classes, and named so (mode_entropy, min_mode_share; NDB, Richardson &
Weiss 2018, compares generated and real images' shares of such bins).

The trade-off: STEPS steps of BATCH images bound the time (about a minute for 32x32 colour images on 2 CPU
cores), not the quality: the features are checked against a judge that knows the data, against the same
network with random weights and against a PCA of pixels (bench/feature_checks.py, docs/quality.md).
"""

import time
from pathlib import Path

import numpy as np

from data import pipeline, sources
from output import atomic, progress
from quality import kmeans, metrics
from quality.references import (FEATURE_LAYER, check_count, directory, load_reference, name, save_reference, sha256,
                                split)

STEPS = 200          # contrastive steps: ~50,000 crop pairs
BATCH = 256          # images a step, each cropped twice
TEMPERATURE = 0.2    # of NT-Xent's softmax over the batch's other crops
CROP_AREA = (0.5, 1.0)  # a crop keeps this share of the image, then is resized back to it
MODES = 10           # k-means groups of real reference images: the classes where there are none
PROJECTION = 64      # the projection head's width (its output feeds the loss, not the scores)


def encoder(image_size, channels):
    """The evaluator classifier's network up to its 64 features (the distances are taken there)."""
    import keras

    from quality.classifier import make_classifier
    classifier = make_classifier(image_size, channels, num_classes=2)
    return keras.Model(classifier.inputs[0], classifier.get_layer(FEATURE_LAYER).output, name="encoder")


def random_crops(images, generator):
    """Each image (N, H, W, C) cropped to a random box of CROP_AREA of its area (aspect 3:4 to 4:3) and resized
    back to H x W: the only view change the features learn to ignore."""
    import tensorflow as tf
    count = tf.shape(images)[0]
    area = generator.uniform([count], *CROP_AREA)
    aspect = tf.exp(generator.uniform([count], np.log(3 / 4), np.log(4 / 3)))
    height, width = tf.minimum(tf.sqrt(area * aspect), 1.0), tf.minimum(tf.sqrt(area / aspect), 1.0)
    top, left = generator.uniform([count]) * (1 - height), generator.uniform([count]) * (1 - width)
    boxes = tf.stack([top, left, top + height, left + width], axis=1)
    return tf.image.crop_and_resize(images, boxes, tf.range(count), tf.shape(images)[1:3])


def contrastive_loss(first, second):
    """NT-Xent: for each of the 2N projections, cross-entropy of finding its pair's among the 2N - 1 others."""
    import tensorflow as tf
    rows = tf.math.l2_normalize(tf.concat([first, second], 0), axis=1)
    count = tf.shape(first)[0]
    similarity = rows @ tf.transpose(rows) / TEMPERATURE - 1e9 * tf.eye(2 * count)  # never one's own crop
    pairs = tf.concat([tf.range(count, 2 * count), tf.range(count)], 0)
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(pairs, similarity, from_logits=True))


def train_encoder(images, numbers, seed=0, verbose=True):
    """The encoder trained on images[numbers] (uint8, N x H x W x C, a cache's memory map is fine: BATCH are
    read a step) for STEPS steps, seeded; one progress line with the time left."""
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(seed)
    network = encoder(images.shape[1], images.shape[3])
    head = keras.Sequential([keras.layers.Dense(PROJECTION, activation="relu"), keras.layers.Dense(PROJECTION)])
    optimizer = keras.optimizers.Adam(1e-3)
    crops = tf.random.Generator.from_seed(seed)

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            # L = NT-Xent(h(f(crop1(x))), h(f(crop2(x)))): pairs of one image close, other images apart
            loss = contrastive_loss(head(network(random_crops(batch, crops), training=True)),
                                    head(network(random_crops(batch, crops), training=True)))
        weights = network.trainable_variables + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    order = np.random.default_rng(seed)
    line = progress.Progress("learning the features of the data's images", STEPS * BATCH) if verbose else None
    for number in range(STEPS):
        chosen = np.sort(order.choice(len(numbers), min(BATCH, len(numbers)), replace=False))
        step(tf.constant(pipeline.scale(images[numbers[chosen]])))
        if line:
            line.show((number + 1) * BATCH)
    return network


MODE_SEEDINGS = 10   # k-means runs from as many k-means++ seedings; the tightest clusters are the modes


def modes_of(features, seed=0):
    """MODES centroids of real images' features: the k-means clustering with the least squared distance to the
    centroids of MODE_SEEDINGS, as one seeding can leave two centroids in one mode. Fewer for very few images."""
    rng = np.random.default_rng(seed)
    points = np.asarray(features, np.float32)
    count = min(MODES, len(points))
    best, least = None, np.inf
    for _ in range(MODE_SEEDINGS):
        centroids, assignments = kmeans.kmeans(points, kmeans.seed_centroids(points, count, rng))
        spread = float(((points - centroids[assignments]) ** 2).sum())
        if spread < least:
            best, least = centroids, spread
    return best


def make_reference(network, images, reference_part, baseline):
    """The Reference of real images never trained on (`reference_part`), with their modes, whose real_scores are
    those of other real images (`baseline`)."""
    features, _ = metrics.embed(network, pipeline.ScaledView(images, reference_part))
    real = metrics.embed(network, pipeline.ScaledView(images, baseline))
    return metrics.measured_reference(features, real, modes=modes_of(features))


TRAINING_SAMPLE = 20_000  # the images the features may learn from: a bounded sample of a large folder


def paths(cfg):
    """Where the data's self-supervised features and their reference are, or would be saved."""
    stem = directory(cfg) / name(cfg)
    return Path(f"{stem}_self_supervised.keras"), Path(f"{stem}_self_supervised_reference.npz")


def load(cfg):
    """The data's feature network and Reference, or (None, None) if they have not been made (or their two files
    do not belong together)."""
    import keras
    network_path, reference_path = paths(cfg)
    if not network_path.is_file():
        return None, None
    reference = load_reference(reference_path, sha256(network_path))
    if reference is None:
        return None, None
    return keras.models.load_model(network_path, compile=False, safe_mode=True), reference


def make(cfg, replace=False):
    """Learn the data's features from its own images (unless made before and not `replace`) and save them with
    their reference: held-out images as the classifier's (references.split), the rest a sample to learn from."""
    started = time.perf_counter()
    images, _, _ = sources.load_images({**cfg, "data.limit": None}, same_listing=True)
    cfg = {**cfg, "data.image_size": images.shape[1], "data.channels": images.shape[3]}  # the shape names them
    if not replace and load(cfg)[0] is not None:
        print(f"{paths(cfg)[0]} and its reference exist already: train.py uses them for this data. To learn them "
              f"again: --replace (every later run's quality numbers change with them)")
        return
    check_count(cfg, len(images), "images", "learning features")
    train_part, baseline, reference_part = split(len(images), cfg["data.dataset"])
    network_path, reference_path = paths(cfg)
    print(f"learning features of {name(cfg)} from {min(len(train_part), TRAINING_SAMPLE)} of its images, without "
          f"labels, for the quality numbers ({STEPS} steps; once, kept in {network_path.parent})", flush=True)
    network = train_encoder(images, np.sort(train_part[:TRAINING_SAMPLE]))
    network_path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write(network_path, network.save)
    reference = make_reference(network, images, reference_part, baseline)
    save_reference(reference_path, sha256(network_path), reference)
    print(f"learnt the features in {time.perf_counter() - started:.0f} s; real vs the reference: " + ", ".join(
        f"{score} {value:.3g}" for score, value in reference.real_scores.items()), flush=True)
