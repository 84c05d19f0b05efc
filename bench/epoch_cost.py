"""What an epoch costs besides its steps: one-step epochs, timed from outside and from metrics.csv.

  python bench/epoch_cost.py                      # 3 rounds, about 8 minutes on 2 CPU cores
  python bench/epoch_cost.py --program /old/checkout --rounds 2   # another checkout's train.py, alternated
  python bench/epoch_cost.py --split              # where this checkout's epoch goes, timed inside one process

`python train.py data.dataset=mnist_sample data.limit=64 train.batch_size=64 eval.every=0` trains one step an
epoch, so nearly all of an epoch is what it does around its step: the epoch's input pipeline, the grid and its
PNG, the GIF, metrics.csv and metrics.png, TensorBoard, the checkpoint. Two measures, per round:
  wall: the process's wall time with train.epochs=40 less with train.epochs=10, over 30 (start-up cancels);
  row:  epochs 11-40 of the 40-epoch run, mean of metrics.csv's `seconds` (an epoch's start to its row) and of
        `train_seconds` (its step); the difference is the epoch's own cost on the main thread.
Rounds alternate the programs (this checkout first), so a busy machine slows each alike; compare within a round.
The wall measure subtracts two whole processes, so a second of noise in either moves it by 0.03 s.

--split runs this checkout's train.main in this process (60 epochs) with a clock around each part of an epoch:
the epoch's input pipeline (pipeline.epoch_batches), its step (the compiled loop, which also starts the iterator),
the grid, the record (metrics.csv and the files it hands to the background threads), the checkpoint, and the
rest; medians over epochs 11-60, and the epoch's wall time from one epoch's end to the next.
"""

import argparse
import collections
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


def split(epochs=60, first=11):
    """Median seconds of each part of a one-step epoch, timed in this process (see the docstring)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from data import pipeline
    from training import epoch_files, loop, state
    import train
    spent, ends = collections.defaultdict(list), []

    def clocked(part, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[part].append(time.perf_counter() - started)
        return timed
    pipeline.epoch_batches = clocked("input pipeline built", pipeline.epoch_batches)
    loop.draw_checked = clocked("grid drawn", loop.draw_checked)
    epoch_files.EpochRecord.add = clocked("record: row, grid PNG, files handed to threads", epoch_files.EpochRecord.add)
    state.TrainingState.save = clocked("checkpoint", state.TrainingState.save)
    built = state.TrainingState.__init__

    def init(self, *args, **kwargs):
        built(self, *args, **kwargs)
        self.train_steps = clocked("step (and the iterator's start)", self.train_steps)
    state.TrainingState.__init__ = init
    summary = loop.summary
    loop.summary = lambda *args: (ends.append(time.perf_counter()), summary(*args))[1]
    with tempfile.TemporaryDirectory() as scratch:
        train.main([*SETTINGS, f"train.epochs={epochs}", f"output.dir={scratch}", "output.run_name=split"])
    print("| part of a one-step epoch | median s |")
    print("|---|--:|")
    walls = [b - a for a, b in zip(ends, ends[1:])][first - 2:]
    medians = {part: statistics.median(times[first - 1:]) for part, times in spent.items()}
    for part, median in medians.items():
        print(f"| {part} | {median:.3f} |")
    print(f"| the rest (the epoch's wall time less the parts) | {statistics.median(walls) - sum(medians.values()):.3f} |")
    print(f"| **the epoch's wall time** | **{statistics.median(walls):.3f}** |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", type=Path, action="append", default=[],
                        help="another checkout whose train.py to measure too (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--split", action="store_true", help="time the parts of this checkout's epoch, in-process")
    args = parser.parse_args()
    if args.split:
        return split()
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
