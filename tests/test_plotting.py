"""The shared plot helpers draw what they are given."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from musicrec.plotting import plot_curves_with_references


def test_curves_and_every_reference_are_drawn_with_distinct_styles():
    steps = np.arange(5) * 10
    curves = {k: [pd.DataFrame({"timesteps": steps, "val_maa": np.full(5, v + s)}) for s in (0.0, 0.1)]
              for k, v in (("a", 0.1), ("b", 0.5))}
    references = {"r1": 0.1, "r2": 0.2, "r3": 0.3, "r4": 0.4}
    fig, ax = plt.subplots()
    plot_curves_with_references(ax, curves, ["a", "b"], {"a": "A", "b": "B"}, references)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["A (n=2)", "B (n=2)", "r1", "r2", "r3", "r4"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), 0.15)
    styles = [line.get_linestyle() for line in ax.get_lines()[2:5]]
    assert len(set(styles)) == 3 and "-" not in styles  # not the curves' solid line
    plt.close(fig)


def test_plot_groups_mean_std_draws_each_present_group_with_its_mean_and_style():
    from musicrec.plotting import plot_groups_mean_std

    frame = pd.DataFrame({"agent": ["a", "a", "a", "a", "b", "b"], "offset": [0, 0, 1, 1, 0, 1],
                          "expected": [1.0, 3.0, 2.0, 4.0, 5.0, 6.0]})
    fig, ax = plt.subplots()
    plot_groups_mean_std(ax, frame, "offset", "expected", group="agent", order=["a", "missing", "b"],
                         labels={"a": "A", "missing": "M", "b": "B"}, dashed=["b"])
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"A", "B"}
    assert list(lines["A"].get_ydata()) == [2.0, 3.0] and lines["B"].get_linestyle() == "--"
    assert lines["B"].get_color() == "C2"  # the colour follows the position in the order, present or not
    plt.close(fig)
