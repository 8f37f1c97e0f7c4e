"""What a real-browser journey tripped over, checked without a browser: hold-out caution, the virtual-lab size
axis, and several chosen profiles drawn together."""

import numpy as np

from core.models.metrics import MIN_HOLDOUT_ROWS, holdout_caution
from core.plots.doe import profiles_overlay_figure
from core.plots.virtual_lab import size_distribution_figure
from core.profiles import ThermocycleProfile
from core.virtual_lab.simulator import simulate_batch


def test_a_holdout_score_from_fewer_than_five_rows_carries_a_caution():
    assert "3 rows only" in holdout_caution(3)
    assert "1 row only" in holdout_caution(1)
    assert holdout_caution(MIN_HOLDOUT_ROWS) is None and holdout_caution(0) is None


def test_the_size_axis_covers_where_the_particles_are():
    result = simulate_batch(ThermocycleProfile((60.0, 35.0, 50.0, 10.0), (0.2, 0.1), (0.8,)), 40.0, 0.1)
    fig = size_distribution_figure(result)
    lo, hi = (10**v for v in fig.layout.xaxis.range)
    table = result.volume_distribution()
    density = table[["primary", "agglomerates", "amorphous"]].sum(axis=1)
    populated = table.loc[density > 1e-3 * density.max(), "size_um"]
    assert lo <= populated.min() and hi >= populated.max() and lo <= result.D50 <= hi
    assert hi <= 2 * table["size_um"].max()  # no decades of empty axis
    assert not fig.layout.shapes  # D50 is a trace: a shape's x on a log axis is read in decades
    d50 = next(t for t in fig.data if t.name.startswith("D50"))
    assert np.allclose(d50.x, result.D50)


def test_several_chosen_profiles_are_drawn_together_and_told_apart():
    near = {
        f"P{k}": ThermocycleProfile((60.0 + 0.01 * k, 20.0), (0.2,)) for k in range(12)
    }  # near-identical points of a front
    fig = profiles_overlay_figure(near)
    assert [t.name for t in fig.data] == list(near)
    styles = {(t.line.color, t.line.dash) for t in fig.data}
    assert len(styles) == len(near)
