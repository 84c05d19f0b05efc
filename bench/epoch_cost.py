"""What an epoch costs besides its steps: one-step epochs, timed from outside and from metrics.csv.

  python bench/epoch_cost.py                      # 3 rounds, about 8 minutes on 2 CPU cores
  python bench/epoch_cost.py --program /old/checkout --rounds 2   # another checkout's train.py, alternated

`python train.py data.dataset=mnist_sample data.limit=64 train.batch_size=64 eval.every=0` trains one step an
epoch, so nearly all of an epoch is what it does around its step: the epoch's input pipeline, the grid and its
PNG, the GIF, metrics.csv and metrics.png, TensorBoard, the checkpoint. Two measures, per round:
  wall: the process's wall time with train.epochs=40 less with train.epochs=10, over 30 (start-up cancels);
  row:  epochs 11-40 of the 40-epoch run, mean of metrics.csv's `seconds` (an epoch's start to its row) and of
        `train_seconds` (its step); the difference is the epoch's own cost on the main thread.
Rounds alternate the programs (this checkout first), so a busy machine slows each alike; compare within a round.
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

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ["data.dataset=mnist_sample", "data.limit=64", "train.batch_size=64", "eval.every=0"]


def timed_run(program, epochs, out):
    """(wall seconds, the run folder) of `program`'s train.py for `epochs` one-step epochs."""
    name = f"e{epochs}-{time.monotonic_ns()}"
    started = time.perf_counter()
    subprocess.run([sys.executable, str(program / "train.py"), *SETTINGS, f"train.epochs={epochs}",
                    f"output.dir={out}", f"output.run_name={name}"], cwd=program, check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return time.perf_counter() - started, out / name


def row_means(run, first=11):
    with open(run / "metrics.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if int(row["epoch"]) >= first]
    return tuple(statistics.mean(float(row[column]) for row in rows) for column in ("seconds", "train_seconds"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", type=Path, action="append", default=[],
                        help="another checkout whose train.py to measure too (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    programs = [ROOT, *[p.resolve() for p in args.program]]
    print("| program | round | wall: (40 epochs - 10) / 30 | row: seconds | row: train_seconds | row: outside the step |")
    print("|---|--:|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(1, args.rounds + 1):
            for program in programs:
                short, _ = timed_run(program, 10, Path(scratch))
                long, run = timed_run(program, 40, Path(scratch))
                seconds, train_seconds = row_means(run)
                print(f"| {program} | {number} | {(long - short) / 30:.3f} s | {seconds:.3f} s | {train_seconds:.3f} s "
                      f"| {seconds - train_seconds:.3f} s |", flush=True)


if __name__ == "__main__":
    main()
