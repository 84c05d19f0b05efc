"""Self-conditioning (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs"): labels the
data supplies itself, for images that have none.

The real images are split into K clusters by k-means on the discriminator's features (the layer before its
logit), and the class-conditional GAN trains on the cluster numbers as if they were labels: each cluster is
one family of images, so the generator no longer has to bridge every family from one noise space. As the
discriminator learns, its features separate the images better: every train.recluster_every epochs the
images are clustered again, starting from the old clusters' means in the new features, and each new
cluster takes the number of the old one it lies nearest (Hungarian matching), so a cluster keeps its
family. Samples draw the clusters in proportion to their sizes, so the mix of the data is kept.

The trade-offs: k-means runs on at most SAMPLE images' features (a 64x64 colour image has 16,384 of them,
64 KB), and in train.cluster_axes principal axes of them (kmeans.principal_axes, fitted to AXES_FIT of them),
where a Lloyd iteration costs 1/64 of one in all 8,192 dimensions of a 32x32 image's features. The rest are
assigned to the nearest centroid batch by batch, so memory stays bounded for any number of images, while the
centroids come from a sample and from most of the features' variance, not all of it (docs/data.md measures
how much the clusters move for it).
"""

import csv
import io

import numpy as np

from output import atomic
from quality import distances
from quality.kmeans import kmeans, means, principal_axes, seed_centroids


SAMPLE = 10_000     # images whose features k-means runs on
AXES_FIT = 2_000    # of them, those whose features the principal axes are fitted to (16 per axis at 128)


def names(count):
    """The run's class names: cluster0, cluster1, ... (not 0, 1, ...: a cluster is not a digit)."""
    return [f"cluster{k}" for k in range(count)]


def match(centroids, old_centroids):
    """The permutation p that renumbers new cluster j as old cluster p[j], minimising the summed squared
    distance between matched centroids (the Hungarian algorithm)."""
    from scipy.optimize import linear_sum_assignment  # here: generate.py imports this module, not scipy
    new, old = linear_sum_assignment(distances.squared_distances(centroids, old_centroids))
    permutation = np.empty(len(centroids), int)
    permutation[new] = old
    return permutation


def cluster(features_of, count, k, seed, previous=None, axes=0):
    """Cluster numbers (int32, (count,)) for images 0..count-1. `features_of(numbers, reduction=None)` gives their
    features, or with `reduction` (mean, axes) their coordinates in those axes (the training state computes them
    where the discriminator runs). k-means runs in the features' `axes` principal axes, at least k - 1 (k centroids
    span k - 1 of them), fitted on AXES_FIT of the sample's images (0: in all their dimensions).

    The first clustering starts from k-means++; a later one (`previous`: the current cluster numbers) from
    the old clusters' means in the new features, and is then matched to them, so numbers keep their family.
    """
    rng = np.random.default_rng(seed)
    sample = np.arange(count) if count <= SAMPLE else np.sort(rng.choice(count, SAMPLE, replace=False))
    reduction = None
    if axes:  # fitted to AXES_FIT images' whole features, which pass again below: only they are held whole
        fit = sample if len(sample) <= AXES_FIT else np.sort(rng.choice(sample, AXES_FIT, replace=False))
        reduction = principal_axes(features_of(fit), max(axes, k - 1), rng)
    points = features_of(sample, reduction)
    if previous is None:
        start = seed_centroids(points, k, rng)
    else:  # the old clusters' means; k-means++ (K passes over the features) only for one with none in the sample
        old = previous[sample]
        fallback = seed_centroids(points, k, rng) if np.bincount(old, minlength=k).min() == 0 else None
        start = means(points, old, k, fallback)
    centroids, found = kmeans(points, start)
    if previous is not None:
        renumber = match(centroids, start)
        centroids[renumber] = centroids.copy()
        found = renumber[found]
    if count <= SAMPLE:
        return found.astype(np.int32)
    assignments = np.empty(count, np.int32)
    assignments[sample] = found
    rest = np.setdiff1d(np.arange(count), sample)  # their features not computed yet
    for first in range(0, len(rest), SAMPLE):
        numbers = rest[first:first + SAMPLE]
        assignments[numbers] = distances.squared_distances(features_of(numbers, reduction), centroids).argmin(1)
    return assignments


def shares(assignments, k):
    """Each cluster's share of the images."""
    return np.bincount(assignments, minlength=k) / len(assignments)


def proportional(class_shares, count):
    """`count` class numbers, each class as often as its share says (rounded by largest remainders), in class
    order: a set of samples that mixes the clusters as the data does, the same every time."""
    exact = np.asarray(class_shares, float) * count
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact)[:count - counts.sum()]] += 1
    return np.repeat(np.arange(len(counts)), counts)


def agreement(assignments, k, labels):
    """How well K clusters find known classes: normalised mutual information (0: unrelated, 1: the same
    partition; the arithmetic-mean normalisation, as scikit-learn's default), and each cluster's purity (the
    share of its images in its most common class; NaN for an empty cluster) with that class."""
    joint = np.zeros((k, labels.max() + 1))
    np.add.at(joint, (assignments, labels), 1)
    joint /= joint.sum()
    p_cluster, p_class = joint.sum(1), joint.sum(0)
    nonzero = joint > 0
    mutual = (joint[nonzero] * np.log(joint[nonzero] / np.outer(p_cluster, p_class)[nonzero])).sum()

    def entropy(p):
        return -(p[p > 0] * np.log(p[p > 0])).sum()
    normaliser = (entropy(p_cluster) + entropy(p_class)) / 2
    nmi = mutual / normaliser if normaliser > 0 else 1.0
    with np.errstate(invalid="ignore"):
        purity = joint.max(1) / p_cluster
    return float(nmi), purity, joint.argmax(1)


def due(number, every, step):
    """Whether epoch `number` starts by clustering: the first epoch, then every `every` epochs (0: never
    again); never an epoch resumed mid-way, whose clusters the checkpoint holds."""
    return step == 0 and (number == 1 or (every > 0 and (number - 1) % every == 0))


def diagnostics(assignments, k, labels):
    """For metrics.csv, with the data's own classes (`labels`, never used in training; None: unknown): how well
    the clusters find them, NMI and purity (the share of images in their cluster's most common class)."""
    if labels is None:
        return {}
    nmi, purity, _ = agreement(assignments, k, labels)
    return {"cluster_nmi": nmi, "cluster_purity": float(np.nansum(purity * shares(assignments, k)))}


def table_rows(number, assignments, k, labels, class_names):
    """clusters.csv's rows for the clusters epoch `number` trains on: each cluster's size and share, and with
    the data's classes its most common class and purity."""
    sizes = np.bincount(assignments, minlength=k)
    found = agreement(assignments, k, labels) if labels is not None else None
    rows = []
    for cluster in range(k):
        row = {"epoch": number, "cluster": cluster, "images": int(sizes[cluster]),
               "share": f"{sizes[cluster] / len(assignments):.4f}", "top_class": "", "purity": ""}
        if found is not None and sizes[cluster]:
            row.update(top_class=class_names[found[2][cluster]], purity=f"{found[1][cluster]:.4f}")
        rows.append(row)
    return rows


TABLE_COLUMNS = ["epoch", "cluster", "images", "share", "top_class", "purity"]


def write_table(path, number, rows):
    """clusters.csv: the rows of every clustering before epoch `number` already in it, then `rows` (a resumed
    run that clusters again replaces the rows of the clustering it redoes)."""
    earlier = []
    if path.exists():
        with open(path, newline="") as f:
            earlier = [row for row in csv.DictReader(f) if int(row["epoch"]) < number]
    text = io.StringIO()
    writer = csv.DictWriter(text, TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(earlier + rows)
    atomic.write(path, lambda temporary: temporary.write_text(text.getvalue()))
