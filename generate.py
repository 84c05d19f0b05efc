"""Draw new digits from a trained generator.

  python generate.py outputs/RUN                          64 digits as one grid, outputs/RUN/samples.png
  python generate.py outputs/RUN --num 2000 --seed 7 --out samples.npz
  python generate.py outputs/RUN --out digits/            one PNG per digit
  python generate.py outputs/RUN --interpolate 5 --out walk.gif
  python generate.py outputs/RUN --label 7                a conditional run's 7s (or --label cat, --label 3,8)
  python generate.py outputs/RUN --walk-classes --num 8   8 noise vectors, each morphing through every class

A conditional generator (model.conditional) draws the classes of --label; without it the N images cycle
through all classes (image i is class i mod C), and a grid has one class per column. A self-conditioned
one (model.clusters) draws clusters: --label 3 (or cluster3) draws cluster 3, and without --label each cluster
comes as often as its share of the training images, in cluster order.
MODEL is a run directory (its generator_ema.keras if it averaged its generator's weights, else
generator.keras; --best for generator_best.keras; a run without either, say an interrupted one,
uses its latest checkpoint), a .keras file, or a checkpoints/ directory. The same --seed gives the
same images, bit for bit, on the same machine. Without --out the output goes into the run's directory,
as samples.png (or interpolation.gif), numbered (samples_2.png, ...) rather than replacing an earlier one.
"""

import argparse
import os
import random
from pathlib import Path

from output import run_files
from settings import command_line, config
from settings.schema import ConfigError
from training import tflog


OUTPUT_KINDS = (".png", ".npz", ".gif", "a directory")
FRAMES_PER_LEG = 24  # interpolation frames between two latent points: about 2.4 s at 10 frames/s
BATCH = 1000  # images generated per call: fast, and memory stays small for any --num


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, metavar="MODEL", help="run directory, .keras file or checkpoints/ directory")
    parser.add_argument("--best", action="store_true", help="use the run's generator_best.keras")
    parser.add_argument("--num", type=int, default=64, metavar="N", help="how many digits (default 64)")
    parser.add_argument("--seed", type=int, metavar="S", help="noise seed (default: a new one, printed)")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="*.png grid, *.npz array (key 'images', uint8, (N, H, W, C)), a directory for one "
                             "PNG per image, or *.gif with --interpolate (default: samples.png / interpolation.gif in the "
                             "run's directory, numbered if taken)")
    parser.add_argument("--interpolate", type=int, metavar="K",
                        help="a looping GIF of N digits each walking smoothly through K random latent points "
                             "(conditional: each keeps its class)")
    parser.add_argument("--label", metavar="CLASSES",
                        help="conditional generators: the class(es) to draw, names or numbers, comma-separated "
                             "(like 7, or cat,dog); default: all, in turn")
    parser.add_argument("--walk-classes", action="store_true",
                        help="conditional generators: a looping GIF of N digits, each keeping its noise while its "
                             "class moves smoothly through the --label classes (default: all)")
    return parser.parse_args(argv)


def output_kind(path, walk):
    """'.png', '.npz', '.gif' or 'dir'; a ConfigError for anything else, before any work is done. `walk`
    names the option asking for a GIF (--interpolate or --walk-classes), if any."""
    suffix = path.suffix.lower()
    if walk is not None:
        if suffix != ".gif":
            raise ConfigError(f"{walk} writes a GIF; give --out a .gif path, not {path}")
        return ".gif"
    if suffix == ".gif":
        raise ConfigError("a .gif output needs --interpolate K or --walk-classes; for samples use .png, .npz or a "
                          "directory")
    if suffix in (".png", ".npz"):
        return suffix
    if suffix == "" or path.is_dir():
        return "dir"
    raise ConfigError(f"unknown output type {path.suffix!r} for {path}; use one of {', '.join(OUTPUT_KINDS)}")


def check_args(args):
    if args.num <= 0:
        raise ConfigError(f"--num must be at least 1, got {args.num}")
    if args.interpolate is not None and args.interpolate < 2:
        raise ConfigError(f"--interpolate needs at least 2 points to walk between, got {args.interpolate}")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed must be 0 or more, got {args.seed}")
    if args.interpolate is not None and args.walk_classes:
        raise ConfigError("--interpolate and --walk-classes are two kinds of GIF; choose one")
    if not args.model.exists():
        raise ConfigError(f"{args.model} does not exist; pass a run directory, a .keras file or a checkpoints/ folder")
    walk = "--interpolate" if args.interpolate is not None else "--walk-classes" if args.walk_classes else None
    default_name = {"--interpolate": "interpolation.gif", "--walk-classes": "class_walk.gif"}.get(walk, "samples.png")
    args.out = args.out or unused_path(default_folder(args.model), default_name)
    return output_kind(args.out, walk)


def parse_labels(text, class_names):
    """--label's classes as numbers; each item a class name or number of the generator's `class_names`."""
    labels = []
    for item in (part.strip() for part in text.split(",")):
        if item in class_names:
            labels.append(class_names.index(item))
        elif item.isdigit() and int(item) < len(class_names):
            labels.append(int(item))
        else:
            shown = ", ".join(class_names[:12]) + (", ..." if len(class_names) > 12 else "")
            raise ConfigError(f"--label {item!r} is not a class of this generator; its {len(class_names)} classes "
                              f"are {shown} (a name, or a number from 0 to {len(class_names) - 1})")
    return labels


def default_folder(model):
    """Where output goes without --out: the run's directory (the folder holding a .keras file or checkpoints/)."""
    if model.is_file() or (model / "checkpoint").is_file():
        return model.parent
    return model


def unused_path(folder, name):
    """folder/name, or folder/name_2, _3, ... when taken: an earlier picture is never replaced unasked."""
    path, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 2
    while path.exists():
        path, n = folder / f"{stem}_{n}{suffix}", n + 1
    return path


def find_model(path, best):
    """('keras', file) or ('checkpoint', (checkpoints dir, run directory)) for what `path` names."""
    if path.is_file():
        if path.suffix != ".keras":
            raise ConfigError(f"{path} is not a .keras model file; pass a run directory or a generator .keras file")
        return "keras", path
    if best:
        if not (path / run_files.BEST_GENERATOR).is_file():
            raise ConfigError(f"{path} has no generator_best.keras; drop --best to use generator.keras")
        return "keras", path / run_files.BEST_GENERATOR
    for name in (run_files.AVERAGED_GENERATOR, run_files.GENERATOR):  # the averaged weights draw better digits
        if (path / name).is_file():
            return "keras", path / name
    checkpoints = path if (path / "checkpoint").is_file() else path / run_files.CHECKPOINTS
    if (checkpoints / "checkpoint").is_file() and (checkpoints.parent / run_files.CONFIG).is_file():
        return "checkpoint", (checkpoints, checkpoints.parent)
    raise ConfigError(f"{path} has no generator.keras and no checkpoint; pass a run directory of train.py")


def load_generator(kind, where):
    """The generator, loaded in Keras' safe mode (nothing from the file is executed), and its class names
    ([] unless it is conditional)."""
    import keras
    import tensorflow as tf

    import models
    from record import generator_files
    from training import checkpoint
    if kind == "keras":
        try:
            model = keras.models.load_model(where, compile=False, safe_mode=True)
        except Exception as e:  # Keras raises many types for a damaged or foreign file
            raise ConfigError(f"cannot load {where} as a Keras model ({type(e).__name__}); is it a generator "
                              f"saved by train.py?") from None
        shapes = [tuple(tensor.shape) for tensor in model.inputs]
        if any(len(shape) != 2 for shape in shapes) or len(shapes) > 2 or len(model.output_shape) != 4:
            raise ConfigError(f"{where} is a model, but not a generator (noise vector [and class] in, image out)")
        class_names = checked_names(generator_files.saved_class_names(where), where)
        if len(shapes) == 2 and len(class_names) != shapes[1][1]:
            class_names = [str(k) for k in range(shapes[1][1])]  # a conditional generator saved without names
        return model, class_names
    checkpoints, run_dir = where
    cfg = config.load(base=config.saved(run_dir))
    conditional = cfg["model.conditional"] or cfg["model.clusters"]
    class_names = checked_names(generator_files.run_class_names(run_dir), run_dir / generator_files.CLASSES_FILE) if conditional else []
    if conditional and not class_names:
        raise ConfigError(f"{run_dir} trained a conditional generator, but its {generator_files.CLASSES_FILE} is missing; "
                          f"restore it")
    generator, _ = models.from_config(cfg, class_names=class_names)
    name = "average_generator" if cfg["train.ema_decay"] else "generator"
    prefixes = checkpoint.existing_checkpoints(checkpoints, "pass a run with a checkpoint, or a generator .keras file")
    try:  # every weight of the generator must come from the checkpoint: a partial restore would draw noise
        restored = tf.train.Checkpoint(**{name: generator}).restore(prefixes[-1]).expect_partial()
        restored.assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError) as e:
        raise checkpoint.damaged_checkpoint(prefixes, e) from None
    return generator, class_names


def cluster_shares(kind, where):
    """A self-conditioned generator's cluster shares (saved in its .keras file, or counted from the checkpoint's
    cluster numbers), or None."""
    from record import generator_files
    if kind == "keras":
        return generator_files.saved_class_shares(where)
    import numpy as np
    import tensorflow as tf

    from training import checkpoint
    checkpoints, run_dir = where
    cfg = config.load(base=config.saved(run_dir))
    if not cfg["model.clusters"]:
        return None
    newest = checkpoint.existing_checkpoints(checkpoints, "pass a run with a checkpoint")[-1]
    numbers = tf.train.load_variable(newest, "clusters/.ATTRIBUTES/VARIABLE_VALUE")
    return np.bincount(numbers, minlength=cfg["model.clusters"]) / len(numbers)


def checked_names(class_names, source):
    """Class names read from a file, refused if one could not be part of an output file's name (a name like
    "../x" would write outside --out)."""
    for name in class_names:
        if not name or name in (".", "..") or any(character in name for character in "/\\\0"):
            raise ConfigError(f"{source} names a class {name!r}, which cannot be part of a file name; only use "
                              f"generators saved by train.py, or fix the class names it was trained with")
    return class_names


def describe_model(kind, where):
    if kind == "checkpoint":
        from training import checkpoint
        newest = checkpoint.existing_checkpoints(where[0], "")[-1]  # loaded already: there is one
        return f"the generator of the newest checkpoint in {where[0]}, {Path(newest).name}"
    what = {run_files.AVERAGED_GENERATOR: "the averaged generator", run_files.BEST_GENERATOR: "the best epoch's generator",
            run_files.GENERATOR: "the trained generator"}.get(where.name, "a generator")
    return f"{where} ({what})"


def generate(generator, noise, classes=None):
    """Noise (N, noise_dim), and for a conditional generator classes (N, C) as one-hot (or mixed) rows ->
    uint8 images (N, H, W, C), in batches: no per-image Python loop."""
    import numpy as np

    from record import images
    return np.concatenate([images.to_uint8(generator(noise[i:i + BATCH] if classes is None else
                                                     [noise[i:i + BATCH], classes[i:i + BATCH]], training=False))
                           for i in range(0, len(noise), BATCH)])


def slerp(a, b, t):
    """Spherical interpolation between rows of a and b: stays where Gaussian noise lives (near the
    sphere of radius sqrt(noise_dim)), unlike a straight line, which cuts through the low-norm middle."""
    import numpy as np
    cosine = np.sum(a * b, axis=1, keepdims=True) / (np.linalg.norm(a, axis=1, keepdims=True)
                                                     * np.linalg.norm(b, axis=1, keepdims=True))
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    sine = np.maximum(np.sin(omega), 1e-8)
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / sine


def latent_walk(rng, count, points, noise_dim):
    """(points * FRAMES_PER_LEG, count, noise_dim): `count` walks through `points` random points and back
    to the first, so the GIF loops without a jump."""
    import numpy as np
    stops = rng.standard_normal((points, count, noise_dim))
    legs = [slerp(stops[k], stops[(k + 1) % points], t)
            for k in range(points) for t in np.arange(FRAMES_PER_LEG) / FRAMES_PER_LEG]
    return np.stack(legs).astype("float32")


def class_walk(labels, count, num_classes):
    """(len(labels) * FRAMES_PER_LEG, count, C) class vectors moving linearly from each of `labels` (one-hot)
    to the next and back to the first: `count` rows, all on the same class at each frame."""
    import numpy as np
    stops = np.eye(num_classes, dtype="float32")[labels]
    legs = [(1 - t) * stops[k] + t * stops[(k + 1) % len(labels)]
            for k in range(len(labels)) for t in np.arange(FRAMES_PER_LEG) / FRAMES_PER_LEG]
    return np.repeat(np.stack(legs)[:, None, :], count, axis=1)


def write(kind, out, samples, labels=None, class_names=(), columns=None):
    """Write uint8 samples (N, H, W, C) as a grid PNG (`columns` wide, else square-ish), an .npz array, or
    numbered PNGs in a folder; a conditional generator's `labels` go into the .npz and the file names."""
    import imageio.v3 as iio
    import numpy as np

    from output import atomic
    from record import images
    if kind == ".png":
        images.save_png(images.grid(samples, columns=columns), out)
    elif kind == ".npz":
        arrays = {"images": samples} if labels is None else {"images": samples, "labels": np.asarray(labels, np.int64)}
        atomic.write(out, lambda tmp: np.savez_compressed(tmp, **arrays))
    else:
        out.mkdir(parents=True, exist_ok=True)
        digits = len(str(len(samples)))
        for i, sample in enumerate(samples, 1):
            name = f"{i:0{digits}d}" + ("" if labels is None else f"_{class_names[labels[i - 1]]}")
            iio.imwrite(out / f"{name}.png", sample[..., 0] if sample.shape[-1] == 1 else sample)


def write_walk(out, frames):
    """Frames (F, N, H, W, C) -> a looping GIF, each frame a grid of the N walks."""
    from record import images
    images.save_gif([images.grid(frame) for frame in frames], out, frame_ms=100)


def main(argv=None):
    args = parse_args(argv)
    try:
        kind = check_args(args)
        model_kind, where = find_model(args.model, args.best)
        if kind != "dir" and not args.out.parent.exists():
            raise ConfigError(f"the folder of {args.out} does not exist; create it or choose another --out")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log: errors too (they raise anyway)
        import numpy as np  # TensorFlow and numpy load only once the arguments are known to be good
        with tflog.start_up_lines_hidden():
            generator, class_names = load_generator(model_kind, where)
        print(f"loaded {describe_model(model_kind, where)}")
        if not class_names and (args.label is not None or args.walk_classes):
            raise ConfigError(f"{'--label' if args.label is not None else '--walk-classes'} needs a conditional "
                              f"generator, and this one draws no chosen class (train with model.conditional=true)")
        asked = parse_labels(args.label, class_names) if args.label is not None else list(range(len(class_names)))
        labels = np.array([asked[i % len(asked)] for i in range(args.num)]) if class_names else None
        shares = cluster_shares(model_kind, where) if args.label is None else None
        if shares is not None:  # clusters as often as the data holds them, not in turn
            from training import clusters
            labels = clusters.proportional(shares, args.num)
        one_hot = np.eye(len(class_names), dtype="float32")
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
        rng = np.random.default_rng(seed)
        noise_dim = generator.inputs[0].shape[-1]
        if kind == ".gif":
            if args.walk_classes:  # each row keeps its noise; the class moves
                classes = class_walk(asked, args.num, len(class_names))
                walk = np.broadcast_to(rng.standard_normal((args.num, noise_dim)).astype("float32"),
                                       (len(classes), args.num, noise_dim))
            else:  # each walk keeps its class; the noise moves
                walk = latent_walk(rng, args.num, args.interpolate, noise_dim)
                classes = None if labels is None else np.broadcast_to(one_hot[labels], (len(walk), *one_hot[labels].shape))
            frames = generate(generator, walk.reshape(-1, noise_dim),
                              None if classes is None else classes.reshape(-1, len(class_names)))
            write_walk(args.out, frames.reshape(len(walk), args.num, *frames.shape[1:]))
        else:
            noise = rng.standard_normal((args.num, noise_dim)).astype("float32")
            samples = generate(generator, noise, None if labels is None else one_hot[labels])
            # one column per class asked for, in the order asked (labels cycle through them); one class: square
            columns = len(asked) if len(asked) > 1 and shares is None else None
            write(kind, args.out, samples, labels, class_names, columns=columns)
        print(f"wrote {args.out} ({args.num} images, seed {seed})")
    except ConfigError as e:
        command_line.fail(str(e))
    except OSError as e:
        command_line.fail(f"cannot write {args.out}: {e.strerror}; choose another --out")


if __name__ == "__main__":
    main()
