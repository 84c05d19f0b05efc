"""Self-conditioning (model.clusters): k-means on the discriminator's features, clusters that keep their
numbers, a resume that trains on the same clusters, labels never read, sampling in proportion."""

import csv

import imageio.v3 as iio
import numpy as np
import pytest

from quality import kmeans
from training import clusters
from data import folder_cache, sources
from settings import schema
from conftest import TINY, run_program, run_train

CLUSTER_RUN = [*TINY, "data.dataset=mnist_sample", "data.limit=256", "model.clusters=4", "train.batch_size=64",
               "model.dropout=0", "eval.every=0"]


def in_memory(features, read=None, reductions=None):
    """features_of for clusters.cluster from features held in memory (each call's numbers added to `read`, its
    reduction to `reductions`)."""
    def features_of(numbers, reduction=None):
        if read is not None:
            read.append(numbers)
        if reductions is not None:
            reductions.append(reduction)
        if reduction is None:
            return features[numbers]
        mean, axes = reduction
        return (features[numbers] - mean) @ axes.T
    return features_of


def blobs(seed, count=1200, k=5, dimensions=16):
    """Points around k far-apart centres, and each point's centre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dimensions)) * 10
    labels = rng.integers(k, size=count)
    return (centres[labels] + rng.normal(size=(count, dimensions))).astype(np.float32), labels


def test_kmeans_finds_known_clusters_and_reclustering_keeps_their_numbers():
    points, labels = blobs(0)
    found = clusters.cluster(in_memory(points), len(points), 5, seed=[0, 1])
    nmi, purity, top = clusters.agreement(found, 5, labels)
    assert nmi == pytest.approx(1.0) and np.allclose(purity, 1.0) and sorted(top) == [0, 1, 2, 3, 4]
    # The features move a little (the discriminator learns); the old numbers, shuffled, are what is kept.
    moved = points + 1.0 + np.random.default_rng(1).normal(size=points.shape).astype(np.float32) * 0.3
    previous = np.array([3, 0, 4, 1, 2])[found]
    again = clusters.cluster(in_memory(moved), len(points), 5, seed=[0, 2], previous=previous)
    np.testing.assert_array_equal(again, previous)
    # the same in 8 principal axes of the 16 dimensions
    found = clusters.cluster(in_memory(points), len(points), 5, seed=[0, 1], axes=8)
    previous = np.array([3, 0, 4, 1, 2])[found]
    again = clusters.cluster(in_memory(moved), len(points), 5, seed=[0, 2], previous=previous, axes=8)
    np.testing.assert_array_equal(again, previous)


def test_matching_undoes_a_renumbering_and_a_large_set_is_clustered_from_a_sample(monkeypatch):
    centroids = np.eye(4, dtype=np.float32) * 5
    np.testing.assert_array_equal(clusters.match(centroids[[2, 0, 3, 1]], centroids), [2, 0, 3, 1])
    points, labels = blobs(2, count=3000)
    monkeypatch.setattr(clusters, "SAMPLE", 500)
    read = []
    found = clusters.cluster(in_memory(points, read), len(points), 5, seed=[0, 1])
    # k-means on 500; the other 2,500 assigned in parts of at most 500; no image's features computed twice
    assert len(read[0]) == 500 and max(map(len, read)) <= 500
    assert sorted(np.concatenate(read).tolist()) == list(range(3000))
    assert clusters.agreement(found, 5, labels)[0] == pytest.approx(1.0)
    # In 8 principal axes of the 16 dimensions, fitted to 200 of the sample: those 200 are read twice.
    monkeypatch.setattr(clusters, "AXES_FIT", 200)
    read, reductions = [], []
    found = clusters.cluster(in_memory(points, read, reductions), len(points), 5, seed=[0, 1], axes=8)
    assert len(read[0]) == 200 and len(read[1]) == 500 and set(read[0]) <= set(read[1])
    assert reductions[0] is None and all(axes.shape == (8, 16) for _, axes in reductions[1:])  # all others reduced
    assert clusters.agreement(found, 5, labels)[0] == pytest.approx(1.0)


def test_the_principal_axes_hold_nearly_the_variance_of_the_exact_ones():
    """On 2,000 digits' pixels (784 numbers each), the randomised SVD's 128 axes hold at least 97.5% of the variance
    the exact top 128 hold (32 of its axes would hold 95% of the exact 32's); at most 128 dimensions need none."""
    pixels = sources.load_sample()[:2000].reshape(2000, -1).astype(np.float32) / 255
    centred = pixels - pixels.mean(0)
    exact = np.linalg.svd(centred, compute_uv=False) ** 2
    mean, axes = kmeans.principal_axes(pixels, 128, np.random.default_rng(0))
    assert axes.shape == (128, 784) and np.allclose(axes @ axes.T, np.eye(128), atol=1e-4)
    assert ((centred @ axes.T) ** 2).sum() >= 0.975 * exact[:128].sum()
    assert kmeans.principal_axes(pixels[:, :128], 128, np.random.default_rng(0)) is None


def test_clusters_in_the_principal_axes_agree_with_all_dimensions_nearly_as_a_reseeded_kmeans():
    """On 3,000 digits' pixels in train.cluster_axes's default 128 axes, over three seeds: the clusters match
    plain k-means on all 784 dimensions (NMI) within 0.1 of how closely plain k-means matches itself from other
    seeds (0.72 against 0.74 here), and find the digits within 0.05 as well."""
    pixels = sources.load_sample()[:3000].reshape(3000, -1).astype(np.float32) / 255
    digits = sources.load_sample_labels()[:3000]
    reduced_vs_full, full_vs_reseeded, digits_found = [], [], []
    for seed in range(3):
        found = clusters.cluster(in_memory(pixels), len(pixels), 10, seed=[seed, 1],
                                 axes=schema.SETTINGS["train.cluster_axes"].default)
        full, reseeded = (kmeans.kmeans(pixels, kmeans.seed_centroids(pixels, 10, np.random.default_rng([seed, k])))[1]
                          for k in (1, 2))
        reduced_vs_full.append(clusters.agreement(found, 10, full)[0])
        full_vs_reseeded.append(clusters.agreement(reseeded, 10, full)[0])
        digits_found.append(clusters.agreement(found, 10, digits)[0] - clusters.agreement(full, 10, digits)[0])
    assert np.mean(reduced_vs_full) >= np.mean(full_vs_reseeded) - 0.1
    assert np.mean(digits_found) >= -0.05


@pytest.mark.parametrize("precision", ["none", "mixed_bfloat16"])
def test_the_discriminators_pass_reduces_its_features_as_numpy_does(tmp_path, precision):
    """The images' coordinates in the principal axes, computed where the discriminator runs, are their features'
    in NumPy; without axes, the features themselves (in float32 with mixed precision too)."""
    import keras
    import tensorflow as tf
    from settings import config
    from training import state
    try:
        settings = config.load(overrides=["model.clusters=5", f"train.mixed_precision={precision}"])
        training = state.TrainingState(settings, tf.distribute.get_strategy(), clusters.names(5), tmp_path,
                                       image_count=300)
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the next test's layers as they would be
    images = np.random.default_rng(0).integers(0, 256, (300, 28, 28, 1), dtype=np.uint8)
    features_of = training.features_of(images, batch=64)
    features = features_of(np.arange(300))
    assert features.shape == (300, 6272) and features.dtype == np.float32  # 7 x 7 x 128: the layer the logit reads
    mean, axes = kmeans.principal_axes(features[:100], 8, np.random.default_rng(1))
    reduced = features_of(np.arange(100, 300), (mean, axes))
    np.testing.assert_allclose(reduced, (features[100:] - mean) @ axes.T, rtol=1e-3, atol=1e-3)
    assert reduced.shape == (200, 8) and reduced.std() > 0


def test_an_empty_cluster_takes_the_farthest_point_and_identical_features_leave_none_empty():
    points = np.array([[0.0], [0.1], [0.2], [10.0]], np.float32)
    centroids, found = kmeans.kmeans(points, np.array([[0.1], [50.0], [100.0]], np.float32))
    assert sorted(np.bincount(found, minlength=3)) == [1, 1, 2]
    same = np.ones((30, 2), np.float32)  # features that all tie
    found = clusters.cluster(in_memory(same), 30, 4, seed=[0, 1])
    assert np.bincount(found, minlength=4).min() >= 1


def test_agreement_and_proportions_by_hand():
    # clusters [0 0 1 1 1 1], classes [0 0 0 1 1 1]: cluster 1 is 3/4 class 1
    nmi, purity, top = clusters.agreement(np.array([0, 0, 1, 1, 1, 1]), 2, np.array([0, 0, 0, 1, 1, 1]))
    p = np.array([[2, 0], [1, 3]]) / 6
    mutual = sum(p[i, j] * np.log(p[i, j] / (p[i].sum() * p[:, j].sum())) for i in range(2) for j in range(2)
                 if p[i, j])
    entropies = -sum(q * np.log(q) for q in (2 / 6, 4 / 6)) - sum(q * np.log(q) for q in (0.5, 0.5))
    assert nmi == pytest.approx(mutual / (entropies / 2))
    np.testing.assert_allclose(purity, [1.0, 0.75])
    assert list(top) == [0, 1]
    assert clusters.agreement(np.array([0, 1, 0, 1]), 2, np.array([0, 0, 1, 1]))[0] == pytest.approx(0.0)
    assert clusters.diagnostics(np.array([0, 0, 1, 1, 1, 1]), 2, None) == {}
    counts = np.bincount(clusters.proportional([0.5, 0.3, 0.2], 2000), minlength=3)
    assert counts.tolist() == [1000, 600, 400]
    assert np.bincount(clusters.proportional([1 / 3] * 3, 10)).tolist() in ([4, 3, 3], [3, 4, 3], [3, 3, 4])


@pytest.mark.slow
def test_bad_cluster_counts_are_one_line_and_write_nothing(tmp_path):
    for setting, message in (("model.clusters=1", "needs at least 2"),
                             ("model.clusters=300", "more clusters than the 256 images k-means runs on")):
        result = run_train("data.dataset=mnist_sample", "data.limit=256", setting, f"output.dir={tmp_path}",
                           "output.run_name=bad")
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()


def test_a_resume_refuses_other_images_than_it_clustered(tmp_path):
    import tensorflow as tf

    from training import checkpoint
    from settings.schema import ConfigError
    prefix = tf.train.Checkpoint(clusters=tf.Variable(tf.zeros([5], tf.int32))).save(str(tmp_path / "ckpt"))
    checkpoint.check_clustered_count(prefix, 5)
    with pytest.raises(ConfigError, match="the run clustered 5 images and its data now has 6"):
        checkpoint.check_clustered_count(prefix, 6)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def training_columns(run):
    """metrics.csv without its timings: what two runs of one seed must share."""
    return [{key: value for key, value in row.items() if not key.endswith("seconds")}
            for row in read_csv(run / "metrics.csv")]


@pytest.mark.slow
def test_a_resumed_run_clusters_and_trains_as_an_uninterrupted_one_and_generate_draws_in_proportion(tmp_path):
    whole = run_train(*CLUSTER_RUN, "train.epochs=3", "train.recluster_every=2", f"output.dir={tmp_path}",
                      "output.run_name=whole")
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.count("clustered the 256 images into 4 clusters") == 2  # epochs 1 and 3
    first = run_train(*CLUSTER_RUN, "train.epochs=2", "train.recluster_every=2", f"output.dir={tmp_path}",
                      "output.run_name=parts")
    resumed = run_train("--resume", tmp_path / "parts", "train.epochs=3")
    assert first.returncode == 0 and resumed.returncode == 0, resumed.stderr
    assert "re-clustered the 256 images into 4 clusters for epoch 3" in resumed.stdout
    assert training_columns(tmp_path / "parts") == training_columns(tmp_path / "whole")
    table = read_csv(tmp_path / "whole" / "clusters.csv")
    assert table == read_csv(tmp_path / "parts" / "clusters.csv") and {row["epoch"] for row in table} == {"1", "3"}
    assert float(read_csv(tmp_path / "whole" / "metrics.csv")[0]["cluster_nmi"]) > 0  # the digits' labels measure it

    shares = [int(row["images"]) / 256 for row in table if row["epoch"] == "3"]
    out = tmp_path / "samples.npz"
    drawn = run_program("generate", tmp_path / "whole", "--num", "500", "--out", out)
    assert drawn.returncode == 0, drawn.stderr
    with np.load(out) as samples:
        assert np.bincount(samples["labels"], minlength=4).tolist() == \
            np.bincount(clusters.proportional(shares, 500), minlength=4).tolist()
        assert len(set(samples["labels"].tolist())) > 1


@pytest.mark.slow
def test_a_folder_is_clustered_without_reading_its_labels(tmp_path, monkeypatch):
    """The same digits in the same order, once in class subfolders and once loose: the same clusters and the
    same training, and only the labelled one measures its clusters against its classes. Each run lists its
    folder once to load it and once when its cache is built (to see nothing changed meanwhile): the labels read
    for the clusters' diagnostics come from that listing."""
    digits, labels = sources.load_sample()[:120], sources.load_sample_labels()[:120]
    order = np.argsort(labels, kind="stable")  # the labelled folder lists its images class by class
    for position, number in enumerate(order):
        (tmp_path / "labelled" / str(labels[number])).mkdir(parents=True, exist_ok=True)
        iio.imwrite(tmp_path / "labelled" / str(labels[number]) / f"{position:03d}.png", digits[number])
        (tmp_path / "loose").mkdir(exist_ok=True)
        iio.imwrite(tmp_path / "loose" / f"{position:03d}.png", digits[number])
    runs, listed, original = {}, [], folder_cache.list_folder
    monkeypatch.setattr(folder_cache, "list_folder", lambda path: listed.append(path) or original(path))
    for name in ("labelled", "loose"):
        listed.clear()
        result = run_train(*TINY, "data.dataset=folder", f"data.path={tmp_path / name}", "model.clusters=3",
                           "train.batch_size=40", "model.dropout=0", "train.epochs=1", "eval.every=0",
                           f"output.dir={tmp_path / 'runs'}", f"output.run_name={name}")
        assert result.returncode == 0, result.stderr
        assert len(listed) == 2
        runs[name] = tmp_path / "runs" / name
    assert [{k: v for k, v in row.items() if k != "cluster_nmi" and k != "cluster_purity"}
            for row in training_columns(runs["labelled"])] == \
        [{k: v for k, v in row.items() if k != "cluster_nmi" and k != "cluster_purity"}
         for row in training_columns(runs["loose"])]
    labelled, loose = read_csv(runs["labelled"] / "clusters.csv"), read_csv(runs["loose"] / "clusters.csv")
    assert [row["images"] for row in labelled] == [row["images"] for row in loose]
    assert all(row["purity"] for row in labelled) and not any(row["purity"] for row in loose)
    assert read_csv(runs["loose"] / "metrics.csv")[0]["cluster_nmi"] == ""
