"""A folder of pictures, decoded once as a viewer shows them into a cache that later runs open in a fraction
of a second and read by index (docs/data.md): its listing, its classes (the subfolders), the cache's key, lock
and build, and the pictures' decoding.
"""

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from output import atomic, progress
from settings import schema
from settings.schema import ConfigError


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")  # Pillow's modes without colour
TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
SIXTEEN_BIT = ("I", "I;16", "I;16B", "I;16L")  # greyscale of more than 8 bits: 16-bit PNGs
# In every cache key: a change in how pictures are decoded (here, or data.background) decodes them again.
DECODER = "pillow-exif-composite-1"


def decode_picture(path, channels, background):
    """A picture as a viewer shows it, uint8 (H, W, channels), and whether it had transparent pixels: turned by
    its EXIF orientation (phone photos are stored sideways), transparent pixels composited onto `background`
    (an (R, G, B)), and any bit depth or colour model (16-bit, CMYK, palette, grey among colour) made 8-bit
    grey or RGB. An animated GIF gives its first frame."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in SIXTEEN_BIT:
            image = Image.fromarray(np.clip(np.rint(np.asarray(image, np.float64) / 257), 0, 255).astype(np.uint8))
        transparent = False
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
            image = image.convert("RGBA")
            transparent = bool(np.asarray(image)[..., 3].min() < 255)
            image = Image.alpha_composite(Image.new("RGBA", image.size, (*background, 255)), image)
        return np.asarray(image.convert("RGB" if channels == 3 else "L")).reshape(
            image.size[1], image.size[0], channels), transparent


def unreadable(path, error):
    """The one line for a picture that cannot be decoded, with the decoder's reason."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return ConfigError(f"{path} cannot be read as an image ({reason}); remove or replace it")
CACHE_FOLDER = ".dcgan_cache"  # inside data.path, unless data.cache_dir says otherwise or the folder is read-only


def list_folder(path):
    """Every image file under `path` as (path relative to it, size, modification time in ns), in the order
    Keras' image_dataset_from_directory reads them (folders sorted by path, then files by name), so a folder
    trains on the same images in the same order as when Keras loaded it."""
    found = []
    for root, _, names in sorted(os.walk(path), key=lambda walked: walked[0]):
        for name in sorted(names):
            if name.lower().endswith(IMAGE_SUFFIXES):
                stat = os.stat(os.path.join(root, name))
                found.append((os.path.relpath(os.path.join(root, name), path), stat.st_size, stat.st_mtime_ns))
    if not found:
        raise ConfigError(f"data.path {path} has no images (PNG, JPEG, WebP, BMP or GIF, in it or its subfolders); "
                          f"point data.path at the folder holding them")
    return found


NOTED_TRANSPARENCY = set()  # folders whose transparency this process has mentioned: once is enough
LOADED_LISTINGS = {}  # each folder's listing as read when this process loaded its images, by resolved path


def listing(path):
    """A folder's files as this process read them when it loaded its images, else read now: the run's classes,
    its evaluator's fingerprint and its image count then describe the images loaded, and a folder of a
    million files is listed once at start-up, not once for each of them."""
    resolved = Path(path).resolve()
    return LOADED_LISTINGS[resolved] if resolved in LOADED_LISTINGS else list_folder(resolved)


def listing_key(files, *extra):
    """A hash of the files' names, sizes and modification times (and `extra`): it changes with the folder."""
    text = "".join(f"{name}\t{size}\t{mtime}\n" for name, size, mtime in files) + repr(extra)
    return hashlib.sha256(text.encode()).hexdigest()


def group_of(name):
    """The first-level subfolder an image is in (its class, for a labelled folder), or "" for a loose one."""
    parts = Path(name).parts
    return parts[0] if len(parts) > 1 else ""


def sample(files, limit):
    """`limit` of `files`, every image with the same chance whatever subfolder it is in: those whose file name
    (without its folders) hashes lowest, kept in folder order. Fixed, so every run with this data.limit trains on
    the same images; the same pictures loose or sorted into class subfolders give the same sample (labels never
    choose what a run trains on); a folder that grows keeps most of its sample."""
    if limit > len(files):
        raise ConfigError(f"data.limit={limit} is larger than the {len(files)} images of the folder; lower it or "
                          f"leave it empty for all")
    rank = sorted(range(len(files)), key=lambda number: (hashlib.sha256(Path(files[number][0]).name.encode()).digest(),
                                                         files[number][0]))
    return [files[number] for number in sorted(rank[:limit])]


def cache_folder(cfg, path):
    """Where a folder's decoded images are kept: data.cache_dir, else a .dcgan_cache folder inside it, else (a
    folder that cannot be written) the user's cache directory, unless a .dcgan_cache was made in it before,
    which is read as it is; in a shared place each data folder has its own subfolder."""
    label = f"{path.name}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dcgan" / label
    if cfg["data.cache_dir"]:
        return Path(os.path.expanduser(cfg["data.cache_dir"])) / label
    inside = path / CACHE_FOLDER
    try:
        inside.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=inside):
            return inside
    except OSError:
        if any(inside.glob("*.json")):  # built before the folder became read-only: used if it is current
            return inside
        print(f"note: {path} cannot be written into; its decoded images are cached in {user_cache}", flush=True)
        return user_cache


def header_shape(path, files, cache, sizes_needed, background):
    """The distinct (height, width) of the folder's images as shown, EXIF turns applied (None unless
    `sizes_needed`), and their channels (1 if all are grey, and stay grey on `background`), read from the
    files' headers and kept in the cache, keyed by the file list. Without sizes the first colour picture ends
    the reading: a folder of photos answers at once."""
    key, saved = listing_key(files, DECODER, background), cache / "shapes.json"
    grey_background = len(set(background)) == 1
    try:
        found = json.loads(saved.read_text())
        if found["key"] == key and (found["sizes"] is not None or not sizes_needed):
            return found["sizes"] and {tuple(size) for size in found["sizes"]}, found["channels"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    sizes, channels = set(), 1
    for name, _, _ in files:
        try:
            with Image.open(path / name) as image:  # reads the header only
                turned = image.getexif().get(0x0112) in TURNED  # the EXIF Orientation tag
                sizes.add(image.size if turned else image.size[::-1])
                alpha = image.mode in ("LA", "La") or "transparency" in image.info
                if image.mode not in GREY_MODES or (alpha and not grey_background):
                    channels = 3
        except Exception as e:  # Pillow raises many types for a damaged file
            raise unreadable(path / name, e) from None
        if channels == 3 and not sizes_needed:
            sizes = None
            break
    try:
        cache.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"key": key, "sizes": sizes and sorted(sizes), "channels": channels}))
    except OSError:
        pass  # read again next time
    return sizes, channels


def folder_shape(path, files, cache, size_given, background):
    """(side, channels) the folder's images have on their own: one square size shared by all (unless
    `size_given`, as they will be resized anyway), and 1 channel if every image is greyscale."""
    sizes, channels = header_shape(path, files, cache, not size_given, background)
    if size_given:
        return None, channels
    if len(sizes) > 1 or next(iter(sizes))[0] != next(iter(sizes))[1]:
        examples = ", ".join(f"{w}x{h}" for h, w in sorted(sizes)[:3])
        raise ConfigError(f"the images in {path} are not all one square size ({examples}); set data.image_size "
                          f"(like 64) to resize and centre-crop them all to it")
    side = next(iter(sizes))[0]
    schema.check_image_size(side, f"the images in {path} are {side}x{side}, and a generator for size")
    return side, channels


# Why a folder's classes are needed, and the way out if it has none: for a conditional run, or for a classifier.
CONDITIONAL = ("with model.conditional each image's class is the subfolder it is in", "set model.conditional=false")
CLASSIFIER = ("a classifier for the quality numbers learns each image's class from the subfolder it is in",
              "score any images with eval.features=inception, or random_network (offline)")


def folder_classes(path, purpose=CONDITIONAL):
    """The class names of a folder: its first-level subfolders that hold images, sorted (Keras'
    labels="inferred" convention: pictures/cats/..., pictures/dogs/...). `purpose` says in the error why
    they are needed and what to do instead."""
    why, instead = purpose
    files = listing(path)
    groups = [group_of(name) for name, _, _ in files]
    if "" in groups:
        loose = path / files[groups.index("")][0]
        raise ConfigError(f"{loose} is not in a class subfolder: {why} ({path}/CLASS/...); move the images into "
                          f"subfolders, or {instead}")
    names = sorted(set(groups))
    if len(names) < 2:
        raise ConfigError(f"{why}, so it needs images in at least 2 class subfolders of {path} ({path}/CLASS/...), "
                          f"found {len(names)}; add them, or {instead}")
    return names


class ImageFile:
    """A cache's images: uint8 (N, H, W, C) in a .npy file, read by index like an array. Each read is an
    os.pread of the rows asked for, so the process holds only what it reads (the operating system's page
    cache keeps the file's busy parts); a memory map would count every page it had touched as the
    process's own, which grows to the whole file in an epoch."""

    def __init__(self, path):
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            self.shape, _, dtype = read_header(f)
            self.offset = f.tell()
        self.dtype, self.row = np.dtype(np.uint8), int(np.prod(self.shape[1:]))
        if dtype != self.dtype or len(self.shape) != 4 or \
                os.path.getsize(path) != self.offset + self.shape[0] * self.row:
            raise ValueError(f"{path} is not a whole uint8 (N, H, W, C) array")
        self.file = open(path, "rb")

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if isinstance(index, tuple):  # rows first, then the rest of the index on what was read
            rows = self[index[0]]
            return rows[index[1:]] if np.ndim(index[0]) == 0 and not isinstance(index[0], slice) else \
                rows[(slice(None), *index[1:])]
        if isinstance(index, slice) and index.step in (None, 1):  # a run of rows: one read
            start, stop, _ = index.indices(len(self))
            return self.read_run(start, max(stop - start, 0))
        numbers = np.asarray(index)
        numbers = np.flatnonzero(numbers) if numbers.dtype == bool else np.where(numbers < 0, numbers + len(self),
                                                                                 numbers)
        if numbers.size and not 0 <= numbers.min() <= numbers.max() < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} images")
        if numbers.ndim == 0:
            return self.read_run(int(numbers), 1)[0]
        images = np.empty((len(numbers), *self.shape[1:]), np.uint8)
        for row, number in zip(images, numbers):
            os.preadv(self.file.fileno(), [row], self.offset + int(number) * self.row)
        return images

    def read_run(self, start, count):
        images = np.empty((count, *self.shape[1:]), np.uint8)
        if count and os.preadv(self.file.fileno(), [images], self.offset + start * self.row) != images.nbytes:
            raise OSError(f"{self.file.name} is shorter than its header says")
        return images


class FolderCache:
    """A folder's images decoded once, at one shape: NAME.npy (uint8 images), NAME.groups.npy (each image's
    first-level subfolder, a number into the names in NAME.json) and NAME.json, written last, with the key of
    the files it was made from and how they were decoded. Anything missing, unreadable or made otherwise is
    decoded again. Runs that start together (or the workers of one run, on shared storage) take turns with
    a lock on NAME.lock: one decodes, the others then open what it made."""

    def __init__(self, folder, path, name):
        self.folder, self.path, self.name = folder, path, name
        self.images_file = folder / f"{name}.npy"
        self.groups_file, self.meta_file = folder / f"{name}.groups.npy", folder / f"{name}.json"

    def open(self, key, say_why=True):
        """(images, groups, group names, how many had transparency) if the cache holds the files of `key`; else
        None, after a line saying why when it holds other files (and `say_why`)."""
        try:
            meta = json.loads(self.meta_file.read_text())
        except (OSError, ValueError):
            return None
        if meta.get("key") != key:
            if say_why:
                print(f"note: {self.path} (or how it is decoded) changed since its images were cached: decoding "
                      f"it again", flush=True)
            return None
        try:
            images, groups = ImageFile(self.images_file), np.load(self.groups_file)
            if not len(groups) == len(images) == meta["count"]:
                return None
            return images, groups, meta["groups"], meta.get("transparent", 0)
        except (OSError, ValueError, KeyError):
            return None

    def open_or_build(self, files, whole, key, image_size, channels, background):
        """What open() gives, decoding the files first unless the cache holds them (or another run, holding
        the lock, has just made it)."""
        found = self.open(key)
        if found is not None:
            return found
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / f"{self.name}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
                found = self.open(key, say_why=False)
                if found is None:
                    self.build(files, whole, key, image_size, channels, background)
                    found = self.open(key, say_why=False)
        except OSError as e:
            raise ConfigError(f"cannot write the image cache in {self.folder}: {e.strerror or e}; make room there, or "
                              f"set data.cache_dir to a folder on a disk with room") from None
        if found is None:
            raise ConfigError(f"the images just cached in {self.folder} cannot be read back; check that disk, or set "
                              f"data.cache_dir to another folder")
        return found

    def build(self, files, whole, key, image_size, channels, background):
        """Decode `files` into the cache, in parallel over the cores, with a progress line; the lock is held."""
        for stale in self.folder.glob(f".{self.name}*.tmp*"):
            stale.unlink()  # left by a build that was killed: no other is under way while the lock is held
        self.meta_file.unlink(missing_ok=True)  # first: a kill while the new files replace the old leaves no key
        group_names = sorted({group_of(name) for name, _, _ in files})
        number = {group: k for k, group in enumerate(group_names)}
        groups = np.array([number[group_of(name)] for name, _, _ in files], np.int32)
        shape = (len(files), image_size, image_size, channels)
        size, free = int(np.prod(shape)), shutil.disk_usage(self.folder).free
        if size > free:
            raise ConfigError(f"the decoded images of {self.path} take {size / 1e6:,.0f} MB and {self.folder} has "
                              f"{free / 1e6:,.0f} MB free; make room there, or set data.cache_dir to a folder on a "
                              f"disk with room")
        transparent = []

        def write_images(temporary):
            with open(temporary, "wb") as f:
                np.lib.format.write_array_header_2_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
                for images, alpha in decoded(self.path, files, image_size, channels, background,
                                             f"{self.folder}, {size / 1e6:,.0f} MB"):
                    f.write(images.tobytes())
                    transparent.append(int(alpha.sum()))
        atomic.write(self.images_file, write_images, durable=True)
        atomic.write(self.groups_file, lambda temporary: np.save(temporary, groups), durable=True)
        if not unchanged(self.path, files, whole):
            raise ConfigError(f"{self.path} changed while its images were being decoded; run again once it "
                              f"has stopped changing")
        atomic.write(self.meta_file, lambda temporary: temporary.write_text(json.dumps(
            {"key": key, "count": len(files), "groups": group_names, "transparent": sum(transparent)})),
            durable=True)


def unchanged(path, files, whole):
    """Whether `files` (name, size, modification time) are still as they were, and for a `whole` folder's list,
    whether the folder still holds just them."""
    def now(name):
        stat = os.stat(path / name)
        return name, stat.st_size, stat.st_mtime_ns
    try:
        return (list_folder(path) if whole else [now(name) for name, _, _ in files]) == files
    except (OSError, ConfigError):
        return False


def decoded(path, files, image_size, channels, background, destination, batch=256):
    """The images of `files` in batches of uint8, with whether each had transparent pixels: decoded as a viewer
    shows them (decode_picture) in parallel over the cores, each centre-cropped to square and resized as
    Keras' image_dataset_from_directory(crop_to_aspect_ratio=True) does, then rounded. A progress line says
    how far it is and where the cache goes (`destination`); a file that cannot be decoded is named."""
    colour = schema.rgb(background)

    def picture(file):
        return decode_picture(file.decode(), channels, colour)

    def load(file):
        image, transparent = tf.numpy_function(picture, [file], [tf.uint8, tf.bool], stateful=False)
        image.set_shape([None, None, channels])
        image = keras.preprocessing.image.smart_resize(image, (image_size, image_size))  # bilinear, float32
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), transparent
    names = [str(path / name) for name, _, _ in files]
    batches = tf.data.Dataset.from_tensor_slices(names).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    line = progress.Progress(f"decoding {len(names):,} images of {path} into its cache (once: {destination})",
                             len(names))
    done = 0
    try:
        for images, transparent in batches.batch(batch).prefetch(2):
            done += len(images)
            line.show(done)
            yield images.numpy(), transparent.numpy()
    except tf.errors.OpError:  # the decoder's error reaches here without its file's name: find it
        for name in names[done:done + batch]:
            if not os.path.exists(name):
                raise ConfigError(f"{path} changed while its images were being decoded ({name} vanished); run "
                                  f"again once it has stopped changing") from None
            try:
                decode_picture(name, channels, colour)
            except Exception as e:  # Pillow raises many types for a damaged file
                raise unreadable(name, e) from None
        raise
    line.end()


def load_folder(cfg, labelled, same_listing=False):
    """A folder's images (an ImageFile over its cache, made on first use) and, if `labelled`, each one's class:
    the number of its subfolder among folder_classes, at data.image_size and data.channels or, left empty,
    the pictures' own. `same_listing`: the files this process listed when it last loaded the folder (a run's
    second look at its images), not the folder's files now."""
    path = Path(os.path.expanduser(cfg["data.path"]))
    if not path.is_dir():
        raise ConfigError(f"data.path {path} is not a folder; point it at the directory holding your images")
    files = LOADED_LISTINGS[path.resolve()] = listing(path) if same_listing else list_folder(path)
    cache, background = cache_folder(cfg, path), cfg["data.background"]
    native = (None, None) if cfg["data.image_size"] and cfg["data.channels"] else \
        folder_shape(path, files, cache, cfg["data.image_size"] is not None, schema.rgb(background))
    size, channels = schema.image_shape(cfg, native)
    chosen = files if cfg["data.limit"] is None else sample(files, cfg["data.limit"])
    name = f"{size}x{size}x{channels}" + ("" if cfg["data.limit"] is None else f"-limit{cfg['data.limit']}")
    key = listing_key(chosen, size, channels, DECODER, background)
    images, groups, group_names, transparent = FolderCache(cache, path, name).open_or_build(
        chosen, chosen is files, key, size, channels, background)
    if transparent and path.resolve() not in NOTED_TRANSPARENCY:
        NOTED_TRANSPARENCY.add(path.resolve())
        print(f"note: {transparent:,} of the {len(images):,} images have transparent pixels, composited onto "
              f"data.background={background}", flush=True)
    if not labelled:
        return images, None
    class_names = folder_classes(path, CONDITIONAL if cfg["model.conditional"] else CLASSIFIER)
    number = np.array([class_names.index(group) if group in class_names else -1 for group in group_names])
    return images, number[groups]
