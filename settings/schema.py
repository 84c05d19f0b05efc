"""The settings' declaration: every setting once in SETTINGS, with its default, the rule its values follow and a
one-line help, and the checks of their combinations. It imports neither YAML nor TensorFlow: config.py reads
and writes the settings, command_line.py turns them into --help."""

import difflib
import math
import os
import re


class ConfigError(Exception):
    """A mistake in the user's input: printed as one line, exit code 2, no traceback."""


class Rule:
    """What values a setting accepts: `convert` returns the clean value or None if it is invalid. A setting
    whose values are `text` takes a command line's value as written (YAML would read off as false, #... as
    nothing)."""

    def __init__(self, describe, convert, text=False):
        self.describe = describe
        self.convert = convert
        self.text = text


def integer(low, optional=False):
    def convert(value):
        if isinstance(value, int) and not isinstance(value, bool) and value >= low:
            return value
        return None
    return Rule(f"an integer >= {low}" + (" or empty" if optional else ""), convert)


def number(low, high=None, low_inclusive=False):
    """A float in (low, high) — or [low, high) — accepting YAML's `1e-4`, which PyYAML reads as text."""
    def convert(value):
        if isinstance(value, bool):
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        above = value >= low if low_inclusive else value > low
        if math.isfinite(value) and above and (high is None or value < high):
            return value
        return None
    bracket = "[" if low_inclusive else "("
    span = f"in {bracket}{low}, {high})" if high is not None else f"{'>=' if low_inclusive else '>'} {low}"
    return Rule(f"a number {span}", convert)


def text(choices=None, optional=False):
    def convert(value):
        if isinstance(value, str) and value and (choices is None or value in choices):
            return value
        return None
    describe = "one of " + ", ".join(choices) if choices else "a non-empty string"
    return Rule(describe + (" or empty" if optional else ""), convert, text=True)


def run_name():
    def convert(value):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = str(value)
            if value and "/" not in value and "\\" not in value and value not in (".", ".."):
                return value
        return None
    return Rule("a folder name without slashes, or empty for a timestamp", convert, text=True)


def evaluator_id():
    def convert(value):
        if isinstance(value, (str, int)) and not isinstance(value, bool) and re.fullmatch(r"[0-9a-f]{12}", str(value)):
            return str(value)
        return None
    return Rule("12 hex digits (as a run's found.yaml records them), or empty", convert, text=True)


def widths(length=None):
    def convert(value):
        if (isinstance(value, list) and (length is None or len(value) == length) and value
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
            return value
        return None
    count = f"{length} " if length else ""
    return Rule(f"a list of {count}positive integers, like [64, 128]", convert)


def names(choices):
    """A list of distinct names from `choices`; YAML's empty list or nothing at all means none."""
    def convert(value):
        value = [] if value is None else value
        if isinstance(value, list) and all(v in choices for v in value) and len(set(value)) == len(value):
            return value
        return None
    return Rule(f"a list of distinct names from {', '.join(choices)}, like [{', '.join(choices)}], or []", convert)


def evaluator_choice():
    def convert(value):
        if isinstance(value, str) and value and value not in (".", "..") and not any(c in value for c in "/\\\0"):
            return value
        return None
    return Rule("auto, existing, or an evaluator's name like mnist (no path)", convert, text=True)


NAMED_COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0)}


def colour():
    """white, black or #RRGGBB; the value stays as written (the cache key and config.yaml keep it)."""
    def convert(value):
        if value in NAMED_COLOURS or (isinstance(value, str) and len(value) == 7 and value[0] == "#"
                                      and all(c in "0123456789abcdefABCDEF" for c in value[1:])):
            return value
        return None
    return Rule("white, black or a colour as #RRGGBB (quoted in YAML: '#808080')", convert, text=True)


def rgb(value):
    """A colour() setting's (red, green, blue), each 0-255."""
    return NAMED_COLOURS.get(value) or tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))


def boolean():
    return Rule("true or false", lambda value: value if isinstance(value, bool) else None)


def one_of(values):
    return Rule("one of " + ", ".join(map(str, values)) + " or empty",
                lambda value: value if value in values and not isinstance(value, bool) else None)


def upsampling_stages(image_size):
    """How many times the generator doubles its start to reach `image_size`: the fewest n >= 2 that make the
    start image_size / 2^n at most 8 pixels (28 -> 7 and 2, 32 -> 8 and 2, 64 -> 8 and 3), or None when
    the size is not start * 2^n for a whole start."""
    stages = 2
    while image_size % 2 ** stages == 0 and image_size // 2 ** stages > 8:
        stages += 1
    return stages if image_size % 2 ** stages == 0 else None


# What each dataset's images are when data.image_size and data.channels are left empty; a folder's are read.
NATIVE_SHAPES = {"mnist": (28, 1), "mnist_sample": (28, 1), "fashion_mnist": (28, 1), "cifar10": (32, 3)}


# How many training images each has, so a data.limit beyond them is refused before any download.
DATASET_SIZES = {"mnist": 60000, "mnist_sample": 10000, "fashion_mnist": 60000, "cifar10": 50000}


def image_shape(flat, native=None):
    """(image_size, channels) the models are built for: the settings, or where empty the data's own —
    `native`, or the dataset's known shape (None for a folder not yet read)."""
    native_size, native_channels = native or NATIVE_SHAPES.get(flat["data.dataset"], (None, None))
    return flat["data.image_size"] or native_size, flat["data.channels"] or native_channels


class Setting:
    def __init__(self, default, rule, help, optional=False):
        self.default, self.rule, self.help, self.optional = default, rule, help, optional


SETTINGS = {
    "data.dataset": Setting("mnist", text(("mnist", "mnist_sample", "fashion_mnist", "cifar10", "folder")),
                            "mnist: full MNIST (downloads once; offline it falls back to the bundled sample); "
                            "mnist_sample: the 10,000 digits bundled in mnist_sample/; fashion_mnist, cifar10: "
                            "Keras' copies (download once); folder: your own images in data.path"),
    "data.path": Setting(None, text(optional=True), "for folder: the directory of images (PNG/JPEG/BMP/GIF, "
                         "nested folders too); for mnist: a local mnist.npz or IDX folder; empty = download",
                         optional=True),
    "data.image_size": Setting(None, integer(4, optional=True), "train on image_size x image_size images "
                               "(resized, centre-cropped); empty = the data's own size (28 MNIST, 32 CIFAR-10)",
                               optional=True),
    "data.channels": Setting(None, one_of((1, 3)), "1 = greyscale, 3 = colour (converted if needed); empty = "
                             "the data's own (1 MNIST, 3 CIFAR-10, a folder's: 1 if all its images are grey)",
                             optional=True),
    "data.limit": Setting(None, integer(1, optional=True), "use only N training images: a folder's are a fixed "
                          "random sample (each image with the same chance), chosen before decoding; the Keras datasets' "
                          "first N (already in random order); empty = all", optional=True),
    "data.background": Setting("white", colour(), "what a folder's transparent pixels (PNG, WebP or GIF "
                               "with alpha) are composited onto, as a viewer shows them: white, black or #RRGGBB"),
    "data.shuffle_buffer": Setting(60000, integer(1), "every epoch is an exact seeded permutation of the images; up "
                                   "to this many, tf.data's shuffle (the tutorial's BUFFER_SIZE and order), beyond, "
                                   "a shuffle of all image numbers at once (8 bytes an image)"),
    "data.cache_dir": Setting(None, text(optional=True), "where a folder's decoded images are cached; empty = a "
                              ".dcgan_cache folder inside data.path (the user's ~/.cache/dcgan if it is read-only)",
                              optional=True),
    "model.noise_dim": Setting(100, integer(1), "length of the generator's input noise vector"),
    "model.generator_widths": Setting([256, 128, 64], widths(), "channels of the dense block, the stride-1 "
                                      "transposed convolution and each stride-2 one but the last; a list too short "
                                      "for the image size is extended by halving"),
    "model.discriminator_widths": Setting([64, 128], widths(), "channels of each stride-2 convolution; a list "
                                          "too short for the image size is extended by doubling"),
    "model.kernel_size": Setting(5, integer(1), "kernel size of every (transposed) convolution"),
    "model.dropout": Setting(0.3, number(0.0, 1.0, low_inclusive=True), "discriminator dropout rate"),
    "model.conditional": Setting(False, boolean(), "learn p(image | class) from the dataset's labels (a folder's: "
                                 "its subfolders), so generate.py --label can ask for a class"),
    "model.skip_excitation": Setting(False, boolean(), "FastGAN's skip-layer excitation (Liu et al. 2021): the "
                                     "generator's first feature map gates each channel of its last one"),
    "model.minibatch_std": Setting(False, boolean(), "the discriminator also sees how much its batch's "
                                   "features vary (one more feature map, Karras et al. 2018): against a generator "
                                   "that draws too few kinds of picture"),
    "model.spectral_norm": Setting(False, boolean(), "the discriminator's convolutions are spectrally "
                                   "normalised (Miyato et al. 2018): each keeps its largest singular value at 1, "
                                   "one device only"),
    "model.conditioning": Setting("projection", text(("projection", "planes")), "how the discriminator sees the "
                                  "class when model.conditional: projection (class embedding . features added to "
                                  "the logit) | planes (one-hot planes joined to the image)"),
    "model.clusters": Setting(0, integer(0), "self-conditioning for images without labels: K clusters found by "
                              "k-means on the discriminator's features are the conditional models' classes (labels "
                              "are never read); 0 = off, else at least 2"),
    "train.epochs": Setting(50, integer(1), "passes over the training images"),
    "train.batch_size": Setting(256, integer(1), "images per training step"),
    "train.generator_lr": Setting(1e-4, number(0.0), "Adam learning rate of the generator"),
    "train.discriminator_lr": Setting(1e-4, number(0.0), "Adam learning rate of the discriminator"),
    "train.generator_beta1": Setting(0.9, number(0.0, 1.0, low_inclusive=True), "Adam beta_1 of the generator"),
    "train.generator_beta2": Setting(0.999, number(0.0, 1.0, low_inclusive=True), "Adam beta_2 of the generator"),
    "train.discriminator_beta1": Setting(0.9, number(0.0, 1.0, low_inclusive=True),
                                         "Adam beta_1 of the discriminator"),
    "train.discriminator_beta2": Setting(0.999, number(0.0, 1.0, low_inclusive=True),
                                         "Adam beta_2 of the discriminator"),
    "train.label_smoothing": Setting(0.0, number(0.0, 0.5, low_inclusive=True),
                                     "one-sided label smoothing: real images are labelled 1 - this"),
    "train.recluster_every": Setting(5, integer(0), "with model.clusters: cluster the images again with the "
                                     "discriminator's newer features every N epochs (each cluster keeps its number); "
                                     "0 = only before the first epoch"),
    "train.cluster_axes": Setting(128, integer(0), "with model.clusters: k-means runs in this many principal axes "
                                  "of the discriminator's features, at least K - 1 (faster, nearly the same "
                                  "clusters); 0 = in all of them"),
    "train.discriminator_steps": Setting(1, integer(1), "discriminator updates per generator update"),
    "train.steps_per_call": Setting(16, integer(1), "training steps per call into TensorFlow: fewer round trips "
                                    "through Python (on a GPU they can take longer than a step); Ctrl-C and the "
                                    "progress bar act between calls"),
    "train.augment": Setting([], names(("translation", "cutout")), "DiffAugment operations applied to every image "
                             "the discriminator sees, real and generated; [] = none (the tutorial)"),
    "train.augment_target": Setting(0.0, number(0.0, 1.0, low_inclusive=True), "adaptive augmentation (ADA): "
                                    "apply train.augment to each image with a probability p that rises while "
                                    "E[sign D(x)] over real images is above this (ADA: 0.6) and falls below it; "
                                    "0 = every image, always"),
    "train.augment_kimg": Setting(500, number(0.0), "with train.augment_target: thousands of images over which p "
                                  "can move from 0 to 1 (ADA: 500)"),
    "train.ema_decay": Setting(0.0, number(0.0, 1.0, low_inclusive=True), "sample, score and save an exponential "
                               "moving average of the generator's weights with this decay, like 0.999; 0 = off"),
    "train.lr_decay": Setting(0.0, number(0.0, 1.0, low_inclusive=True), "both learning rates fall linearly from "
                              "their values at epoch 1 by this share at the last epoch, train.epochs (like 0.9: to a "
                              "tenth; a resume with more epochs stretches the line), each epoch's rate set as it "
                              "starts; 0 = constant"),
    "train.penalty_decay": Setting(0.0, number(0.0, 1.0, low_inclusive=True), "with train.r1_weight or "
                                   "train.r2_weight: their gamma falls linearly over the epochs (as train.lr_decay "
                                   "lowers the rates) by this share by the last (R3GAN: 0.9, to a tenth); 0 = constant"),
    "train.beta2_final": Setting(0.0, number(0.0, 1.0, low_inclusive=True), "Adam's beta_2 of both networks moves "
                                 "linearly from their train.*_beta2 at epoch 1 to this at the last epoch (R3GAN: 0.9 "
                                 "-> 0.99: longer memory of the gradients' size as training settles); 0 = constant"),
    "train.r1_weight": Setting(0.0, number(0.0, low_inclusive=True), "gamma of the R1 penalty: the discriminator "
                               "also minimises gamma/2 * mean ||grad D(x)||^2 over real images, like 1.0; 0 = off"),
    "train.r2_weight": Setting(0.0, number(0.0, low_inclusive=True), "gamma of the R2 penalty: the same at the "
                               "generated images (R3GAN uses R1 and R2 with one gamma); 0 = off"),
    "train.reconstruction_weight": Setting(0.0, number(0.0, low_inclusive=True), "FastGAN's self-supervised "
                                           "discriminator (Liu et al. 2021): a small decoder redraws each real "
                                           "image at half size from D's last features, and D also minimises this "
                                           "weight times the mean absolute error, like 1.0; 0 = off"),
    "train.loss": Setting("standard", text(("standard", "relativistic")), "standard: the tutorial's cross-entropy "
                          "(real -> 1, generated -> 0) | relativistic: RpGAN's, D ranks each real image above a "
                          "generated one (Huang et al. 2024; with R1 and R2 it finds more modes)"),
    "train.mixed_precision": Setting("none", text(("none", "mixed_float16", "mixed_bfloat16")),
                                     "compute in 16 bits, keep weights in 32: mixed_float16 for NVIDIA GPUs (with "
                                     "loss scaling), mixed_bfloat16 for TPUs and CPUs with bfloat16 (changes numerics)"),
    "train.jit_compile": Setting(False, boolean(), "compile the training step with XLA (helps on some GPUs; "
                                 "slower on this project's CPU benchmark)"),
    "train.distribute": Setting("auto", text(("auto", "none", "mirrored", "multi_worker")),
                                "auto: every GPU when there are several (MirroredStrategy), else one device; "
                                "none: one device; mirrored: all GPUs of this machine; multi_worker: several "
                                "machines, described by the TF_CONFIG environment variable (README)"),
    "train.deterministic": Setting(False, boolean(), "TensorFlow's op determinism: the same seed gives the "
                                   "same numbers on the same machine, also on a GPU, at some cost in speed"),
    "train.seed": Setting(0, integer(0, optional=True), "random seed; empty = a new one, recorded in the run's "
                          "found.yaml", optional=True),
    "eval.features": Setting("auto", text(("auto", "classifier", "random_network", "inception")),
                             "what the quality numbers measure with: auto (the classifier where the data has "
                             "labels, else random_network) | classifier (a small one trained on the data's "
                             "classes: Frechet and kernel distance, class coverage) | random_network (the features "
                             "of a network with random weights, any images, no labels: the same distances, and "
                             "coverage of the real images' modes) | inception (InceptionV3's features, any images: "
                             "FID and KID comparable with published ones)"),
    "eval.classifier": Setting("auto", evaluator_choice(), "auto: make the data's evaluator before the first "
                               "epoch if there is none yet (its classifier, or a loose folder's random network; once, "
                               "then kept) | existing: only use one made before by train_classifier.py | NAME: the "
                               "evaluator NAME in eval.evaluator_dir, for data of its kind without labels (mnist: "
                               "the committed one, for any 28x28 greyscale digits)"),
    "eval.evaluator_dir": Setting(None, text(optional=True), "where classifiers and reference statistics are "
                                  "kept; empty = evaluator/ beside train.py (the committed MNIST one is there)",
                                  optional=True),
    "eval.inception_weights": Setting(None, text(optional=True), "for inception: a local InceptionV3 weights file "
                                      "(Keras' no-top .h5); empty = ImageNet weights downloaded once by Keras",
                                      optional=True),
    "eval.every": Setting(None, integer(0, optional=True), "score image quality every N epochs (and after the "
                          "last); 0 = never; empty = 1 with the classifier or the random network; with inception, as seldom as keeps it to "
                          "10% of the training time (9 for 60,000 images)", optional=True),
    "eval.num_samples": Setting(2000, integer(100), "generated images scored each time (with inception, as many "
                                "of the training images are the reference)"),
    "eval.evaluator_id": Setting(None, evaluator_id(), "12 hex digits naming the evaluator: a run records the one that "
                                "scores it in its found.yaml, and refuses another (one made again) when resumed; "
                                "set it to refuse any other for a new run too; empty = whichever is there",
                                optional=True),
    "output.dir": Setting("outputs", text(), "where run directories are created"),
    "output.run_name": Setting(None, run_name(), "this run's directory name; empty = a timestamp", optional=True),
    "output.grid_size": Setting(4, integer(1), "the per-epoch image is a grid_size x grid_size grid "
                                "(conditional: one row per class, up to 10, grid_size columns)"),
    "output.checkpoint_every": Setting(1, integer(1), "save a checkpoint every N epochs (and after the last)"),
    "output.checkpoints_to_keep": Setting(1, integer(1), "how many recent checkpoints to keep: 1 is all resume "
                                          "needs; more keep older ones to fall back on if the newest is damaged"),
    "output.write_in_background": Setting(True, boolean(), "draw the GIF, metrics.png, TensorBoard and "
                                          "generator_best.keras in background threads while the next epoch trains; "
                                          "false: before it starts (either way metrics.png is redrawn at most 5% "
                                          "of the time, and at the end)"),
}


def check(flat, source):
    """Validate and clean a flat config; raises ConfigError on the first bad key."""
    clean = {}
    for key, value in flat.items():
        setting = SETTINGS.get(key)
        if setting is None:
            hint = difflib.get_close_matches(key, SETTINGS, n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else f"; known keys: {', '.join(SETTINGS)}"
            raise ConfigError(f"unknown key {key} in {source}{suggestion}")
        if value is None and setting.optional:
            clean[key] = None
            continue
        converted = setting.rule.convert(value)
        if converted is None:
            raise ConfigError(f"{key} must be {setting.rule.describe}, got {value!r} (in {source})")
        clean[key] = converted
    return clean


def check_combination(flat):
    """Mistakes no single setting shows: a folder without a path, a size the models cannot be built for."""
    if flat["data.dataset"] == "folder" and flat["data.path"] is None:
        raise ConfigError("data.dataset=folder needs data.path, the directory holding your images")
    if flat["data.path"] is not None and flat["data.dataset"] not in ("mnist", "folder"):
        raise ConfigError(f"data.path is only used with data.dataset=mnist or folder, not {flat['data.dataset']}; "
                          f"remove data.path")
    path = flat["data.path"]
    if path is not None and not os.path.exists(os.path.expanduser(path)):
        what = "a folder of images" if flat["data.dataset"] == "folder" else "a mnist.npz or an MNIST IDX folder"
        raise ConfigError(f"data.path {path} does not exist; point it at {what}")
    known = DATASET_SIZES.get(flat["data.dataset"]) if flat["data.path"] is None else None
    if known is not None and flat["data.limit"] is not None and flat["data.limit"] > known:
        raise ConfigError(f"data.limit={flat['data.limit']} is larger than the {known} images of "
                          f"{flat['data.dataset']}; lower it or leave it empty for all")
    if flat["model.clusters"] == 1:
        raise ConfigError("model.clusters=1 is one cluster: self-conditioning needs at least 2 (or 0 for off)")
    if flat["model.clusters"] and flat["model.conditional"]:
        raise ConfigError("model.clusters and model.conditional both choose the classes: clusters for images "
                          "without labels, conditional for the data's labels; set one of them off")
    if flat["train.augment_target"] and not flat["train.augment"]:
        raise ConfigError(f"train.augment_target={flat['train.augment_target']} adapts how often train.augment's "
                          f"operations apply, and there are none; set train.augment=[translation,cutout] too")
    if flat["train.penalty_decay"] and not (flat["train.r1_weight"] or flat["train.r2_weight"]):
        raise ConfigError(f"train.penalty_decay={flat['train.penalty_decay']} lowers the R1 and R2 penalties' gamma, "
                          f"and both are off; set train.r1_weight (and train.r2_weight) too")
    weights = flat["eval.inception_weights"]
    if weights is not None and not os.path.isfile(os.path.expanduser(weights)):
        raise ConfigError(f"eval.inception_weights {weights} is not a file; point it at InceptionV3's weights "
                          f"(inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5), or leave it empty to download")
    limit = flat["data.limit"]
    if flat["eval.features"] == "inception" and flat["eval.every"] != 0 and limit is not None \
            and limit < INCEPTION_MIN_IMAGES:
        raise ConfigError(f"data.limit={limit} is too few images for eval.features=inception, whose "
                          f"reference and real-vs-real halves need {INCEPTION_MIN_IMAGES // 2} each (density and "
                          f"coverage measure each one's 5th nearest neighbour); raise data.limit to at least "
                          f"{INCEPTION_MIN_IMAGES}, or set eval.every=0 to train without quality numbers")
    size, _ = image_shape(flat)
    if size is not None:
        check_image_size(size, "data.image_size")
        needed = upsampling_stages(size) + 1
        if len(flat["model.generator_widths"]) > needed:
            raise ConfigError(f"model.generator_widths has {len(flat['model.generator_widths'])} widths, but "
                              f"{size}x{size} images need {needed} (the dense block, the stride-1 convolution and "
                              f"one per upsampling but the last); shorten the list")


# Two halves, the reference and real vs real, of quality/metrics.py's MIN_REFERENCE images each (a test keeps the
# two equal: this module imports no numpy); a folder with fewer is refused when loaded (evaluators.py).
INCEPTION_MIN_IMAGES = 12


def check_image_size(size, source):
    if upsampling_stages(size) is None:
        raise ConfigError(f"{source}={size} cannot be built: the generator doubles a start of at most 8 pixels two "
                          f"or more times, so the size must be like 16, 24, 28, 32, 48, 64, 96 or 128; "
                          f"set data.image_size to one of those")
