"""What the quality numbers for other data cost: making a labelled folder's classifier (eval.classifier=auto
does it once, before the first epoch), and scoring with InceptionV3 (eval.features=inception).

  python bench/quality_cost.py      # about 2 minutes on 2 CPU cores

1. The bundled 10,000 digits written out as a folder with one subfolder per digit, as a user's labelled
   pictures would be, and `python train_classifier.py data.dataset=folder data.path=THAT` timed as a fresh
   process (TensorFlow's start, reading the folder, training, the reference), with its held-out accuracy.
2. InceptionV3's pool features per second on 28x28 digits (resized to 299x299 and coloured inside the
   network, compiled, batches of 50; random weights do the same arithmetic as ImageNet's) and its FLOPs per
   image (TensorFlow's profiler), against the tutorial's training step (its images per second here, and
   its FLOPs per image, counted as bench/speed.py part 1a counts them).
3. From those: one evaluation of eval.num_samples=2000 images, as seconds and as a share of the training
   time of eval.every epochs, here (measured rates) and on a GPU (projected: both at the same FLOP rate).

Nothing else should run meanwhile: the numbers are wall-clock times.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SAMPLES = 2000  # eval.num_samples' default
BATCH = 256  # the tutorial's batch


def classifier_cost(scratch):
    from digit_folder import write_digit_folder
    write_digit_folder(scratch / "digits")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "train_classifier.py"), "data.dataset=folder",
                             f"data.path={scratch / 'digits'}", f"eval.evaluator_dir={scratch / 'evaluators'}"],
                            capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    accuracy = re.search(r"held-out accuracy ([0-9.]+) on (\d+)", result.stdout)
    print(f"1. train_classifier.py on a folder of the 10,000 bundled digits (10 class subfolders): {seconds:.0f} s "
          f"as a fresh process; held-out accuracy {float(accuracy[1]):.2%} on {accuracy[2]} images")
    print("   " + result.stdout.strip().splitlines()[-1])
    return seconds


def images_per_second(function, inputs, repeats=3):
    function(inputs)  # compiles
    started = time.perf_counter()
    for _ in range(repeats):
        function(inputs)
    return repeats * len(inputs) / (time.perf_counter() - started)


def forward_flops(tf, model, shape):
    from tensorflow.python.profiler import model_analyzer, option_builder
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(tf.TensorSpec([1, *shape])).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph, options=options).total_float_ops


def main():
    with tempfile.TemporaryDirectory() as scratch:
        classifier_seconds = classifier_cost(Path(scratch))
    import tensorflow as tf

    from settings import config
    from data import pipeline, sources
    from quality import evaluators
    import models
    import speed
    tf.get_logger().setLevel("ERROR")  # the profiler's counting API warns that it is TF1-era; it still counts

    network = evaluators.inception_network(None, channels=1)
    digits = tf.constant(pipeline.scale(sources.load_sample()[:evaluators.INCEPTION_BATCH]))
    inception_rate = images_per_second(tf.function(lambda x: network(x, training=False)), digits)
    inception_flops = forward_flops(tf, network, (28, 28, 1))

    step = speed.tutorial_step(tf)
    batch = tf.constant(pipeline.scale(sources.load_sample()[:BATCH]))
    step(batch)
    started = time.perf_counter()
    for _ in range(10):
        step(batch)
    step_rate = 10 * BATCH / (time.perf_counter() - started)
    generator, discriminator = models.from_config(config.load())
    step_flops = 3 * forward_flops(tf, generator, (100,)) + 7 * forward_flops(tf, discriminator, (28, 28, 1))

    print(f"2. InceptionV3 features: {inception_rate:.1f} images/s here, {inception_flops / 1e9:.2f} GFLOP per image; "
          f"the tutorial's training step: {step_rate:.0f} images/s, {step_flops / 1e6:.0f} MFLOP per image")
    evaluation = SAMPLES / inception_rate
    print(f"3. One Inception evaluation of {SAMPLES} images: {evaluation:.0f} s here; the reference (2 x {SAMPLES} "
          f"real images, once per dataset): {2 * evaluation:.0f} s")
    print("| data | epoch here | evaluation every N epochs: share of training time here | on a GPU (projected) |")
    print("|---|---|---|---|")
    for name, count in (("the bundled 10,000 digits", 10_000), ("MNIST's 60,000", 60_000)):
        epoch_here = count / step_rate
        here = ", ".join(f"{n}: {evaluation / (n * epoch_here):.0%}" for n in (1, 10, 50))
        gpu = ", ".join(f"{n}: {SAMPLES * inception_flops / (n * count * step_flops):.0%}" for n in (1, 10))
        print(f"| {name} | {epoch_here:.0f} s | {here} | {gpu} |")
    print(f"A classifier made first (1.) is {classifier_seconds / (50 * 10_000 / step_rate):.0%} of a 50-epoch run on "
          f"the 10,000 digits here.")


if __name__ == "__main__":
    main()
