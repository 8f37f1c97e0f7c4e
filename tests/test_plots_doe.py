from core.doe import load_doe
from core.plots.doe import experiment_profiles_figure, profile_figure, profile_mix_figure, type_colour
from tests.conftest import doe_frame, to_csv_bytes


def data():
    return load_doe(to_csv_bytes(doe_frame(2)), filename="d.csv").data


def test_experiment_profiles_one_trace_per_run_one_legend_entry_per_type():
    d = data()
    fig = experiment_profiles_figure(d)
    assert len(fig.data) == len(d)
    assert sum(t.showlegend for t in fig.data) == d.profile_types().nunique()
    four = next(t for t, p in zip(fig.data, d.profiles(), strict=True) if p.n_cycles == 4)
    assert list(four.y) == list(next(p for p in d.profiles() if p.n_cycles == 4).temperatures)
    assert four.x[-1] * 60 == next(p for p in d.profiles() if p.n_cycles == 4).batch_time_min
    assert four.line.color == type_colour("4 cycles")


def test_profile_mix_counts_experiments_and_measured_cqas():
    d = data()
    fig = profile_mix_figure(d)
    bars = {t.name: dict(zip(t.x, t.y, strict=True)) for t in fig.data}
    assert bars["experiments"]["4 cycles"] == 2
    assert bars["D50 measured"]["4 cycles"] == 2
    assert sum(bars["crystallinity measured"].values()) == d.cqa_counts()["crystallinity"]


def test_single_profile_labels_set_points():
    p = data().profiles()[3]
    fig = profile_figure(p)
    assert list(fig.data[0].text) == [f"T{i}" for i in range(1, len(p.temperatures) + 1)]
    assert "2 cycles" in fig.layout.title.text
