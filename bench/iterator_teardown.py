"""How long deleting an epoch's tf.data iterator takes, with tf.data's autotuner and with fixed parallelism.

  python bench/iterator_teardown.py              # 40 epochs of each, alternated, about 4 minutes
  python bench/iterator_teardown.py --busy 2     # with 2 processes spinning beside it, as on a shared machine

Each epoch builds pipeline.epoch_batches' pipeline over 4,096 bundled digits (16 batches of 256), takes every
batch with a stand-in for a training step between them (matrix products on all cores), then times
`del iterator`: what train.py's epoch pays when run_epoch returns. The autotuned pipeline is the same one
with pipeline.READERS set to tf.data.AUTOTUNE: map and prefetch autotuned, the autotuner on.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def spin():
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40, help="epochs of each pipeline")
    parser.add_argument("--busy", type=int, default=0, help="processes spinning beside the measurement")
    args = parser.parse_args()
    import tensorflow as tf

    from data import pipeline, sources
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    images = sources.load_sample()[:4096]
    step = tf.function(lambda x: tf.reduce_sum(tf.linalg.matmul(x, x)))
    work = tf.random.normal([1500, 1500])
    original = pipeline.READERS
    seconds = {"fixed (train.py)": [], "autotuned": []}
    for epoch in range(1, args.epochs + 1):
        for label in seconds:
            pipeline.READERS = tf.data.AUTOTUNE if label == "autotuned" else original
            batches = pipeline.epoch_batches(images, None, 256, 0, epoch, 100)
            iterator = iter(batches)
            for _ in range(16):
                next(iterator)
                step(work).numpy()
            started = time.perf_counter()
            del iterator
            seconds[label].append(time.perf_counter() - started)
    print(f"python bench/iterator_teardown.py --epochs {args.epochs} --busy {args.busy}: {os.cpu_count()} CPU cores")
    print("| pipeline | median s | max s | deletions over 0.1 s |\n|---|--:|--:|--:|")
    for label, values in seconds.items():
        print(f"| {label} | {statistics.median(values):.3f} | {max(values):.3f} | "
              f"{sum(v > 0.1 for v in values)} of {len(values)} |")


if __name__ == "__main__":
    main()
