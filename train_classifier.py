"""Train the small classifier that scores a run's images (quality/classifier.py does it): for MNIST digits,
or for any labelled data the program can load, chosen with the same --config and key=value settings as train.py.
For a folder without class subfolders (or with eval.features=random_network) it makes the features that score it
instead: a network with random weights, and the real images and modes it compares with (quality/random_network.py).

  python train_classifier.py data.dataset=folder data.path=pictures   # pictures/CLASS/*.png: about a minute
  python train_classifier.py data.dataset=cifar10                     # then: python train.py data.dataset=cifar10
  python train_classifier.py --replace                                # MNIST's again, over the committed one
  python train_classifier.py data.dataset=folder data.path=loose      # loose/*.png: its features, seconds

It holds out 40% of the labelled images, at most 4,000 (MNIST: the bundled digits 6,000-9,999), and learns
from the rest (data.limit does not apply); half the held-out images are the real reference generated ones
are compared with, half are scored as real vs real, and its accuracy is measured on all of them. The
classifier and the reference are saved in eval.evaluator_dir under the data's name, where train.py finds
them for the same data settings (with eval.classifier=auto it runs this itself when they are missing). An
existing evaluator is replaced only with --replace, since every later run's numbers change with it;
without, this reports it and stops. A classifier whose reference file is missing or stale only has its
reference computed again.
"""

import os
import sys
from pathlib import Path

from settings import command_line, config
from settings.schema import ConfigError
from training import tflog


def parse_args(argv=None):
    parser = command_line.argument_parser(__doc__)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML config, as for train.py; keys it leaves out keep those of its base: file, or the "
                             "defaults (default: config.yaml)")
    parser.add_argument("--replace", action="store_true",
                        help="train the data's classifier again over the existing one (for MNIST, the committed "
                             "evaluator/mnist_classifier.keras), which changes every later run's quality numbers")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="the data to make it for, as for train.py: data.dataset=folder data.path=pictures")
    return command_line.parse_arguments(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = config.load(args.config or config.DEFAULT_FILE, args.overrides)  # before TensorFlow: mistakes fail fast
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with tflog.start_up_lines_hidden():
            from quality import classifier, evaluators, random_network  # TensorFlow's start-up, before their lines
        if evaluators.features_for(cfg) == "random_network":
            random_network.make(cfg, args.replace)
        else:
            classifier.make_evaluator(cfg, args.replace, verbose=2)
    except ConfigError as e:
        command_line.fail(str(e))
    except KeyboardInterrupt:
        print("\ninterrupted: files are written whole or not at all; run it again to finish", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
