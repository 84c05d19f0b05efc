"""Train the small classifier that scores a run's images (evaluators.py): for MNIST digits, or for any
labelled data the program can load, chosen with the same --config and key=value settings as train.py.

  python train_classifier.py data.dataset=folder data.path=pictures   # pictures/CLASS/*.png: about a minute
  python train_classifier.py data.dataset=cifar10                     # then: python train.py data.dataset=cifar10
  python train_classifier.py --replace                                # MNIST's again, over the committed one

It holds out 40% of the labelled images, at most 4,000 (MNIST: the bundled digits 6,000-9,999), and learns
from the rest (data.limit does not apply); half the held-out images are the real reference generated ones
are compared with, half are scored as real vs real, and its accuracy is measured on all of them. The
classifier and the reference are saved in eval.evaluator_dir under the data's name, where train.py finds
them for the same data settings (with eval.classifier=auto it runs this itself when they are missing). An
existing evaluator is replaced only with --replace, since every later run's numbers change with it;
without, this reports it and stops. A classifier whose reference file is missing or stale only has its
reference computed again.
"""

import os
import sys
import time
from pathlib import Path

import config
import tflog
from config import ConfigError

TRAINING_IMAGES = 180_000  # images shown in training (30 epochs of MNIST's 6,000), 3 to 30 epochs


def make_classifier(image_size=28, channels=1, num_classes=10):
    """Conv blocks down to at most 8 pixels, then a 64-unit feature layer: the features are where the
    distances are taken. For 28x28 digits, two blocks: the committed MNIST classifier."""
    import keras
    from keras import layers

    import evaluators
    stack = [keras.Input(shape=(image_size, image_size, channels)),
             layers.RandomTranslation(0.1, 0.1, fill_mode="constant")]  # shifted images: more robust on generated ones
    side, width = image_size, 32
    while side > 8:
        stack += [layers.Conv2D(width, 3, activation="relu"), layers.MaxPooling2D()]  # 28: (26, 26, 32) (13, 13, 32)
        side, width = (side - 2) // 2, width * 2                                     # then (11, 11, 64) (5, 5, 64)
    stack += [layers.Flatten(),
              layers.Dense(evaluators.FEATURES, activation="relu", name=evaluators.FEATURE_LAYER),
              layers.Dropout(0.3),
              layers.Dense(num_classes, name="logits")]
    return keras.Sequential(stack, name="classifier")


def labelled_images(cfg):
    """All of the data's images (data.limit aside), their labels and class names; fills in cfg's image shape.
    MNIST's come from the bundled digits, whose held-out part no classifier has seen."""
    import data
    import evaluators
    if cfg["data.dataset"] in ("mnist", "mnist_sample"):
        cfg["data.image_size"], cfg["data.channels"] = config.image_shape(cfg)
        images = data.conform(data.load_sample(), cfg["data.image_size"], cfg["data.channels"])
        return images, data.load_sample_labels(), data.DIGITS
    everything = dict(cfg, **{"data.limit": None})
    images, labels, _ = data.load_images(everything, labelled=True)
    cfg["data.image_size"], cfg["data.channels"] = everything["data.image_size"], everything["data.channels"]
    names = data.class_names(cfg, data.CLASSIFIER)
    evaluators.check_count(cfg, len(images))
    return images, labels, names


def train(images, labels, num_classes, verbose):
    """A classifier fitted to scaled `images` and their `labels` with a fixed seed (`verbose`: Keras' fit's)."""
    import keras
    keras.utils.set_random_seed(0)
    classifier = make_classifier(images.shape[1], images.shape[-1], num_classes)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    epochs = min(30, max(3, round(TRAINING_IMAGES / len(images))))
    classifier.fit(images, labels, batch_size=128, epochs=epochs, verbose=verbose)
    uncompiled = make_classifier(images.shape[1], images.shape[-1], num_classes)  # no optimizer state: 1/3 the file
    uncompiled.set_weights(classifier.get_weights())
    return uncompiled


def make_evaluator(cfg, replace=False, verbose=0):
    """Train the data's classifier (unless it exists and not `replace`) and save it with its reference;
    `verbose`=2 shows a line per epoch."""
    import numpy as np

    import data
    import evaluators
    import atomic
    import metrics
    started = time.perf_counter()
    images, labels, names = labelled_images(cfg)
    classifier_path, reference_path = evaluators.classifier_paths(cfg)
    if classifier_path.is_file() and not replace:
        if evaluators.load_classifier(cfg)[0] is not None:
            print(f"{classifier_path} and its reference exist already: train.py uses them for this data. "
                  f"To train it again: --replace (every later run's quality numbers change with it)")
            return
        print(f"{classifier_path} exists; its reference ({reference_path.name}) is missing or stale: computing it")
    train_part, baseline, reference_part = evaluators.split(len(images), cfg["data.dataset"])
    scaled = data.scale(images[:])  # all at once: scaling parts separately changes the features' last digits
    if not classifier_path.is_file() or replace:
        print(f"training a classifier of {len(names)} classes on {len(train_part)} {evaluators.name(cfg)} images; "
              f"{len(baseline) + len(reference_part)} held out", flush=True)
        classifier_path.parent.mkdir(parents=True, exist_ok=True)
        classifier = train(scaled[train_part], labels[train_part], len(names), verbose)
        atomic.write(classifier_path, classifier.save)
    network = evaluators.classifier_network(classifier_path)
    features, probabilities = metrics.embed(network, scaled[reference_part])
    real = metrics.embed(network, scaled[baseline])  # the other held-out images: real vs real
    held_out = np.concatenate([reference_part, baseline])  # each embedded once, for the accuracy too
    accuracy = float(np.mean(np.argmax(np.concatenate([probabilities, real[1]]), axis=1) == labels[held_out]))
    reference = metrics.measured_reference(features, real, labels=labels[reference_part], class_names=names)
    evaluators.save_reference(reference_path, evaluators.sha256(classifier_path), reference, accuracy=accuracy)
    print(f"held-out accuracy {accuracy:.4f} on {len(held_out)} images; saved {classifier_path} and "
          f"{reference_path.name} in {time.perf_counter() - started:.0f} s")
    print(f"real vs the reference ({len(baseline)} and {len(reference_part)} images): " + ", ".join(
        f"{score} {value:.4f}" for score, value in reference.real_scores.items()), flush=True)


def parse_args(argv=None):
    parser = config.argument_parser(__doc__)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML config, as for train.py; keys it leaves out keep their defaults (default: "
                             "config.yaml)")
    parser.add_argument("--replace", action="store_true",
                        help="train the data's classifier again over the existing one (for MNIST, the committed "
                             "evaluator/mnist_classifier.keras), which changes every later run's quality numbers")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="the data to make it for, as for train.py: data.dataset=folder data.path=pictures")
    return config.parse_arguments(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = config.load(args.config or config.DEFAULT_FILE, args.overrides)  # before TensorFlow: mistakes fail fast
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with tflog.start_up_lines_hidden():
            import keras  # noqa: F401  (TensorFlow's start-up, before the work's own lines)
        make_evaluator(cfg, args.replace, verbose=2)
    except ConfigError as e:
        config.fail(str(e))
    except KeyboardInterrupt:
        print("\ninterrupted: files are written whole or not at all; run it again to finish", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
