import imageio.v3 as iio
import numpy as np

from record import images


def test_grid_tiles_images_with_gaps_and_scale():
    tiles = np.stack([np.full((2, 2, 1), value, np.uint8) for value in (0, 50, 100, 150)])
    picture = images.grid(tiles, columns=2, gap=1, scale=1)
    assert picture.shape == (7, 7)
    assert picture[1, 1] == 0 and picture[1, 4] == 50 and picture[4, 1] == 100 and picture[4, 4] == 150
    assert picture[0, 0] == 255 and picture[3, 3] == 255  # gaps
    assert images.grid(tiles, columns=2, gap=1, scale=3).shape == (21, 21)


def test_generator_range_maps_to_full_pixel_range():
    assert images.to_uint8(np.array([-1.0, 0.0, 1.0, 1.5])).tolist() == [0, 128, 255, 255]


def test_saved_grid_and_gif_read_back(tmp_path):
    frames = []
    for n in range(3):
        path = tmp_path / f"epoch_{n}.png"
        images.save_grid(np.full((16, 28, 28, 1), n / 3), path, columns=4)
        frames.append(path)
    assert iio.imread(frames[0]).shape == (4 * 29 * 3 + 3, 4 * 29 * 3 + 3)
    images.save_gif(images.read_pngs(frames), tmp_path / "progress.gif")
    assert len(iio.imread(tmp_path / "progress.gif", index=None)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0.png", "epoch_1.png", "epoch_2.png", "progress.gif"]


def grey_frames(path):
    """A GIF's frames as greyscale (imageio reads some palette GIFs as RGB, with equal channels)."""
    frames = iio.imread(path, index=None)
    if frames.ndim == 4:
        assert (frames[..., :1] == frames[..., :3]).all()
        frames = frames[..., 0]
    return frames


def test_progress_gif_grows_a_frame_at_a_time_and_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(0)
    pictures = [rng.integers(0, 256, (40, 30), dtype=np.uint8) for _ in range(4)]
    gif = images.ProgressGif(frame_ms=150)
    for count, picture in enumerate(pictures, 1):
        gif.add(picture)
        gif.save(tmp_path / "progress.gif")
        frames = grey_frames(tmp_path / "progress.gif")
        assert len(frames) == count and all(np.array_equal(a, b) for a, b in zip(frames, pictures))
    assert iio.immeta(tmp_path / "progress.gif")["loop"] == 0
    assert iio.immeta(tmp_path / "progress.gif", index=0)["duration"] == 150
    # a resumed run encodes its earlier frames once: the same file as the run that was never stopped
    images.ProgressGif(pictures[:3], frame_ms=150).save(tmp_path / "resumed.gif")
    assert (tmp_path / "resumed.gif").read_bytes() != (tmp_path / "progress.gif").read_bytes()
    resumed = images.ProgressGif(pictures[:3], frame_ms=150)
    resumed.add(pictures[3])
    resumed.save(tmp_path / "resumed.gif")
    assert (tmp_path / "resumed.gif").read_bytes() == (tmp_path / "progress.gif").read_bytes()


def test_colour_frames_keep_their_colours(tmp_path):
    ramp = np.linspace(0, 255, 64).astype(np.uint8)
    picture = np.stack([np.tile(ramp, (8, 1)), np.tile(ramp[::-1], (8, 1)), np.full((8, 64), 90, np.uint8)], -1)
    images.save_gif([picture, picture[::-1]], tmp_path / "colour.gif")
    frames = iio.imread(tmp_path / "colour.gif", index=None)[..., :3]
    assert np.array_equal(frames[0], picture) and np.array_equal(frames[1], picture[::-1])
