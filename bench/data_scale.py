"""How the input pipeline scales with the number of images: peak memory and start-up of train.py on folders of
6,000 to 600,000 colour JPEGs (80x64, in 10 class subfolders, made from the bundled digits), trained at 64x64.

  python bench/data_scale.py                          # 6,000 and 60,000 images: about 10 minutes
  python bench/data_scale.py --sizes 6000 60000 600000 --scratch /big/disk   # 600,000 needs ~10 GB of disk
  python bench/data_scale.py --sizes 30000 300000 600000 --steps 100 --set train.batch_size=32   # to 100 steps
  python bench/data_scale.py --pipeline-only          # only the pipeline's and the step's images/s
  python bench/data_scale.py --scoring --sizes 60000  # peak memory with the quality numbers on, against off
  python bench/data_scale.py --loose --sizes 30000 300000   # the recipe for unlabelled pictures: its clustering
  python bench/data_scale.py --loose --sizes 30000 300000 --set train.cluster_axes=0   # k-means in all dimensions

For each size, train.py runs twice (`data.image_size=64 eval.every=0`): a first run, which decodes the folder into
its cache, and a re-run, which opens the cache. Each is stopped with Ctrl-C a few seconds after its "training on"
line, and reports the time from the process start to that line and the process's peak resident memory (ru_maxrss,
which counts the pages of any file the process maps, too), and with --scoring also the peak of its anonymous memory
alone (RssAnon in /proc/PID/status, polled: what the process allocates, without the file pages it maps). Then the pipeline alone (pipeline.epoch_batches over the
largest cache, no training) against the tutorial's step at 64x64 (the step train.py builds for that size).
The folders are kept in --scratch for the next call (600,000 take about two minutes: UNIQUE written, the
rest linked).

With --loose: folders of N loose PNGs (the bundled digits linked N / 10,000 times, bench/digit_folder.py), trained
with configs/clusters.yaml at 32x32 as a user would, scored (the folder's random-network evaluator made on the
first run, in --scratch): a first run and a re-run each, to the first training step (the first progress line, after
the epoch's clustering), with the clustering's seconds and its split as train.py prints it, and the peak memory.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


UNIQUE = 60_000  # JPEGs written; a larger folder links these again under other names (decoding costs the same)


def write_folder(path, count):
    """`count` 80x64 colour JPEGs under path/0 ... path/9: the bundled digits, coloured and shaded (a digit
    with a tinted background, so the JPEGs decode like photos, not like flat synthetic pictures). Beyond UNIQUE,
    hard links to them (copies where the file system has none): 600,000 in seconds, not an hour."""
    import imageio.v3 as iio
    import numpy as np
    from PIL import Image

    from data import sources
    digits, labels = sources.load_sample(), sources.load_sample_labels()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.6, 1.0, 80)[None, :, None]
    for number in range(count):
        k = number % len(digits)
        if number >= UNIQUE:  # number % UNIQUE is the same digit, so in the same class folder
            target = path / str(labels[k]) / f"{number:06d}.jpg"
            source = path / str(labels[k]) / f"{number % UNIQUE:06d}.jpg"
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
            continue
        big = np.asarray(Image.fromarray(digits[k]).resize((80, 64), Image.BILINEAR), np.float32)[..., None] / 255
        background, ink = rng.uniform(40, 220, 3), rng.uniform(0, 255, 3)
        image = (1 - big) * background * ramp + big * ink + rng.normal(0, 6, (64, 80, 3))
        folder = path / str(labels[k])
        folder.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / f"{number:06d}.jpg", np.clip(image, 0, 255).astype(np.uint8), quality=90)
    (path / ".complete").write_text(str(count))


def folder(scratch, count):
    path = scratch / f"jpegs-{count}"
    if not (path / ".complete").is_file():
        print(f"writing {count} JPEGs to {path}", flush=True)
        write_folder(path, count)
    return path


def anonymous_peak(pid, peak):
    """Poll the process's RssAnon (kB) every 0.1 s until it ends, keeping the largest in peak[0]."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:  # the process has ended
            return
        found = re.search(r"RssAnon:\s+(\d+) kB", text)
        if found is None:  # a zombie: ended, not yet waited for
            return
        peak[0] = max(peak[0], int(found.group(1)))
        time.sleep(0.1)


def start_up(path, scratch, name, scoring=False, loose=False, settings=(), steps=0):
    """Seconds from the process start to train.py's "training on" line, the process's peak memory (MB), the
    decoding's images/s, the peak of its anonymous memory (MB), and the clustering line's numbers (or None).
    The process is stopped 5 s after that line, or with `steps` once its progress line counts that many batches
    (of train.batch_size, which `settings` may set) — then the last number is the seconds to those steps.
    `scoring`: with the quality numbers on (the default eval.every), from an evaluator folder of its own, so the
    data's classifier is trained first (eval.classifier=auto), as on a user's first run of a labelled folder.
    `loose`: configs/clusters.yaml at 32x32, scored with an evaluator folder shared by the runs of the folder,
    timed to the first progress line instead (the first step, after the clustering). `settings`: more KEY=VALUE."""
    evaluators = scratch / "evaluators" / (path.name if loose else name)
    quality = [f"eval.evaluator_dir={evaluators}"] if scoring or loose else ["eval.every=0"]
    recipe_file = ROOT / "configs" / "clusters.yaml" if loose else None
    recipe = ["--config", str(recipe_file), "data.image_size=32"] if loose else [
        "data.image_size=64", "train.steps_per_call=1"]
    command = [sys.executable, str(ROOT / "train.py"), *recipe, "data.dataset=folder", f"data.path={path}",
               *quality, *settings, f"output.dir={scratch / 'runs'}", f"output.run_name={name}"]
    until = "training epoch 1/" if loose else "training on"
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    anonymous = [0]
    poller = threading.Thread(target=anonymous_peak, args=(process.pid, anonymous), daemon=True)
    poller.start()
    from settings import config
    batch = config.load(recipe_file, overrides=settings)["train.batch_size"]  # as train.py will read it
    seconds, lines, decoding, clustering, stepped = None, [], None, None, None
    for line in process.stdout:
        lines.append(line)
        decoding = re.search(r"images of .* in ([\d.]+) s \(([\d,]+) images/s\)", line) or decoding
        clustering = re.search(r"clusters for epoch 1 in ([\d.]+) s \(the discriminator's features ([\d.]+) s, "
                               r"k-means ([\d.]+) s", line) or clustering
        if seconds is None and line.startswith(until):
            seconds = time.perf_counter() - started
            if not steps:
                time.sleep(5)  # the first steps: the pipeline is reading batches
                process.send_signal(signal.SIGINT)
        done = re.match(r"training epoch 1/\d+: ([\d,]+)/", line)
        if steps and stepped is None and done and int(done.group(1).replace(",", "")) >= steps * batch:
            stepped = time.perf_counter() - started
            process.send_signal(signal.SIGINT)
    poller.join()  # it stops at the zombie, before wait4 frees the pid for another process
    _, status, usage = os.wait4(process.pid, 0)
    if seconds is None:
        sys.exit(f"train.py did not start training:\n{''.join(lines[-5:])}")
    return (seconds, usage.ru_maxrss / 1024, decoding and decoding.group(2), anonymous[0] / 1024,
            clustering and [float(x) for x in clustering.groups()], stepped)


def loose_folder(scratch, count):
    """`count` loose PNGs (a multiple of 10,000): the bundled digits, each under count / 10,000 names."""
    path = scratch / f"loose-{count}"
    if not (path / ".complete").is_file():
        from digit_folder import write_digit_folder
        print(f"linking {count} PNGs in {path}", flush=True)
        write_digit_folder(path, loose=True, repeat=count // 10_000)
        (path / ".complete").write_text(str(count))
    return path


def loose_start_up(scratch, sizes, settings):
    """The recipe for unlabelled pictures on loose folders: a first run and a re-run each (see the docstring)."""
    print("| images | first run: to the first step | re-run: to the first step | its clustering (features + k-means)"
          " | peak memory (of it anonymous) |")
    print("|---|--:|--:|--:|--:|")
    for count in sizes:
        path = loose_folder(scratch, count)
        stamp = time.strftime("%H%M%S")
        for made in (path / ".dcgan_cache", scratch / "evaluators" / path.name):  # a first run makes them again
            shutil.rmtree(made, ignore_errors=True)
        first = start_up(path, scratch, f"loose-first-{count}-{stamp}", loose=True, settings=settings)
        again = start_up(path, scratch, f"loose-again-{count}-{stamp}", loose=True, settings=settings)
        print(f"| {count:,} | {first[0]:.1f} s | {again[0]:.1f} s | {again[4][0]:.1f} s ({again[4][1]:.1f} + "
              f"{again[4][2]:.1f}) | {again[1]:,.0f} MB ({again[3]:,.0f} MB) |", flush=True)


def pipeline_rate(path, seconds=20):
    """Images/s of pipeline.epoch_batches over the folder's cache, and of the tutorial's step at 64x64 (batch 256)."""
    import keras
    import tensorflow as tf

    from settings import config
    from data import pipeline, sources
    from training import gan
    import models
    cfg = config.load(overrides=["data.dataset=folder", f"data.path={path}", "data.image_size=64"])
    images, labels, _ = sources.load_images(cfg)
    cfg = {**cfg, "data.channels": images.shape[3]}  # the folder's own, which the models are built for
    batches = pipeline.epoch_batches(images, None, 256, seed=0, epoch=1, noise_dim=100)
    count, started = 0, time.perf_counter()
    for real, _ in batches:
        count += len(real)
        if time.perf_counter() - started > seconds:
            break
    read = count / (time.perf_counter() - started)

    generator, discriminator = models.from_config(cfg)
    step = gan.make_train_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    real, z = next(iter(batches))
    step((real, z))  # traced
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        tf.nest.map_structure(lambda t: t.numpy(), step((real, z)))
        steps += 1
    return read, steps * 256 / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[6000, 60000])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/dcgan-data-scale"))
    parser.add_argument("--pipeline-only", action="store_true")
    parser.add_argument("--loose", action="store_true",
                        help="loose PNG folders trained with configs/clusters.yaml: start-up with its clustering")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="settings added to train.py's command (e.g. train.cluster_axes=0; not with --scoring)")
    parser.add_argument("--steps", type=int, default=0,
                        help="run each to this many training steps (instead of 5 s past its start) and time them")
    parser.add_argument("--scoring", action="store_true",
                        help="only the re-run with eval.every=0 against one with scoring on (its classifier trained "
                             "first), alternated")
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    if args.loose:
        loose_start_up(args.scratch, args.sizes, args.set)
        return
    if args.scoring:
        print("| images | eval.every=0: to training | peak memory | of it anonymous | scoring on: to training "
              "| peak memory | of it anonymous |")
        print("|---|--:|--:|--:|--:|--:|--:|")
        for count in args.sizes:
            path = folder(args.scratch, count)
            stamp = time.strftime("%H%M%S")
            start_up(path, args.scratch, f"cache-{count}-{stamp}")  # the cache, made before either is measured
            off = start_up(path, args.scratch, f"off-{count}-{stamp}")
            on = start_up(path, args.scratch, f"on-{count}-{stamp}", scoring=True)
            print(f"| {count:,} | {off[0]:.1f} s | {off[1]:,.0f} MB | {off[3]:,.0f} MB | {on[0]:.1f} s | {on[1]:,.0f} MB "
                  f"| {on[3]:,.0f} MB |", flush=True)
        return
    if not args.pipeline_only:
        reached = f" | to {args.steps} steps" if args.steps else ""
        print(f"| images | first run: to training | its decoding{reached} | peak memory | re-run: to training{reached} "
              f"| peak memory |\n|---|---|---|{'---|' * bool(args.steps)}---|---|{'---|' * bool(args.steps)}---|")
        for count in args.sizes:
            path = folder(args.scratch, count)
            stamp = time.strftime("%H%M%S")
            first = start_up(path, args.scratch, f"first-{count}-{stamp}", settings=args.set, steps=args.steps)
            again = start_up(path, args.scratch, f"again-{count}-{stamp}", settings=args.set, steps=args.steps)
            to_steps = [f" | {run[5]:.1f} s" if args.steps else "" for run in (first, again)]
            print(f"| {count:,} | {first[0]:.1f} s | {first[2] or '-'} images/s{to_steps[0]} | {first[1]:,.0f} MB "
                  f"| {again[0]:.1f} s{to_steps[1]} | {again[1]:,.0f} MB |", flush=True)
    read, step = pipeline_rate(folder(args.scratch, max(args.sizes)))
    print(f"pipeline alone: {read:,.0f} images/s; the tutorial's step at 64x64 consumes {step:,.0f} images/s "
          f"(ratio {read / step:.1f}x)")


if __name__ == "__main__":
    main()
