"""Virtual lab: numerics, conservation, the paper's trends, noise, row handling and the `simulate` command."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.profiles import ThermocycleProfile, evenly_cycled
from core.virtual_lab import (
    BatchResult,
    ModelParameters,
    NoiseLevels,
    row_to_batch,
    simulate_batch,
    simulate_rows,
)
from core.virtual_lab.discretisation import AgglomerationMap, PivotMap, SizeGrid, face_values, fragmentation_map
from core.virtual_lab.parameters import SCATTERED_RATES, NumericalSettings
from core.virtual_lab.population_balance import Operators, dissolve

LINEAR = ThermocycleProfile((50, 5), (0.15,))
TWO_CYCLES = ThermocycleProfile((50, 25, 45, 15, 35, 5), (0.15,) * 3, (0.7,) * 2)
FOUR_CYCLES = ThermocycleProfile((50, 30, 48, 20, 40, 15, 32, 10, 25, 5), (0.15,) * 5, (0.7,) * 4)


@cache
def batch(profile: ThermocycleProfile, c0: float = 40.0, seed_loading: float = 0.1) -> BatchResult:
    """Noise-free batches are deterministic, so each is simulated once per test session."""
    return simulate_batch(profile, c0, seed_loading)


def linear(rate: float, t_end: float = 5.0) -> ThermocycleProfile:
    return ThermocycleProfile((50, t_end), (rate,))


# -- discretisation ------------------------------------------------------------------------------------------
def _advect(counts: np.ndarray, speed: float, steps: int, grid: SizeGrid) -> list[np.ndarray]:
    faces = np.full(grid.n_cells + 1, speed)
    faces[-1] = 0.0
    dt = 0.4 * grid.width / abs(speed)
    history = [counts]
    for _ in range(steps):
        flux = faces * face_values(counts, speed > 0) / grid.width
        counts = counts + dt * (flux[:-1] - flux[1:])
        history.append(counts)
    return history


def test_limited_growth_moves_a_distribution_without_oscillation_or_loss() -> None:
    grid = SizeGrid.linear(200, 200.0)
    start = np.exp(-0.5 * ((grid.pivots - 40.0) / 5.0) ** 2) + (np.abs(grid.pivots - 80.0) < 8.0)
    history = _advect(start, 0.5, 250, grid)  # moves 0.4 * 250 = 100 cells of 1 µm
    end = history[-1]
    assert end.sum() == pytest.approx(start.sum(), rel=1e-12)
    assert min(h.min() for h in history) >= -1e-12
    assert end.max() <= start.max() + 1e-12  # TVD: no new maxima next to the square pulse
    mean_shift = (grid.pivots @ end - grid.pivots @ start) / start.sum()
    assert mean_shift == pytest.approx(100.0, rel=0.01)


def test_dissolution_flux_leaves_through_size_zero() -> None:
    grid = SizeGrid.linear(100, 100.0)
    start = np.exp(-0.5 * ((grid.pivots - 20.0) / 4.0) ** 2)
    history = _advect(start, -1.0, 100, grid)  # moves 40 µm down: the whole bump passes L = 0
    assert min(h.min() for h in history) >= -1e-12
    assert history[-1].sum() < 0.01 * start.sum()
    totals = [h.sum() for h in history]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(totals))


def test_agglomeration_births_keep_the_volume_that_collisions_remove() -> None:
    grid = SizeGrid.linear(60, 120.0)
    volume = grid.pivots**3
    efficiency = np.random.default_rng(0).random((60, 60))
    efficiency = (efficiency + efficiency.T) / 2
    counts = np.random.default_rng(1).random(60) * (grid.pivots < 50)
    n = int(np.flatnonzero(counts)[-1]) + 1
    births = AgglomerationMap.build(volume, efficiency).births(counts, n)
    losses = counts * (efficiency @ counts)
    assert volume @ births == pytest.approx(volume @ losses, rel=1e-12)
    # every collision removes two particles and makes one
    assert births.sum() == pytest.approx(0.5 * losses.sum(), rel=1e-12)


def test_pivot_map_and_fragmentation_keep_number_and_volume() -> None:
    pivots = SizeGrid.linear(50, 100.0).pivots
    volume = pivots**3
    targets = np.array([3.0, 700.0, 12345.6, 2.0 * volume[-1]])
    pmap = PivotMap.for_volumes(targets, volume)
    placed_volume = pmap.weight_lo * volume[pmap.lo] + pmap.weight_hi * volume[pmap.lo + 1]
    np.testing.assert_allclose(placed_volume, targets, rtol=1e-12)
    np.testing.assert_allclose((pmap.weight_lo + pmap.weight_hi)[:3], 1.0)
    crystal = 20.0**3
    lo, into_lo, into_hi = fragmentation_map(volume, crystal)
    released_volume = into_lo * volume[lo] + into_hi * volume[lo + 1]
    np.testing.assert_allclose(released_volume, volume, rtol=1e-12)  # every agglomerate's volume is kept
    assert into_lo[5] + into_hi[5] == pytest.approx(2.0)  # a small agglomerate splits into two halves
    assert into_lo[40] + into_hi[40] == pytest.approx(volume[40] / crystal)  # a large one into its crystals


def test_dissolution_follows_the_characteristics_exactly() -> None:
    """Crystals of size L shrink by a depth d where L + L²/(2 L_d) falls by d; number and volume are kept."""
    params = ModelParameters()
    ops = Operators.build(params, NumericalSettings())
    counts = np.zeros(ops.grid.n_cells)
    counts[[2, 40, 120]] = [5.0, 3.0, 2.0]  # crystals of 2.5, 40.5 and 120.5 µm
    l_d, depth = params.dissolution_diffusion_size, 30.0
    xi = ops.grid.pivots * (1.0 + ops.grid.pivots / (2.0 * l_d)) - depth
    size = l_d * (np.sqrt(1.0 + 2.0 * np.maximum(xi, 0.0) / l_d) - 1.0)
    after = dissolve(counts, depth, ops.grid.pivots, ops.pivot_volumes, l_d, params.shape_factor)
    survivors = counts * (xi > 0.0)
    assert after.sum() == pytest.approx(survivors.sum(), rel=1e-12)  # the finest crystals are gone, no others
    assert ops.pivot_volumes @ after == pytest.approx(params.shape_factor * size**3 @ survivors, rel=1e-12)
    assert after.min() >= 0.0


# -- conservation ----------------------------------------------------------------------------------------------
PROFILE_TYPES = {
    "linear cooling": (LINEAR, 40.0),
    "linear cool + heat": (ThermocycleProfile((50, 8, 30), (0.2,), (0.8,)), 40.0),
    "1 cycle": (ThermocycleProfile((50, 25, 45, 5), (0.15, 0.1), (0.7,)), 40.0),
    "2 cycles": (TWO_CYCLES, 40.0),
    "3 cycles": (ThermocycleProfile((60, 40, 55, 25, 40, 15, 25, 4), (0.3,) * 4, (1.0,) * 3), 55.0),
    "4 cycles": (FOUR_CYCLES, 40.0),
    "seeds dissolve first": (ThermocycleProfile((70, 5), (0.3,)), 24.8),
    "a heat-up dissolves every crystal": (ThermocycleProfile((42, 30, 70, 5), (0.3, 0.3), (0.5,)), 25.0),
}


@pytest.mark.parametrize("profile, c0", PROFILE_TYPES.values(), ids=PROFILE_TYPES.keys())
def test_solute_mass_balance_closes(profile: ThermocycleProfile, c0: float) -> None:
    result = batch(profile, c0)
    assert result.mass_balance_error() < 1e-12  # the solution takes exactly what the solids gain: round-off only
    final = result.trajectory.iloc[-1]
    assert final["concentration"] + final["crystalline_mass"] + final["amorphous_mass"] == pytest.approx(1.1 * c0)
    # the reported distributions hold exactly the solid mass of the trajectory
    p = ModelParameters()
    particle_mass = p.crystal_density * 1e-9 * p.shape_factor * result.size_grid**3 * 1.0  # 1 µm cells
    crystals = particle_mass @ (result.primary + result.agglomerates)
    assert crystals == pytest.approx(final["crystalline_mass"], rel=1e-9)
    assert particle_mass @ result.amorphous == pytest.approx(final["amorphous_mass"], rel=1e-9, abs=1e-12)
    for n in (result.primary, result.agglomerates, result.amorphous):
        assert n.min() >= 0.0


def test_a_heat_up_that_dissolves_every_crystal_empties_the_batch_until_it_nucleates_again() -> None:
    profile, c0 = PROFILE_TYPES["a heat-up dissolves every crystal"]
    traj = batch(profile, c0).trajectory
    after_top = traj["time_min"] > traj["time_min"][traj["T"].idxmax()]
    assert (traj["crystalline_mass"][after_top] == 0.0).any()  # the last crystals are gone, not left as a dust
    final = traj.iloc[-1]
    assert final["crystalline_mass"] > 0.0  # the next cooling ramp crystallizes again ...
    solids = final["crystalline_mass"] + final["amorphous_mass"]
    assert solids > 0.5 * (c0 - final["solubility"])  # ... most of what it can


def test_trajectory_follows_the_profile() -> None:
    result = batch(TWO_CYCLES)
    traj = result.trajectory
    assert list(traj.columns) == [
        "time_min",
        "T",
        "concentration",
        "solubility",
        "supersaturation",
        "crystalline_mass",
        "amorphous_mass",
    ]
    assert np.all(np.diff(traj["time_min"]) > 0)
    assert traj["time_min"].iloc[-1] == pytest.approx(TWO_CYCLES.batch_time_min)
    setpoints = TWO_CYCLES.setpoints(1.0)
    np.testing.assert_allclose(traj["T"], np.interp(traj["time_min"], setpoints["time_min"], setpoints["T_setpoint"]))
    np.testing.assert_allclose(traj["supersaturation"], traj["concentration"] / traj["solubility"] - 1.0)


# -- the paper's trends on controlled pairs --------------------------------------------------------------------
def cycled(base: dict[str, float], n_cycles: int, cool: float | None = None) -> ThermocycleProfile:
    return evenly_cycled(base["t_start"], base["t_end"], n_cycles, cool or base["cool"], base["heat"], base["lift"])


# Designs spread over the Table 2 box: start just below, at, and 8 and 12 °C above the saturation temperature.
BOX = {
    "dilute, fast, little seed": dict(c0=30.0, seed=0.06, t_start=42.0, t_end=4.0, cool=0.25, heat=0.6, lift=0.5),
    "concentrated, slow, much seed": dict(c0=52.0, seed=0.14, t_start=62.0, t_end=12.0, cool=0.1, heat=0.9, lift=0.7),
    "seeds dissolve": dict(c0=45.0, seed=0.1, t_start=66.0, t_end=8.0, cool=0.2, heat=0.75, lift=0.6),
    "seeds dissolve, dilute, slow": dict(c0=28.0, seed=0.12, t_start=55.0, t_end=3.0, cool=0.08, heat=0.5, lift=0.8),
    "at saturation, deep cycles": dict(c0=45.0, seed=0.08, t_start=57.5, t_end=5.0, cool=0.15, heat=0.8, lift=0.85),
    "far below saturation": dict(c0=50.0, seed=0.1, t_start=45.0, t_end=10.0, cool=0.12, heat=1.0, lift=0.4),
}


@pytest.mark.parametrize("base", BOX.values(), ids=BOX.keys())
def test_thermocycles_lower_doa_and_raise_d50_across_the_box(base: dict[str, float]) -> None:
    linear_result = batch(cycled(base, 0), base["c0"], base["seed"])
    for n_cycles in (2, 4):
        result = batch(cycled(base, n_cycles), base["c0"], base["seed"])
        assert result.DoA < linear_result.DoA
        assert result.D50 > linear_result.D50
        assert result.crystallinity >= linear_result.crystallinity


@pytest.mark.parametrize("base", BOX.values(), ids=BOX.keys())
def test_faster_cooling_gives_smaller_d50_across_the_box(base: dict[str, float]) -> None:
    slow = batch(cycled(base, 0, cool=0.06), base["c0"], base["seed"])
    fast = batch(cycled(base, 0, cool=0.3), base["c0"], base["seed"])
    assert fast.D50 < slow.D50


def test_cqas_stay_in_the_papers_ranges_across_the_box() -> None:
    """Seeded and unseeded (seeds dissolved at T1) linear batches: D50 10-60 µm, DoA 20-85 %, crystallinity 50-100 %."""
    for base in BOX.values():
        result = batch(cycled(base, 0), base["c0"], base["seed"])
        assert 10.0 <= result.D50 <= 60.0
        assert 20.0 <= result.DoA <= 85.0
        assert 50.0 <= result.crystallinity <= 100.0


def test_a_single_deep_heat_up_leaves_part_of_the_agglomerates() -> None:
    """Bridges of large agglomerates are thick, and what regrows on the next cooling ramp re-agglomerates."""
    linear_result = batch(ThermocycleProfile((50, 5), (0.15,)))
    # tops up to 2 °C below the saturation temperature (54 °C): the heat-up dissolves most of the fines
    deep = [batch(ThermocycleProfile((50, 20, top, 5), (0.15, 0.15), (0.7,))) for top in (40, 46, 52)]
    assert max(r.DoA for r in deep) < linear_result.DoA
    assert min(r.DoA for r in deep) > 0.25 * linear_result.DoA


def test_consolidation_turns_overgrown_agglomerates_compact() -> None:
    """Without consolidation an unseeded batch is nearly all agglomerate; with it, agglomerates of nuclei that
    grew far count as compact crystals while the size distribution barely changes."""
    base = BOX["seeds dissolve"]
    profile = cycled(base, 0)
    compact = batch(profile, base["c0"], base["seed"])
    loose = simulate_batch(profile, base["c0"], base["seed"], params=replace(ModelParameters(), consolidation_k=0.0))
    assert loose.DoA > 90.0 > compact.DoA
    assert abs(compact.D50 - loose.D50) < 0.02 * loose.D50


def test_faster_cooling_leaves_more_amorphous_solid() -> None:
    slow = batch(ThermocycleProfile((45, 5), (0.06,)), c0=35.0)
    fast = batch(ThermocycleProfile((45, 5), (0.3,)), c0=35.0)
    assert fast.crystallinity < slow.crystallinity


def test_more_thermocycles_give_larger_d50_and_lower_doa() -> None:
    results = [batch(p) for p in (LINEAR, TWO_CYCLES, FOUR_CYCLES)]
    d50 = [r.D50 for r in results]
    doa = [r.DoA for r in results]
    crystallinity = [r.crystallinity for r in results]
    assert d50[0] < d50[1] < d50[2] and d50[2] - d50[0] > 5.0
    assert doa[0] > doa[1] > doa[2] and doa[0] - doa[2] > 20.0
    assert crystallinity[0] <= crystallinity[1] <= crystallinity[2]


def test_a_deeper_heat_up_breaks_more_agglomerates() -> None:
    """De-agglomeration grows with how far and how long a heat-up goes above saturation."""
    results = [batch(ThermocycleProfile((50, 25, top, 5), (0.15, 0.15), (0.7,))) for top in (30, 38, 46)]
    assert results[0].DoA > results[1].DoA > results[2].DoA
    assert results[0].D50 < results[1].D50 < results[2].D50


def test_heat_ups_convert_the_amorphous_solid() -> None:
    base = {**BOX["seeds dissolve, dilute, slow"], "cool": 0.3}  # unseeded and fast: amorphous solid forms
    crystallinity = [batch(cycled(base, n), base["c0"], base["seed"]).crystallinity for n in (0, 1, 2, 4)]
    assert crystallinity[0] < 90.0
    assert crystallinity == sorted(crystallinity) and crystallinity[-1] > crystallinity[0] + 10.0


def test_faster_cooling_gives_smaller_d50_and_more_agglomeration() -> None:
    slow, fast = batch(linear(0.1)), batch(linear(0.25))
    assert fast.D50 < slow.D50 - 1.0
    assert fast.DoA > slow.DoA


def test_higher_initial_concentration_gives_smaller_d50_and_more_agglomeration() -> None:
    low, high = batch(linear(0.2), c0=40.0), batch(linear(0.2), c0=54.0)
    assert high.D50 < low.D50 - 3.0
    assert high.DoA > low.DoA + 10.0
    assert high.crystallinity <= low.crystallinity + 0.05  # both (nearly) fully crystalline: a tie within 0.05 pp


def test_more_seed_suppresses_fines_and_agglomeration() -> None:
    little, much = batch(linear(0.25), seed_loading=0.05), batch(linear(0.25), seed_loading=0.15)
    assert much.crystallinity >= little.crystallinity
    assert much.D50 > little.D50
    assert much.DoA < little.DoA


def test_dissolution_removes_fines_first() -> None:
    cooled = batch(ThermocycleProfile((50, 40), (0.3,)), seed_loading=0.15)  # fast cooling makes nuclei
    reheated = batch(ThermocycleProfile((50, 40, 56), (0.3,), (0.5,)), seed_loading=0.15)  # then undersaturates
    assert reheated.trajectory["supersaturation"].iloc[-1] < 0
    fines = cooled.size_grid < 5.0
    crystals = [r.primary + r.agglomerates for r in (cooled, reheated)]
    assert crystals[0][fines].sum() > 0.5 * crystals[0].sum()  # most particles are nuclei
    # ... and nearly all are gone (what is left are crystals freed from agglomerates late in the heat-up)
    assert crystals[1][fines].sum() < 0.02 * crystals[0][fines].sum()
    mass = [r.trajectory["crystalline_mass"].iloc[-1] for r in (cooled, reheated)]
    assert mass[1] > 0.5 * mass[0]  # while most of the crystal mass survives in the larger crystals


def test_cqas_land_in_realistic_ranges_for_sensible_designs() -> None:
    for result in (batch(LINEAR), batch(TWO_CYCLES), batch(linear(0.25)), batch(linear(0.1))):
        assert 10.0 <= result.D50 <= 60.0
        assert 15.0 <= result.DoA <= 85.0
        assert 50.0 <= result.crystallinity <= 100.0


# -- noise and determinism ---------------------------------------------------------------------------------------
def test_same_seed_same_batch_and_noise_changes_results() -> None:
    profile = linear(0.1)
    a = simulate_batch(profile, 40.0, 0.1, noise=True, random_state=7)
    b = simulate_batch(profile, 40.0, 0.1, noise=True, random_state=7)
    c = simulate_batch(profile, 40.0, 0.1, noise=True, random_state=8)
    assert a.cqas() == b.cqas()
    pd.testing.assert_frame_equal(a.trajectory, b.trajectory)
    assert a.cqas() != c.cqas()
    clean = batch(profile)
    assert a.cqas() != clean.cqas()
    assert abs(a.D50 - clean.D50) < 0.3 * clean.D50
    assert simulate_batch(profile, 40.0, 0.1, random_state=3).cqas() == clean.cqas()  # no noise: seed unused


def test_measurement_noise_has_the_stated_spread() -> None:
    levels = NoiseLevels(d50_relative_sd=0.03, doa_sd=3.0, crystallinity_sd=3.0)
    rng = np.random.default_rng(0)
    truth = {"D50": 30.0, "DoA": 50.0, "crystallinity": 70.0}
    draws = pd.DataFrame([levels.measure(truth, rng) for _ in range(4000)])
    assert draws["D50"].mean() == pytest.approx(30.0, abs=3 * 0.9 / math.sqrt(4000))
    assert draws["D50"].std() == pytest.approx(0.9, rel=0.05)
    for name in ("DoA", "crystallinity"):
        assert draws[name].mean() == pytest.approx(truth[name], abs=3 * 3.0 / math.sqrt(4000))
        assert draws[name].std() == pytest.approx(3.0, rel=0.05)
    near_full = pd.Series([levels.measure({**truth, "crystallinity": 99.0}, rng)["crystallinity"] for _ in range(500)])
    assert near_full.max() == 100.0 and near_full.between(0, 100).all()


def test_kinetic_scatter_is_lognormal_on_the_rate_constants_only() -> None:
    params, levels = ModelParameters(), NoiseLevels(kinetic_cv=0.08)
    rng = np.random.default_rng(1)
    samples = [levels.scatter(params, rng) for _ in range(2000)]
    for name in SCATTERED_RATES:
        log_factors = np.log([getattr(s, name) / getattr(params, name) for s in samples])
        assert log_factors.mean() == pytest.approx(0.0, abs=0.01)
        assert log_factors.std() == pytest.approx(0.08, rel=0.08)
    assert all(s.solubility_a == params.solubility_a for s in samples)


# -- inputs, rows and summaries ------------------------------------------------------------------------------------
def test_unrunnable_batches_are_refused_in_plain_words() -> None:
    with pytest.raises(ValueError, match="must not exceed T1"):
        simulate_batch(ThermocycleProfile((40, 50), (0.1,)), 40.0, 0.1)
    with pytest.raises(ValueError, match="initial concentration must be a positive number"):
        simulate_batch(LINEAR, -5.0, 0.1)
    with pytest.raises(ValueError, match="seed loading must be a mass fraction"):
        simulate_batch(LINEAR, 40.0, 1.5)


def test_row_to_batch_reads_canonical_rows_and_names_every_problem() -> None:
    row = {"initial_concentration": 40.0, "seed_loading": 0.1, **FOUR_CYCLES.to_features()}
    profile, c0, seed = row_to_batch(row)
    assert (profile, c0, seed) == (FOUR_CYCLES, 40.0, 0.1)
    with pytest.raises(ValueError, match="seed loading is missing"):
        row_to_batch({**row, "seed_loading": math.nan})
    with pytest.raises(ValueError, match=r"C1 = 0.5 °C/min is outside \[0.05, 0.3\]"):
        row_to_batch({**row, "C1": 0.5})
    assert row_to_batch({**row, "C1": 0.5}, bounds=None)[0].cooling_rates[0] == 0.5
    with pytest.raises(ValueError, match="T3 is set after the unused T2"):
        row_to_batch({"initial_concentration": 40.0, "seed_loading": 0.1, "T1": 50, "T3": 30, "C1": 0.1})


def test_simulate_rows_keeps_row_order_and_reports_errors_in_place() -> None:
    good = {"initial_concentration": 40.0, "seed_loading": 0.1, **linear(0.1).to_features()}
    frame = pd.DataFrame([good, {**good, "T2": 60.0}, good], index=[2, 3, 4])
    table = simulate_rows(frame)
    assert list(table.index) == [2, 3, 4]
    assert table.loc[2, ["D50", "DoA", "crystallinity"]].tolist() == list(batch(linear(0.1)).cqas().values())
    assert "T2 = 60 must not exceed T1 = 50" in table.loc[3, "error"]
    assert math.isnan(table.loc[3, "D50"]) and table.loc[4, "error"] is None
    noisy_a = simulate_rows(frame, noise=True, random_state=5)
    noisy_b = simulate_rows(frame, noise=True, random_state=5)
    pd.testing.assert_frame_equal(noisy_a, noisy_b)
    assert noisy_a.loc[2, "D50"] != noisy_a.loc[4, "D50"]  # each row draws its own noise


def test_summary_is_json_ready_and_distributions_are_normalised() -> None:
    result = batch(TWO_CYCLES)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["profile_type"] == "2 cycles"
    assert summary["D50"] == result.D50 and summary["n_steps"] == len(result.trajectory) - 1
    assert 0 < summary["yield_percent"] < 100
    volume = result.volume_distribution()
    assert volume[["primary", "agglomerates", "amorphous"]].to_numpy().sum() == pytest.approx(100.0)  # 1 µm cells


# -- command line ----------------------------------------------------------------------------------------------
def _doe_csv(tmp_path, rows: list[dict[str, object]]):
    header = ["run_id", "initial_concentration (mg/g solvent)", "seed_loading (-)", "T1 (°C)", "T2 (°C)"]
    header += ["C1 (°C/min)", "D50 (µm)"]
    path = tmp_path / "runs.csv"
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


def test_simulate_command_prints_cqas_and_error_entries_in_row_order(tmp_path, capsys) -> None:
    rows = [
        ["a", 40.0, 0.1, 50.0, 5.0, 0.1, 99.0],
        ["b", 40.0, 0.1, 50.0, 60.0, 0.1, None],
        ["c", 40.0, 0.1, 50.0, 5.0, 0.25, None],
    ]
    path = _doe_csv(tmp_path, rows)
    assert main(["simulate", str(path), "--json"]) == 1
    entries = json.loads(capsys.readouterr().out)
    assert [e["row"] for e in entries] == [2, 3, 4]
    assert entries[0] == {"row": 2, **batch(linear(0.1)).cqas()}  # the CQA column in the file is ignored
    assert entries[1] == {"row": 3, "error": "T2 = 60 must not exceed T1 = 50 (cooling ramp, Eq. 3)"}
    assert entries[2]["D50"] == batch(linear(0.25)).D50

    assert main(["simulate", str(path), "--noise", "--seed", "4", "--json"]) == 1
    first = json.loads(capsys.readouterr().out)
    assert main(["simulate", str(path), "--noise", "--seed", "4", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == first != entries

    assert main(["simulate", str(path)]) == 1
    text = capsys.readouterr().out
    assert "    3  error: T2 = 60 must not exceed T1 = 50" in text
    assert f"{batch(linear(0.1)).D50:9.1f}" in text
    assert "1 of 3 rows could not be simulated" in text


def test_simulate_command_explains_unreadable_files(tmp_path, capsys) -> None:
    assert main(["simulate", str(tmp_path / "missing.csv")]) == 2
    assert "cannot open missing.csv" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("run_id,T1 (°C)\n")
    assert main(["simulate", str(empty)]) == 2
    assert "no data rows" in capsys.readouterr().err
