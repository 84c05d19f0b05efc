"""Train the small MNIST classifier that scores generated digits (see metrics.py).

  python train_classifier.py                 # about 40 s on 2 CPU cores: trains it and reports its accuracy
  python train_classifier.py --replace       # ... and replaces the committed evaluator/mnist_classifier.keras
                                             # (and evaluator/mnist_reference.npz, the real digits' statistics)

The committed file makes every run's quality numbers comparable, so it is replaced only when asked;
after that, compare runs only with numbers from the same evaluator. It learns from the bundled digits
0-5,999; digits 6,000-9,999 are held out: its accuracy is measured on them, and metrics.py uses them
as the real reference. It knows MNIST digits only.
"""

import argparse
import os

TRAIN_DIGITS = slice(0, 6000)
EPOCHS = 30


def make_classifier():
    """Two conv blocks and a 64-unit feature layer: the features are where the Fréchet distance is taken."""
    import keras
    from keras import layers

    import metrics
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),  # shifted digits: more robust on generated ones
        layers.Conv2D(32, 3, activation="relu"),                     # (26, 26, 32)
        layers.MaxPooling2D(),                                       # (13, 13, 32)
        layers.Conv2D(64, 3, activation="relu"),                     # (11, 11, 64)
        layers.MaxPooling2D(),                                       # (5, 5, 64)
        layers.Flatten(),
        layers.Dense(metrics.FEATURES, activation="relu", name=metrics.FEATURE_LAYER),
        layers.Dropout(0.3),
        layers.Dense(10, name="logits"),
    ], name="mnist_classifier")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replace", action="store_true",
                        help="save the new classifier over evaluator/mnist_classifier.keras, which changes every "
                             "later run's quality numbers")
    return parser.parse_args(argv)  # anything else (a dataset setting, say) is refused, exit code 2, before TensorFlow


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    import data
    import metrics

    keras.utils.set_random_seed(0)
    images, labels = data.scale(data.load_sample()), data.load_sample_labels()
    classifier = make_classifier()
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    classifier.fit(images[TRAIN_DIGITS], labels[TRAIN_DIGITS], batch_size=128, epochs=EPOCHS, verbose=2)
    held_out = slice(TRAIN_DIGITS.stop, None)
    predictions = np.argmax(classifier.predict(images[held_out], verbose=0), axis=1)
    accuracy = np.mean(predictions == labels[held_out])
    print(f"held-out accuracy {accuracy:.4f} on {len(predictions)} digits")
    if not args.replace:
        print(f"{metrics.CLASSIFIER_PATH} left as it is; run again with --replace to replace it")
        return
    uncompiled = make_classifier()  # saved without the optimizer's state: a third of the file size
    uncompiled.set_weights(classifier.get_weights())
    uncompiled.save(metrics.CLASSIFIER_PATH)
    print(f"saved {metrics.CLASSIFIER_PATH}")
    baseline = metrics.Evaluator().score_real()
    print("real digits vs the reference (2,000 each): " + ", ".join(
        f"{name} {value:.4f}" for name, value in baseline.items()))


if __name__ == "__main__":
    main()
