import gzip

import imageio.v3 as iio
import keras

import numpy as np
import pytest

import config
import data
from config import ConfigError


def test_the_bundled_sample_is_the_10000_mnist_test_digits():
    images = data.load_sample()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0


def test_mnist_falls_back_to_the_sample_with_a_warning_when_the_download_fails(monkeypatch):
    def no_network():
        raise Exception("URL fetch failure: Name or service not known")
    monkeypatch.setattr(data, "download_mnist", no_network)
    warnings = []
    images, _, used = data.load_images(config.load(overrides=["data.limit=100"]), warn=warnings.append)
    assert used == "mnist_sample"
    assert images.shape == (100, 28, 28, 1)
    assert "could not download MNIST" in warnings[0] and "data.path" in warnings[0]


def test_a_local_mnist_npz_and_an_idx_folder_are_read(tmp_path):
    sample = data.load_sample()[:50]
    np.savez(tmp_path / "mnist.npz", x_train=sample, y_train=np.zeros(50, np.uint8))
    cfg = config.load(overrides=[f"data.path={tmp_path / 'mnist.npz'}"])
    images, _, used = data.load_images(cfg)
    assert used == "mnist" and np.array_equal(images[..., 0], sample)

    header = np.array([2051, 50, 28, 28], ">u4").tobytes()
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + sample.tobytes())
    images, _, _ = data.load_images(config.load(overrides=[f"data.path={tmp_path}"]))
    assert np.array_equal(images[..., 0], sample)


@pytest.mark.parametrize("make_file, message", [
    (lambda p: p.write_bytes(b"not a zip"), "is not a readable .npz file"),
    (lambda p: np.savez(p, images=np.zeros((2, 28, 28), np.uint8)), "has no 'x_train' array"),
    (lambda p: np.savez(p, x_train=np.zeros((2, 28, 28), np.float32)), "x_train must be uint8"),
    (lambda p: np.savez(p, x_train=np.zeros((2, 32, 32), np.uint8)), "images must be 28x28"),
])
def test_bad_local_files_are_rejected_with_a_clear_message(tmp_path, make_file, message):
    path = tmp_path / "mnist.npz"
    make_file(path)
    with pytest.raises(ConfigError, match=message):
        data.load_images(config.load(overrides=[f"data.path={path}"]))


def test_missing_path_and_too_large_limit_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        data.load_images(config.load(overrides=[f"data.path={tmp_path / 'nope.npz'}"]))
    with pytest.raises(ConfigError, match="data.limit=20000 is larger than the 10000 images of mnist_sample"):
        data.load_images(config.load(overrides=["data.dataset=mnist_sample", "data.limit=20000"]))


def test_batches_are_scaled_to_the_tanh_range_and_keep_the_smaller_last_batch():
    images = data.load_sample()[:10]
    batches = list(data.epoch_batches(data.make_dataset(images), batch_size=4, shuffle_buffer=10, seed=1, epoch=1,
                                      noise_dim=3))
    assert [len(images) for images, _ in batches] == [4, 4, 2]
    assert [z.shape for _, z in batches] == [(4, 3), (4, 3), (2, 3)]  # one noise vector per image
    again = list(data.epoch_batches(data.make_dataset(images), batch_size=4, shuffle_buffer=10, seed=1, epoch=1,
                                    noise_dim=3))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again))  # the seed fixes the noise, too
    pixels = np.concatenate([images.numpy() for images, _ in batches])
    assert pixels.shape == (10, 28, 28, 1)
    assert pixels.min() == -1.0 and pixels.max() == 1.0


def test_seeds_next_to_each_other_draw_unrelated_epochs():
    """Seed s's epoch n + 1 and seed s + 1's epoch n: the same batches when epochs were seeded by seed + epoch."""
    def first_batch(seed, epoch):
        return next(iter(data.epoch_batches(data.make_dataset(data.load_sample()[:64]), batch_size=8,
                                            shuffle_buffer=64, seed=seed, epoch=epoch, noise_dim=3)))
    for (seed_a, epoch_a), (seed_b, epoch_b) in (((0, 2), (1, 1)), ((1, 1), (2, 0)), ((0, 1), (0, 2))):
        (images_a, noise_a), (images_b, noise_b) = first_batch(seed_a, epoch_a), first_batch(seed_b, epoch_b)
        assert not np.array_equal(images_a, images_b) and not np.array_equal(noise_a, noise_b)
    again = first_batch(0, 2)  # and each (seed, epoch) draws the same batch every time: resume stays exact
    assert np.array_equal(again[0], first_batch(0, 2)[0]) and np.array_equal(again[1], first_batch(0, 2)[1])


def write_pngs(folder, count, shape, seed=0):
    """`count` random PNGs of `shape` (H, W[, C]) under `folder`, half of them one folder deeper."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        where = folder / ("nested" if i % 2 else "") / f"image_{i:03d}.png"
        where.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(where, rng.integers(0, 256, shape, dtype=np.uint8))


def test_a_folder_of_images_nested_or_not_is_read_at_its_own_size_and_colour(tmp_path):
    write_pngs(tmp_path, 12, (32, 32, 3))
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"])
    images, _, used = data.load_images(cfg)
    assert used == "folder" and images.shape == (12, 32, 32, 3) and images.dtype == np.uint8
    assert (cfg["data.image_size"], cfg["data.channels"]) == (32, 3)  # recorded for the run's config.yaml
    assert np.array_equal(images[0], iio.imread(tmp_path / "image_000.png"))  # not resized: the same pixels


def test_greyscale_pngs_with_alpha_are_read_as_greyscale_at_their_size(tmp_path):
    write_pngs(tmp_path, 4, (28, 28, 2))  # PNG mode LA: grey and alpha
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"])
    images, _, _ = data.load_images(cfg)
    assert images.shape == (4, 28, 28, 1) and (cfg["data.image_size"], cfg["data.channels"]) == (28, 1)
    assert np.array_equal(images[0, ..., 0], iio.imread(tmp_path / "image_000.png")[..., 0])  # the grey plane


def test_a_folder_of_mixed_sizes_is_resized_to_data_image_size_and_greyscale_when_asked(tmp_path):
    write_pngs(tmp_path, 4, (40, 30, 3))
    write_pngs(tmp_path / "more", 4, (64, 64))
    with pytest.raises(ConfigError, match="not all one square size.*set data.image_size"):
        data.load_images(config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"]))
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}", "data.image_size=16"])
    assert data.load_images(cfg)[0].shape == (8, 16, 16, 3)  # some are colour, so all are, unless asked
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}", "data.image_size=16",
                                 "data.channels=1"])
    assert data.load_images(cfg)[0].shape == (8, 16, 16, 1)


@pytest.mark.parametrize("make_folder, message", [
    (lambda p: (p / "notes.txt").write_text("no images here"), "has no images"),
    (lambda p: (p / "broken.png").write_bytes(b"\x89PNG not really"), "broken.png is not a readable image"),
    (lambda p: write_pngs(p, 2, (30, 30)), "are 30x30.*cannot be built"),
])
def test_bad_folders_are_rejected_with_a_clear_message(tmp_path, make_folder, message):
    make_folder(tmp_path)
    with pytest.raises(ConfigError, match=message):
        data.load_images(config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"]))


def test_keras_datasets_are_conformed_and_a_failed_download_says_what_to_do(monkeypatch):
    colour = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    classes = np.array([[3], [5], [0], [9], [1], [3]], np.uint8)  # Keras gives CIFAR-10's labels as (N, 1)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((colour, classes), (None, None)))
    cfg = config.load(overrides=["data.dataset=cifar10"])
    images, _, used = data.load_images(cfg)
    assert used == "cifar10" and np.array_equal(images, colour) and cfg["data.image_size"] == 32
    labels = data.load_images(config.load(overrides=["data.dataset=cifar10", "model.conditional=true"]))[1]
    assert labels.tolist() == [3, 5, 0, 9, 1, 3] and data.CLASS_NAMES["cifar10"][labels[0]] == "cat"
    grey = data.load_images(config.load(overrides=["data.dataset=cifar10", "data.channels=1", "data.image_size=64"]))[0]
    assert grey.shape == (6, 64, 64, 1)

    def no_network():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: Name or service not known")
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(ConfigError, match="could not download fashion_mnist.*~/.keras/datasets"):
        data.load_images(config.load(overrides=["data.dataset=fashion_mnist"]))


def test_mnist_can_be_trained_as_32x32_colour():
    images, _, _ = data.load_images(config.load(overrides=["data.dataset=mnist_sample", "data.limit=5",
                                                        "data.image_size=32", "data.channels=3"]))
    assert images.shape == (5, 32, 32, 3)
    assert np.array_equal(images[..., 0], images[..., 2])  # grey copied into each colour
