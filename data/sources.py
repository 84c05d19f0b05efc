"""Where training images come from: MNIST (from Keras, a local copy, or the sample bundled for offline
machines), Fashion-MNIST, CIFAR-10, or a folder of your own (folder_cache.py), resized and colour-converted to
one shape, with their labels where a run needs them.

The path is source -> (a folder's cache) -> batches (pipeline.py), uint8 all the way: memory holds a few
batches, not the dataset.
"""

import gzip
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data import folder_cache
from settings import schema
from settings.schema import ConfigError


SAMPLE_DIR = Path(__file__).resolve().parents[1] / "mnist_sample"
SAMPLE_IMAGES = SAMPLE_DIR / "t10k-images-idx3-ubyte.gz"
UINT8 = 0x08  # the IDX header's type code for unsigned bytes
DIGITS = [str(digit) for digit in range(10)]
CLASS_NAMES = {"mnist": DIGITS, "mnist_sample": DIGITS,
               "fashion_mnist": ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                                 "bag", "ankle_boot"],
               "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}


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
    return read_idx(SAMPLE_IMAGES, ndim=3)


def load_sample_labels():
    """The digit (0-9) each bundled image shows."""
    return read_idx(SAMPLE_DIR / "t10k-labels-idx1-ubyte.gz", ndim=1)


def load_local_mnist(path):
    """MNIST training images and labels (None if absent) from a Keras-format mnist.npz or a folder holding
    train-images-idx3-ubyte[.gz] (and train-labels-idx1-ubyte[.gz])."""
    path = Path(path)
    if path.is_dir():
        labels = next((read_idx(path / name, ndim=1) for name in ("train-labels-idx1-ubyte.gz",
                                                                  "train-labels-idx1-ubyte")
                       if (path / name).exists()), None)
        for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
            if (path / name).exists():
                return read_idx(path / name, ndim=3), labels
        raise ConfigError(f"data.path {path} has no train-images-idx3-ubyte[.gz]; point it at the MNIST IDX "
                          f"folder or a mnist.npz")
    if not path.exists():
        raise ConfigError(f"data.path {path} does not exist; point it at a mnist.npz or an MNIST IDX folder")
    try:
        with np.load(path, allow_pickle=False) as archive:
            images = archive["x_train"]
            labels = archive["y_train"] if "y_train" in archive else None
    except KeyError:
        raise ConfigError(f"data.path {path} has no 'x_train' array; expected Keras' mnist.npz format") from None
    except Exception as e:  # np.load raises several types for a file that is not an .npz
        raise ConfigError(f"data.path {path} is not a readable .npz file ({e}); expected Keras' mnist.npz") from None
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ConfigError(f"data.path {path}: x_train must be uint8 of shape (N, 28, 28), "
                          f"got {images.dtype} {images.shape}")
    return images, labels


def download_mnist():
    """Keras' MNIST loader, as in the tutorial: downloads once to ~/.keras/datasets, then reads the cache."""
    (images, labels), _ = keras.datasets.mnist.load_data()
    return images, labels


def download_keras_dataset(name):
    """Fashion-MNIST or CIFAR-10 training images and labels from Keras, downloaded once to ~/.keras/datasets."""
    try:
        (images, labels), _ = getattr(keras.datasets, name).load_data()
    except Exception as e:  # Keras raises a bare Exception for a failed download
        raise ConfigError(f"could not download {name} ({str(e).splitlines()[0]}); Keras fetches it once into "
                          f"~/.keras/datasets: run once with internet, or copy its files there") from None
    return images, labels.reshape(-1)


def conform(images, image_size, channels):
    """uint8 (N, H, W[, C]) -> uint8 (N, image_size, image_size, channels): resized and colour-converted."""
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] != channels:
        images = np.repeat(images, 3, axis=-1) if channels == 3 else np.rint(
            images @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]  # ITU-R 601 luma
    if images.shape[1:3] != (image_size, image_size):
        chunks = [tf.image.resize(images[i:i + 5000], (image_size, image_size), antialias=True).numpy()
                  for i in range(0, len(images), 5000)]  # in chunks: float copies of 60,000 images add up
        images = np.clip(np.rint(np.concatenate(chunks)), 0, 255).astype(np.uint8)
    return images


def load_mnist(cfg, warn):
    """MNIST as uint8 (N, 28, 28), its labels, and the dataset really used: `mnist` without a `data.path` downloads;
    when that fails (no internet) training goes on with the bundled sample, after a warning, rather than
    dying an hour into an unattended job."""
    if cfg["data.dataset"] == "mnist_sample":
        return load_sample(), load_sample_labels(), "mnist_sample"
    if cfg["data.path"] is not None:
        images, labels = load_local_mnist(os.path.expanduser(cfg["data.path"]))
        if images.shape[1:] != (28, 28):
            raise ConfigError(f"data.path images must be 28x28, got {images.shape[1]}x{images.shape[2]}")
        return images, labels, "mnist"
    try:
        return *download_mnist(), "mnist"
    except Exception as e:  # Keras raises a bare Exception for a failed download
        warn(f"warning: could not download MNIST ({e}).\n"
             f"warning: training on the 10,000 bundled sample digits instead (data.dataset=mnist_sample). "
             f"For the full 60,000, download mnist.npz once and set data.path to it.")
        return load_sample(), load_sample_labels(), "mnist_sample"


def load_images(cfg, warn=print, labelled=None, same_listing=False):
    """The training images as uint8 (N, image_size, image_size, channels), their classes if `labelled` (by
    default for a conditional run; int (N,), numbers into class_names(...); else None), and the dataset
    really used. A folder's images are an ImageFile over its cache, read by index like an array; the Keras
    datasets' are an array (60,000 MNIST digits are 47 MB).

    Empty data.image_size and data.channels take the data's own (the images' shape says which).
    `same_listing`: a folder's files as this process listed them when it last loaded it (a run's second look at
    its images: its classes, its classifier's images), not listed again.
    """
    dataset, labelled = cfg["data.dataset"], cfg["model.conditional"] if labelled is None else labelled
    if dataset == "folder":
        images, labels = folder_cache.load_folder(cfg, labelled, same_listing)
        return images, labels, dataset
    if dataset in ("mnist", "mnist_sample"):
        images, labels, dataset = load_mnist(cfg, warn)
    else:
        images, labels = download_keras_dataset(dataset)
    if labelled and labels is None:
        raise ConfigError(f"model.conditional needs labels, and {cfg['data.path']} has none (a mnist.npz needs "
                          f"y_train, an IDX folder train-labels-idx1-ubyte); add them, or set model.conditional=false")
    if not labelled:
        labels = None
    elif len(labels) != len(images):
        raise ConfigError(f"{cfg['data.path']} has {len(labels)} labels for {len(images)} images; use a matching "
                          f"pair of files")
    limit = cfg["data.limit"]
    if limit is not None:  # the Keras datasets come in random order: their first N are a random sample
        if limit > len(images):
            raise ConfigError(f"data.limit={limit} is larger than the {len(images)} images of {dataset}; "
                              f"lower it or leave it empty for all")
        images = images[:limit]  # before resizing: only the images used are converted
        labels = None if labels is None else labels[:limit]
    return conform(images, *schema.image_shape(cfg, schema.NATIVE_SHAPES[dataset])), labels, dataset


def class_names(cfg, purpose=folder_cache.CONDITIONAL):
    """The names of the data's classes, in label order: the digits, Fashion-MNIST's and CIFAR-10's names, or
    a folder's class subfolders."""
    if cfg["data.dataset"] == "folder":
        return folder_cache.folder_classes(Path(os.path.expanduser(cfg["data.path"])), purpose)
    return CLASS_NAMES[cfg["data.dataset"]]


def known_classes(cfg):
    """The data's own labels and class names if it has them (a folder: images in class subfolders only), else
    (None, []): a self-conditioned run measures its clusters against them, and never trains on them."""
    try:
        names = class_names(cfg, folder_cache.CLASSIFIER)
        return load_images(dict(cfg), warn=lambda message: None, labelled=True, same_listing=True)[1], names
    except ConfigError:
        return None, []
