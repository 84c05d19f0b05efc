"""k-means on feature rows (Lloyd's iterations from k-means++ seeds), with every cluster kept in use: what
self-conditioning clusters the training images with (training/clusters.py) and what finds the modes of real
images that stand in for classes where the data has none (quality/random_network.py)."""

import numpy as np

from quality import distances


ITERATIONS = 100    # Lloyd iterations at most: they stop on their own when no image moves, usually well before


def principal_axes(points, count, rng):
    """(mean, axes): the mean of `points` (N, D) and their `count` principal axes (count, D), by a randomised SVD
    (Halko et al. 2011: the points projected on count + 10 random directions, then an exact SVD in those); None
    with D <= count: the points are in few enough dimensions as they are. k-means's relaxed solution lies in the
    top K - 1 principal directions (Ding & He 2004), so K clusters are found in far fewer than D dimensions at a
    fraction of the cost. The centring is folded into the products ((x - m) A = x A - m A), so no centred copy of
    the points is made."""
    if points.shape[1] <= count:
        return None
    mean = points.mean(0)
    directions = rng.standard_normal((points.shape[1], count + 10)).astype(points.dtype)
    basis, _ = np.linalg.qr(points @ directions - mean @ directions)
    # basis^T (X - 1 m^T) = basis^T X - (basis^T 1) m^T
    _, _, axes = np.linalg.svd(basis.T @ points - np.outer(basis.sum(0), mean), full_matrices=False)
    return mean, axes[:count]


def seed_centroids(points, count, rng):
    """k-means++ (Arthur & Vassilvitskii 2007): each next centroid a point drawn with probability proportional
    to its squared distance from the nearest centroid so far, so the first guesses are spread out."""
    point_norms = distances.norms(points)
    chosen = [rng.integers(len(points))]
    nearest = distances.squared_distances(points, points[chosen], point_norms).ravel()
    for _ in range(count - 1):
        chosen.append(rng.choice(len(points), p=nearest / nearest.sum()) if nearest.sum() > 0
                      else rng.integers(len(points)))
        nearest = np.minimum(nearest, distances.squared_distances(points, points[chosen[-1:]], point_norms).ravel())
    return points[chosen].copy()


def means(points, assignments, count, fallback=None):
    """Each cluster's mean; a cluster with no points keeps its row of `fallback` (or zeros)."""
    members = np.zeros((count, len(points)), points.dtype)
    members[assignments, np.arange(len(points))] = 1
    sums = members @ points  # one matrix product: np.add.at is ~100x slower
    sizes = np.bincount(assignments, minlength=count)
    return np.where(sizes[:, None] > 0, sums / np.maximum(sizes, 1)[:, None], 0 if fallback is None else fallback)


def refill(assignments, errors, count):
    """Give each of the `count` clusters that `assignments` leave empty a point of its own: the point farthest from
    its centroid (`errors`) among those not moved yet whose cluster keeps another point. Ties (identical
    features) take the first such point, never one moved already, so every cluster ends with at least one."""
    assignments, moved = assignments.copy(), np.zeros(len(assignments), bool)
    for empty in np.setdiff1d(np.arange(count), assignments):
        sizes = np.bincount(assignments, minlength=count)
        movable = ~moved & (sizes[assignments] > 1)
        farthest = np.where(movable, errors, -1.0).argmax()
        assignments[farthest], moved[farthest] = empty, True
    return assignments


def kmeans(points, centroids):
    """Lloyd's iterations from `centroids` (K, D) until no point changes cluster, or ITERATIONS of them:
    (centroids, assignments). A cluster left empty is refilled (refill), so all K stay in use."""
    assignments, point_norms = None, distances.norms(points)
    for _ in range(ITERATIONS):
        to_centroids = distances.squared_distances(points, centroids, point_norms)
        new = to_centroids.argmin(1)
        new = refill(new, to_centroids[np.arange(len(points)), new], len(centroids))
        if assignments is not None and np.array_equal(new, assignments):
            break
        assignments = new
        centroids = means(points, assignments, len(centroids), centroids)
    return centroids, assignments
