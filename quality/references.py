"""Where evaluators are kept and how they are named, so a run finds the one made for its data.

With eval.features=classifier, an evaluator is two files in eval.evaluator_dir (default evaluator/):
NAME_classifier.keras, a small classifier trained on the data's classes (classifier.py; on its own,
train_classifier.py), and NAME_reference.npz, the features and classes of real images it never saw (the
reference), the numbers of other unseen real images (real vs real), its held-out accuracy and its class names,
with the classifier's sha256: the two are made together and used only together. With
eval.features=random_network, NAME_random_network.keras and NAME_random_network_reference.npz, the same for
a network with random weights that scores images without labels (random_network.py), with the real images'
modes. NAME says which data they are for: `mnist` for 28x28 greyscale MNIST digits (the committed one), else
the dataset, for a folder its name and a fingerprint of its files, and the image shape.

The trade-off: a folder's fingerprint is its list of files and their sizes, read in milliseconds, not their
contents: a picture edited in place to the same number of bytes keeps the evaluator made before.
"""

import hashlib
import os
from pathlib import Path

import numpy as np

from data import folder_cache
from output import atomic
from quality import metrics
from settings import schema
from settings.schema import ConfigError


DEFAULT_DIR = Path(__file__).resolve().parents[1] / "evaluator"
MNIST = "mnist"  # the committed evaluator: mnist and mnist_sample digits, 28x28 greyscale
FEATURES = 64  # the classifier's feature layer: where its distances are taken
FEATURE_LAYER = "features"
HELD_OUT = 0.4  # of the labelled images, the share the classifier never sees: half reference, half baseline
HELD_OUT_MAX = 4000  # ... at most: 2,000 real images each are plenty for the numbers
MIN_IMAGES = 250  # fewer, and the held-out halves (50 images) say little


def directory(cfg):
    return Path(os.path.expanduser(cfg["eval.evaluator_dir"])) if cfg["eval.evaluator_dir"] else DEFAULT_DIR


def fingerprint(path):
    """12 hex digits that change when a file under `path` is added, removed, renamed or changes size."""
    files = sorted(folder_cache.listing(path), key=lambda file: Path(file[0]).parts)
    listing = "".join(f"{Path(name).as_posix()}\t{size}\n" for name, size, _ in files)
    return hashlib.sha256(listing.encode()).hexdigest()[:12]


def name(cfg):
    """The name of the run's data and image shape (data.image_size and data.channels filled in): `mnist`, or
    like `fashion_mnist-28x28x1`, `folder-pictures-3f09a1c2b4d5-64x64x3`. A folder decoded onto another
    data.background than white (its transparent pixels show it) adds it: `folder-...-on-000000-64x64x3`."""
    dataset, size, channels = cfg["data.dataset"], cfg["data.image_size"], cfg["data.channels"]
    if dataset in ("mnist", "mnist_sample"):
        if (size, channels) == (28, 1):
            return MNIST
        dataset = "mnist"
    elif dataset == "folder":
        path = Path(os.path.expanduser(cfg["data.path"])).resolve()
        dataset = f"folder-{path.name}-{fingerprint(path)}"
        if cfg["data.background"] != "white":
            dataset += "-on-" + "".join(f"{c:02x}" for c in schema.rgb(cfg["data.background"]))
    return f"{dataset}-{size}x{size}x{channels}"


def chosen(cfg):
    """The evaluator eval.classifier names (like mnist, for digits without labels), or None: the data's own."""
    return None if cfg["eval.classifier"] in ("auto", "existing") else cfg["eval.classifier"]


def classifier_paths(cfg):
    """Where the run's data's classifier (or the one eval.classifier names) and its reference are, or would be
    saved."""
    stem = directory(cfg) / (chosen(cfg) or name(cfg))
    return Path(f"{stem}_classifier.keras"), Path(f"{stem}_reference.npz")


def split(count, dataset):
    """The indices a classifier trains on, and the held-out ones: baseline (real vs real) and reference.
    A seeded shuffle first, as a folder comes sorted by class; MNIST's bundled digits are already in random
    order and keep the committed evaluator's split: 0-5,999 to train, 6,000-7,999, 8,000-9,999."""
    order = np.arange(count) if dataset in ("mnist", "mnist_sample") else np.random.default_rng(0).permutation(count)
    held = min(round(HELD_OUT * count), HELD_OUT_MAX)
    train, baseline = order[:count - held], order[count - held:count - held // 2]
    return train, baseline, order[count - held // 2:]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_reference(path, key, reference, **extra):
    """A Reference (with its `key`, and `extra` arrays) to `path`, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    optional = {"labels": reference.labels, "class_names": reference.class_names, "modes": reference.modes}
    atomic.write(path, lambda temporary: np.savez(
        temporary, key=key, features=reference.features, **reference.real_scores, **extra,
        **{field: np.asarray(value) for field, value in optional.items() if value is not None}))


def load_reference(path, key):
    """The Reference saved at `path` with this `key`, or None (none there, unreadable, or another key's)."""
    try:
        with np.load(path) as saved:
            if str(saved["key"]) != key:
                return None
            return metrics.Reference(
                saved["features"], {score: float(saved[score]) for score in metrics.SCORES if score in saved},
                labels=saved["labels"] if "labels" in saved else None,
                class_names=saved["class_names"].tolist() if "class_names" in saved else None,
                modes=saved["modes"] if "modes" in saved else None)
    except (OSError, KeyError, ValueError):
        return None


def check_count(cfg, count, what="labelled images", evaluator="a classifier"):
    """A ConfigError when `count` images are too few to make `evaluator` from."""
    if count < MIN_IMAGES:
        raise ConfigError(f"{cfg['data.path'] or cfg['data.dataset']} has {count} {what}; {evaluator} for the "
                          f"quality numbers needs at least {MIN_IMAGES}, or use eval.features=inception")


def classifier_network(path):
    """The classifier at `path` as a network from images to [features, logits]."""
    import keras
    classifier = keras.models.load_model(path, compile=False, safe_mode=True)
    return keras.Model(classifier.inputs[0], [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]])


def load_classifier(cfg):
    """The run's data's classifier network and Reference, or (None, None) if it has not been made (or its
    two files do not belong together)."""
    classifier_path, reference_path = classifier_paths(cfg)
    if not classifier_path.is_file():
        return None, None
    reference = load_reference(reference_path, sha256(classifier_path))
    return (None, None) if reference is None else (classifier_network(classifier_path), reference)


