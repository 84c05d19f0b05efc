"""Can the quality numbers of a folder without labels be trusted? Three feature spaces checked three ways: the
network with random weights that eval.features=auto scores such a folder with (quality/random_network.py), the
same network trained without labels by SimCLR (below), and a 64-component PCA of the pictures downsampled to
16x16.

  python bench/feature_checks.py damage DIR            # real images damaged at 4 levels: the distance must rise
  python bench/feature_checks.py drop DIR              # real images of k of the judge's classes held out
  python bench/feature_checks.py rank DIR RUN [RUN ...] --judge JUDGE [--samples N] [--network-seeds 1,2]

DIR is the loose folder (its random network made once, as a run would; eval.evaluator_dir as train.py's). For
`drop` and `rank`, JUDGE is a classifier that knows the data's classes: `mnist` (the committed one: DIR must hold
the bundled digits as bench/digit_folder.py --loose writes them) or the labelled copy of DIR (bench/openmoji.py's
OUT/groups, its classifier made by train_classifier.py). `rank` scores every checkpoint a run kept (train.py
output.checkpoints_to_keep=N with eval.every=0 keeps N epochs) on N samples (2,000) in each space and with the
judge, and reports Spearman's rank correlation of each space's Fréchet distance with the judge's, over all (run,
epoch) points and within each run; and the judge's own on N other samples, the most sampling noise lets any
space reach. The tables of docs/quality.md come from here.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SAMPLES = 2000          # generated images scored per checkpoint, as train.py's eval.num_samples
JUDGE_AGAIN = "the judge, other samples"
PIXEL_SIDE, PIXEL_COMPONENTS = 16, 64


def folder_settings(path, overrides=()):
    from settings import config
    return config.load(overrides=["data.dataset=folder", f"data.path={path}", *overrides])


def real_parts(cfg):
    """The folder's images (all of them, at its shape), and the reference and baseline indices its evaluator uses."""
    from data import sources
    from quality import references
    images, _, _ = sources.load_images({**cfg, "data.limit": None}, same_listing=True)
    cfg = {**cfg, "data.image_size": images.shape[1], "data.channels": images.shape[3]}
    _, baseline, reference = references.split(len(images), cfg["data.dataset"])
    return cfg, images, reference, baseline


# The learnt candidate: the same network trained by SimCLR's contrastive loss (Chen et al. 2020, NT-Xent) on
# random crops (no colour jitter: the distance would go blind to colour), features from the backbone.
STEPS = 200             # contrastive steps of BATCH images, each cropped twice: about a minute at 28x28
BATCH = 256
TEMPERATURE = 0.2       # of NT-Xent's softmax over the batch's other crops
CROP_AREA = (0.5, 1.0)  # a crop keeps this share of the image, then is resized back to it
PROJECTION = 64         # the projection head's width (its output feeds the loss, not the scores)


def random_crops(images, generator):
    """Each image (N, H, W, C) cropped to a random box of CROP_AREA of its area (aspect 3:4 to 4:3) and resized
    back to H x W: the only view change the features learn to ignore."""
    import tensorflow as tf
    count = tf.shape(images)[0]
    area = generator.uniform([count], *CROP_AREA)
    aspect = tf.exp(generator.uniform([count], np.log(3 / 4), np.log(4 / 3)))
    height, width = tf.minimum(tf.sqrt(area * aspect), 1.0), tf.minimum(tf.sqrt(area / aspect), 1.0)
    top, left = generator.uniform([count]) * (1 - height), generator.uniform([count]) * (1 - width)
    boxes = tf.stack([top, left, top + height, left + width], axis=1)
    return tf.image.crop_and_resize(images, boxes, tf.range(count), tf.shape(images)[1:3])


def contrastive_loss(first, second):
    """NT-Xent: for each of the 2N projections, cross-entropy of finding its pair's among the 2N - 1 others."""
    import tensorflow as tf
    rows = tf.math.l2_normalize(tf.concat([first, second], 0), axis=1)
    count = tf.shape(first)[0]
    similarity = rows @ tf.transpose(rows) / TEMPERATURE - 1e9 * tf.eye(2 * count)  # never one's own crop
    pairs = tf.concat([tf.range(count, 2 * count), tf.range(count)], 0)
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(pairs, similarity, from_logits=True))


def train_encoder(images, numbers, seed=0, verbose=True):
    """The random network's encoder trained on images[numbers] by SimCLR for STEPS steps, seeded; one progress
    line with the time left."""
    import keras
    import tensorflow as tf

    from data import pipeline
    from output import progress
    from quality import random_network
    network = random_network.encoder(images.shape[1], images.shape[3], seed)
    head = keras.Sequential([keras.layers.Dense(PROJECTION, activation="relu"), keras.layers.Dense(PROJECTION)])
    optimizer = keras.optimizers.Adam(1e-3)
    crops = tf.random.Generator.from_seed(seed)

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            # L = NT-Xent(h(f(crop1(x))), h(f(crop2(x)))): pairs of one image close, other images apart
            loss = contrastive_loss(head(network(random_crops(batch, crops), training=True)),
                                    head(network(random_crops(batch, crops), training=True)))
        weights = network.trainable_variables + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    order = np.random.default_rng(seed)
    line = progress.Progress("learning the features of the data's images", STEPS * BATCH) if verbose else None
    for number in range(STEPS):
        chosen = np.sort(order.choice(len(numbers), min(BATCH, len(numbers)), replace=False))
        step(tf.constant(pipeline.scale(images[numbers[chosen]])))
        if line:
            line.show((number + 1) * BATCH)
    return network


class PixelPCA:
    """Features as a PCA of the pictures downsampled to PIXEL_SIDE x PIXEL_SIDE, fitted on the reference images."""

    def __init__(self, scaled_images):
        flat = self.downsampled(scaled_images)
        self.mean = flat.mean(axis=0)
        _, _, axes = np.linalg.svd(flat - self.mean, full_matrices=False)
        self.axes = axes[:PIXEL_COMPONENTS].T

    @staticmethod
    def downsampled(scaled_images):
        import tensorflow as tf
        small = tf.image.resize(np.asarray(scaled_images, np.float32), (PIXEL_SIDE, PIXEL_SIDE), antialias=True)
        return small.numpy().reshape(len(scaled_images), -1)

    def __call__(self, scaled_images, training=False):
        return (self.downsampled(scaled_images) - self.mean) @ self.axes


def spaces(cfg, images, reference, network_seeds=()):
    """name -> a function from scaled images to features: the random network eval.features=auto scores a
    loose folder with, the same network trained by SimCLR on the images outside the reference, a pixel PCA;
    and the same random network from each of `network_seeds` (how much the shipped seed's luck counts)."""
    from data import pipeline
    from quality import evaluators, random_network, references
    shipped, _ = evaluators.for_random_network(cfg)
    train_part, _, _ = references.split(len(images), cfg["data.dataset"])
    learnt = train_encoder(images, np.sort(train_part[:20_000]))
    real = pipeline.scale(images[reference])
    made = {"random weights (shipped)": shipped, "learnt (SimCLR)": learnt, "pixel PCA": PixelPCA(real)}
    for seed in network_seeds:
        made[f"random weights, seed {seed}"] = random_network.scaled(
            random_network.encoder(images.shape[1], images.shape[3], seed=seed), real)
    return made


def references_of(networks, images, reference, baseline):
    """name -> a metrics.Reference of each space, with its modes and real-vs-real scores."""
    from data import pipeline
    from quality import metrics, random_network
    made = {}
    for name, network in networks.items():
        features = metrics.embed(network, pipeline.scale(images[reference]))[0]
        real = metrics.embed(network, pipeline.scale(images[baseline]))[0]
        made[name] = metrics.measured_reference(features, (real, None), modes=random_network.modes_of(features))
    return made


def spearman(a, b):
    from scipy.stats import spearmanr
    return float(spearmanr(a, b).statistic)


# Damage at four levels, on uint8 pictures (N, H, W, C).
def noise(pictures, level, rng):
    return np.clip(pictures + rng.normal(0, 16 * 2 ** (level - 1), pictures.shape), 0, 255).astype(np.uint8)


def blur(pictures, level, rng):
    from scipy.ndimage import gaussian_filter
    return np.rint(gaussian_filter(pictures.astype(np.float32), (0, 0.5 * level, 0.5 * level, 0))).astype(np.uint8)


def black_patch(pictures, level, rng):
    damaged, side = pictures.copy(), round(pictures.shape[1] * 0.15 * level)
    for picture in damaged:
        top, left = rng.integers(0, pictures.shape[1] - side + 1, size=2)
        picture[top:top + side, left:left + side] = 0
    return damaged


def colour_shift(pictures, level, rng):
    shift = np.zeros(pictures.shape[-1]) + 24 * level
    if pictures.shape[-1] == 3:
        shift = np.array([24, -24, 0]) * level  # redder, less green: the same brightness, another colour
    return np.clip(pictures.astype(np.int32) + shift, 0, 255).astype(np.uint8)


DAMAGE = {"noise": noise, "blur": blur, "black patch": black_patch, "colour shift": colour_shift}


def damage(args):
    from data import pipeline
    from quality import metrics
    cfg, images, reference, baseline = real_parts(folder_settings(args.dir, args.overrides))
    networks = spaces(cfg, images, reference)
    made = references_of(networks, images, reference, baseline)
    clean = images[baseline]
    print("| damage | levels 0-4 | " + " | ".join(f"{name}: Fréchet distance by level (Spearman)" for name in networks)
          + " |\n|---|---|" + "---|" * len(networks))
    for kind, hurt in DAMAGE.items():
        cells = []
        for name, network in networks.items():
            rng = np.random.default_rng(0)
            distances = [metrics.frechet_distance(metrics.embed(network, pipeline.scale(
                clean if level == 0 else hurt(clean, level, rng)))[0], made[name].statistics) for level in range(5)]
            cells.append(f"{' / '.join(f'{d:.3g}' for d in distances)} ({spearman(range(5), distances):.2f})")
        print(f"| {kind} | 0-4 | " + " | ".join(cells) + " |", flush=True)


def judge_labels(args, cfg, count):
    """The judge's class of each of the folder's `count` images: the bundled digits' labels (their loose folder
    is in the bundled order), or the labelled copy's subfolder of each file name."""
    from data import folder_cache, sources
    if args.judge == "mnist":
        labels = sources.load_sample_labels()
        assert len(labels) == count, "DIR is not the bundled digits as bench/digit_folder.py --loose writes them"
        return labels, sources.DIGITS
    listing = folder_cache.listing(Path(os.path.expanduser(cfg["data.path"])))
    groups = {Path(name).name: Path(name).parent.name for name, _, _ in
              folder_cache.listing(Path(os.path.expanduser(args.judge)))}
    names = sorted(set(groups.values()))
    return np.array([names.index(groups[Path(name).name]) for name, _, _ in listing]), names


def drop(args):
    from data import pipeline
    from quality import metrics
    from record import log
    cfg, images, reference, baseline = real_parts(folder_settings(args.dir, args.overrides))
    labels, names = judge_labels(args, cfg, len(images))
    networks = spaces(cfg, images, reference)
    made = references_of(networks, images, reference, baseline)
    order = np.random.default_rng(0).permutation(len(names))
    print("| classes held out | " + " | ".join(f"{name}: recall / coverage / rarest mode's drawn / real share" for name in networks)
          + " | the warning (random weights) |\n|---|" + "---|" * (len(networks) + 1))
    for k in range(5):
        kept = baseline[~np.isin(labels[baseline], order[:k])]
        cells, warning = [], ""
        for name, network in networks.items():
            found = metrics.scores(metrics.embed(network, pipeline.scale(images[kept]))[0], None, made[name])
            cells.append(f"{found['recall']:.3f} / {found['coverage']:.3f} / {found['min_mode_ratio']:.2f}")
            if name.startswith("random weights"):
                row = {key: value for key, value in found.items() if key != "rarest_mode"}
                said = log.mode_warnings([row] * log.PATIENCE, found["rarest_mode"])
                warning = said[0][1].split(";")[1].split(":")[0].strip() if said else "none"
        held = ", ".join(names[c] for c in order[:k]) or "none"
        print(f"| {held} | " + " | ".join(cells) + f" | {warning} |", flush=True)


def checkpoint_generator(run_dir, prefix):
    """The sampler a run's checkpoint `prefix` holds (the averaged generator if it has one), its epoch, and a
    self-conditioned run's cluster shares (None otherwise)."""
    import tensorflow as tf

    import models
    from record import generator_files
    from settings import config
    cfg = config.load(base=config.saved(run_dir))
    class_names = generator_files.run_class_names(run_dir)
    generator, _ = models.from_config(cfg, class_names=class_names)
    name = "average_generator" if cfg["train.ema_decay"] else "generator"
    tf.train.Checkpoint(**{name: generator}).restore(prefix).expect_partial().assert_existing_objects_matched()
    epoch = int(tf.train.load_variable(prefix, "epoch/.ATTRIBUTES/VARIABLE_VALUE"))
    shares = None
    if cfg["model.clusters"]:
        numbers = tf.train.load_variable(prefix, "clusters/.ATTRIBUTES/VARIABLE_VALUE")
        shares = np.bincount(numbers, minlength=cfg["model.clusters"]) / len(numbers)
    return generator, epoch, shares


def samples_of(generator, shares, count, seed):
    """`count` samples of the generator from noise seeded by `seed` (a self-conditioned one: its clusters in
    proportion to their shares)."""
    from training import clusters
    noise = np.random.default_rng(seed).standard_normal((count, generator.inputs[0].shape[-1])).astype("float32")
    if shares is None:
        return np.concatenate([generator(noise[i:i + 500], training=False).numpy() for i in range(0, count, 500)])
    classes = np.eye(len(shares), dtype="float32")[clusters.proportional(shares, count)]
    return np.concatenate([generator([noise[i:i + 500], classes[i:i + 500]], training=False).numpy()
                           for i in range(0, count, 500)])


def judge_of(args, cfg):
    """The judge's network and Reference: the committed MNIST classifier, or the labelled copy's."""
    from quality import references
    judged = {**cfg, "data.dataset": "mnist_sample", "data.path": None} if args.judge == "mnist" else \
        {**cfg, "data.path": args.judge}
    network, reference = references.load_classifier(judged)
    assert network is not None, f"no classifier for {args.judge}: make it with python train_classifier.py"
    return network, reference


def rank(args):
    import tensorflow as tf

    from quality import metrics
    cfg, images, reference, baseline = real_parts(folder_settings(args.dir, args.overrides))
    networks = spaces(cfg, images, reference, args.network_seeds)
    made = references_of(networks, images, reference, baseline)
    judge, judged = judge_of(args, cfg)
    points = []  # (run, epoch, judge's distance, {space: distance})
    for run_dir in args.runs:
        state = tf.train.get_checkpoint_state(run_dir / "checkpoints")
        for prefix in state.all_model_checkpoint_paths:
            generator, epoch, shares = checkpoint_generator(run_dir, prefix)
            samples = samples_of(generator, shares, args.samples, seed=1)
            truth = metrics.frechet_distance(metrics.embed(judge, samples)[0], judged.statistics)
            distances = {name: metrics.frechet_distance(metrics.embed(network, samples)[0], made[name].statistics)
                         for name, network in networks.items()}
            # The judge itself on as many other samples: how far sampling noise alone lets any space agree with it.
            other = samples_of(generator, shares, args.samples, seed=2)
            distances[JUDGE_AGAIN] = metrics.frechet_distance(metrics.embed(judge, other)[0], judged.statistics)
            points.append((run_dir.name, epoch, truth, distances))
            print(f"{run_dir.name} epoch {epoch}: judge {truth:.2f}, " + ", ".join(
                f"{name} {value:.4g}" for name, value in distances.items()), flush=True)
    columns = [*networks, JUDGE_AGAIN]
    print("\n| points | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    groups = [("all", points)] + [(run, [p for p in points if p[0] == run]) for run in dict.fromkeys(p[0] for p in points)]
    for title, chosen in groups:
        judged_distances = [p[2] for p in chosen]
        halves = max(judged_distances) >= 2 * min(judged_distances)
        print(f"| {title} ({len(chosen)}; judge {max(judged_distances):.1f} -> {min(judged_distances):.1f}"
              f"{'' if halves or title == 'all' else ', does not halve'}) | " + " | ".join(
                  f"{spearman(judged_distances, [p[3][name] for p in chosen]):.2f}" for name in columns) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["damage", "drop", "rank"])
    parser.add_argument("dir", type=Path, help="the loose folder")
    parser.add_argument("runs", nargs="*", type=Path, help="rank: the run directories")
    parser.add_argument("--judge", default="mnist", help="mnist, or the labelled copy of DIR (drop and rank)")
    parser.add_argument("--network-seeds", type=lambda text: [int(seed) for seed in text.split(",")], default=[],
                        help="rank: also the random network from these seeds (1,2,3,4), beside the shipped seed 0")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="rank: generated images scored per checkpoint")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="key=value",
                        help="settings as for train.py (data.image_size=32, eval.evaluator_dir=...)")
    args = parser.parse_args()
    {"damage": damage, "drop": drop, "rank": rank}[args.check](args)
