"""Configuration: defaults, the YAML file, `key=value` overrides, and validation.

Every setting is declared once in `SETTINGS` below, with its default, its rule and a one-line
help. `config.yaml` mirrors those defaults with comments (a test keeps the two equal), so a
config file only needs the keys it changes. This module never imports TensorFlow: a typo in a
key fails in milliseconds, not after TensorFlow's start-up. The trade-off: a new setting is
declared twice, here and in `config.yaml`.
"""

import argparse
import difflib
import math
import os
import sys
import types
from pathlib import Path

import yaml

import atomic
import run_files

DEFAULT_FILE = Path(__file__).resolve().parent / run_files.CONFIG  # what train.py and train_classifier.py read;
# a run saves its own settings under the same name


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
    "train.discriminator_steps": Setting(1, integer(1), "discriminator updates per generator update"),
    "train.steps_per_call": Setting(16, integer(1), "training steps per call into TensorFlow: fewer round trips "
                                    "through Python (on a GPU they can take longer than a step); Ctrl-C and the "
                                    "progress bar act between calls"),
    "train.augment": Setting([], names(("translation", "cutout")), "DiffAugment operations applied to every image "
                             "the discriminator sees, real and generated; [] = none (the tutorial)"),
    "train.ema_decay": Setting(0.0, number(0.0, 1.0, low_inclusive=True), "sample, score and save an exponential "
                               "moving average of the generator's weights with this decay, like 0.999; 0 = off"),
    "train.r1_weight": Setting(0.0, number(0.0, low_inclusive=True), "gamma of the R1 penalty: the discriminator "
                               "also minimises gamma/2 * mean ||grad D(x)||^2 over real images, like 1.0; 0 = off"),
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
    "eval.features": Setting("classifier", text(("classifier", "inception")), "what the quality numbers measure "
                             "with: classifier (a small one trained on the data's classes: Frechet and kernel "
                             "distance, class coverage) | inception (InceptionV3's features, any images: FID and KID)"),
    "eval.classifier": Setting("auto", evaluator_choice(), "auto: train the data's classifier before the first "
                               "epoch if there is none yet (labelled data only; once, then kept) | existing: only use "
                               "one made before by train_classifier.py | NAME: the evaluator NAME in "
                               "eval.evaluator_dir, for data of its kind without labels (mnist: the committed one, "
                               "for any 28x28 greyscale digits)"),
    "eval.evaluator_dir": Setting(None, text(optional=True), "where classifiers and reference statistics are "
                                  "kept; empty = evaluator/ beside train.py (the committed MNIST one is there)",
                                  optional=True),
    "eval.inception_weights": Setting(None, text(optional=True), "for inception: a local InceptionV3 weights file "
                                      "(Keras' no-top .h5); empty = ImageNet weights downloaded once by Keras",
                                      optional=True),
    "eval.every": Setting(None, integer(0, optional=True), "score image quality every N epochs (and after the "
                          "last); 0 = never; empty = 1 with the classifier; with inception, as seldom as keeps it to "
                          "10% of the training time (9 for 60,000 images)", optional=True),
    "eval.num_samples": Setting(2000, integer(100), "generated images scored each time (with inception, as many "
                                "of the training images are the reference)"),
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


def defaults():
    """The default config as nested sections, like config.yaml."""
    return nest({key: setting.default for key, setting in SETTINGS.items()})


def nest(flat):
    sections = {}
    for key, value in flat.items():
        section, name = key.split(".")
        sections.setdefault(section, {})[name] = value
    return sections


def flatten(sections, source):
    """{'train': {'epochs': 5}} -> {'train.epochs': 5}; anything else is a ConfigError naming `source`."""
    if sections is None:
        return {}
    if not isinstance(sections, dict):
        raise ConfigError(f"{source} must be a mapping of sections (data:, model:, train:, eval:, output:), "
                          f"got {type(sections).__name__}")
    flat = {}
    for section, values in sections.items():
        if not isinstance(values, dict):
            known = sorted({key.split(".")[0] for key in SETTINGS})
            raise ConfigError(f"{source}: '{section}' must be a section with keys under it "
                              f"(sections: {', '.join(known)})")
        for name, value in values.items():
            flat[f"{section}.{name}"] = value
    return flat


def saved(run_dir):
    """The settings a run ran with, flat: what its user set (config.yaml) with what it found out (found.yaml)."""
    user, found = saved_parts(run_dir)
    return {**user, **found}


def saved_parts(run_dir):
    """A run's settings as its user set them (config.yaml), and what it found out for the ones left to it
    (found.yaml: its images' shape, the dataset really used, its seed, its evaluation interval). A run folder made
    before found.yaml existed keeps both in config.yaml."""
    path, found = Path(run_dir) / run_files.CONFIG, Path(run_dir) / run_files.FOUND
    return (flatten(read_yaml(path), str(path)),
            flatten(read_yaml(found), str(found)) if found.is_file() else {})


def read_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found; pass an existing file with --config") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"{path} is not valid YAML{line}: {getattr(e, 'problem', e)}; fix the syntax") from None


def parse_override(text_):
    """'train.epochs=5' -> ('train.epochs', 5), the value read as YAML so numbers and lists work, except for a
    setting of text, which takes it as written (output.run_name=off, data.background=#808080)."""
    key, sep, value = text_.partition("=")
    if not sep or not key:
        raise ConfigError(f"'{text_}' is not a key=value override; write it like train.epochs=5")
    key = key.strip()
    if not value.strip():
        return key, None
    if key in SETTINGS and SETTINGS[key].rule.text:
        return key, value
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError:
        raise ConfigError(f"the value in '{text_}' is not valid YAML; quote it or fix it") from None


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


def load(path=None, overrides=(), base=None):
    """Defaults <- the file at `path` (or `base`, an already-flat config) <- `key=value` overrides, checked, and
    read-only from then on: what a run finds out (its images' shape, its seed...) goes into a new mapping made by
    with_found, in train.py, not into the user's settings."""
    flat = {key: setting.default for key, setting in SETTINGS.items()}
    if base is not None:
        flat.update(check(base, "the run's config.yaml"))
    if path is not None:
        flat.update(check(flatten(read_yaml(path), str(path)), str(path)))
    for item in overrides:
        key, value = parse_override(item)
        flat.update(check({key: value}, "the command line"))
    check_combination(flat)
    return types.MappingProxyType(flat)


def with_found(cfg, found):
    """The settings `cfg` with what a run found out for the ones left to it (`found`: key -> value), read-only."""
    return types.MappingProxyType({**cfg, **found})


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
INCEPTION_COST = 25  # InceptionV3's features of one image: the arithmetic of 25 images' training steps
EVALUATION_SHARE = 0.1  # with Inception, evaluations take at most this share of the training's arithmetic


def evaluation_interval(features, num_samples, image_count):
    """eval.every's default: every epoch with the classifier (scoring costs ~5% of a 10,000-digit epoch); with
    Inception (bench/quality_cost.py), the fewest epochs between evaluations that keep them within
    EVALUATION_SHARE of the training: 9 for 60,000 images, 50 for 10,000 (and the last epoch is always scored)."""
    if features == "classifier":
        return 1
    return math.ceil(num_samples * INCEPTION_COST / (EVALUATION_SHARE * image_count))


def check_image_size(size, source):
    if upsampling_stages(size) is None:
        raise ConfigError(f"{source}={size} cannot be built: the generator doubles a start of at most 8 pixels two "
                          f"or more times, so the size must be like 16, 24, 28, 32, 48, 64, 96 or 128; "
                          f"set data.image_size to one of those")


def dump(flat, path):
    """Write the config as YAML, whole or not at all."""
    atomic.write(path, lambda temporary: temporary.write_text(
        yaml.safe_dump(nest(flat), sort_keys=False, default_flow_style=None), encoding="utf-8"))


def settings_help():
    lines = ["settings (override any with key=value; built-in defaults shown, config.yaml repeats them):"]
    for key, setting in SETTINGS.items():
        default = "empty" if setting.default is None else setting.default
        lines.append(f"  {key}={default}\n      {setting.help}")
    return "\n".join(lines)


def fail(message):
    """Print a user mistake as one line and exit with code 2, like argparse does."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_arguments(parser, argv=None):
    """The parser's arguments; an option it does not know is answered with how settings are given (an
    `--epochs 2` is `train.epochs=2`), not argparse's bare "unrecognized arguments"."""
    args, unknown = parser.parse_known_intermixed_args(argv)  # settings before and after an option
    if unknown:
        argv = sys.argv[1:] if argv is None else list(argv)
        name = unknown[0].lstrip("-").split("=")[0].replace("-", "_")
        keys = [key for key in SETTINGS if key.split(".")[1] == name]
        if not keys:
            fail(f"unknown option {unknown[0]} (--help lists the options); settings are given as key=value, like "
                 f"train.epochs=5")
        at = argv.index(unknown[0]) if unknown[0] in argv else -1
        given = unknown[0].partition("=")[2] or (argv[at + 1] if 0 <= at < len(argv) - 1 else "")
        value = given if given and not given.startswith("-") else SETTINGS[keys[0]].default
        fail(f"unknown option {unknown[0]}: settings are given as key=value, like {keys[0]}={value} "
             f"(--help lists them all)")
    return args


def argument_parser(description):
    return argparse.ArgumentParser(description=description, epilog=settings_help(),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
