"""What a run records of each epoch, declared once: metrics.csv's columns (in this order), TensorBoard's scalars,
the epoch line, metrics.png's panels and compare.py's columns are all read from COLUMNS.

The quality scores are declared beside the code that measures them (quality/metrics.py's SCORES), so a new score
is one edit there; the training statistics are the ones training/gan.py's step sums, in this order (training/state.py
hands the step these names).
"""

from dataclasses import dataclass

from quality import metrics


@dataclass(frozen=True)
class Column:
    name: str                # as in metrics.csv and TensorBoard
    group: str               # "epoch", "timing", "training", "quality" or "clusters"
    line: str = ""           # its format in the epoch line ("" : not printed there)
    line_name: str = ""      # its name there, if not `name`
    panel: str = ""          # metrics.png's panel that draws it: "losses", "balance", "distance" or "coverage"
    label: str = ""          # its legend there; {classes} is the scoring classifier's number of classes
    style: str = "o-"        # its marker and line there
    right_axis: bool = False  # drawn on the panel's second axis (a scale of its own)
    classes_power: int = 0   # drawn times classes ** this (1 = fair for a share of each class)
    compare: str = ""        # its format in compare.py's table, of the run's last scored epoch ("": not shown)
    compare_name: str = ""   # its header there, if not `name`
    compare_if_any: bool = False  # shown only when a run being compared has it (the conditional runs' numbers)


TIMING = [Column("seconds", "timing"), Column("train_seconds", "timing"), Column("cluster_seconds", "timing")]
# The means over an epoch's steps of what training/gan.py's step measures.
TRAINING = [
    Column("gen_loss", "training", line=".4f", panel="losses", label="generator"),
    Column("disc_loss", "training", line=".4f", panel="losses", label="discriminator"),
    Column("d_real", "training", line=".2f", line_name="D(x)", panel="balance", label="D(x), real"),
    Column("d_fake", "training", line=".2f", line_name="D(G(z))", panel="balance", label="D(G(z)), generated"),
    Column("real_accuracy", "training"),
    Column("fake_accuracy", "training"),
    Column("gen_grad_norm", "training"),
]
QUALITY = [Column(name, "quality", **spec) for name, spec in metrics.SCORES.items()]
# A self-conditioned run's clusters against the data's own classes, when it has them (training/clusters.py).
CLUSTERS = [Column("cluster_nmi", "clusters", line=".2f"), Column("cluster_purity", "clusters")]
# With adaptive augmentation (train.augment_target): its probability at the epoch's end (training/augment.py).
AUGMENT = [Column("augment_probability", "augment", line=".3f", line_name="p_augment", panel="balance",
                  label="augmentation p (ADA)", style="x--")]
COLUMNS = [Column("epoch", "epoch"), *TIMING, *TRAINING, *QUALITY, *CLUSTERS, *AUGMENT]

NAMES = [column.name for column in COLUMNS]
TIMING_NAMES = [column.name for column in TIMING]  # the only columns that differ between two runs of one seed
TRAINING_NAMES = [column.name for column in TRAINING]


def in_line(row):
    """The epoch line's numbers of `row` after its time: each column with a line format that has a value."""
    return "".join(f"  {column.line_name or column.name} {row[column.name]:{column.line}}" for column in COLUMNS
                   if column.line and row.get(column.name) is not None)
