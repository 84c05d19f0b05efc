"""Image grids and the progress GIF, written atomically so an interrupted run never leaves half a file."""

import math
import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np


def to_uint8(images):
    """Generator output in [-1, 1] -> pixels 0..255 (the inverse of the training data's scaling)."""
    return np.clip(np.rint(np.asarray(images) * 127.5 + 127.5), 0, 255).astype(np.uint8)


def grid(images, columns=None, gap=1, scale=3):
    """Tile (N, H, W, C) uint8 images into one picture: `columns` wide (default: square-ish), white gaps,
    each pixel repeated `scale` times so 28-pixel digits are big enough to see."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap, channels), 255, np.uint8)
    for i, image in enumerate(images):
        top, left = gap + (i // columns) * (height + gap), gap + (i % columns) * (width + gap)
        canvas[top:top + height, left:left + width] = image
    canvas = canvas.repeat(scale, axis=0).repeat(scale, axis=1)
    return canvas[..., 0] if channels == 1 else canvas


def write_atomically(path, write):
    """Call write(temporary_path), then rename over `path`: readers see the old file or the new one."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a full disk or a kill leaves no half-written file behind
        raise


def save_png(picture, path):
    write_atomically(path, lambda tmp: iio.imwrite(tmp, picture))


def save_grid(images, path, columns=None):
    """Save generator output (N, H, W, C) in [-1, 1] as one PNG grid; returns the grid's pixels."""
    picture = grid(to_uint8(images), columns)
    save_png(picture, path)
    return picture


def read_pngs(paths):
    return [iio.imread(path) for path in paths]


def save_gif(pictures, path, frame_ms=200):
    """A looping GIF of same-sized pictures, one frame each."""
    frames = np.stack(pictures)
    write_atomically(path, lambda tmp: iio.imwrite(tmp, frames, duration=frame_ms, loop=0))
