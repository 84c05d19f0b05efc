"""Which network scores a run's images, and against which real images (metrics.py does the scoring).

With eval.features=classifier, an evaluator is two files in eval.evaluator_dir (default evaluator/):
NAME_classifier.keras, a small classifier trained on the data's classes by make_evaluator (below; on its
own, train_classifier.py), and NAME_reference.npz, the features and classes of real images it never saw
(the reference), the numbers of other unseen real images (real vs real), its held-out accuracy and its
class names, with the classifier's sha256: the two are made together and used only together. NAME says which data they are for: `mnist` for
28x28 greyscale MNIST digits (the committed one), else the dataset, for a folder its name and a fingerprint
of its files, and the image shape. With eval.features=inception, InceptionV3's pool features score any
images against the run's own training images; their features are computed once and kept in
inception-NAME_reference.npz.

The trade-off: a folder's fingerprint is its list of files and their sizes, read in milliseconds, not their
contents: a picture edited in place to the same number of bytes keeps the evaluator made before.
"""

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

from data import folder_cache, pipeline, sources
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
INCEPTION_SIZE = 299  # InceptionV3's input side: images are resized to it, as FID's reference code does
INCEPTION_BATCH = 50  # images per pass through InceptionV3, whose activations at 299x299 are large


class Unavailable(Exception):
    """No evaluator for the run's data: said in one line, and the run goes on without the quality numbers."""


def directory(cfg):
    return Path(os.path.expanduser(cfg["eval.evaluator_dir"])) if cfg["eval.evaluator_dir"] else DEFAULT_DIR


def fingerprint(path):
    """12 hex digits that change when a file under `path` is added, removed, renamed or changes size."""
    files = sorted(folder_cache.listing(path), key=lambda file: Path(file[0]).parts)
    listing = "".join(f"{Path(name).as_posix()}\t{size}\n" for name, size, _ in files)
    return hashlib.sha256(listing.encode()).hexdigest()[:12]


def name(cfg):
    """The name of the run's data and image shape (data.image_size and data.channels filled in): `mnist`, or
    like `fashion_mnist-28x28x1`, `folder-pictures-3f09a1c2b4d5-64x64x3`."""
    dataset, size, channels = cfg["data.dataset"], cfg["data.image_size"], cfg["data.channels"]
    if dataset in ("mnist", "mnist_sample"):
        if (size, channels) == (28, 1):
            return MNIST
        dataset = "mnist"
    elif dataset == "folder":
        path = Path(os.path.expanduser(cfg["data.path"])).resolve()
        dataset = f"folder-{path.name}-{fingerprint(path)}"
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
    optional = {"labels": reference.labels, "class_names": reference.class_names}
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
                class_names=saved["class_names"].tolist() if "class_names" in saved else None)
    except (OSError, KeyError, ValueError):
        return None


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


def inception_network(weights, channels):
    """InceptionV3's 2,048 pool features of images in [-1, 1] (the range its ImageNet weights expect) of any
    size, resized to 299x299 (bilinear), greyscale repeated to three channels, as FID's reference code does.
    `weights`: a file, "imagenet" (Keras downloads them once) or None (random, for tests)."""
    import keras
    inception = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                               input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    images = keras.Input(shape=(None, None, channels))
    resized = keras.layers.Resizing(INCEPTION_SIZE, INCEPTION_SIZE, interpolation="bilinear")(images)
    coloured = keras.layers.Concatenate()([resized] * 3) if channels == 1 else resized
    return keras.Model(images, inception(coloured), name="inception_features")


def inception_reference_size(cfg, image_count):
    """How many of the training images are the Inception reference: eval.num_samples (at least 100, its rule), or
    half of them if fewer: as many others are real vs real. A ConfigError if a half is too small for the
    neighbours precision and density reach (settings/schema.py refuses a data.limit so small before TensorFlow)."""
    if image_count // 2 < metrics.MIN_REFERENCE:
        raise ConfigError(f"eval.features=inception needs at least {2 * metrics.MIN_REFERENCE} training images, and "
                          f"there are {image_count}: half are its reference and half real vs real, "
                          f"{metrics.MIN_REFERENCE} each at least (density and coverage measure each one's "
                          f"{metrics.DENSITY_NEIGHBOURS}th nearest neighbour); use more images (a larger data.limit), "
                          f"or eval.every=0 to train without quality numbers")
    return min(cfg["eval.num_samples"], image_count // 2)


def inception_reference(cfg, network, real_images, weights_key):
    """Features of num_samples of the run's training images (seeded pick) as the reference, and the numbers
    of as many others (real vs real; with fewer images, the two halves), kept in inception-NAME_reference.npz
    under a key of the weights and those images' bytes, so a second run does not compute them again."""
    count = inception_reference_size(cfg, len(real_images))
    picked = np.random.default_rng(0).permutation(len(real_images))[:2 * count]
    reference_images, baseline_images = real_images[picked[:count]], real_images[picked[count:]]
    key = hashlib.sha256(weights_key.encode() + reference_images.tobytes() + baseline_images.tobytes()).hexdigest()
    path = directory(cfg) / f"inception-{name(cfg)}_reference.npz"
    reference = load_reference(path, key)
    if reference is None:
        print(f"computing the Inception features of {2 * count} real images (once; kept in {path})", flush=True)
        features, _ = metrics.embed(network, pipeline.scale(reference_images), INCEPTION_BATCH)
        reference = metrics.measured_reference(features, metrics.embed(network, pipeline.scale(baseline_images),
                                                                       INCEPTION_BATCH))
        try:
            save_reference(path, key, reference)
        except OSError:
            pass  # a read-only folder: computed again next time
    return reference


def for_inception(cfg, real_images):
    """InceptionV3's network and the run's Reference; Unavailable if the ImageNet weights cannot be had, a
    ConfigError if the weights file given cannot be loaded, or the images are too few for a reference."""
    inception_reference_size(cfg, len(real_images))  # said before InceptionV3 is built
    weights = cfg["eval.inception_weights"]
    try:
        network = inception_network(os.path.expanduser(weights) if weights else "imagenet", cfg["data.channels"])
    except Exception as e:  # Keras raises a bare Exception for a failed download, ValueError for a bad file
        reason = str(e).splitlines()[0][:160]
        if weights:
            raise ConfigError(f"eval.inception_weights {weights} cannot be loaded ({reason}); point it at "
                              f"InceptionV3's no-top weights, or leave it empty to download them") from None
        raise Unavailable(f"InceptionV3's weights are not here and cannot be downloaded ({reason}); download "
                          f"inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 once into ~/.keras/models, or "
                          f"set eval.inception_weights to a copy") from None
    return network, inception_reference(cfg, network, real_images, sha256(weights) if weights else "imagenet")


def check_count(cfg, count):
    """A ConfigError when `count` labelled images are too few to make a classifier from."""
    if count < MIN_IMAGES:
        raise ConfigError(f"{cfg['data.path'] or cfg['data.dataset']} has {count} labelled images; a classifier for "
                          f"the quality numbers needs at least {MIN_IMAGES}, or use eval.features=inception")


def class_order(cfg, run_classes, evaluator_classes):
    """For each of a conditional run's classes (`run_classes`, by name), the number the evaluator reads it as:
    its label numbers are the sorted subfolders of the data it was made from, which need not be the run's (a
    named evaluator's). A ConfigError unless the two are the same classes: a class the evaluator does not know
    cannot be read, and one the run does not draw would make every run look as if it dropped a mode."""
    if sorted(run_classes) != sorted(evaluator_classes or []):
        def listed(names):
            return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") + f" ({len(names)})"
        raise ConfigError(f"eval.classifier={cfg['eval.classifier']} knows the classes "
                          f"{listed(list(evaluator_classes or []))}, and this run's are {listed(list(run_classes))}: "
                          f"a conditional run's label and class numbers need an evaluator of the same classes, by "
                          f"name; use eval.classifier=auto (a classifier of this data's classes)")
    return [list(evaluator_classes).index(name) for name in run_classes]


def for_classifier(cfg, run_classes=()):
    """The run's data's classifier network, its Reference and, for a conditional run of `run_classes`, their
    class_order; made first if eval.classifier=auto. Unavailable says how to make them."""
    network, reference = find_classifier(cfg)
    order = class_order(cfg, run_classes, reference.class_names) if run_classes else None
    return network, reference, order


def find_classifier(cfg):
    """The run's data's classifier network and Reference (see for_classifier)."""
    network, reference = load_classifier(cfg)
    if chosen(cfg):
        if network is None:
            raise ConfigError(f"eval.classifier={chosen(cfg)}: there is no evaluator {chosen(cfg)} in {directory(cfg)} "
                              f"({classifier_paths(cfg)[0].name} with its reference); name one that is there, or use auto")
        shape = (cfg["data.image_size"], cfg["data.image_size"], cfg["data.channels"])
        if tuple(network.input_shape[1:]) != shape:
            raise ConfigError(f"eval.classifier={chosen(cfg)} scores {'x'.join(map(str, network.input_shape[1:]))} "
                              f"images, and this run's are {'x'.join(map(str, shape))}; choose an evaluator for them, or auto")
        return network, reference
    if network is None and cfg["eval.classifier"] == "auto":
        try:  # the run's data loaded, so what stops a classifier is the data's: no classes, too few images
            sources.class_names(cfg, folder_cache.CLASSIFIER)  # said before loading it again
            if cfg["data.dataset"] == "folder":
                check_count(cfg, len(folder_cache.listing(Path(os.path.expanduser(cfg["data.path"])))))
            print(f"no classifier for {name(cfg)} in {directory(cfg)} yet: training one first "
                  f"(eval.classifier=auto)", flush=True)
            make_evaluator(cfg)
        except ConfigError as e:
            raise Unavailable(str(e)) from None
        network, reference = load_classifier(cfg)
    if network is None:
        command = " ".join(["python train_classifier.py"] + [f"{key}={cfg[key]}" for key in (
            "data.dataset", "data.path", "data.image_size", "data.channels", "eval.evaluator_dir") if cfg[key]])
        raise Unavailable(f"no classifier for {name(cfg)} in {directory(cfg)}; make one with: {command}")
    return network, reference


def for_run(cfg, real_images, run_classes=()):
    """The run's metrics.Evaluator (a conditional run's label numbers read by class name: `run_classes`), or
    None after one line saying why there is none: the balance diagnostics go on without it. A ConfigError
    (settings that cannot be scored) is the caller's: train.py stops before making the run's folder."""
    if cfg["eval.every"] == 0:
        return None
    try:
        if cfg["eval.features"] == "inception":
            return metrics.Evaluator(*for_inception(cfg, real_images), cfg["eval.num_samples"], batch=INCEPTION_BATCH)
        network, reference, order = for_classifier(cfg, run_classes)
        return metrics.Evaluator(network, reference, cfg["eval.num_samples"], class_order=order)
    except Unavailable as e:
        print(f"note: no quality numbers (the balance diagnostics still run): {e}", file=sys.stderr, flush=True)
        return None


# Making an evaluator: the classifier, trained once, and its reference (train_classifier.py is its command line).

TRAINING_IMAGES = 180_000  # images shown in training (30 epochs of MNIST's 6,000), 3 to 30 epochs
TRAINING_SAMPLE = 60_000   # a classifier learns from at most this many of the labelled images: enough, in bounded time


def make_classifier(image_size=28, channels=1, num_classes=10):
    """Conv blocks down to at most 8 pixels, then a 64-unit feature layer: the features are where the
    distances are taken. For 28x28 digits, two blocks: the committed MNIST classifier."""
    import keras
    from keras import layers

    stack = [keras.Input(shape=(image_size, image_size, channels)),
             layers.RandomTranslation(0.1, 0.1, fill_mode="constant")]  # shifted images: more robust on generated ones
    side, width = image_size, 32
    while side > 8:
        stack += [layers.Conv2D(width, 3, activation="relu"), layers.MaxPooling2D()]  # 28: (26, 26, 32) (13, 13, 32)
        side, width = (side - 2) // 2, width * 2                                     # then (11, 11, 64) (5, 5, 64)
    stack += [layers.Flatten(),
              layers.Dense(FEATURES, activation="relu", name=FEATURE_LAYER),
              layers.Dropout(0.3),
              layers.Dense(num_classes, name="logits")]
    return keras.Sequential(stack, name="classifier")


def labelled_images(cfg):
    """All of the data's images (data.limit aside), at the data's shape where the settings leave it, their
    labels and class names. MNIST's come from the bundled digits, whose held-out part no classifier has seen."""
    if cfg["data.dataset"] in ("mnist", "mnist_sample"):
        images = sources.conform(sources.load_sample(), *schema.image_shape(cfg))
        return images, sources.load_sample_labels(), sources.DIGITS
    images, labels, _ = sources.load_images({**cfg, "data.limit": None}, labelled=True, same_listing=True)
    names = sources.class_names(cfg, folder_cache.CLASSIFIER)
    check_count(cfg, len(images))
    return images, labels, names


def training_batches(images, labels, numbers, batch=128):
    """images[numbers] with their labels, shuffled each epoch (seeded) and read and scaled a batch at a time:
    a classifier learns from a folder's cache of any size with a few batches in memory."""
    import tensorflow as tf

    def read(chosen):
        return pipeline.scale(images[chosen]), labels[chosen].astype(np.int32)

    def gather(chosen):
        pixels, classes = tf.numpy_function(read, [chosen], [tf.float32, tf.int32], stateful=False)
        pixels.set_shape([None, *images.shape[1:3], images.shape[3] if len(images.shape) == 4 else 1])
        classes.set_shape([None])
        return pixels, classes
    order = tf.data.Dataset.from_tensor_slices(np.asarray(numbers, np.int64))
    return order.shuffle(len(numbers), seed=0, reshuffle_each_iteration=True).batch(batch).map(gather).prefetch(2)


def fit_classifier(images, labels, numbers, num_classes, verbose):
    """A classifier fitted to images[numbers] and their labels with a fixed seed (`verbose`: Keras' fit's)."""
    import keras
    keras.utils.set_random_seed(0)
    classifier = make_classifier(images.shape[1], images.shape[-1], num_classes)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    epochs = min(30, max(3, round(TRAINING_IMAGES / len(numbers))))
    # shuffle=False: the batches are shuffled already (Keras warns that it cannot shuffle a tf.data.Dataset)
    classifier.fit(training_batches(images, labels, numbers), epochs=epochs, verbose=verbose, shuffle=False)
    uncompiled = make_classifier(images.shape[1], images.shape[-1], num_classes)  # no optimizer state: 1/3 the file
    uncompiled.set_weights(classifier.get_weights())
    return uncompiled


def make_evaluator(cfg, replace=False, verbose=0):
    """Train the data's classifier (unless it exists and not `replace`) and save it with its reference;
    `verbose`=2 shows a line per epoch. Always the data's own: never one that eval.classifier names."""
    started = time.perf_counter()
    images, labels, names = labelled_images(cfg)
    cfg = {**cfg, "eval.classifier": "auto", "data.image_size": images.shape[1],  # the shape names it
           "data.channels": images.shape[3] if len(images.shape) == 4 else 1}
    classifier_path, reference_path = classifier_paths(cfg)
    if classifier_path.is_file() and not replace:
        if load_classifier(cfg)[0] is not None:
            print(f"{classifier_path} and its reference exist already: train.py uses them for this data. "
                  f"To train it again: --replace (every later run's quality numbers change with it)")
            return
        print(f"{classifier_path} exists; its reference ({reference_path.name}) is missing or stale: computing it")
    train_part, baseline, reference_part = split(len(images), cfg["data.dataset"])
    train_part = train_part[:TRAINING_SAMPLE]  # a seeded shuffle already: a random sample of a large folder
    if not classifier_path.is_file() or replace:
        print(f"training a classifier of {len(names)} classes on {len(train_part)} {name(cfg)} images; "
              f"{len(baseline) + len(reference_part)} held out", flush=True)
        classifier_path.parent.mkdir(parents=True, exist_ok=True)
        classifier = fit_classifier(images, labels, train_part, len(names), verbose)
        atomic.write(classifier_path, classifier.save)
    network = classifier_network(classifier_path)
    features, probabilities = metrics.embed(network, pipeline.ScaledView(images, reference_part))
    real = metrics.embed(network, pipeline.ScaledView(images, baseline))  # the other held-out images: real vs real
    held_out = np.concatenate([reference_part, baseline])  # each embedded once, for the accuracy too
    accuracy = float(np.mean(np.argmax(np.concatenate([probabilities, real[1]]), axis=1) == labels[held_out]))
    reference = metrics.measured_reference(features, real, labels=labels[reference_part], class_names=names)
    save_reference(reference_path, sha256(classifier_path), reference, accuracy=accuracy)
    print(f"held-out accuracy {accuracy:.4f} on {len(held_out)} images; saved {classifier_path} and "
          f"{reference_path.name} in {time.perf_counter() - started:.0f} s")
    print(f"real vs the reference ({len(baseline)} and {len(reference_part)} images): " + ", ".join(
        f"{score} {value:.4f}" for score, value in reference.real_scores.items()), flush=True)
