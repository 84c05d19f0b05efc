"""Axes that read plainly in metrics.png and compare.png, for one epoch as for a hundred."""

from matplotlib.ticker import MaxNLocator, ScalarFormatter


WIDE = 10  # values spanning more than this factor are drawn on a log scale


def value_axis(axis, values, log_if_wide=False):
    """A y axis with plain numbers (460.2, not 4.602x10^2 or 1e-5+1): on a log scale only for positive
    `values` that span more than a factor WIDE (`log_if_wide`), where a linear one would flatten the later
    epochs; a single value gets a margin around it, not a span of a few millionths."""
    values = [v for v in values if v is not None]
    if log_if_wide and values and min(values) > 0 and max(values) / min(values) > WIDE:
        axis.set_yscale("log")
        return
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.yaxis.set_major_formatter(formatter)
    if values and max(values) - min(values) < 1e-9 * max(1.0, abs(max(values))):
        margin = max(abs(values[0]) * 0.05, 0.05)
        axis.set_ylim(values[0] - margin, values[0] + margin)


def epoch_axis(axis, epochs):
    """Whole epochs on the x axis; one epoch alone sits in the middle of a span of one either side."""
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(set(epochs)) == 1:
        axis.set_xlim(epochs[0] - 1, epochs[0] + 1)
