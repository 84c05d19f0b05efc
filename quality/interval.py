"""When a run scores its images by default (eval.every left empty): what scoring costs against what an epoch
costs. Read before TensorFlow loads."""

import math


INCEPTION_COST = 25  # InceptionV3's features of one image: the arithmetic of 25 images' training steps
EVALUATION_SHARE = 0.1  # with Inception, evaluations take at most this share of the training's arithmetic


def evaluation_interval(features, num_samples, image_count):
    """eval.every's default: every epoch with a small network's features, the classifier's or the random
    network's (scoring costs ~5% of a 10,000-digit epoch); with Inception (bench/quality_cost.py), the fewest epochs
    between evaluations that keep them within EVALUATION_SHARE of the training: 9 for 60,000 images, 50 for
    10,000 (and the last epoch is always scored)."""
    if features != "inception":  # a small network's features: about as cheap as the classifier's
        return 1
    return math.ceil(num_samples * INCEPTION_COST / (EVALUATION_SHARE * image_count))
