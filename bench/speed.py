"""How fast does train.py train, compared with the TensorFlow tutorial's own code? Prints a table.

  python bench/speed.py              # about 10 minutes on 2 CPU cores
  python bench/speed.py --quick      # fewer repeats and no full epochs, about 2 minutes
  python bench/speed.py --throughput-only   # only parts 1 and 1a, about 2 minutes

1. Step throughput (images/s): the tutorial's step, written out in bench/tutorial.py exactly as the
   tutorial has it (its models, losses, optimizers and @tf.function step), against this project's step with the
   default settings and with each speed candidate. All in one process, same batch size and data,
   interleaved repeats after a warm-up; min / median / max and the median's ratio to the tutorial.
   Then again in a process with one inter-op thread.
1a. How close the tutorial's step runs to this CPU's arithmetic limit: its arithmetic per second
   against the CPU's fastest float32 matrix product (the share left is all any change of code could gain).
2. One epoch of `python train.py` on 60,000 images (the bundled 10,000 digits tiled 6 times, since
   MNIST cannot be downloaded everywhere): wall time split into training steps and everything else
   (grid PNG, GIF, quality metrics, metrics.csv/png, TensorBoard, checkpoint), and the run's peak memory.
3. Start-up: `python train.py --help` and a config mistake, which must answer before TensorFlow loads.

Nothing else should run meanwhile: the numbers are wall-clock times.
"""

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH = 256
NOISE_DIM = 100


def tutorial_step(tf):
    """The tutorial's models, losses, optimizers and @tf.function step, as bench/tutorial.py writes them out."""
    import tutorial
    generator, discriminator = tutorial.make_models(tf)
    return tutorial.make_train_step(tf, generator, discriminator, tf.keras.optimizers.Adam(1e-4),
                                    tf.keras.optimizers.Adam(1e-4), BATCH)


def project_step(tf, keras, policy="float32", jit_compile=False, concatenated=False, recipe=None, overrides=()):
    """This project's step (training/gan.py) on the default models (or a recipe's models, moving average, loss
    and penalties, with `overrides` as on train.py's command line), as train.py builds it."""
    from settings import config
    from training import gan
    import models
    cfg = config.load(recipe, overrides)
    keras.mixed_precision.set_global_policy(policy)  # layers take the policy in force when they are made
    generator, discriminator = models.from_config(cfg)
    keras.mixed_precision.set_global_policy("float32")
    optimizers = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    average_generator = keras.models.clone_model(generator) if cfg["train.ema_decay"] else None
    if not concatenated:
        return gan.make_train_step(generator, discriminator, *optimizers, average_generator=average_generator,
                                   average_decay=cfg["train.ema_decay"], r1_weight=cfg["train.r1_weight"],
                                   r2_weight=cfg["train.r2_weight"], relativistic=cfg["train.loss"] == "relativistic",
                                   jit_compile=jit_compile)
    noise = tf.random.Generator.from_seed(0)

    @tf.function(jit_compile=jit_compile)
    def one_discriminator_pass(real_images):
        # A candidate: D scores real and generated images in one call (exact here: D has no batch norm).
        z = noise.normal([tf.shape(real_images)[0], NOISE_DIM])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(z, training=True)
            logits = discriminator(tf.concat([real_images, fake_images], 0), training=True)
            real_logits, fake_logits = tf.split(logits, 2)
            disc_loss = gan.discriminator_loss(real_logits, fake_logits)
            gen_loss = gan.generator_loss(fake_logits)
        optimizers[0].apply_gradients(zip(generator_tape.gradient(gen_loss, generator.trainable_variables),
                                          generator.trainable_variables))
        optimizers[1].apply_gradients(zip(discriminator_tape.gradient(disc_loss, discriminator.trainable_variables),
                                          discriminator.trainable_variables))
        return gen_loss
    return one_discriminator_pass


def several_steps(tf, step, count):
    """A candidate: `count` steps per tf.function call, so Python dispatches once per `count` batches."""
    @tf.function
    def steps(batches):
        images, noise = batches
        for i in tf.range(count):
            result = step((images[i], noise[i]))
        return result
    return steps


def throughput(repeats, steps_per_repeat):
    import keras
    import numpy as np
    import tensorflow as tf

    from settings import config
    from data import pipeline, sources
    digits = pipeline.scale(sources.load_sample()[:BATCH])

    def batch(size):  # real digits and the generator's noise, as pipeline.epoch_batches makes them
        return tf.constant(digits[:size]), tf.random.normal([size, NOISE_DIM])
    real = batch(BATCH)
    fast = ROOT / "configs" / "fast.yaml"
    fast_batch = config.load(fast)["train.batch_size"]

    def fast_step(policy="float32", overrides=()):  # the recipe's step, with a lever, on a batch of its size
        return project_step(tf, keras, policy=policy, recipe=fast, overrides=overrides), batch(fast_batch), fast_batch
    project = project_step(tf, keras)
    candidates = {  # name: (step, what one call takes, images per call)
        "tutorial's step (reference)": (tutorial_step(tf), real[0], BATCH),
        "this project's step (default)": (project, real, BATCH),
        "+ one D pass over real+fake": (project_step(tf, keras, concatenated=True), real[0], BATCH),
        f"+ {steps_per_repeat} steps per tf.function call": (
            several_steps(tf, project, steps_per_repeat), tuple(tf.stack([t] * steps_per_repeat) for t in real),
            steps_per_repeat * BATCH),
        "+ XLA (train.jit_compile=true)": (project_step(tf, keras, jit_compile=True), real, BATCH),
        "+ mixed_bfloat16 (other numerics)": (project_step(tf, keras, policy="mixed_bfloat16"), real, BATCH),
        f"configs/fast.yaml's step (batch {fast_batch})": fast_step(),
        "  + train.loss=relativistic train.r2_weight=1": fast_step(overrides=["train.loss=relativistic",
                                                                          "train.r2_weight=1"]),
        "  + mixed_bfloat16 (other numerics)": fast_step(policy="mixed_bfloat16"),
        "  + model.minibatch_std=true": fast_step(overrides=["model.minibatch_std=true"]),
    }
    rates = {name: [] for name in candidates}
    for round_ in range(repeats + 1):  # round 0 warms up: tracing, XLA compilation, oneDNN kernel choice
        for name, (step, argument, images) in candidates.items():
            calls = 1 if images > BATCH else steps_per_repeat * BATCH // images  # the same images per round
            started = time.perf_counter()
            for _ in range(calls):
                result = step(argument)
            np.asarray(result["gen_loss"] if isinstance(result, dict) else result)  # wait for the device
            if round_:
                rates[name].append(calls * images / (time.perf_counter() - started))
    reference = statistics.median(rates["tutorial's step (reference)"])
    arithmetic_limit(tf, reference)
    print(f"\n1. Training step throughput, batch {BATCH}, {repeats} interleaved repeats of {steps_per_repeat} steps")
    print(f"| {'step':<44} | {'min img/s':>9} | {'median':>7} | {'max':>7} | {'vs tutorial':>11} |")
    print(f"|{'-' * 46}|{'-' * 10}:|{'-' * 8}:|{'-' * 8}:|{'-' * 12}:|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name:<44} | {min(values):>9.0f} | {median:>7.0f} | {max(values):>7.0f} | "
              f"{median / reference:>10.2f}x |")


def arithmetic_limit(tf, tutorial_rate):
    """How much faster could the same maths run here? Compare the arithmetic the tutorial's step must do with
    the most this CPU does: float32 matrix products, which oneDNN runs near the hardware's limit.

    The step's arithmetic is counted, not guessed: TensorFlow's profiler counts one image's forward pass
    through each network; a backward pass costs twice its forward (gradients for inputs and for weights),
    so a step is 3 generator passes plus 7 discriminator passes (forward on real and on generated images,
    backward twice for D's loss and once, to its input, for G's). About a third too high: the count
    includes multiplications by the zero padding, which oneDNN's kernels skip, and the first layers'
    unused input gradients, which are not computed (docs/speed.md).
    """
    from settings import config
    import models
    step_flops = training_flops(tf, *models.from_config(config.load()))
    best = matrix_product_rate(tf)
    step_rate = step_flops * tutorial_rate
    print(f"\n1a. Arithmetic: the tutorial's step does {step_flops / 1e6:.0f} MFLOP per image; at its median "
          f"{tutorial_rate:.0f} images/s that is {step_rate / 1e9:.0f} GFLOP/s. This CPU's best float32 matrix "
          f"product: {best / 1e9:.0f} GFLOP/s. The step runs at {100 * step_rate / best:.0f}% of it, so no change "
          f"to the code around the same arithmetic can make it more than {best / step_rate:.2f}x faster.")


def training_flops(tf, generator, discriminator):
    """One image's training step: 3 generator passes and 7 discriminator passes, each counted by TensorFlow's
    profiler on one image's forward pass (arithmetic_limit says why)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    def forward_flops(model):
        specs = [tf.TensorSpec([1, *tensor.shape[1:]], tensor.dtype) for tensor in model.inputs]
        graph = tf.function(lambda *x: model(list(x) if len(x) > 1 else x[0], training=True)).get_concrete_function(
            *specs).graph
        options = option_builder.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        return model_analyzer.profile(graph, options=options).total_float_ops

    tf.get_logger().setLevel("ERROR")  # the profiler's counting API warns that it is TF1-era; it still counts
    return 3 * forward_flops(generator) + 7 * forward_flops(discriminator)


def matrix_product_rate(tf):
    """This CPU's best float32 matrix product, FLOP/s: 2048x2048 products, the best of three after a warm-up."""
    a = tf.random.normal([2048, 2048])
    best = 0.0
    for _ in range(4):  # the first warms up
        started = time.perf_counter()
        for _ in range(10):
            product = tf.matmul(a, a)
        product.numpy()
        best = max(best, 10 * 2 * 2048 ** 3 / (time.perf_counter() - started))
    return best


def epoch_split(epochs):
    """Run train.py on 60,000 images; time each epoch from its printed line to the next."""
    import numpy as np

    from data import sources
    with tempfile.TemporaryDirectory() as scratch:
        tiled = Path(scratch) / "mnist60k.npz"
        np.savez(tiled, x_train=np.tile(sources.load_sample(), (6, 1, 1)))
        command = [sys.executable, str(ROOT / "train.py"), f"data.path={tiled}", f"train.epochs={epochs}",
                   f"output.dir={scratch}", "output.run_name=bench"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        printed = []  # when each "epoch N/M" line arrived: the epoch's work, including its checkpoint, lies between
        started = time.perf_counter()
        for line in process.stdout:
            if line.startswith("epoch "):
                printed.append(time.perf_counter())
        process.wait()
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with open(Path(scratch) / "bench" / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    print("\n2. Epochs of `python train.py` on 60,000 images (default settings, eval every epoch)")
    print(f"| {'epoch':>5} | {'wall s':>7} | {'steps s':>7} | {'everything else s':>17} | {'else %':>6} |")
    print(f"|{'-' * 6}:|{'-' * 8}:|{'-' * 8}:|{'-' * 18}:|{'-' * 7}:|")
    for n in range(2, epochs + 1):  # epoch 1 also traces the step and loads the evaluator
        wall = printed[n - 1] - printed[n - 2]
        steps = float(rows[n - 1]["train_seconds"])
        print(f"| {n:>5} | {wall:>7.1f} | {steps:>7.1f} | {wall - steps:>17.2f} | {100 * (wall - steps) / wall:>5.1f}% |")
    print(f"whole run: {printed[-1] - started:.0f} s for {epochs} epochs; peak memory (RSS) {peak_mib:.0f} MiB")


def startup(repeats):
    def seconds(*args):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    print(f"\n3. Start-up, median of {repeats}")
    print(f"| {'command':<40} | {'seconds':>7} |\n|{'-' * 42}|{'-' * 8}:|")
    print(f"| {'python train.py --help':<40} | {seconds('--help'):>7.2f} |")
    print(f"| {'python train.py train.epochs=0 (error)':<40} | {seconds('train.epochs=0'):>7.2f} |")


def one_inter_op_thread(repeats):
    """A candidate that needs its own process: TensorFlow fixes its thread pools when it starts."""
    print("\n1b. The same, in a process with TF_NUM_INTEROP_THREADS=1 (one op at a time, each on all cores)")
    subprocess.run([sys.executable, __file__, "--throughput-only", "--repeats", str(repeats)], cwd=ROOT,
                   env=dict(os.environ, TF_NUM_INTEROP_THREADS="1"), stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats, no full epochs")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only the step throughput and arithmetic (1 and 1a), about 2 minutes")
    parser.add_argument("--repeats", type=int, default=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    if args.throughput_only:
        throughput(repeats, steps_per_repeat=5)
        return
    startup(3 if args.quick else 5)
    throughput(repeats, steps_per_repeat=5)
    one_inter_op_thread(repeats)
    if not args.quick:
        epoch_split(epochs=3)


if __name__ == "__main__":
    main()
