"""What `python train.py` spends besides its training steps, and the whole program against the tutorial's.

  python bench/overhead.py            # about 12 minutes on 2 CPU cores; prints four tables
  python bench/overhead.py --quick    # one repeat of each, about 5 minutes
  python bench/overhead.py --parts c  # only (c); any of a, b, c, d

On a GPU the steps take milliseconds, so whatever the host does around them becomes a large share of a
run. This measures it on the CPU, where it can be separated from the steps:

(a) Host time per step: train.py with a step made trivially cheap (widths of 2, 1x1 kernels, batch 8), so
    what remains is what every step pays on the host whatever its arithmetic: Python, dispatch,
    TensorFlow's executor and the input pipeline. For train.steps_per_call 1 and the default, and with XLA.
(b) Critical path per epoch outside the steps and the scoring's arithmetic: train.py (in this process,
    timed from inside) with the default settings on 256 digits, one step per epoch, for 51 epochs; the
    wall time from one epoch's start to the next, less its steps and its quality scoring, over epochs
    3-12 and 41-50; with output.write_in_background on (default) and off.
(c) Start-up: from launching `python train.py` to its first training step (its start, and its end, which
    includes tracing the step), against a bare Python process's `import tensorflow`.
(d) Whole process: `python train.py` against the tutorial's program (bench/tutorial.py), 3 epochs on the
    first 4,096 bundled digits, in rounds that run the tutorial and each variant of train.py once in
    turn: with eval.every=0 (like for like: the tutorial scores nothing), the same with one step per
    call, and with the defaults.

Nothing else should run meanwhile: the numbers are wall-clock times.
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
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TRIVIAL = ["data.dataset=mnist_sample", "data.limit=4096", "train.batch_size=8", "model.generator_widths=[2,2,2]",
           "model.discriminator_widths=[2,2]", "model.noise_dim=2", "model.kernel_size=1", "eval.every=0",
           "train.epochs=3"]
FIRST_STEP = "--first-step"  # the child of (c): prints the time of its first step and stops


def run_train(scratch, name, settings):
    """`python train.py` with `settings` in a scratch folder; its metrics.csv rows."""
    subprocess.run([sys.executable, str(ROOT / "train.py"), *settings, f"output.dir={scratch}",
                    f"output.run_name={name}"], check=True, capture_output=True, cwd=ROOT)
    with open(Path(scratch) / name / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def host_time_per_step(repeats):
    from settings import config
    default = config.load(ROOT / "config.yaml")["train.steps_per_call"]
    settings = {"train.steps_per_call=1": ["train.steps_per_call=1"],
                f"train.steps_per_call={default} (default)": [],
                f"train.steps_per_call={default}, train.jit_compile=true": ["train.jit_compile=true"]}
    per_step = {label: [] for label in settings}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(repeats):
            for number, (label, extra) in enumerate(settings.items()):  # alternated
                rows = run_train(scratch, f"trivial{number}-{repeat}", TRIVIAL + extra)
                # epoch 1 also traces the step
                per_step[label] += [float(row["train_seconds"]) / (4096 // 8) for row in rows[1:]]
    print(f"\n(a) Host time per step, a trivially cheap step (batch 8, 512 steps per epoch), epochs 2-3 of "
          f"{repeats} alternated runs each")
    print("| settings | ms per step (median) | min | max |\n|---|--:|--:|--:|")
    for label, values in per_step.items():
        print(f"| {label} | {1000 * statistics.median(values):.2f} | {1000 * min(values):.2f} | "
              f"{1000 * max(values):.2f} |")


def timed_run(scratch, name, settings):
    """Run train.main in this process, timing from inside: each epoch's start, its compiled training calls
    (waited for) and its quality scoring. Returns per epoch (wall, steps, scoring) seconds."""
    from training import epoch, gan
    from quality import metrics
    import train
    starts, steps, scoring = [], [], []
    make_train_loop, run_epoch, score_generator = gan.make_train_loop, epoch.run_epoch, metrics.Evaluator.score_generator

    def timed_loop(train_step, step_sums, *args):
        train_steps = make_train_loop(train_step, step_sums, *args)

        def timed(*call):
            started = time.perf_counter()
            train_steps(*call)
            step_sums.numpy()  # waits for the device
            steps[-1] += time.perf_counter() - started
        return timed

    def timed_epoch(*args):
        starts.append(time.perf_counter())
        steps.append(0.0)
        scoring.append(0.0)
        return run_epoch(*args)

    def timed_scoring(self, generator):
        started = time.perf_counter()
        result = score_generator(self, generator)
        scoring[-1] += time.perf_counter() - started
        return result

    gan.make_train_loop, epoch.run_epoch, metrics.Evaluator.score_generator = timed_loop, timed_epoch, timed_scoring
    try:
        train.main(settings + [f"output.dir={scratch}", f"output.run_name={name}"])
    finally:
        gan.make_train_loop, epoch.run_epoch, metrics.Evaluator.score_generator = (make_train_loop, run_epoch,
                                                                                   score_generator)
    return [(starts[n + 1] - starts[n], steps[n], scoring[n]) for n in range(len(starts) - 1)]


def critical_path(epochs):
    settings = ["data.dataset=mnist_sample", "data.limit=256", f"train.epochs={epochs + 1}"]
    early, late = range(3, 13), range(epochs - 9, epochs + 1)  # epochs 1-2 also trace and load
    print(f"\n(b) Critical path per epoch outside the steps and the scoring: default settings, 256 digits (one step "
          f"per epoch), medians of epochs {early[0]}-{early[-1]} and {late[0]}-{late[-1]}")
    print("| output.write_in_background | epoch | wall s | steps s | scoring s | outside both s |\n"
          "|---|--:|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as scratch:
        for background in ("true", "false"):
            epochs_timed = timed_run(scratch, f"critical-{background}",
                                     settings + [f"output.write_in_background={background}"])
            for window in (early, late):
                timed = [epochs_timed[number - 1] for number in window]
                wall, steps, scoring = (statistics.median(values) for values in zip(*timed))
                outside = statistics.median(w - s - q for w, s, q in timed)
                print(f"| {background} | {window[0]}-{window[-1]} | {wall:.2f} | {steps:.2f} | {scoring:.2f} | "
                      f"{outside:.3f} |")


def first_step_child(settings):
    """In the child process: train.py, stopped after its first training step, printing when that step began
    and when it ended (its first call traces and compiles the step)."""
    from training import gan
    import train
    make_train_loop = gan.make_train_loop

    def stop_after_first_step(*args):
        train_steps = make_train_loop(*args)

        def first_call(iterator, first_step, count, batch_size):
            print(f"first step at {time.time()}", flush=True)
            train_steps(iterator, first_step, 1, batch_size)
            args[1].numpy()  # the statistics: waits for the step
            print(f"first step done at {time.time()}", flush=True)
            os._exit(0)
        return first_call
    gan.make_train_loop = stop_after_first_step
    with tempfile.TemporaryDirectory() as scratch:
        train.main(settings + [f"output.dir={scratch}", "output.run_name=startup"])


def startup(repeats):
    def seconds(command, prefix):
        times = []
        for _ in range(repeats):
            launched = time.time()
            output = subprocess.run(command, capture_output=True, text=True, cwd=ROOT).stdout
            printed = [line for line in output.splitlines() if line.startswith(prefix)]
            times.append((float(printed[0].split()[-1]) if printed else time.time()) - launched)
        return statistics.median(times)
    base = ["data.dataset=mnist_sample", "data.limit=4096"]
    print(f"\n(c) Start-up, median of {repeats}")
    print("| from launch to | seconds |\n|---|--:|")
    imported = "import time, tensorflow; print('imported at', time.time())"
    print(f"| `import tensorflow` done, in a bare Python process | "
          f"{seconds([sys.executable, '-c', imported], 'imported at'):.2f} |")
    for label, settings in (("eval.every=0", base + ["eval.every=0"]), ("default settings", base)):
        child = [sys.executable, __file__, FIRST_STEP, *settings]
        print(f"| the first step of `python train.py`, {label}: its start | {seconds(child, 'first step at'):.2f} |")
        print(f"| ... its end (TensorFlow traces and compiles the step) | {seconds(child, 'first step done at'):.2f} |")


def whole_process(rounds):
    common = ["data.dataset=mnist_sample", "data.limit=4096", "train.epochs=3"]
    variants = {"eval.every=0": ["eval.every=0"],
                "eval.every=0, train.steps_per_call=1": ["eval.every=0", "train.steps_per_call=1"],
                "default settings": []}
    print(f"\n(d) Whole process, 3 epochs on 4,096 bundled digits, {rounds} rounds, each running the tutorial and "
          f"every train.py variant once in turn; speed = the tutorial's time / train.py's, in the same round")
    print("| train.py settings | train.py s (median) | tutorial s (median) | speed vs tutorial (median of rounds) |"
          " rounds |\n|---|--:|--:|--:|---|")
    seconds = {label: [] for label in ["tutorial", *variants]}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(rounds):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "bench" / "tutorial.py"), "--epochs", "3", "--limit", "4096",
                            "--out", f"{scratch}/tutorial-{round_}"], check=True, capture_output=True)
            seconds["tutorial"].append(time.perf_counter() - started)
            for number, (label, settings) in enumerate(variants.items()):
                started = time.perf_counter()
                subprocess.run([sys.executable, str(ROOT / "train.py"), *common, *settings, f"output.dir={scratch}",
                                f"output.run_name=variant{number}-{round_}"], check=True, capture_output=True)
                seconds[label].append(time.perf_counter() - started)
    tutorial = seconds["tutorial"]
    for label in variants:
        ratios = [t / o for t, o in zip(tutorial, seconds[label])]
        print(f"| {label} | {statistics.median(seconds[label]):.1f} | {statistics.median(tutorial):.1f} | "
              f"{statistics.median(ratios):.2f}x | {', '.join(f'{r:.2f}' for r in ratios)} |")


def main():
    if sys.argv[1:2] == [FIRST_STEP]:
        first_step_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repeat of each, 26 epochs in (b)")
    parser.add_argument("--parts", default="abcd", help="which measurements to make, e.g. --parts c")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    print(f"python bench/overhead.py{' --quick' if args.quick else ''}: {os.cpu_count()} CPU cores")
    parts = {"a": lambda: host_time_per_step(repeats), "c": lambda: startup(repeats),
             "d": lambda: whole_process(repeats), "b": lambda: critical_path(25 if args.quick else 50)}
    for part in "acdb":  # the long one last
        if part in args.parts:
            parts[part]()


if __name__ == "__main__":
    main()
