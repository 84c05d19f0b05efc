"""How much the clusters move when k-means runs in principal axes of the discriminator's features instead of all
their dimensions: normalised mutual information (training/clusters.py agreement) between clusterings of a
self-conditioned run's images, from its newest checkpoint's discriminator, and of each with the data's own classes.

  python bench/digit_folder.py --loose unlabelled
  python train.py --config configs/clusters.yaml train.cluster_axes=0 data.dataset=folder data.path=unlabelled \\
      train.epochs=8 eval.every=0 output.checkpoints_to_keep=8 output.run_name=clusters
  python bench/cluster_agreement.py outputs/clusters        # a few minutes on 2 cores

Two clusterings in all dimensions (seeds 0 and 1: how far k-means moves from another seed alone) against three in
the default train.cluster_axes (seeds 0-2), each compared with the first all-dimension one. The data's classes are
read when the images have them (the bundled digits, a folder with class subfolders).
"""

import argparse
import os
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a self-conditioned run's folder (model.clusters > 0)")
    args = parser.parse_args()
    from settings import resume, schema
    from data import sources
    from training import checkpoint, clusters, loop, state
    run, images, _, class_names = loop.load_training_data(resume.resumed_run(args.run, []))
    training = state.TrainingState(run, loop.start_tensorflow(run), class_names, args.run / "checkpoints", len(images))
    training.restore(checkpoint.existing_checkpoints(str(args.run / "checkpoints"), "train the run first"), run)
    labels = sources.known_classes(run)[0]  # None: the images have no classes
    features_of, k = training.features_of(images), run["model.clusters"]
    default_axes = schema.SETTINGS["train.cluster_axes"].default
    print("| clustering | seconds | NMI with all dimensions, seed 0 |"
          + (" NMI with the classes |" if labels is not None else ""))
    print("|---|--:|--:|" + ("--:|" if labels is not None else ""))
    first = None
    for axes, seed in [(0, 0), (0, 1), (default_axes, 0), (default_axes, 1), (default_axes, 2)]:
        started = time.perf_counter()
        found = clusters.cluster(features_of, len(images), k, [seed, 1], axes=axes)
        seconds = time.perf_counter() - started
        first = found if first is None else first
        row = f"| {'all dimensions' if not axes else f'{axes} axes'}, seed {seed} | {seconds:.1f} | " \
              f"{clusters.agreement(found, k, first)[0]:.3f} |"
        if labels is not None:
            row += f" {clusters.agreement(found, k, labels)[0]:.3f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
