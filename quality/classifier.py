"""Making the data's classifier, trained once, and its reference (train_classifier.py is its command line;
references.py says where they are kept)."""

import time

import numpy as np

from data import folder_cache, pipeline, sources
from output import atomic
from quality import metrics
from quality.references import (FEATURE_LAYER, FEATURES, check_count, classifier_network, classifier_paths,
                                load_classifier, name, save_reference, sha256, split)
from settings import schema


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


