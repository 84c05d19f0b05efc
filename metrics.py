"""How good are the generated digits? Three numbers from a small MNIST classifier (evaluator/).

- Fréchet distance: how far the generated digits' features are from real digits' features (the
  FID idea, with an MNIST classifier instead of Inception, as TF-GAN does for MNIST). 0 is perfect;
  two samples of real digits give the floor, stated in README.
- Class coverage: which digits the classifier sees in the samples. Normalised entropy 1.0 means all
  ten equally often; the smallest class share shows a digit the generator has stopped drawing.
- Classifier score: the Inception Score idea, exp(E KL(p(y|x) || p(y))), from 1 (one blurry class)
  to 10 (ten classes, each drawn unmistakably).
- Label accuracy (conditional runs): the share of generated digits the classifier reads as the digit
  they were asked to be; the worst digit's share shows one the generator confuses. The digits asked
  for are those of the real reference digits, so the generated set has the real one's mix of classes
  and the Fréchet distance compares like with like (the reference set is not balanced: its digits
  range from 8.5% to 11.5%).

The trade-off: the numbers are only as good as the classifier, and only comparable between runs
scored by the same committed classifier file.
"""

import hashlib
from pathlib import Path

import numpy as np

import data

CLASSIFIER_PATH = Path(__file__).resolve().parent / "evaluator" / "mnist_classifier.keras"
# The real digits' side of the numbers, computed once from the committed classifier and digits (seconds of
# every start otherwise); recomputed, and rewritten if the folder is writable, when either file changes.
REFERENCE_PATH = CLASSIFIER_PATH.with_name("mnist_reference.npz")
FEATURES = 64
FEATURE_LAYER = "features"
REFERENCE_DIGITS = slice(8000, 10000)  # bundled digits the classifier never saw: the real reference
BASELINE_DIGITS = slice(6000, 8000)    # other unseen digits: real vs real, the best a generator can score
BATCH = 1000
SCORES = ("frechet_distance", "class_entropy", "min_class_share", "classifier_score")


def can_score(cfg):
    """Whether the committed classifier understands the run's images: MNIST digits, 28x28 greyscale."""
    return cfg["data.dataset"] in ("mnist", "mnist_sample") and (cfg["data.image_size"], cfg["data.channels"]) == (28, 1)


def statistics(features):
    """The mean and covariance of feature rows: all the Fréchet distance needs of a set."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(features_a, statistics_b):
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^1/2), between feature rows and another set's
    statistics (mean, covariance).

    Tr((C_a C_b)^1/2) is computed as Tr((A C_b A)^1/2) with A = C_a^1/2: that matrix is symmetric,
    so numpy's eigh does it stably and scipy is not needed.
    """
    (mean_a, cov_a), (mean_b, cov_b) = statistics(features_a), statistics_b
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def softmax(logits):
    import keras
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits))


def class_shares(probabilities):
    """The share of samples the classifier puts in each of the ten classes."""
    return np.bincount(np.argmax(probabilities, axis=1), minlength=10) / len(probabilities)


def class_entropy(shares):
    """Entropy of the class histogram over log(10): 1.0 when all ten digits are equally common."""
    nonzero = shares[shares > 0]
    return max(0.0, float(-np.sum(nonzero * np.log(nonzero)) / np.log(10)))  # max: no -0.0 for one class


def classifier_score(probabilities):
    """exp(mean KL(p(y|x) || p(y))): high when each digit is clear and all digits appear."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def label_scores(probabilities, asked):
    """How often the classifier reads each sample as the digit it was asked to be: over all samples, for
    the worst digit, and which digit that is."""
    right = np.argmax(probabilities, axis=1) == asked
    per_digit = np.array([right[asked == digit].mean() for digit in range(10)])
    return {"label_accuracy": float(right.mean()), "min_label_accuracy": float(per_digit.min()),
            "worst_label": int(per_digit.argmin())}


class Evaluator:
    """Scores a generator on the same `num_samples` noise vectors every time, so changes between
    epochs are the generator's, not the noise's. A `conditional` generator is asked, for sample i, for
    the digit of reference digit i (cycled), so its samples mix the digits as real ones do."""

    def __init__(self, num_samples=2000, seed=0, conditional=False):
        import keras
        classifier = keras.models.load_model(CLASSIFIER_PATH, compile=False, safe_mode=True)
        self.features_and_logits = keras.Model(
            classifier.inputs[0], [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]])
        self.num_samples, self.seed, self.conditional = num_samples, seed, conditional
        self.compiled_for = None  # the generator score_generator last compiled its pass for
        self.reference_labels = data.load_sample_labels()[REFERENCE_DIGITS]
        self.reference, self.real_scores = self.reference_statistics()

    def reference_statistics(self):
        """The reference digits' feature statistics and the real-vs-real scores, from REFERENCE_PATH if it was
        made from the same classifier and digits, else computed (and saved there when it can be)."""
        key = hashlib.sha256(CLASSIFIER_PATH.read_bytes() + data.SAMPLE_IMAGES.read_bytes()).hexdigest()
        try:
            with np.load(REFERENCE_PATH) as saved:
                if str(saved["key"]) == key:
                    return (saved["mean"], saved["covariance"]), {name: float(saved[name]) for name in SCORES}
        except (OSError, KeyError, ValueError):
            pass  # none yet, or unreadable: computed below
        digits = data.scale(data.load_sample())
        self.reference = statistics(self.embed(digits[REFERENCE_DIGITS])[0])
        real_scores = self.score_images(digits[BASELINE_DIGITS])
        try:
            np.savez(REFERENCE_PATH, key=key, mean=self.reference[0], covariance=self.reference[1], **real_scores)
        except OSError:
            pass  # a read-only checkout: computed again next time
        return self.reference, real_scores

    def embed(self, images):
        """Scaled images (N, 28, 28, 1) in [-1, 1] -> (features (N, 64), class probabilities (N, 10))."""
        features, logits = zip(*(self.features_and_logits(images[i:i + BATCH], training=False)
                                 for i in range(0, len(images), BATCH)))
        return np.concatenate(features), softmax(np.concatenate(logits))

    def score_images(self, images, asked=None):
        """The quality numbers of scaled images; with `asked` (the digit each was asked to be), the label ones too."""
        return self.scores(*self.embed(images), asked)

    def scores(self, features, probabilities, asked=None):
        shares = class_shares(probabilities)
        scores = {"frechet_distance": frechet_distance(features, self.reference),
                  "class_entropy": class_entropy(shares),
                  "min_class_share": float(shares.min()),
                  "classifier_score": classifier_score(probabilities)}
        return scores if asked is None else {**scores, **label_scores(probabilities, asked)}

    def score_generator(self, generator):
        noise_dim = generator.inputs[0].shape[-1]
        noise = np.random.default_rng(self.seed).standard_normal((self.num_samples, noise_dim)).astype("float32")
        asked = np.resize(self.reference_labels, self.num_samples)  # repeated if num_samples > 2,000
        classes = np.eye(10, dtype="float32")[asked]
        if generator is not self.compiled_for:  # one compiled pass: generate, then classify, on the device
            import tensorflow as tf
            self.compiled_for = generator
            self.generate_and_embed = tf.function(lambda inputs: self.features_and_logits(
                generator(inputs, training=False), training=False))
        features, logits = zip(*(self.generate_and_embed([noise[i:i + BATCH], classes[i:i + BATCH]]
                                                          if self.conditional else noise[i:i + BATCH])
                                 for i in range(0, len(noise), BATCH)))
        return self.scores(np.concatenate(features), softmax(np.concatenate(logits)),
                           asked if self.conditional else None)

    def score_real(self):
        """2,000 real digits the classifier never saw, scored like a generator: the best one can hope for."""
        return dict(self.real_scores)
