import imageio.v3 as iio
import numpy as np

import images


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
