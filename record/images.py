"""Image grids and the progress GIF, written atomically so an interrupted run never leaves half a file."""

import io
import math

import imageio.v3 as iio
import numpy as np
from PIL import Image

from output import atomic


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


def save_png(picture, path):
    atomic.write(path, lambda tmp: iio.imwrite(tmp, picture))


def save_grid(images, path, columns=None):
    """Save generator output (N, H, W, C) in [-1, 1] as one PNG grid; returns the grid's pixels."""
    picture = grid(to_uint8(images), columns)
    save_png(picture, path)
    return picture


def read_pngs(paths):
    return [iio.imread(path) for path in paths]


def gif_frame(picture, frame_ms):
    """One picture as a GIF frame block (graphic control extension, image descriptor, its own colour table,
    compressed pixels), cut from the single-frame GIF Pillow writes: frames encoded once can be joined into
    a GIF of any length. Greyscale pictures keep their exact values; colour ones are quantised to 256 colours."""
    image = Image.fromarray(picture)
    if image.mode != "L":
        image = image.quantize(256)
    encoded = io.BytesIO()
    image.save(encoded, format="GIF")
    gif = encoded.getvalue()
    flags, position = gif[10], 13  # after the header and the logical screen descriptor
    table = b""
    if flags & 0x80:  # a global colour table: it becomes the frame's local one
        table = gif[position:position + 3 * 2 ** ((flags & 7) + 1)]
        position += len(table)
    while gif[position] == 0x21:  # extensions before the image (Pillow's own): skipped, sub-block by sub-block
        position += 2
        while gif[position]:
            position += gif[position] + 1
        position += 1
    descriptor = bytearray(gif[position:position + 10])
    if table:
        descriptor[9] = (descriptor[9] & 0x40) | 0x80 | (flags & 7)  # keep interlacing; a local table of its size
    control = b"\x21\xf9\x04\x00" + round(frame_ms / 10).to_bytes(2, "little") + b"\x00\x00"
    return control + bytes(descriptor) + table + gif[position + 10:-1]  # all but the trailer


class ProgressGif:
    """A looping GIF that grows by one frame per epoch: each frame is compressed once, when added, so
    saving the GIF costs the same at epoch 50 as at epoch 1 (but for writing its bytes)."""

    def __init__(self, pictures=(), frame_ms=200):
        self.frame_ms, self.frames, self.size = frame_ms, [], None
        for picture in pictures:
            self.add(picture)

    def add(self, picture):
        self.size = picture.shape[1], picture.shape[0]
        self.frames.append(gif_frame(picture, self.frame_ms))

    def save(self, path):
        header = (b"GIF89a" + self.size[0].to_bytes(2, "little") + self.size[1].to_bytes(2, "little")
                  + b"\x70\x00\x00"  # no global colour table: each frame has its own
                  + b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop forever
        atomic.write(path, lambda tmp: tmp.write_bytes(header + b"".join(self.frames) + b";"))


def save_gif(pictures, path, frame_ms=200):
    """A looping GIF of same-sized pictures, one frame each."""
    gif = ProgressGif(pictures, frame_ms)
    gif.save(path)
