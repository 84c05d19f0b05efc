"""How good the generated images are: the scores (metrics.py); which network scores a run (evaluators.py); where
evaluators are kept and named (references.py); making a data's classifier (classifier.py) and a loose folder's
random network with the modes of its real images (random_network.py); k-means (kmeans.py); the distances
between feature rows (distances.py); and how often a run scores by default (interval.py)."""
