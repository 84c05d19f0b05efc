import gzip

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
    images, used = data.load_images(config.load(overrides=["data.limit=100"]), warn=warnings.append)
    assert used == "mnist_sample"
    assert images.shape == (100, 28, 28)
    assert "could not download MNIST" in warnings[0] and "data.path" in warnings[0]


def test_a_local_mnist_npz_and_an_idx_folder_are_read(tmp_path):
    sample = data.load_sample()[:50]
    np.savez(tmp_path / "mnist.npz", x_train=sample, y_train=np.zeros(50, np.uint8))
    cfg = config.load(overrides=[f"data.path={tmp_path / 'mnist.npz'}"])
    images, used = data.load_images(cfg)
    assert used == "mnist" and np.array_equal(images, sample)

    header = np.array([2051, 50, 28, 28], ">u4").tobytes()
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + sample.tobytes())
    images, _ = data.load_images(config.load(overrides=[f"data.path={tmp_path}"]))
    assert np.array_equal(images, sample)


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
    batches = list(data.epoch_batches(data.make_dataset(images), batch_size=4, shuffle_buffer=10, seed=1))
    assert [len(batch) for batch in batches] == [4, 4, 2]
    pixels = np.concatenate([batch.numpy() for batch in batches])
    assert pixels.shape == (10, 28, 28, 1)
    assert pixels.min() == -1.0 and pixels.max() == 1.0
