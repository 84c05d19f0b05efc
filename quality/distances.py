"""Squared Euclidean distances between rows of features, as one matrix product: what k-means (training/clusters.py) and
the neighbour-ball scores (metrics.py) spend their time on."""

import numpy as np


def norms(points):
    """Each row's squared length, computed once per set of points: ||x||^2."""
    return np.einsum("ij,ij->i", points, points)


def squared_distances(points, centroids, point_norms=None):
    """(N, K): ||x - c||^2 for every point and centroid, as ||x||^2 - 2 (x.c) + ||c||^2 (one matrix product; the
    products doubled, not the points: 2 * points would copy all of them first)."""
    point_norms = norms(points) if point_norms is None else point_norms
    return np.maximum(point_norms[:, None] - 2 * (points @ centroids.T) + norms(centroids), 0)
