"""Training images: MNIST from Keras, a local copy, or the sample bundled for offline machines."""

import gzip
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from config import ConfigError

SAMPLE_DIR = Path(__file__).resolve().parent / "mnist_sample"
UINT8 = 0x08  # the IDX header's type code for unsigned bytes


def read_idx(path, ndim):
    """An MNIST IDX file (plain or .gz) of `ndim` dimensions as a uint8 array: (N, 28, 28) images or (N,) labels."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ConfigError(f"cannot read MNIST file {path}: {e}; replace the file with a good copy") from None
    header_size = 4 + 4 * ndim
    header = np.frombuffer(raw[:header_size], dtype=">u4") if len(raw) >= header_size else None
    if (header is None or header[0] != (UINT8 << 8 | ndim)
            or len(raw) != header_size + int(np.prod(header[1:], dtype=np.int64))):
        raise ConfigError(f"{path} is not an MNIST IDX file of {ndim} dimensions (bad header or size); "
                          f"replace it with a good copy")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(tuple(int(n) for n in header[1:]))


def load_sample():
    """The 10,000 real MNIST test digits shipped in the repo (see mnist_sample/README.md)."""
    return read_idx(SAMPLE_DIR / "t10k-images-idx3-ubyte.gz", ndim=3)


def load_sample_labels():
    """The digit (0-9) each bundled image shows."""
    return read_idx(SAMPLE_DIR / "t10k-labels-idx1-ubyte.gz", ndim=1)


def load_local_mnist(path):
    """MNIST training images from a Keras-format mnist.npz or a folder holding train-images-idx3-ubyte[.gz]."""
    path = Path(path)
    if path.is_dir():
        for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
            if (path / name).exists():
                return read_idx(path / name, ndim=3)
        raise ConfigError(f"data.path {path} has no train-images-idx3-ubyte[.gz]; point it at the MNIST IDX "
                          f"folder or a mnist.npz")
    if not path.exists():
        raise ConfigError(f"data.path {path} does not exist; point it at a mnist.npz or an MNIST IDX folder")
    try:
        with np.load(path, allow_pickle=False) as archive:
            images = archive["x_train"]
    except KeyError:
        raise ConfigError(f"data.path {path} has no 'x_train' array; expected Keras' mnist.npz format") from None
    except Exception as e:  # np.load raises several types for a file that is not an .npz
        raise ConfigError(f"data.path {path} is not a readable .npz file ({e}); expected Keras' mnist.npz") from None
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ConfigError(f"data.path {path}: x_train must be uint8 of shape (N, 28, 28), "
                          f"got {images.dtype} {images.shape}")
    return images


def download_mnist():
    """Keras' MNIST loader, as in the tutorial: downloads once to ~/.keras/datasets, then reads the cache."""
    (images, _), _ = keras.datasets.mnist.load_data()
    return images


def load_images(cfg, warn=print):
    """The training images as uint8 (N, 28, 28), and the name of the dataset really used.

    `mnist` without a `data.path` downloads; when that fails (no internet) training goes on with the
    bundled sample, after a warning, rather than dying an hour into an unattended job.
    """
    dataset = cfg["data.dataset"]
    if cfg["data.path"] is not None and dataset != "mnist":
        raise ConfigError(f"data.path is only used with data.dataset=mnist, not {dataset}; remove data.path")
    if dataset == "mnist_sample":
        images = load_sample()
    elif cfg["data.path"] is not None:
        images = load_local_mnist(os.path.expanduser(cfg["data.path"]))
    else:
        try:
            images = download_mnist()
        except Exception as e:  # Keras raises a bare Exception for a failed download
            warn(f"warning: could not download MNIST ({e}).\n"
                 f"warning: training on the 10,000 bundled sample digits instead (data.dataset=mnist_sample). "
                 f"For the full 60,000, download mnist.npz once and set data.path to it.")
            dataset, images = "mnist_sample", load_sample()
    if images.shape[1:] != (28, 28):
        raise ConfigError(f"data.path images must be 28x28, got {images.shape[1]}x{images.shape[2]}")
    limit = cfg["data.limit"]
    if limit is not None:
        if limit > len(images):
            raise ConfigError(f"data.limit={limit} is larger than the {len(images)} images of {dataset}; "
                              f"lower it or leave it empty for all")
        images = images[:limit]
    return images, dataset


def scale(images):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [-1, 1], the range of the generator's tanh output."""
    return (images.reshape(-1, 28, 28, 1).astype("float32") - 127.5) / 127.5


def make_dataset(images):
    """The scaled images as a tf.data dataset, as in the tutorial."""
    return tf.data.Dataset.from_tensor_slices(scale(images))


def epoch_batches(dataset, batch_size, shuffle_buffer, seed):
    """One epoch of shuffled batches, prefetched so the next batch is ready when a step ends.

    The shuffle is seeded per epoch (seed + epoch number), so a resumed run sees the batches an
    uninterrupted run would have seen.
    """
    return dataset.shuffle(shuffle_buffer, seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)
