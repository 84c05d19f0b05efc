"""Quality numbers for images without labels: the features of a network with random weights, and the modes of
real images that stand in for classes.

The network is the evaluator classifier's convolutions and 64-unit feature layer (classifier.make_classifier),
left as a fixed seed initialises it, and saved, so every run on the data is scored by the same weights.
Random convolutional features are a strong baseline for comparing generators (Naeem et al. 2020; Lee et al.
2022); measured here they rank runs as a judge who knows the data does better than the same network trained
without labels by SimCLR's contrastive loss or a PCA of the pixels, and rise with every level of damage to real
images (bench/feature_checks.py; docs/quality.md). They need no training: made in seconds for any folder, and
blind to nothing a training would have taught them to ignore. Their scale is set so the real reference images'
features have unit variance per dimension on average, which keeps the distances readable (real images
against real ones about 0.4; a first epoch's noise a few hundred).

Modes: k-means (quality/kmeans.py) on the real reference images' features finds MODES groups; each generated
image belongs to the nearest. Their entropy and the rarest one's share say what class entropy says with labels:
whether the generator draws every kind of image in the data, or has dropped some (mode collapse); a picture
beside the reference shows each mode's real images, a row a mode, so a warning that names a mode shows what is
missing. They are
clusters of features, not the data's classes, and named so (mode_entropy, min_mode_ratio; NDB, Richardson &
Weiss 2018, compares generated and real images' shares of such bins).

The trade-off: random features see what convolutions of a picture see, not what a person knows of it: within a
run whose images are already good they rank epochs less faithfully than a classifier of the data's classes,
which labelled data gets instead, and how faithfully depends on the seed (docs/quality.md).
"""

import time
from pathlib import Path

import numpy as np

from data import pipeline, sources
from output import atomic
from quality import distances, kmeans, metrics
from quality.classifier import make_classifier
from quality.references import FEATURE_LAYER, check_count, directory, load_reference, name, save_reference, sha256, split

SEED = 0             # the weights' seed: the same network for the same image shape
MODES = 10           # k-means groups of real reference images: the classes where there are none
MODE_SEEDINGS = 10   # k-means runs from as many k-means++ seedings; the tightest clusters are the modes
EXAMPLES = 10        # real images a mode in the modes' picture, those nearest its centroid


def encoder(image_size, channels, seed=SEED):
    """The evaluator classifier's network up to its 64 features, with random weights from `seed`."""
    import keras
    keras.utils.set_random_seed(seed)
    classifier = make_classifier(image_size, channels, num_classes=2)
    return keras.Model(classifier.inputs[0], classifier.get_layer(FEATURE_LAYER).output, name="encoder")


def scaled(network, scaled_images):
    """`network` with its features multiplied so those of `scaled_images` have unit variance per dimension on
    average: distances of a readable size, whatever the random weights' scale."""
    import keras
    features, _ = metrics.embed(network, scaled_images)
    scale = 1 / np.sqrt(max(float(features.var(axis=0).mean()), 1e-12))
    return keras.Sequential([network, keras.layers.Rescaling(scale)], name="random_features")


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
    """The Reference of real images (`reference_part`), with their modes, whose real_scores are those of other
    real images (`baseline`)."""
    features, _ = metrics.embed(network, pipeline.ScaledView(images, reference_part))
    real = metrics.embed(network, pipeline.ScaledView(images, baseline))
    return metrics.measured_reference(features, real, modes=modes_of(features))


def paths(cfg):
    """Where the data's feature network and its reference are, or would be saved."""
    stem = directory(cfg) / name(cfg)
    return Path(f"{stem}_random_network.keras"), Path(f"{stem}_random_network_reference.npz")


def modes_picture_path(cfg):
    """Where the picture of the reference's modes is, or would be saved."""
    return Path(f"{directory(cfg) / name(cfg)}_random_network_modes.png")


def save_modes_picture(path, images, reference_part, reference):
    """One row per mode: its EXAMPLES real reference images nearest the mode's centroid (white where it has
    fewer), row k for mode k."""
    from record.images import grid, save_png
    away = distances.squared_distances(np.asarray(reference.features, np.float32),
                                       np.asarray(reference.modes, np.float32))  # (images, modes)
    nearest = away.argmin(axis=1)
    tiles = np.full((len(reference.modes) * EXAMPLES, *images.shape[1:]), 255, np.uint8)
    for mode in range(len(reference.modes)):
        members = np.flatnonzero(nearest == mode)
        chosen = members[np.argsort(away[members, mode])][:EXAMPLES]
        if len(chosen):
            tiles[mode * EXAMPLES:mode * EXAMPLES + len(chosen)] = images[reference_part[chosen]]
    save_png(grid(tiles, columns=EXAMPLES), path)


def draw_modes(cfg, reference, images=None):
    """Save the picture of `reference`'s modes from the data's images (read here if not given) and say where:
    when the evaluator is made, or later for one whose picture is missing (deleted, or made by a version that
    drew none); the network and the reference stay as they are."""
    if images is None:
        images, _, _ = sources.load_images({**cfg, "data.limit": None}, same_listing=True)
    path = modes_picture_path(cfg)
    save_modes_picture(path, images, split(len(images), cfg["data.dataset"])[2], reference)
    reference.modes_picture = str(path)
    print(f"drew the real images of each of its {len(reference.modes)} modes, a row each: {path}", flush=True)


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
    picture = modes_picture_path(cfg)
    reference.modes_picture = str(picture) if picture.is_file() else None  # a warning points to its row
    return keras.models.load_model(network_path, compile=False, safe_mode=True), reference


def make(cfg, replace=False):
    """The data's feature network and its reference, saved (unless made before and not `replace`): held-out
    images as the classifier's (references.split), so the reference is the same real images either way."""
    import keras
    started = time.perf_counter()
    images, _, _ = sources.load_images({**cfg, "data.limit": None}, same_listing=True)
    cfg = {**cfg, "data.image_size": images.shape[1], "data.channels": images.shape[3]}  # the shape names them
    network_path, reference_path = paths(cfg)
    existing = None if replace else load(cfg)[1]
    if existing is not None:
        if existing.modes_picture is None:
            draw_modes(cfg, existing, images)
        print(f"{network_path} and its reference exist already: train.py uses them for this data. To make them "
              f"again: --replace (every later run's quality numbers change with them)")
        return
    check_count(cfg, len(images), "images", "a feature network")
    _, baseline, reference_part = split(len(images), cfg["data.dataset"])
    if network_path.is_file() and not replace:  # its reference missing or stale: the network stays, as it scored
        print(f"{network_path} exists; its reference ({reference_path.name}) is missing or stale: computing it")
        network = keras.models.load_model(network_path, compile=False, safe_mode=True)
    else:
        print(f"making the features that score {name(cfg)} without labels: a network with random weights, the "
              f"{len(reference_part)} real images it compares with and their modes (once, kept in "
              f"{network_path.parent})", flush=True)
        network = scaled(encoder(images.shape[1], images.shape[3]), pipeline.ScaledView(images, reference_part))
        network_path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write(network_path, network.save)
    reference = make_reference(network, images, reference_part, baseline)
    save_reference(reference_path, sha256(network_path), reference)
    print(f"made them in {time.perf_counter() - started:.0f} s; real vs the reference: " + ", ".join(
        f"{score} {value:.3g}" for score, value in reference.real_scores.items()), flush=True)
    draw_modes(cfg, reference, images)
