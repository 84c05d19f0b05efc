"""How often a run's generator draws each of the data's groups, against how often its real pictures are read as
each: for a run scored by a classifier of the data's groups (eval.classifier), labelled or self-conditioned.

  python bench/group_shares.py RUN [RUN ...] [--samples 4000]

metrics.csv's min_class_share is the rarest group's share of the generated pictures as the classifier reads them.
A classifier of middling accuracy misreads real pictures too: OpenMoji's groups classifier at 32x32 (69.5%
held-out) reads almost none of them as its smallest group. So here each group's generated share is set against
the share of the run's own training pictures the same classifier reads as that group: a ratio of 1 draws the
group as often as the real pictures show it to this classifier, 0.5 half as often. A group read in under 0.5%
of the real pictures is marked: too rare for this classifier to say.

The generated pictures come from the run's averaged generator (generator_ema.keras, else generator.keras) on noise of
seed 0, a self-conditioned run's clusters in proportion to their shares of the data, as its scoring draws them; a
labelled run's classes in turn.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

JUDGEABLE = 0.005  # a group read in fewer of the real pictures than this is too rare to judge


def shares_of_run(run_dir, samples):
    """(group names, share of the held-out reference's true labels, real pictures read as, generated read as)."""
    import generate
    from data import pipeline, sources
    from quality import evaluators, metrics
    from settings import config
    from training import clusters
    cfg = config.load(base=config.saved(run_dir))
    network, reference = evaluators.find_classifier(cfg)
    kind, where = generate.find_model(run_dir, best=False)
    generator, _ = generate.load_generator(kind, where)
    noise = np.random.default_rng(0).standard_normal((samples, generator.inputs[0].shape[-1])).astype("float32")
    inputs = noise
    if len(generator.inputs) > 1:
        class_count = generator.inputs[1].shape[-1]
        drawn_shares = generate.cluster_shares(kind, where)
        drawn = clusters.proportional(drawn_shares, samples) if drawn_shares is not None \
            else np.resize(np.arange(class_count), samples)
        inputs = [noise, np.eye(class_count, dtype="float32")[drawn]]
    batch = 250
    pictures = np.concatenate([generator(inputs[i:i + batch] if len(generator.inputs) == 1 else
                                         [part[i:i + batch] for part in inputs], training=False).numpy()
                               for i in range(0, samples, batch)])
    generated = metrics.class_shares(metrics.embed(network, pictures)[1])
    real_images = sources.load_images(cfg)[0]
    every_real = pipeline.ScaledView(real_images, np.arange(len(real_images)))
    real = metrics.class_shares(metrics.embed(network, every_real)[1])
    counted = np.bincount(reference.labels, minlength=len(reference.class_names)) / len(reference.labels)
    return reference.class_names, counted, real, generated


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN")
    parser.add_argument("--samples", type=int, default=4000, help="generated pictures per run (default 4000)")
    args = parser.parse_args()
    for run_dir in args.runs:
        names, counted, real, generated = shares_of_run(run_dir, args.samples)
        print(f"\n{run_dir.name}: {args.samples} generated pictures\n")
        print("| group | share of the labelled pictures | real pictures read as it | generated read as it | "
              "generated / real |")
        print("|---|--:|--:|--:|--:|")
        ratios = []
        for name, count, read, drawn in zip(names, counted, real, generated):
            ratio = f"{drawn / read:.2f}" if read >= JUDGEABLE else "too rare to judge"
            ratios += [drawn / read] if read >= JUDGEABLE else []
            print(f"| {name} | {count:.1%} | {read:.1%} | {drawn:.1%} | {ratio} |")
        print(f"\nlowest generated / real over the {len(ratios)} judged groups: {min(ratios):.2f}")


if __name__ == "__main__":
    main()
