"""Write the 10,000 bundled digits as a folder of PNGs: one subfolder per digit (DIR/0/00003.png, ...), the
way a user's own labelled pictures are laid out, or with --loose all in DIR itself, without labels (DIR/00003.png),
in the bundled order, so training on it sees what data.dataset=mnist_sample gives, minus the labels.

  python bench/digit_folder.py digits      # about 5 s; then: python train.py data.dataset=folder data.path=digits
  python bench/digit_folder.py --loose unlabelled
      then: python train.py --config configs/clusters.yaml data.dataset=folder data.path=unlabelled \\
            eval.classifier=mnist        (the committed MNIST classifier scores them)
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # data.py imports TensorFlow


def write_digit_folder(path, loose=False):
    import imageio.v3 as iio

    import data
    images, labels = data.load_sample(), data.load_sample_labels()
    for number, (image, label) in enumerate(zip(images, labels)):
        folder = path if loose else path / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / f"{number:05d}.png", image)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder to write (must not exist yet)")
    parser.add_argument("--loose", action="store_true", help="all PNGs in DIR itself: no class subfolders")
    args = parser.parse_args()
    if args.dir.exists():
        sys.exit(f"error: {args.dir} exists; choose a new folder")
    print(f"wrote {len(list(write_digit_folder(args.dir, args.loose).rglob('*.png')))} PNGs under {args.dir}")
