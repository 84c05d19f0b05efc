"""How good the generated images are: the scores (metrics.py), the networks and real images they are measured
with (evaluators.py), the distances between feature rows both need (distances.py), and how often a run scores
by default (interval.py)."""
