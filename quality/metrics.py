"""How good are the generated images? Numbers from the features of a network: a small classifier trained on the
data's classes (the committed one for MNIST digits, evaluator/), InceptionV3, or for pictures without labels
the same small network with random weights (random_network.py).

- Fréchet distance: how far the generated images' features are from real images' features (the FID idea;
  with an MNIST classifier instead of Inception, as TF-GAN does for MNIST). 0 is perfect; two samples of
  real images give the floor, drawn in metrics.png.
- Kernel distance: the KID idea, an unbiased estimate of the squared maximum mean discrepancy between the
  two sets of features: about 0 for two real samples (it can dip below), and unlike the Fréchet distance
  not biased upwards when the samples are few.
- Precision and recall (Kynkäänniemi et al. 2019): each real image's features span a ball out to its 3rd
  nearest real neighbour, together the real images' manifold; precision is the share of generated images
  inside it (do they look real?), recall the share of real images inside the generated images' manifold,
  made the same way (is all of the data drawn?). Sharper digits raise precision, more variety raises recall.
- Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models"):
  the same balls out to each real image's 5th nearest real neighbour, counted rather than merged, so one real
  outlier's large ball does not swallow many generated images. Density is how many real balls hold a generated
  image on average, over 5 (about 1 for real images; above 1 when the samples crowd where real ones are dense);
  coverage the share of real images whose ball holds at least one generated image (at most 1).
- Class coverage (a classifier only): which classes the classifier sees in the samples. Normalised entropy
  1.0 means all classes equally often; the smallest class share shows one the generator has stopped drawing.
- Classifier score (a classifier only): the Inception Score idea, exp(E KL(p(y|x) || p(y))), from 1 (one
  blurry class) to the number of classes (each drawn unmistakably).
- Mode coverage (features without labels, random_network.py): the same as class coverage for the
  modes of the real images (k-means clusters of their features) that stand in for classes: mode_entropy, and
  min_mode_ratio, the share of samples in the mode the generator draws least for its size, over that mode's
  share of the real images (1 = as often as in the data, 0 = dropped).
- Label accuracy (conditional runs): the share of generated images the classifier reads as the class they
  were asked to be; the worst class's share shows one the generator confuses. The classes asked for are
  those of the real reference images, so the generated set has the real one's mix of classes and the
  distances compare like with like (MNIST's reference digits range from 8.5% to 11.5%).

The trade-off: the numbers are only as good as the network, and only comparable between runs scored by the
same evaluator (evaluators.py).
"""

import hashlib

import numpy as np

from quality import distances


BATCH = 1000  # 28x28 images per pass through the evaluator's network; larger ones in fewer (batch_for)


def batch_for(height, width, batch=BATCH):
    """Images of height x width per pass: as many pixels as BATCH 28x28 digits. A classifier's activations grow
    with the pixels, and a pass of 1,000 64x64 images held 2 GB of them (500 MB at 28x28)."""
    return max(1, batch * 28 * 28 // (height * width))


# Every score, in metrics.csv's order, and how a run shows it (record/columns.py's Column: its format in the
# epoch line, its panel of metrics.png and legend there, its format in compare.py's table). A new score is its
# line here and its value in scores().
SCORES = {
    "frechet_distance": dict(line=".1f", panel="distance", label="generated"),
    "kernel_distance": dict(line=".2f", panel="distance", label="kernel distance (right axis)", style="s--",
                            right_axis=True),
    "precision": dict(line=".2f", panel="coverage", label="precision (look real)", style="^-", compare=".2f"),
    "recall": dict(line=".2f", panel="coverage", label="recall (cover the data)", style="v-", compare=".2f"),
    "density": dict(line=".2f", panel="coverage", label="density (about 1 for real images)", style="<-",
                    compare=".2f"),
    "coverage": dict(line=".2f", panel="coverage", label="coverage", style=">-", compare=".2f"),
    "class_entropy": dict(line=".2f", panel="coverage", label="class entropy"),
    "min_class_share": dict(line=".1%", panel="coverage", label="rarest class's share x {classes} (1 = fair)",
                            classes_power=1, compare=".1%", compare_name="rarest"),
    "classifier_score": dict(panel="coverage", label="classifier score / {classes}", classes_power=-1,
                             compare=".2f", compare_name="score"),
    "label_accuracy": dict(line=".1%", panel="coverage", label="label accuracy (drawn as asked)", compare=".1%",
                           compare_if_any=True),
    "min_label_accuracy": dict(),
    "mode_entropy": dict(line=".2f", panel="coverage", label="mode entropy (feature clusters, not classes)",
                         style="d-"),
    "min_mode_ratio": dict(line=".2f", panel="coverage", label="rarest mode, drawn / real share (1 = fair)",
                           style="x-", compare=".2f", compare_name="rarest mode", compare_if_any=True),
}


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


KERNEL_BLOCK = 2048  # rows of a kernel block: 2048 x 2048 float64 is 32 MB, whatever the number of samples


def kernel_sum(x, y, dimensions):
    """The sum of k(x_i, y_j) = (x_i.y_j / d + 1)^3 over all pairs, a block of rows at a time."""
    return sum(float(((x[i:i + KERNEL_BLOCK] @ y[j:j + KERNEL_BLOCK].T / dimensions + 1) ** 3).sum())
               for i in range(0, len(x), KERNEL_BLOCK) for j in range(0, len(y), KERNEL_BLOCK))


def kernel_distance(features_a, features_b):
    """MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3 of KID (Binkowski et al. 2018), unbiased: each set's
    mean kernel over pairs of two different rows (a row with itself would add a positive bias).
    Over all rows at once rather than KID's 100 subsets of 1,000: the same expectation, one estimate. The
    kernel matrices are summed in blocks, so memory stays bounded for 50,000 samples too."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    dimensions = a.shape[1]
    m, n = len(a), len(b)
    self_a = ((np.einsum("ij,ij->i", a, a) / dimensions + 1) ** 3).sum()  # the diagonal k(x_i, x_i)
    self_b = ((np.einsum("ij,ij->i", b, b) / dimensions + 1) ** 3).sum()
    return ((kernel_sum(a, a, dimensions) - self_a) / (m * (m - 1)) + (kernel_sum(b, b, dimensions) - self_b)
            / (n * (n - 1)) - 2 * kernel_sum(a, b, dimensions) / (m * n))


NEIGHBOURS = 3  # k of precision and recall: a ball reaches each point's kth nearest neighbour (the paper's k)
DENSITY_NEIGHBOURS = 5  # k of density and coverage (their paper's k)
MIN_REFERENCE = max(NEIGHBOURS, DENSITY_NEIGHBOURS) + 1  # real rows a Reference needs: each row's kth nearest other row
DISTANCE_ENTRIES = 2**24  # distances held at once (128 MB of float64), whatever the number of samples


def blocks(rows, columns):
    """Row ranges of a (rows x columns) distance matrix small enough to hold: DISTANCE_ENTRIES at a time."""
    step = max(1, DISTANCE_ENTRIES // columns)
    return [slice(i, i + step) for i in range(0, rows, step)]


def neighbour_radii(features, k=NEIGHBOURS):
    """Each row's squared distance to its kth nearest other row: the radius of its ball in the set's manifold."""
    return neighbour_radii_of(features, (k,))[0]


def neighbour_radii_of(features, ks):
    """neighbour_radii for each k in `ks`, from one pass over the distances."""
    features = np.asarray(features, np.float64)
    lengths = distances.norms(features)
    found = [[] for _ in ks]
    for part in blocks(len(features), len(features)):
        # position 0 of each row's sorted distances is the row itself (0), so the kth other is at position k; copied
        # out of its block, or the column (a view) would keep every block's distances alive until the end
        nearest = np.partition(distances.squared_distances(features[part], features, lengths[part]), ks, axis=1)
        for radii, k in zip(found, ks):
            radii.append(nearest[:, k].copy())
    return [np.concatenate(radii) for radii in found]


def inside(points, centres, radii):
    """The share of `points` within at least one ball (centre, squared radius)."""
    points, centres = np.asarray(points, np.float64), np.asarray(centres, np.float64)
    return float(np.mean(np.concatenate([np.any(distances.squared_distances(points[part], centres) <= radii, axis=1)
                                         for part in blocks(len(points), len(centres))])))


def precision_recall(features, reference_features, reference_radii=None):
    """Precision: the share of `features` inside the reference's manifold; recall: the share of the reference
    inside the manifold of `features`. Both in [0, 1]; `reference_radii` (neighbour_radii) if known."""
    if reference_radii is None:
        reference_radii = neighbour_radii(reference_features)
    return {"precision": inside(features, reference_features, reference_radii),
            "recall": inside(reference_features, features, neighbour_radii(features))}


def density_coverage(features, reference_features, reference_radii):
    """Density: (1 / kM) sum over the M generated rows of the number of real balls (radius: the kth nearest real
    neighbour, `reference_radii`) holding each; coverage: the share of real rows whose ball holds a generated one."""
    features, centres = np.asarray(features, np.float64), np.asarray(reference_features, np.float64)
    held, covered = 0, np.zeros(len(centres), bool)
    for part in blocks(len(features), len(centres)):
        within = distances.squared_distances(features[part], centres) <= reference_radii  # (generated, real)
        held += int(within.sum())
        covered |= within.any(axis=0)
    return {"density": held / (DENSITY_NEIGHBOURS * len(features)), "coverage": float(covered.mean())}


def softmax(logits):
    import keras

    # .numpy(), not keras.ops.convert_to_numpy: that calls np.array on the tensor, which NumPy 2 warns about
    # (TensorFlow's __array__ takes no copy argument).
    return keras.ops.softmax(logits).numpy()


def class_shares(probabilities):
    """The share of samples the classifier puts in each class."""
    return np.bincount(np.argmax(probabilities, axis=1), minlength=probabilities.shape[1]) / len(probabilities)


def mode_shares(features, modes):
    """The share of feature rows nearest each mode's centroid."""
    nearest = distances.squared_distances(np.asarray(features, np.float32), np.asarray(modes, np.float32)).argmin(1)
    return np.bincount(nearest, minlength=len(modes)) / len(features)


def class_entropy(shares):
    """Entropy of the class histogram over log(number of classes): 1.0 when all are equally common."""
    nonzero = shares[shares > 0]
    return max(0.0, float(-np.sum(nonzero * np.log(nonzero)) / np.log(len(shares))))  # max: no -0.0 for one class


def classifier_score(probabilities):
    """exp(mean KL(p(y|x) || p(y))): high when each image is clear and all classes appear."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def label_scores(probabilities, asked):
    """How often the classifier reads each sample as the class it was asked to be: over all samples, for
    the worst class, and which class that is."""
    right = np.argmax(probabilities, axis=1) == asked
    per_class = np.array([right[asked == label].mean() if np.any(asked == label) else 1.0
                          for label in range(probabilities.shape[1])])
    return {"label_accuracy": float(right.mean()), "min_label_accuracy": float(per_class.min()),
            "worst_label": int(per_class.argmin())}


class Reference:
    """What the numbers compare with: real images' features (`features`, and their statistics), with a
    classifier their classes (`labels`) and `class_names`, and `real_scores`, the numbers of other real images
    (real vs real: the best a generator can hope for). Its `evaluator_id`, 12 hex digits of the features' sha256,
    names the evaluator: two made by the same command from the same images differ (their networks' weights do),
    and so do the numbers they give one generator."""

    def __init__(self, features, real_scores, labels=None, class_names=None, modes=None):
        self.features, self.real_scores, self.labels, self.class_names = features, real_scores, labels, class_names
        self.modes = modes  # without a classifier: the centroids of the real images' modes (random_network.py)
        self.mode_shares = None if modes is None else mode_shares(features, modes)  # each mode's share of them
        self.modes_picture = None  # where a PNG shows each mode's real images, a row each (random_network.py)
        self.statistics = statistics(features)
        self.evaluator_id = hashlib.sha256(np.ascontiguousarray(features).tobytes()).hexdigest()[:12]
        # the real images' balls, for every precision (k = 3) and density (k = 5) measured
        self.radii, self.density_radii = neighbour_radii_of(features, (NEIGHBOURS, DENSITY_NEIGHBOURS))


def measured_reference(features, baseline, labels=None, class_names=None, modes=None):
    """A Reference of real images' `features` whose real_scores are those of other real images, `baseline`
    (their features, and class probabilities or None), scored against it."""
    reference = Reference(features, {}, labels, class_names, modes)
    reference.real_scores = {name: value for name, value in scores(*baseline, reference).items() if name in SCORES}
    return reference


def scores(features, probabilities, reference, asked=None):
    """The quality numbers of a set of images from their features and, with a classifier, class probabilities;
    with `asked` (the class each was asked to be), the label ones too."""
    found = {"frechet_distance": frechet_distance(features, reference.statistics),
             "kernel_distance": kernel_distance(features, reference.features),
             **precision_recall(features, reference.features, reference.radii),
             **density_coverage(features, reference.features, reference.density_radii)}
    if probabilities is None and reference.modes is not None:
        shares = mode_shares(features, reference.modes)
        ratios = shares / np.maximum(reference.mode_shares, 1e-12)
        rarest = int(ratios.argmin())  # named in a warning with its shares (not a column)
        return {**found, "mode_entropy": class_entropy(shares), "min_mode_ratio": float(ratios[rarest]),
                "rarest_mode": (rarest, float(reference.mode_shares[rarest]), float(shares[rarest]),
                                reference.modes_picture)}
    if probabilities is None:
        return found
    shares = class_shares(probabilities)
    found.update({"class_entropy": class_entropy(shares), "min_class_share": float(shares.min()),
                  "classifier_score": classifier_score(probabilities)})
    return found if asked is None else {**found, **label_scores(probabilities, asked)}


def embed(network, images, batch=None):
    """Scaled images (N, H, W, C) in [-1, 1] -> (features (N, D), class probabilities (N, K) or None), through
    `network`: a Keras model giving features, or [features, logits]; `batch` images a pass (batch_for's)."""
    batch = batch or batch_for(*images[:1].shape[1:3])
    outputs = [network(images[i:i + batch], training=False) for i in range(0, len(images), batch)]
    return joined(outputs)


def joined(outputs):
    """Batches of a network's outputs (features, or [features, logits]) -> (features, probabilities or None)."""
    if not isinstance(outputs[0], (list, tuple)):
        return np.concatenate(outputs), None
    features, logits = zip(*outputs)
    return np.concatenate(features), softmax(np.concatenate(logits))


class Evaluator:
    """Scores a generator on the same `num_samples` noise vectors every time, so changes between epochs are
    the generator's, not the noise's. `network` maps images to features (and logits, a classifier); `reference`
    is a Reference. A conditional generator is asked, for sample i, for the class of reference image i
    (cycled), so its samples mix the classes as real ones do (without the reference's classes: each class
    in turn); a self-conditioned one, whose classes are its clusters, for the clusters `drawn` (one a sample:
    clusters.proportional to their shares of the training images), and then the label numbers do not apply.
    `class_order` (evaluators.class_order) gives, for each of a conditional generator's classes, the
    classifier's number for it: the numbers are then the generator's, whatever order the classifier knows
    its classes in."""

    def __init__(self, network, reference, num_samples=2000, seed=0, batch=None, class_order=None):
        self.network, self.reference = network, reference
        self.num_samples, self.seed, self.batch = num_samples, seed, batch
        self.class_order = class_order
        self.compiled_for = None  # the generator score_generator last compiled its pass for

    def score_generator(self, generator, drawn=None):
        noise_dim = generator.inputs[0].shape[-1]
        noise = np.random.default_rng(self.seed).standard_normal((self.num_samples, noise_dim)).astype("float32")
        if generator is not self.compiled_for:  # one compiled pass: generate, then embed, on the device
            import tensorflow as tf
            self.compiled_for = generator
            self.generate_and_embed = tf.function(lambda inputs: self.network(
                generator(inputs, training=False), training=False))
        conditional, asked = len(generator.inputs) > 1, None
        if conditional:
            num_classes = generator.inputs[1].shape[-1]
            if drawn is not None:
                classes = np.eye(num_classes, dtype="float32")[drawn]
            else:
                labels = np.arange(num_classes) if self.reference.labels is None else self.reference.labels
                if self.class_order is not None and self.reference.labels is not None:
                    labels = np.argsort(self.class_order)[labels]  # the classifier's numbers -> the generator's
                asked = np.resize(labels, self.num_samples)  # repeated if there are fewer
                classes = np.eye(num_classes, dtype="float32")[asked]
        batch = self.batch or batch_for(*generator.output_shape[1:3])
        outputs = [self.generate_and_embed([noise[i:i + batch], classes[i:i + batch]] if conditional
                                           else noise[i:i + batch]) for i in range(0, len(noise), batch)]
        features, probabilities = joined(outputs)
        if self.class_order is not None and probabilities is not None:
            probabilities = probabilities[:, self.class_order]  # column k: the generator's class k
        return scores(features, probabilities, self.reference, asked)

