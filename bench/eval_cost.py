"""What the per-epoch quality check costs: scoring eval.num_samples digits and writing the record.

  python bench/eval_cost.py outputs/RUN [--repeats 5]

Times, on a trained run's generator, the work that eval.every=1 adds to each epoch — generating and
scoring the samples (metrics.Evaluator) and writing metrics.csv, metrics.png and TensorBoard
(runlog.RunLog.add) — and prints the median next to the run's own median epoch time.
"""

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    import config
    import metrics
    import runlog

    cfg = config.load(base=config.flatten(config.read_yaml(args.run / "config.yaml"), "config.yaml"))
    generator = keras.models.load_model(args.run / "generator.keras", compile=False)
    evaluator = metrics.Evaluator(cfg["eval.num_samples"])
    with open(args.run / "metrics.csv", newline="") as f:
        rows = [runlog.parse_row(row) for row in csv.DictReader(f)]
    picture = np.zeros((351, 351), np.uint8)
    scoring, recording = [], []
    with tempfile.TemporaryDirectory() as scratch:
        log = runlog.RunLog(Path(scratch), last_epoch=0, real_frechet=2.7)
        log.rows = rows[:-1]
        for _ in range(args.repeats + 1):  # the first round warms up (tracing, matplotlib import)
            started = time.perf_counter()
            quality = evaluator.score_generator(generator)
            scored = time.perf_counter()
            log.add({**rows[-1], **quality})
            log.write_tensorboard(log.rows[-1], picture)
            log.plot(log.rows)
            log.rows.pop()
            scoring.append(scored - started)
            recording.append(time.perf_counter() - scored)
    epoch = statistics.median(row["seconds"] for row in rows)
    score, record = statistics.median(scoring[1:]), statistics.median(recording[1:])
    print(f"scoring {cfg['eval.num_samples']} samples: {score:.2f} s; writing csv/png/TensorBoard: {record:.2f} s; "
          f"together {score + record:.2f} s = {100 * (score + record) / (epoch - score - record):.1f}% of the run's "
          f"median epoch without them ({epoch:.1f} s with them, {len(rows)} epochs)")


if __name__ == "__main__":
    main()
