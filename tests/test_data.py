import gzip
import threading

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

from settings import config
from data import folder_cache, pipeline, sources
from settings.schema import ConfigError


def test_the_bundled_sample_is_the_10000_mnist_test_digits():
    images = sources.load_sample()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0


def test_mnist_falls_back_to_the_sample_with_a_warning_when_the_download_fails(monkeypatch):
    def no_network():
        raise Exception("URL fetch failure: Name or service not known")
    monkeypatch.setattr(sources, "download_mnist", no_network)
    warnings = []
    images, _, used = sources.load_images(config.load(overrides=["data.limit=100"]), warn=warnings.append)
    assert used == "mnist_sample"
    assert images.shape == (100, 28, 28, 1)
    assert "could not download MNIST" in warnings[0] and "data.path" in warnings[0]


def test_a_local_mnist_npz_and_an_idx_folder_are_read(tmp_path):
    sample = sources.load_sample()[:50]
    np.savez(tmp_path / "mnist.npz", x_train=sample, y_train=np.zeros(50, np.uint8))
    cfg = config.load(overrides=[f"data.path={tmp_path / 'mnist.npz'}"])
    images, _, used = sources.load_images(cfg)
    assert used == "mnist" and np.array_equal(images[..., 0], sample)

    header = np.array([2051, 50, 28, 28], ">u4").tobytes()
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + sample.tobytes())
    images, _, _ = sources.load_images(config.load(overrides=[f"data.path={tmp_path}"]))
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
        sources.load_images(config.load(overrides=[f"data.path={path}"]))


def test_missing_path_and_too_large_limit_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        sources.load_images(config.load(overrides=[f"data.path={tmp_path / 'nope.npz'}"]))
    with pytest.raises(ConfigError, match="data.limit=20000 is larger than the 10000 images of mnist_sample"):
        sources.load_images(config.load(overrides=["data.dataset=mnist_sample", "data.limit=20000"]))


def test_batches_are_scaled_to_the_tanh_range_and_keep_the_smaller_last_batch():
    images = sources.load_sample()[:10, ..., None]
    batches = list(pipeline.epoch_batches(images, None, batch_size=4, seed=1, epoch=1, noise_dim=3))
    assert [len(images) for images, _ in batches] == [4, 4, 2]
    assert [z.shape for _, z in batches] == [(4, 3), (4, 3), (2, 3)]  # one noise vector per image
    again = list(pipeline.epoch_batches(images, None, batch_size=4, seed=1, epoch=1, noise_dim=3))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again))  # the seed fixes the noise, too
    pixels = np.concatenate([images.numpy() for images, _ in batches])
    assert pixels.shape == (10, 28, 28, 1)
    assert pixels.min() == -1.0 and pixels.max() == 1.0


def test_seeds_next_to_each_other_draw_unrelated_epochs():
    """Seed s's epoch n + 1 and seed s + 1's epoch n: the same batches when epochs were seeded by seed + epoch."""
    def first_batch(seed, epoch):
        return next(iter(pipeline.epoch_batches(sources.load_sample()[:64, ..., None], None, batch_size=8, seed=seed,
                                                epoch=epoch, noise_dim=3)))
    for (seed_a, epoch_a), (seed_b, epoch_b) in (((0, 2), (1, 1)), ((1, 1), (2, 0)), ((0, 1), (0, 2))):
        (images_a, noise_a), (images_b, noise_b) = first_batch(seed_a, epoch_a), first_batch(seed_b, epoch_b)
        assert not np.array_equal(images_a, images_b) and not np.array_equal(noise_a, noise_b)
    again = first_batch(0, 2)  # and each (seed, epoch) draws the same batch every time: resume stays exact
    assert np.array_equal(again[0], first_batch(0, 2)[0]) and np.array_equal(again[1], first_batch(0, 2)[1])


def test_shuffling_image_numbers_gives_the_batches_of_the_tutorials_shuffle_of_the_images_themselves():
    """Up to data.shuffle_buffer images, the batches (and noise) of tf.data shuffling the scaled images with a
    buffer, as the tutorial does; beyond, an exact permutation too, another for each epoch."""
    images, labels = sources.load_sample()[:300, ..., None], sources.load_sample_labels()[:300]
    seed = pipeline.epoch_seed(5, 3)
    tutorial = tf.data.Dataset.from_tensor_slices((pipeline.scale(images), labels.astype(np.int32))).shuffle(
        60000, seed=seed).batch(64)
    ours = list(pipeline.epoch_batches(images, labels, 64, seed=5, epoch=3, noise_dim=2))
    for (pixels, classes), (our_pixels, our_classes, z) in zip(tutorial, ours, strict=True):
        assert np.array_equal(pixels, our_pixels) and np.array_equal(classes, our_classes) and z.shape == (
            len(pixels), 2)

    def order(epoch, buffer):  # labels 0..299 say which image went where
        batches = pipeline.epoch_batches(np.zeros((300, 1, 1, 1), np.uint8), np.arange(300), 64, seed=5, epoch=epoch,
                                         noise_dim=2, shuffle_buffer=buffer)
        return np.concatenate([classes.numpy() for _, classes, _ in batches])
    large = order(3, buffer=100)  # 300 images beyond a buffer of 100: one shuffle of all their numbers
    assert sorted(large) == list(range(300)) and not np.array_equal(large, order(3, buffer=300))
    assert np.array_equal(large, order(3, buffer=100)) and not np.array_equal(large, order(4, buffer=100))


class Recording:
    """Images that note which of them are read."""

    def __init__(self, images):
        self.images, self.shape, self.read = images, images.shape, []

    def __len__(self):
        return len(self.images)

    def __getitem__(self, numbers):
        self.read.extend(numbers.tolist())
        return self.images[numbers]


def test_a_resumed_epoch_skips_the_batches_done_and_two_devices_read_disjoint_parts_of_every_batch():
    images = sources.load_sample()[:100, ..., None]
    whole = list(pipeline.epoch_batches(images, None, 16, seed=2, epoch=1, noise_dim=4))
    resumed = list(pipeline.epoch_batches(images, None, 16, seed=2, epoch=1, noise_dim=4, skip=3))
    assert len(resumed) == len(whole) - 3
    assert all(np.array_equal(a, b) for x, y in zip(whole[3:], resumed) for a, b in zip(x, y))

    reads = {}
    for part in (0, 1):
        recording = Recording(images)
        pieces = list(pipeline.epoch_batches(recording, None, 16, seed=2, epoch=1, noise_dim=4, parts=2, mine=(part,)))
        reads[part] = recording.read
        for (pixels, z), (piece_pixels, piece_z) in zip(whole, pieces, strict=True):
            half = len(pixels) // 2  # the last batch of 4 is cut into 2 and 2
            wanted = slice(0, half) if part == 0 else slice(half, None)
            assert np.array_equal(pixels[wanted], piece_pixels) and np.array_equal(z[wanted], piece_z)
    assert len(reads[0]) == len(reads[1]) == 50 and not set(reads[0]) & set(reads[1])


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
    images, _, used = sources.load_images(cfg)
    assert used == "folder" and images.shape == (12, 32, 32, 3) and images.dtype == np.uint8
    assert (cfg["data.image_size"], cfg["data.channels"]) == (None, None)  # the settings stay as the user set them
    assert np.array_equal(images[0], iio.imread(tmp_path / "image_000.png"))  # not resized: the same pixels


def test_greyscale_pngs_with_alpha_are_composited_onto_white_and_stay_greyscale(tmp_path, capsys):
    write_pngs(tmp_path, 4, (28, 28, 2))  # PNG mode LA: grey and alpha
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"])
    images, _, _ = sources.load_images(cfg)
    assert images.shape == (4, 28, 28, 1)
    grey, alpha = np.moveaxis(iio.imread(tmp_path / "image_000.png").astype(float), -1, 0)
    assert np.abs(images[0, ..., 0] - (grey * alpha / 255 + 255 * (1 - alpha / 255))).max() <= 1  # over white
    assert "4 of the 4 images have transparent pixels, composited onto data.background=white" in capsys.readouterr().out


def test_a_transparent_png_is_fed_as_composited_onto_data_background_and_a_new_background_decodes_again(tmp_path):
    """A red disc on a transparent square whose hidden pixels are green streaks: the network must see the disc
    on the background, never the streaks."""
    picture = np.zeros((16, 16, 4), np.uint8)
    picture[..., 1] = 255  # green under the transparency, as a drawing program may leave it
    inside = np.hypot(*np.mgrid[-7.5:8.5, -7.5:8.5]) < 5
    picture[inside] = (255, 0, 0, 255)
    picture[5, 0, 3] = 128  # one half-transparent pixel
    iio.imwrite(tmp_path / "disc.png", picture)
    fed = next(iter(pipeline.epoch_batches(sources.load_images(folder_settings(tmp_path))[0], None, 1, 0, 1, 2)))[0]
    seen = np.rint(fed[0].numpy() * 127.5 + 127.5)  # what the network gets, back in 0-255
    assert np.array_equal(seen[inside], np.tile([255, 0, 0], (inside.sum(), 1)))
    outside = ~inside
    outside[5, 0] = False
    assert np.array_equal(seen[outside], np.full((outside.sum(), 3), 255))  # white: no green streak
    assert np.abs(seen[5, 0] - [127, 255, 127]).max() <= 1  # half green, half white
    black = sources.load_images(folder_settings(tmp_path, "data.background=black"))[0][0]
    assert black[0, 0].tolist() == [0, 0, 0] and black[8, 8].tolist() == [255, 0, 0]
    assert np.abs(black[5, 0].astype(int) - [0, 128, 0]).max() <= 1


def test_a_folder_of_every_kind_of_picture_is_read_as_a_viewer_shows_it(tmp_path):
    """PNG, a JPEG turned by its EXIF orientation, WebP, a 16-bit PNG, a CMYK JPEG and a greyscale BMP, mixed
    among colour ones, all become ordinary 8-bit colour at one size."""
    from PIL import Image
    tall = np.zeros((16, 8, 3), np.uint8)
    tall[:, :4] = 255  # the left half of the picture as seen is white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: a viewer rotates it 90 degrees clockwise
    Image.fromarray(np.rot90(tall, 1)).save(tmp_path / "phone.jpg", exif=exif, quality=100)
    Image.fromarray(np.full((8, 8, 3), (10, 200, 30), np.uint8)).save(tmp_path / "web.webp", lossless=True)
    Image.fromarray((np.full((8, 8), 40000)).astype(np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray(np.full((8, 8, 3), (200, 50, 50), np.uint8)).convert("CMYK").save(tmp_path / "print.jpg",
                                                                                      quality=100)
    Image.fromarray(np.full((8, 8), 90, np.uint8)).save(tmp_path / "grey.bmp")
    Image.fromarray(np.full((8, 8, 3), (1, 2, 3), np.uint8)).save(tmp_path / "plain.png")
    cfg = folder_settings(tmp_path, "data.image_size=8")
    images = sources.load_images(cfg)[0][:]
    assert images.shape == (6, 8, 8, 3)
    by_name = dict(zip(sorted(name for name in ("phone.jpg", "web.webp", "deep.png", "print.jpg", "grey.bmp",
                                                "plain.png")), images))
    assert by_name["grey.bmp"][0, 0].tolist() == [90, 90, 90]
    assert by_name["deep.png"][0, 0].tolist() == [156, 156, 156]  # 40000 / 257, not clipped to 255
    assert by_name["web.webp"][0, 0].tolist() == [10, 200, 30] and by_name["plain.png"][0, 0].tolist() == [1, 2, 3]
    assert np.abs(by_name["print.jpg"][0, 0].astype(int) - [200, 50, 50]).max() <= 3
    phone = by_name["phone.jpg"].mean(axis=(0, 2))  # each column's brightness, as a viewer shows the photo
    assert phone[:3].min() > 200 and phone[5:].max() < 60  # white on the left: turned upright before cropping


def test_a_folder_of_mixed_sizes_is_resized_to_data_image_size_and_greyscale_when_asked(tmp_path):
    write_pngs(tmp_path, 4, (40, 30, 3))
    write_pngs(tmp_path / "more", 4, (64, 64))
    with pytest.raises(ConfigError, match="not all one square size.*set data.image_size"):
        sources.load_images(config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"]))
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}", "data.image_size=16"])
    assert sources.load_images(cfg)[0].shape == (8, 16, 16, 3)  # some are colour, so all are, unless asked
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}", "data.image_size=16",
                                 "data.channels=1"])
    assert sources.load_images(cfg)[0].shape == (8, 16, 16, 1)


@pytest.mark.parametrize("make_folder, message", [
    (lambda p: (p / "notes.txt").write_text("no images here"), "has no images"),
    (lambda p: (p / "broken.png").write_bytes(b"\x89PNG not really"), "broken.png cannot be read as an image \\(.*\\); remove or replace it"),
    (lambda p: write_pngs(p, 2, (30, 30)), "are 30x30.*cannot be built"),
])
def test_bad_folders_are_rejected_with_a_clear_message(tmp_path, make_folder, message):
    make_folder(tmp_path)
    with pytest.raises(ConfigError, match=message):
        sources.load_images(config.load(overrides=["data.dataset=folder", f"data.path={tmp_path}"]))


def test_keras_datasets_are_conformed_and_a_failed_download_says_what_to_do(monkeypatch):
    colour = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    classes = np.array([[3], [5], [0], [9], [1], [3]], np.uint8)  # Keras gives CIFAR-10's labels as (N, 1)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((colour, classes), (None, None)))
    cfg = config.load(overrides=["data.dataset=cifar10"])
    images, _, used = sources.load_images(cfg)
    assert used == "cifar10" and np.array_equal(images, colour) and images.shape[1:] == (32, 32, 3)
    labels = sources.load_images(config.load(overrides=["data.dataset=cifar10", "model.conditional=true"]))[1]
    assert labels.tolist() == [3, 5, 0, 9, 1, 3] and sources.CLASS_NAMES["cifar10"][labels[0]] == "cat"
    grey = sources.load_images(config.load(overrides=["data.dataset=cifar10", "data.channels=1", "data.image_size=64"]))[0]
    assert grey.shape == (6, 64, 64, 1)

    def no_network():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: Name or service not known")
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(ConfigError, match="could not download fashion_mnist.*~/.keras/datasets"):
        sources.load_images(config.load(overrides=["data.dataset=fashion_mnist"]))


def test_mnist_can_be_trained_as_32x32_colour():
    images, _, _ = sources.load_images(config.load(overrides=["data.dataset=mnist_sample", "data.limit=5",
                                                              "data.image_size=32", "data.channels=3"]))
    assert images.shape == (5, 32, 32, 3)
    assert np.array_equal(images[..., 0], images[..., 2])  # grey copied into each colour


def keras_decoding(folder, size, channels):
    """The folder's images as Keras' own directory loader decodes them, rounded to uint8."""
    found = keras.utils.image_dataset_from_directory(
        folder, labels=None, color_mode="rgb" if channels == 3 else "grayscale", batch_size=None,
        image_size=(size, size), shuffle=False, crop_to_aspect_ratio=True, verbose=False)
    return np.stack([np.clip(np.rint(image), 0, 255).astype(np.uint8) for image in found.as_numpy_iterator()])


def folder_settings(folder, *more):
    return config.load(overrides=["data.dataset=folder", f"data.path={folder}", *more])


def test_a_folder_is_decoded_once_into_a_cache_that_reads_back_what_keras_decodes(tmp_path, capsys, monkeypatch):
    write_pngs(tmp_path / "pictures", 6, (40, 30, 3))
    iio.imwrite(tmp_path / "pictures" / "photo.jpg", np.random.default_rng(1).integers(0, 256, (50, 70, 3), np.uint8))
    images, _, _ = sources.load_images(folder_settings(tmp_path / "pictures", "data.image_size=16"))
    assert "decoding 7 images" in capsys.readouterr().out
    assert isinstance(images, folder_cache.ImageFile) and images.shape == (7, 16, 16, 3)
    keras_images = keras_decoding(tmp_path / "pictures", 16, 3)
    jpeg = [name for name, _, _ in folder_cache.list_folder(tmp_path / "pictures")].index("photo.jpg")
    pngs = np.arange(7) != jpeg
    assert np.array_equal(images[:][pngs], keras_images[pngs])  # bit for bit; two JPEG decoders differ a little
    assert np.abs(images[jpeg].astype(int) - keras_images[jpeg]).max() <= 6
    assert np.array_equal(images[[5, 0]], images[:][[5, 0]]) and np.array_equal(images[6, ..., 1], images[:][6, ..., 1])

    def no_decoding(*args):
        raise AssertionError("decoded again")
    monkeypatch.setattr(folder_cache, "decoded", no_decoding)
    again, _, _ = sources.load_images(folder_settings(tmp_path / "pictures", "data.image_size=16"))
    assert np.array_equal(again[:], images[:]) and capsys.readouterr().out == ""


def test_a_changed_folder_or_a_damaged_or_half_written_cache_is_decoded_again(tmp_path, capsys):
    write_pngs(tmp_path, 4, (8, 8))
    settings = folder_settings(tmp_path)
    sources.load_images(settings)
    iio.imwrite(tmp_path / "image_000.png", np.full((8, 8), 7, np.uint8))  # another picture in place of one
    images, _, _ = sources.load_images(folder_settings(tmp_path))
    assert "changed since its images were cached" in capsys.readouterr().out
    assert np.array_equal(images[:], keras_decoding(tmp_path, 8, 1)) and images[0].max() == 7

    cached = next((tmp_path / folder_cache.CACHE_FOLDER).rglob("8x8x1.npy"))
    for damage in (lambda: cached.write_bytes(cached.read_bytes()[:-5]),  # truncated
                   lambda: cached.with_suffix(".json").unlink()):  # killed before its key was written
        damage()
        images, _, _ = sources.load_images(folder_settings(tmp_path))
        assert "decoding 4 images" in capsys.readouterr().out
        assert np.array_equal(images[:], keras_decoding(tmp_path, 8, 1))


def test_a_folder_that_cannot_be_written_into_is_cached_in_the_users_cache_or_in_data_cache_dir(tmp_path, capsys,
                                                                                                monkeypatch):
    write_pngs(tmp_path / "pictures", 3, (8, 8))
    (tmp_path / "pictures" / folder_cache.CACHE_FOLDER).write_text("")  # a file where the cache folder would go
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    images, _, _ = sources.load_images(folder_settings(tmp_path / "pictures"))
    assert "cannot be written into" in capsys.readouterr().out and len(images) == 3
    assert list((tmp_path / "home-cache" / "dcgan").rglob("8x8x1.npy"))
    sources.load_images(folder_settings(tmp_path / "pictures", f"data.cache_dir={tmp_path / 'chosen'}"))
    assert list((tmp_path / "chosen").rglob("8x8x1.npy"))


def test_data_limit_samples_every_image_with_the_same_chance_whatever_its_subfolder(tmp_path, capsys):
    """A 90%/10% folder: sampled with subfolders or with the same pictures loose, the same images, and the
    minority class near its 10% (a sample by class would give it half)."""
    (tmp_path / "loose").mkdir()
    for number in range(400):
        picture = np.zeros((8, 8), np.uint8)
        picture[0, :2] = number % 256, number // 256  # which picture it is
        labelled = tmp_path / "labelled" / ("rare" if number % 10 == 0 else "common") / f"{number:03d}.png"
        labelled.parent.mkdir(parents=True, exist_ok=True)
        for path in (labelled, tmp_path / "loose" / f"{number:03d}.png"):
            iio.imwrite(path, picture)
    images, labels, _ = sources.load_images(folder_settings(tmp_path / "labelled", "data.limit=100",
                                                            "model.conditional=true"))
    assert "decoding 100 images" in capsys.readouterr().out  # only the sample is decoded
    loose = sources.load_images(folder_settings(tmp_path / "loose", "data.limit=100"))[0]
    assert sorted(map(tuple, images[:, 0, :2, 0].tolist())) == sorted(map(tuple, loose[:, 0, :2, 0].tolist()))
    assert 3 <= np.bincount(labels)[1] <= 20  # "rare" is class 1: about 10 of 100
    again, _, _ = sources.load_images(folder_settings(tmp_path / "labelled", "data.limit=100"))
    assert np.array_equal(again[:], images[:])  # the same sample for every run


def test_an_undecodable_image_or_a_folder_changing_while_it_is_decoded_is_one_clear_error(tmp_path, monkeypatch):
    write_pngs(tmp_path, 4, (8, 8))
    (tmp_path / "nested" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(ConfigError, match="broken.png cannot be read as an image \\(.*\\); remove or replace it"):
        sources.load_images(folder_settings(tmp_path, "data.image_size=8", "data.channels=1"))  # no header read first
    (tmp_path / "nested" / "broken.png").unlink()
    decoding = folder_cache.decoded

    def edited_meanwhile(path, files, *args):
        for number, images in enumerate(decoding(path, files, *args)):
            iio.imwrite(tmp_path / "image_002.png", np.zeros((8, 8), np.uint8))
            yield images
    monkeypatch.setattr(folder_cache, "decoded", edited_meanwhile)
    with pytest.raises(ConfigError, match="changed while its images were being decoded"):
        sources.load_images(folder_settings(tmp_path))
    assert not list((tmp_path / folder_cache.CACHE_FOLDER).rglob("8x8x1.json"))  # no cache claims to hold those images


@pytest.mark.slow
def test_two_runs_decoding_one_folder_at_once_leave_a_whole_cache_decoded_once(tmp_path, capsys):
    write_pngs(tmp_path, 600, (8, 8, 3))
    start, results = threading.Barrier(2), [None, None]

    def run(number):
        start.wait()
        results[number] = sources.load_images(folder_settings(tmp_path))[0][:]
    threads = [threading.Thread(target=run, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = np.stack([iio.imread(tmp_path / name) for name, _, _ in folder_cache.list_folder(tmp_path)])
    assert np.array_equal(results[0], expected) and np.array_equal(results[1], expected)  # every row
    assert np.array_equal(sources.load_images(folder_settings(tmp_path))[0][:], expected)
    assert capsys.readouterr().out.count(": 600 in ") == 1  # decoded once: the other waited, then opened it
    assert not list((tmp_path / folder_cache.CACHE_FOLDER).glob(".*tmp*"))


def test_a_read_only_folder_whose_cache_was_made_before_uses_that_cache(tmp_path, capsys, monkeypatch):
    write_pngs(tmp_path / "pictures", 3, (8, 8))
    made = sources.load_images(folder_settings(tmp_path / "pictures"))[0][:]
    capsys.readouterr()

    def read_only(*args, **kwargs):  # as a folder on a read-only disk answers (root may write anywhere here)
        raise OSError(30, "Read-only file system")
    def no_decoding(*args):
        raise AssertionError("decoded again")
    monkeypatch.setattr(folder_cache.tempfile, "TemporaryFile", read_only)
    monkeypatch.setattr(folder_cache, "decoded", no_decoding)
    again = sources.load_images(folder_settings(tmp_path / "pictures"))[0][:]
    assert np.array_equal(again, made) and capsys.readouterr().out == ""
