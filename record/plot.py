"""metrics.png: the losses next to what they hide — the balance and the image quality — one panel each, drawn
from the columns that name the panel (columns.py)."""

from output import atomic
from record import axes
from record.columns import COLUMNS


TITLES = {"losses": "losses (say little about quality)",
          "balance": "balance: the discriminator's mean belief 'real'",
          "distance": "Fréchet distance to real images (lower is better)",
          "coverage": "fidelity, variety and classes (1 is best)"}


def lines(axis, rows, panel, classes, right_axis=False):
    """Draw on `axis` each column of `panel` (on its left or right axis) that `rows` have values of: the values
    drawn, for the axis' scale."""
    drawn = []
    for column in COLUMNS:
        if column.panel != panel or column.right_axis != right_axis:
            continue
        if column.classes_power and not classes:  # scored earlier by a classifier this process has not loaded
            continue
        points = [(row["epoch"], row[column.name] * classes ** column.classes_power) for row in rows
                  if row.get(column.name) is not None]  # a metrics.csv written before a column existed lacks it
        if points:
            axis.plot(*zip(*points), column.style, label=column.label.format(classes=classes), markersize=3,
                      **({"color": "tab:green", "alpha": 0.7} if right_axis else {}))
            drawn += [value for _, value in points]
    return drawn


def draw(path, rows, real_scores, classes):
    """metrics.png at `path` from `rows` (metrics.csv's, as numbers); `real_scores` (real images' numbers) are
    drawn as the floor, and `classes` is how many the scoring classifier knows (0: unknown, as when a run resumed
    without its evaluator; the columns scaled by it are left out)."""
    from matplotlib.figure import Figure  # not pyplot: its global state is not for a background thread

    epochs = [row["epoch"] for row in rows]
    scored = [row for row in rows if row["frechet_distance"] is not None]
    figure = Figure(figsize=(11, 7))
    grid = figure.subplots(2, 2, sharex=True)
    panels = dict(zip(TITLES, grid.flat))
    axes.value_axis(panels["losses"], lines(panels["losses"], rows, "losses", classes))
    lines(panels["balance"], rows, "balance", classes)
    panels["balance"].axhline(0.5, color="gray", linestyle=":", label="fooled: 0.5")
    panels["balance"].set_ylim(0, 1)
    distance = panels["distance"]
    axes.value_axis(distance, lines(distance, scored, "distance", classes)
                    + [real_scores.get("frechet_distance")], log_if_wide=True)
    if "frechet_distance" in real_scores:
        distance.axhline(real_scores["frechet_distance"], color="gray", linestyle=":", label="real images")
    kernel = distance.twinx() if any(column.panel == "distance" and column.right_axis and row.get(column.name)
                                     is not None for column in COLUMNS for row in scored) else None
    if kernel is not None:  # KID: linear, as it is about 0 (and can dip below) for real images
        axes.value_axis(kernel, lines(kernel, scored, "distance", classes, right_axis=True))
    coverage = panels["coverage"]
    shown = lines(coverage, scored, "coverage", classes)
    coverage.set_ylim(0, max([1.05] + [1.05 * value for value in shown]))  # density can pass 1
    for name, axis in panels.items():
        axis.set_title(TITLES[name])
        handles, labels = axis.get_legend_handles_labels()
        if axis is distance and kernel is not None:  # one legend with its twin's
            handles, labels = (a + b for a, b in zip((handles, labels), kernel.get_legend_handles_labels()))
        if handles:  # the distance falls from the upper left, so its legend goes upper right
            axis.legend(handles, labels, fontsize=8, loc="upper right" if axis is distance else "best")
        axis.grid(alpha=0.3)
    if not scored:  # say why the quality panels are empty
        for axis in (distance, coverage):
            axis.text(0.5, 0.5, "no quality numbers in this run (eval.every=0,\nor no evaluator: its "
                      "first lines say why)", ha="center", va="center", transform=axis.transAxes, color="gray")
    elif not shown:
        coverage.text(0.5, 0.5, "no classes: the images are scored\nwithout a classifier (Inception)",
                      ha="center", va="center", transform=coverage.transAxes, color="gray")
    for axis in grid[1]:
        axis.set_xlabel("epoch")
        axes.epoch_axis(axis, epochs)  # whole epochs, also on short runs
    figure.tight_layout()
    atomic.write(path, lambda tmp: figure.savefig(tmp, dpi=80))
