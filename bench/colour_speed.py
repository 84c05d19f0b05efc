"""Images per second of training at colour sizes: the default settings, the self-conditioned recipe
(configs/clusters.yaml) at 32x32x3 and 64x64x3, and the colour recipes at their sizes (configs/colour32.yaml,
its discriminator twice as wide; configs/colour64.yaml, its generator), against the arithmetic their steps must do.

  python bench/colour_speed.py               # 2 rounds, about 15 minutes on 2 CPU cores
  python bench/colour_speed.py --rounds 1 --images 1024
  python bench/colour_speed.py --recipe configs/colour64.yaml --size 64 --levers train.reconstruction_weight=1 \
      model.skip_excitation=true    # the recipe alone and with each setting, alternated

Each row runs `python train.py` on the bundled digits resized to the size and given three channels (the
arithmetic of a step depends on the shape, not on what the pictures show) with scoring off, for 2 epochs of
--images images, and reads epoch 2's `train_seconds` from metrics.csv: the whole training loop, its input
pipeline included, without start-up, tracing or the recipe's clustering (a column of its own). Rounds run the
rows in turn, so a busy machine slows each alike. The arithmetic: TensorFlow's profiler counts one image's forward
pass through each network; a step is 3 generator passes and 7 discriminator passes (forward on real and on
generated images, backward twice for D's loss and once, to its input, for G's), as bench/speed.py counts it
for 28x28 digits; against this CPU's best float32 matrix product it says what share of the machine a row uses.
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import speed  # bench/: the arithmetic's count and the CPU's rate, as part 1a measures them

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROWS = [(recipe, size, []) for recipe in ("default", "configs/clusters.yaml") for size in (32, 64)] + [
    ("configs/colour32.yaml", 32, []), ("configs/colour64.yaml", 64, []),
    ("default", 64, ["train.mixed_precision=mixed_bfloat16"])]


def images_per_second(recipe, size, extra, images, scratch):
    """Epoch 2's training images/s of one train.py run, and its batch size."""
    name = f"r{time.monotonic_ns()}"
    recipe_file = [] if recipe == "default" else ["--config", str(ROOT / recipe)]
    subprocess.run([sys.executable, str(ROOT / "train.py"), *recipe_file, "data.dataset=mnist_sample",
                    f"data.limit={images}", f"data.image_size={size}", "data.channels=3", "eval.every=0",
                    "train.epochs=2", *extra, f"output.dir={scratch}", f"output.run_name={name}"],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    with open(Path(scratch) / name / "metrics.csv", newline="") as f:
        second = list(csv.DictReader(f))[1]
    return images / float(second["train_seconds"])


def step_flops(recipe, size, extra=()):
    """MFLOP of one image's training step with the recipe's models (under the settings `extra`) at size x size x 3;
    the generator and discriminator's usual passes only (train.reconstruction_weight's decoder and its second pass
    of D over the real images are not counted)."""
    import tensorflow as tf

    from settings import config
    import models
    cfg = config.load(ROOT / recipe if recipe != "default" else None,
                      overrides=["data.dataset=mnist_sample", f"data.image_size={size}", "data.channels=3", *extra])
    class_names = [str(k) for k in range(cfg["model.clusters"])]
    return speed.training_flops(tf, *models.from_config(cfg, class_names=class_names)) / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--images", type=int, default=2048, help="images an epoch (default 2048)")
    parser.add_argument("--recipe", default="configs/colour64.yaml", help="with --levers: the recipe compared")
    parser.add_argument("--size", type=int, default=64, help="with --levers: its image size")
    parser.add_argument("--levers", nargs="+", metavar="KEY=VALUE",
                        help="instead of the recipes' rows: --recipe alone, then with each of these settings")
    args = parser.parse_args()
    rows = [(args.recipe, args.size, extra) for extra in [[]] + [[lever] for lever in args.levers]] \
        if args.levers else ROWS
    rates = {row: [] for row in range(len(rows))}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):
            for number, (recipe, size, extra) in enumerate(rows):
                rates[number].append(images_per_second(recipe, size, extra, args.images, scratch))
    import tensorflow as tf
    best = speed.matrix_product_rate(tf) / 1e9
    print(f"This CPU's best float32 matrix product: {best:.0f} GFLOP/s.")
    print("| recipe | image | settings | MFLOP a step, per image | images/s (each round) | GFLOP/s | share of the "
          "matrix product |")
    print("|---|---|---|--:|--:|--:|--:|")
    for number, (recipe, size, extra) in enumerate(rows):
        flops, median = step_flops(recipe, size, extra), statistics.median(rates[number])
        print(f"| {recipe} | {size}x{size}x3 | {' '.join(extra) or '-'} | {flops:,.0f} | "
              f"{', '.join(f'{rate:.0f}' for rate in rates[number])} | {flops * median / 1e3:.0f} | "
              f"{100 * flops * median / 1e3 / best:.0f}% |", flush=True)


if __name__ == "__main__":
    main()
