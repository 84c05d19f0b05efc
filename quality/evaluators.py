"""Which network scores a run's images, and against which real images (metrics.py does the scoring).

eval.features chooses: classifier, the data's own classifier (made first with eval.classifier=auto;
classifier.py) or one eval.classifier names; random_network, the features of a network with random weights,
for images without labels (random_network.py); inception, InceptionV3's pool features, comparable with published FIDs,
scoring any images against the run's own training images, their features computed once and kept in
inception-NAME_reference.npz; auto (the default), the classifier where the data has labels, else the
random network's features. references.py says where each is kept.
"""

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from data import folder_cache, pipeline, sources
from quality import classifier, metrics, random_network
from quality.references import (check_count, chosen, classifier_paths, directory, load_classifier, load_reference,
                                name, save_reference, sha256)
from settings.schema import ConfigError


INCEPTION_SIZE = 299  # InceptionV3's input side: images are resized to it, as FID's reference code does
INCEPTION_BATCH = 50  # images per pass through InceptionV3, whose activations at 299x299 are large


class Unavailable(Exception):
    """No evaluator for the run's data: said in one line, and the run goes on without the quality numbers."""


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
            classifier.make_evaluator(cfg)
        except ConfigError as e:
            raise Unavailable(str(e)) from None
        network, reference = load_classifier(cfg)
    if network is None:
        raise Unavailable(f"no classifier for {name(cfg)} in {directory(cfg)}; make one with: {maker(cfg)}")
    return network, reference


def maker(cfg, *more):
    """The train_classifier.py command that makes the evaluator of the data `cfg` describes (with `more` keys)."""
    return " ".join(["python train_classifier.py"] + [f"{key}={cfg[key]}" for key in (
        "data.dataset", "data.path", "data.image_size", "data.channels", "eval.evaluator_dir", *more) if cfg[key]])


def features_for(cfg):
    """What eval.features means for this data: auto is the classifier where the data has labels (or
    eval.classifier names one), else a random network's features."""
    if cfg["eval.features"] != "auto":
        return cfg["eval.features"]
    if chosen(cfg) or cfg["data.dataset"] != "folder":
        return "classifier"
    try:
        sources.class_names(cfg, folder_cache.CLASSIFIER)
        return "classifier"
    except ConfigError:  # loose images, or a single class
        return "random_network"


def for_random_network(cfg):
    """The data's random feature network and Reference, made first if missing (eval.classifier=auto),
    or Unavailable (existing, and none made yet; or too few images)."""
    network, reference = random_network.load(cfg)
    if network is not None and reference.modes_picture is None:  # the picture a mode warning points to
        random_network.draw_modes(cfg, reference)
    if network is None and cfg["eval.classifier"] == "existing":
        raise Unavailable(f"no random network for {name(cfg)} in {directory(cfg)}; make them with: "
                          f"{maker(cfg, 'eval.features')}")
    if network is None:
        try:
            random_network.make(cfg)
        except ConfigError as e:
            raise Unavailable(str(e)) from None
        network, reference = random_network.load(cfg)
    return network, reference


def for_run(cfg, real_images, run_classes=()):
    """The run's metrics.Evaluator (a conditional run's label numbers read by class name: `run_classes`), or
    None after one line saying why there is none: the balance diagnostics go on without it. A ConfigError
    (settings that cannot be scored) is the caller's: the training loop stops before making the run's folder."""
    if cfg["eval.every"] == 0:
        return None
    try:
        features = features_for(cfg)
        if features == "inception":
            evaluator = metrics.Evaluator(*for_inception(cfg, real_images), cfg["eval.num_samples"],
                                          batch=INCEPTION_BATCH)
        elif features == "random_network":
            evaluator = metrics.Evaluator(*for_random_network(cfg), cfg["eval.num_samples"])
        else:
            network, reference, order = for_classifier(cfg, run_classes)
            evaluator = metrics.Evaluator(network, reference, cfg["eval.num_samples"], class_order=order)
    except Unavailable as e:
        print(f"note: no quality numbers (the balance diagnostics still run): {e}", file=sys.stderr, flush=True)
        return None
    check_evaluator_id(cfg, evaluator.reference.evaluator_id)
    return evaluator


def check_evaluator_id(cfg, found):
    """A ConfigError if eval.evaluator_id names another evaluator than the one `found` here: for a resumed run, the
    one its epochs so far were scored by, made again since (same name and folder, other weights), whose numbers
    for the same generator differ."""
    wanted = cfg["eval.evaluator_id"]
    if wanted and wanted != found:
        raise ConfigError(f"eval.evaluator_id={wanted}, but the evaluator {name(cfg)} in {directory(cfg)} is {found}: "
                          f"it was made again, and its numbers would not compare with those of {wanted}; put that "
                          f"evaluator back, or start a new run (eval.evaluator_id empty) to be scored by this one")


