"""Plot axes a person reads at a glance: plain numbers, single points visible."""

from matplotlib.figure import Figure

from record import axes


def drawn(values, log_if_wide=False, epochs=(1,)):
    figure = Figure()
    axis = figure.subplots()
    axis.plot(list(epochs), values, "o-")
    axes.value_axis(axis, values, log_if_wide)
    axes.epoch_axis(axis, list(epochs))
    figure.canvas.draw()  # tick labels and offsets are decided when drawn
    return axis


def test_close_values_are_labelled_plainly_without_an_offset_or_a_power_of_ten():
    axis = drawn([1.00001, 1.00002], epochs=(1, 2))
    assert axis.yaxis.get_offset_text().get_text() == ""
    assert axis.get_yscale() == "linear" and "e" not in "".join(t.get_text() for t in axis.get_yticklabels())
    axis = drawn([460.2, 460.21], log_if_wide=True, epochs=(1, 2))  # close: linear, even where log is allowed
    assert axis.get_yscale() == "linear" and axis.yaxis.get_offset_text().get_text() == ""


def test_a_wide_positive_range_is_logarithmic_and_one_point_sits_inside_a_margin():
    assert drawn([500.0, 20.0, 3.0], log_if_wide=True, epochs=(1, 2, 3)).get_yscale() == "log"
    axis = drawn([0.7])
    low, high = axis.get_ylim()
    assert low < 0.7 < high and high - low > 0.01
    assert axis.get_xlim() == (0, 2)  # epoch 1 in the middle
