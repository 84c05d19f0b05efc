"""Kill a training run with SIGKILL at random moments, resume it each time, and check nothing was lost.

  python bench/soak_kill.py [--kills 20] [--epochs 40] [--limit 512] [--seed 1]

Not part of the test suite (it takes minutes). After the last kill the run is resumed to the end and
compared with an uninterrupted run of the same seed: metrics.csv must have each epoch exactly once,
the GIF one frame per epoch, every PNG must read, no temporary file may remain, and every epoch's
losses and quality numbers must equal the uninterrupted run's.
"""

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from output import atomic  # noqa: E402  (the repository's modules, found through ROOT)
from record.columns import TIMING_NAMES  # noqa: E402
from output import run_files  # noqa: E402


def train(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], capture_output=True,
                          text=True, **kwargs)


def rows(run):
    """metrics.csv's rows without their timings: everything else must match an uninterrupted run's exactly."""
    with open(run / run_files.METRICS, newline="") as f:
        return [{key: value for key, value in row.items() if key not in TIMING_NAMES} for row in csv.DictReader(f)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=40, help="enough that the run outlasts the kills")
    parser.add_argument("--limit", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1, help="seed of the random kill moments")
    args = parser.parse_args()
    import imageio.v3 as iio

    chance = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        settings = ["data.dataset=mnist_sample", f"data.limit={args.limit}", f"train.epochs={args.epochs}",
                    f"output.dir={scratch}", "eval.num_samples=500"]
        run = Path(scratch) / "soak"
        kills = 0
        while kills < args.kills:
            if not run_files.is_resumable(run):
                subprocess.run(["rm", "-rf", str(run)])  # killed before it saved its settings: nothing to resume
            resuming = run.exists()
            command = ["--resume", run] if resuming else [*settings, "output.run_name=soak"]
            process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *map(str, command)],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            # Timed from the run's own progress, not the clock (start-up takes 4 s here, far more on a loaded
            # machine): from the run's "training on" line, 0 to 2 epoch lines, then a random part of an epoch's
            # time as the run reports it: during a step, or while an epoch's files or checkpoint are written (a
            # new run's first epoch included, before its first checkpoint).
            lines = iter(process.stdout)
            epoch_seconds = 2.0  # until the run reports an epoch's time
            next((line for line in lines if line.startswith("training on")), None)
            for _ in range(chance.randrange(3)):
                line = next((line for line in lines if line.startswith("epoch ")), None)
                if line is None:
                    break
                epoch_seconds = float(line.split()[2].rstrip("s"))
            time.sleep(chance.uniform(0.0, epoch_seconds))
            if process.poll() is not None:  # finished (or failed) before the kill: check what there is
                break
            process.kill()
            process.wait()
            kills += 1
            print(f"kill {kills}: after {len(rows(run)) if (run / run_files.METRICS).exists() else 0} epochs", flush=True)
        finished = train("--resume", run)
        assert finished.returncode == 0, finished.stderr[-3000:]
        straight = train(*settings, "output.run_name=straight")
        assert straight.returncode == 0, straight.stderr[-3000:]

        problems = []
        if [row["epoch"] for row in rows(run)] != [str(n) for n in range(1, args.epochs + 1)]:
            problems.append(f"metrics.csv epochs {[row['epoch'] for row in rows(run)]}")
        if rows(run) != rows(Path(scratch) / "straight"):
            problems.append("metrics differ from the uninterrupted run")
        if len(iio.imread(run / "progress.gif", index=None)) != args.epochs:
            problems.append("progress.gif has the wrong number of frames")
        for png in (run / "images").glob("*.png"):
            iio.imread(png)
        if atomic.stale(run):
            problems.append(f"temporary files left: {atomic.stale(run)}")
        print(f"{kills} kills of one run at random moments, then resumed to epoch {args.epochs}: "
              + ("nothing lost, nothing duplicated, identical to the uninterrupted run" if not problems
                 else "PROBLEMS: " + "; ".join(problems)))
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
