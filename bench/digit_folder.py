"""Write the 10,000 bundled digits as a folder of PNGs: one subfolder per digit (DIR/0/00003.png, ...), the
way a user's own labelled pictures are laid out, or with --loose all in DIR itself, without labels (DIR/00003.png),
in the bundled order, so training on it sees what data.dataset=mnist_sample gives, minus the labels.

  python bench/digit_folder.py digits      # about 5 s; then: python train.py data.dataset=folder data.path=digits
  python bench/digit_folder.py --loose unlabelled
      then: python train.py --config configs/clusters.yaml data.dataset=folder data.path=unlabelled \\
            eval.classifier=mnist        (the committed MNIST classifier scores them)
  python bench/digit_folder.py --loose --repeat 30 big
      300,000 loose PNGs in seconds: each digit written once and linked 29 more times under other names
      (hard links where the file system has them, else copies): the many-pictures start-up's folder
  python bench/digit_folder.py --colour colour_digits
      each digit in a colour on a colour (RGB PNGs), both drawn at random, apart from the digit: a labelled
      colour folder, whose colours are a second way to group the images that has nothing to do with the classes
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # data/ imports TensorFlow


def coloured(image, rng):
    """A greyscale digit as RGB: its strokes in one colour over another, one dark and one light (so the digit
    stays legible), drawn from `rng` alone: the colours say nothing of the digit."""
    dark, light = rng.integers(0, 96, size=3), rng.integers(160, 256, size=3)
    ink, paper = (dark, light) if rng.random() < 0.5 else (light, dark)
    strokes = image[..., None] / 255
    return np.rint(strokes * ink + (1 - strokes) * paper).astype(np.uint8)


def write_digit_folder(path, loose=False, colour=False, repeat=1):
    """The bundled digits as PNGs under `path`; with `repeat` N, each also as N - 1 more names (NNNNN_rK.png)."""
    import shutil

    import imageio.v3 as iio

    from data import sources
    images, labels = sources.load_sample(), sources.load_sample_labels()
    rng = np.random.default_rng(0)
    for number, (image, label) in enumerate(zip(images, labels)):
        folder = path if loose else path / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        first = folder / f"{number:05d}.png"
        iio.imwrite(first, coloured(image, rng) if colour else image)
        for copy in range(1, repeat):
            try:
                os.link(first, folder / f"{number:05d}_r{copy}.png")
            except OSError:  # a file system without hard links
                shutil.copyfile(first, folder / f"{number:05d}_r{copy}.png")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder to write (must not exist yet)")
    parser.add_argument("--loose", action="store_true", help="all PNGs in DIR itself: no class subfolders")
    parser.add_argument("--colour", action="store_true", help="each digit in a random colour on another (RGB)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="each digit under N names (hard links): 10,000 x N pictures")
    args = parser.parse_args()
    if args.dir.exists():
        sys.exit(f"error: {args.dir} exists; choose a new folder")
    if args.repeat < 1:
        sys.exit(f"error: --repeat must be at least 1, got {args.repeat}")
    written = write_digit_folder(args.dir, args.loose, args.colour, args.repeat)
    print(f"wrote {len(list(written.rglob('*.png')))} PNGs under {args.dir}")
