"""Training images: MNIST (from Keras, a local copy, or the sample bundled for offline machines),
Fashion-MNIST, CIFAR-10 or a folder of your own, resized and colour-converted to one shape, and for a
conditional run their labels (a folder's: the subfolder each image is in)."""

import gzip
import os
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

import config
from config import ConfigError

SAMPLE_DIR = Path(__file__).resolve().parent / "mnist_sample"
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


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what Keras' image-directory loader reads


def folder_shape(path, size_given):
    """(side, channels) the folder's images have on their own: one square size shared by all (unless
    `size_given`, as they will be resized anyway), and 1 channel if every image is greyscale. Reads only
    the files' headers; a ConfigError names the first problem."""
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"data.path {path} has no images (PNG, JPEG, BMP or GIF, in it or its subfolders); "
                          f"point data.path at the folder holding them")
    sizes, channels = set(), 1
    for file in files:
        try:
            shape = iio.improps(file, plugin="pillow").shape
        except Exception:  # imageio raises many types for a damaged file
            raise ConfigError(f"{file} is not a readable image; remove or replace it") from None
        # (H, W[, C]) of the first frame; C is 2 for greyscale with alpha (PNG mode LA), 3 or 4 for colour
        shape = shape[-3:] if len(shape) > 2 and shape[-1] in (2, 3, 4) else shape[-2:]
        sizes.add(shape[:2])
        channels = 3 if len(shape) == 3 and shape[-1] > 2 else channels
    if size_given:
        return None, channels
    if len(sizes) > 1 or next(iter(sizes))[0] != next(iter(sizes))[1]:
        examples = ", ".join(f"{w}x{h}" for h, w in sorted(sizes)[:3])
        raise ConfigError(f"the images in {path} are not all one square size ({examples}); set data.image_size "
                          f"(like 64) to resize and centre-crop them all to it")
    side = next(iter(sizes))[0]
    config.check_image_size(side, f"the images in {path} are {side}x{side}, and a generator for size")
    return side, channels


# Why a folder's classes are needed, and the way out if it has none: for a conditional run, or for a classifier.
CONDITIONAL = ("with model.conditional each image's class is the subfolder it is in", "set model.conditional=false")
CLASSIFIER = ("a classifier for the quality numbers learns each image's class from the subfolder it is in",
              "score any images with eval.features=inception")


def folder_classes(path, purpose=CONDITIONAL):
    """The class names of a folder: its first-level subfolders that hold images, sorted (Keras'
    labels="inferred" convention: pictures/cats/..., pictures/dogs/...). `purpose` says in the error why
    they are needed and what to do instead."""
    why, instead = purpose
    loose = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if loose:
        raise ConfigError(f"{loose[0]} is not in a class subfolder: {why} ({path}/CLASS/...); move the images into "
                          f"subfolders, or {instead}")
    names = sorted(sub.name for sub in path.iterdir() if sub.is_dir() and any(
        p.suffix.lower() in IMAGE_SUFFIXES for p in sub.rglob("*")))
    if len(names) < 2:
        raise ConfigError(f"{why}, so it needs images in at least 2 class subfolders of {path} ({path}/CLASS/...), "
                          f"found {len(names)}; add them, or {instead}")
    return names


def load_folder(path, image_size, channels, class_names=None):
    """Every image under `path`, decoded, centre-cropped to square and resized by Keras' directory loader, and
    with `class_names` each one's class: the number of its subfolder in that list (else None)."""
    found = keras.utils.image_dataset_from_directory(
        path, labels="inferred" if class_names else None, class_names=class_names,
        color_mode="grayscale" if channels == 1 else "rgb", batch_size=None,
        image_size=(image_size, image_size), shuffle=False, crop_to_aspect_ratio=True, verbose=False)
    images, labels = [], []
    try:
        for item in found.as_numpy_iterator():
            image, label = item if class_names else (item, None)
            images.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
            labels.append(label)
    except tf.errors.InvalidArgumentError:
        raise ConfigError(f"{found.file_paths[len(images)]} cannot be decoded; remove or replace it") from None
    return np.stack(images), np.array(labels, np.int64) if class_names else None


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


def load_images(cfg, warn=print, labelled=None):
    """The training images as uint8 (N, image_size, image_size, channels), their classes if `labelled` (by
    default for a conditional run; int (N,), numbers into class_names(...); else None), and the dataset
    really used.

    Fills in cfg's data.image_size and data.channels when they are empty, so the run's saved config
    says what the models were built for.
    """
    dataset, labelled = cfg["data.dataset"], cfg["model.conditional"] if labelled is None else labelled
    if dataset == "folder":
        path = Path(os.path.expanduser(cfg["data.path"]))
        if not path.is_dir():
            raise ConfigError(f"data.path {path} is not a folder; point it at the directory holding your images")
        native = (None, None) if cfg["data.image_size"] and cfg["data.channels"] else \
            folder_shape(path, size_given=cfg["data.image_size"] is not None)
        cfg["data.image_size"], cfg["data.channels"] = config.image_shape(cfg, native)
        images, labels = load_folder(path, cfg["data.image_size"], cfg["data.channels"],
                                     class_names(cfg, CONDITIONAL if cfg["model.conditional"] else CLASSIFIER)
                                     if labelled else None)
    elif dataset in ("mnist", "mnist_sample"):
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
    if limit is not None:
        if limit > len(images):
            raise ConfigError(f"data.limit={limit} is larger than the {len(images)} images of {dataset}; "
                              f"lower it or leave it empty for all")
        images = images[:limit]  # before resizing: only the images used are converted
        labels = None if labels is None else labels[:limit]
    if dataset != "folder":  # the folder loader has already resized and converted
        cfg["data.image_size"], cfg["data.channels"] = config.image_shape(cfg, config.NATIVE_SHAPES[dataset])
        images = conform(images, cfg["data.image_size"], cfg["data.channels"])
    return images, labels, dataset


def class_names(cfg, purpose=CONDITIONAL):
    """The names of the data's classes, in label order: the digits, Fashion-MNIST's and CIFAR-10's names, or
    a folder's class subfolders."""
    if cfg["data.dataset"] == "folder":
        return folder_classes(Path(os.path.expanduser(cfg["data.path"])), purpose)
    return CLASS_NAMES[cfg["data.dataset"]]


def scale(images):
    """uint8 (N, H, W[, C]) -> float32 (N, H, W, C) in [-1, 1], the range of the generator's tanh output."""
    images = images[..., None] if images.ndim == 3 else images
    return (images.astype("float32") - 127.5) / 127.5


def make_dataset(images, labels=None):
    """The scaled images (with their labels, if given) as a tf.data dataset, as in the tutorial."""
    if labels is None:
        return tf.data.Dataset.from_tensor_slices(scale(images))
    return tf.data.Dataset.from_tensor_slices((scale(images), labels.astype(np.int32)))


def epoch_seed(seed, epoch):
    """The seed of one epoch's shuffle and noise, mixed from the pair (run seed, epoch): runs with seeds s and
    s + 1 draw unrelated streams (a sum, seed + epoch, would give seed s's epoch n + 1 the draws of seed s + 1's
    epoch n), and a resumed run re-derives each epoch's seed exactly."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint32)[0])


def epoch_batches(dataset, batch_size, shuffle_buffer, seed, epoch, noise_dim):
    """One epoch of shuffled batches, each with the generator's noise: (images, z), or (images, labels, z) for
    a labelled dataset, prefetched so the next batch is ready when a step ends.

    The shuffle is seeded by epoch_seed(seed, epoch), so a resumed run sees the batches an uninterrupted
    run would have seen. The noise is drawn from (that seed, the batch's number), so it too is the same
    after a resume, and the same whether the batch trains on one device or is split over many.
    """
    this_epoch = epoch_seed(seed, epoch)

    def with_noise(number, batch):
        key = tf.stack([tf.constant(this_epoch, tf.int64), number])
        images = batch[0] if isinstance(batch, tuple) else batch
        z = tf.random.stateless_normal([tf.shape(images)[0], noise_dim], seed=key)
        return (*batch, z) if isinstance(batch, tuple) else (images, z)
    batches = dataset.shuffle(shuffle_buffer, seed=this_epoch).batch(batch_size).enumerate().map(with_noise)
    return batches.prefetch(tf.data.AUTOTUNE)
