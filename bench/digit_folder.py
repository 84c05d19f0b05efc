"""Write the 10,000 bundled digits as a labelled folder, one subfolder per digit (DIR/0/00003.png, ...), the
way a user's own labelled pictures are laid out: a dataset to try data.dataset=folder and its evaluator on.

  python bench/digit_folder.py digits      # about 5 s; then: python train.py data.dataset=folder data.path=digits
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # data.py imports TensorFlow


def write_digit_folder(path):
    import imageio.v3 as iio

    import data
    images, labels = data.load_sample(), data.load_sample_labels()
    for number, (image, label) in enumerate(zip(images, labels)):
        (path / str(label)).mkdir(parents=True, exist_ok=True)
        iio.imwrite(path / str(label) / f"{number:05d}.png", image)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2 or Path(sys.argv[1]).exists():
        sys.exit("usage: python bench/digit_folder.py DIR   (DIR must not exist yet)")
    print(f"wrote {len(list(write_digit_folder(Path(sys.argv[1])).rglob('*.png')))} PNGs under {sys.argv[1]}")
