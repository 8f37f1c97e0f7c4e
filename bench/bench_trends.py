"""Where in the Table 2 box the virtual lab follows the method paper's trends, on random controlled pairs.

Each pair varies one factor and keeps everything else: the number of
thermocycles (a linear cooling ramp against 1, 2, 3 and 4 cycles with the same
concentration, seed loading, start, end and rates), the cooling rate, the
initial concentration or the seed loading. Designs are drawn uniformly over the
whole box (start 40-70 °C whatever the saturation temperature, end 2-15 °C,
rates within Table 2). The script prints the share of pairs that follow each
trend, the CQA distributions over every simulated batch, the CPU time per batch,
and writes an HTML figure of where the trends fail.

Run from the repository root:
    nice -n 10 python bench/bench_trends.py [--bases 60] [--pairs 40] [--n-jobs 2] [--robustness]
`--robustness` repeats a subset with batch-to-batch kinetic scatter and with
every kinetic parameter perturbed by up to ±25 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from joblib import Parallel, delayed
from plotly.subplots import make_subplots

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.profiles import ThermocycleProfile, evenly_cycled  # noqa: E402
from core.virtual_lab import ModelParameters, NoiseLevels, simulate_batch  # noqa: E402

# Table 2 box, with the start and end temperatures the issue draws from.
BOX = {"c0": (24.8, 55.2), "seed": (0.05, 0.15), "t_start": (40.0, 70.0), "t_end": (2.0, 15.0)}
COOLING, HEATING = (0.05, 0.3), (0.5, 1.0)
# Target ranges of the method paper's runs.
RANGES = {"D50": (10.0, 60.0), "DoA": (20.0, 85.0), "crystallinity": (50.0, 100.0)}
# Parameters that describe the compound's kinetics (solubilities, densities and the grid are kept).
NOT_PERTURBED = {
    "crystal_density",
    "shape_factor",
    "solubility_a",
    "solubility_b",
    "amorphous_solubility_a",
    "amorphous_solubility_b",
    "reference_temperature",
}
PARAMS = ModelParameters()  # the saturation temperature that splits the box (solubility is never perturbed)
CRYSTALLINITY_TIE = 0.05  # percentage points: "does not fall" when both batches are (nearly) fully crystalline


@dataclass(frozen=True)
class Design:
    c0: float
    seed: float
    profile: ThermocycleProfile


def draw_base(rng: np.random.Generator) -> dict[str, float]:
    base = {name: float(rng.uniform(*bounds)) for name, bounds in BOX.items()}
    base |= {"cool": float(rng.uniform(*COOLING)), "heat": float(rng.uniform(*HEATING))}
    return base | {"lift": float(rng.uniform(0.3, 0.9)), "n_cycles": int(rng.integers(0, 5))}


def profile_of(base: dict[str, float], **changes: float) -> ThermocycleProfile:
    b = base | changes
    return evenly_cycled(b["t_start"], b["t_end"], int(b["n_cycles"]), b["cool"], b["heat"], b["lift"])


def two_values(rng: np.random.Generator, bounds: tuple[float, float], min_gap: float) -> tuple[float, float]:
    """A low and a high value inside `bounds`, at least `min_gap` apart."""
    while True:
        a, b = sorted(rng.uniform(*bounds, 2))
        if b - a >= min_gap:
            return float(a), float(b)


def build_pairs(n_bases: int, n_pairs: int, seed: int) -> tuple[list[Design], pd.DataFrame]:
    """Designs to simulate and one row per pair: factor, low/high design index, and the base it came from."""
    rng = np.random.default_rng(seed)
    designs: list[Design] = []
    rows: list[dict[str, object]] = []

    def add(c0: float, seed_loading: float, profile: ThermocycleProfile) -> int:
        designs.append(Design(c0, seed_loading, profile))
        return len(designs) - 1

    for k in range(n_bases):
        base = draw_base(rng) | {"base": k}
        linear = add(base["c0"], base["seed"], profile_of(base, n_cycles=0))
        for n in range(1, 5):
            rows.append({"factor": f"cycles 0 vs {n}", "low": linear, **base, "n_cycles": n})
            rows[-1]["high"] = add(base["c0"], base["seed"], profile_of(base, n_cycles=n))
    for factor, key, bounds, gap in (
        ("cooling rate", "cool", COOLING, 0.05),
        ("initial concentration", "c0", BOX["c0"], 5.0),
        ("seed loading", "seed", BOX["seed"], 0.03),
    ):
        for _ in range(n_pairs):
            base = draw_base(rng) | {"base": len(rows) + n_bases}
            low, high = two_values(rng, bounds, gap)
            ids = []
            for value in (low, high):
                b = base | {key: value}
                ids.append(add(b["c0"], b["seed"], profile_of(b)))
            rows.append({"factor": factor, "low": ids[0], "high": ids[1], **base, key: (low + high) / 2})
    return designs, pd.DataFrame(rows)


def run_one(design: Design, params: ModelParameters, scatter_seed: int | None) -> dict[str, float]:
    """CQAs and CPU seconds of one batch; with `scatter_seed`, kinetic scatter but no measurement noise."""
    levels = NoiseLevels(d50_relative_sd=0.0, doa_sd=0.0, crystallinity_sd=0.0)
    start = time.process_time()
    result = simulate_batch(
        design.profile,
        design.c0,
        design.seed,
        params=params,
        noise=scatter_seed is not None,
        noise_levels=levels,
        random_state=scatter_seed,
    )
    traj = result.trajectory
    heating = np.diff(traj["T"].to_numpy(), prepend=np.inf) > 0
    lowest = float(traj["supersaturation"][heating].min()) if heating.any() else np.nan
    return result.cqas() | {
        "cpu_s": time.process_time() - start,
        "mass_balance": result.mass_balance_error(),
        "heat_up_min_sigma": lowest,
    }


def simulate(
    designs: list[Design], params: list[ModelParameters], scatter_seeds: list[int | None], n_jobs: int
) -> pd.DataFrame:
    out = Parallel(n_jobs=n_jobs)(delayed(run_one)(*args) for args in zip(designs, params, scatter_seeds, strict=True))
    return pd.DataFrame(out)


def score(pairs: pd.DataFrame, batches: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per trend (NaN where the trend does not apply to the pair's factor)."""
    lo = batches.loc[pairs["low"]].reset_index(drop=True)
    hi = batches.loc[pairs["high"]].reset_index(drop=True)
    cycles = pairs["factor"].str.startswith("cycles").to_numpy()
    out = pairs.copy()
    trends = {
        "cycles: DoA lower": (cycles, hi["DoA"] < lo["DoA"]),
        "cycles: D50 larger": (cycles, hi["D50"] > lo["D50"]),
        "cycles: crystallinity not lower": (cycles, hi["crystallinity"] >= lo["crystallinity"] - CRYSTALLINITY_TIE),
        "faster cooling: D50 smaller": (pairs["factor"].eq("cooling rate"), hi["D50"] < lo["D50"]),
        "faster cooling: crystallinity not higher": (
            pairs["factor"].eq("cooling rate"),
            hi["crystallinity"] <= lo["crystallinity"] + CRYSTALLINITY_TIE,
        ),
        "higher c0: crystallinity not higher": (
            pairs["factor"].eq("initial concentration"),
            hi["crystallinity"] <= lo["crystallinity"] + CRYSTALLINITY_TIE,
        ),
        "more seed: crystallinity not lower": (
            pairs["factor"].eq("seed loading"),
            hi["crystallinity"] >= lo["crystallinity"] - CRYSTALLINITY_TIE,
        ),
        "more seed: D50 larger": (pairs["factor"].eq("seed loading"), hi["D50"] > lo["D50"]),
    }
    for name, (applies, holds) in trends.items():
        out[name] = np.where(np.asarray(applies), np.asarray(holds, float), np.nan)
    for cqa in ("D50", "DoA", "crystallinity"):
        out[f"d{cqa}"] = hi[cqa].to_numpy() - lo[cqa].to_numpy()
    out["heat_up_min_sigma"] = hi["heat_up_min_sigma"].to_numpy()
    return out


TARGETS = {
    "cycles: DoA lower": 0.9,
    "cycles: D50 larger": 0.9,
    "cycles: crystallinity not lower": 0.9,
    "faster cooling: D50 smaller": 0.9,
}


def trend_columns(scored: pd.DataFrame) -> list[str]:
    return [c for c in scored.columns if ":" in c]


def print_trends(scored: pd.DataFrame, label: str) -> None:
    """Share of pairs per trend, overall and split by whether the start is at/below or above saturation."""
    seeded = scored["t_start"] <= [PARAMS.saturation_temperature(c) for c in scored["c0"]]
    print(f"== share of pairs that follow each trend ({label})")
    print(f"  {'':42s} {'all':>13s}  {'T1 <= Tsat':>10s} {'T1 > Tsat':>10s}")
    for name in trend_columns(scored):
        column = scored[name].dropna()
        target = TARGETS.get(name)
        mark = "" if target is None else f"  (target >= {target:.0%}: {'met' if column.mean() >= target else 'MISSED'})"
        split = f"{column[seeded].mean():10.1%} {column[~seeded].mean():10.1%}"
        print(f"  {name:42s} {column.mean():6.1%} of {len(column):3d}  {split}{mark}")
    cycles = scored[scored["factor"].str.startswith("cycles")]
    print("  by number of cycles (DoA lower / D50 larger / crystallinity not lower; median ΔDoA, ΔD50):")
    for factor, group in cycles.groupby("factor"):
        shares = " / ".join(
            f"{group[c].mean():5.1%}"
            for c in ("cycles: DoA lower", "cycles: D50 larger", "cycles: crystallinity not lower")
        )
        print(f"    {factor:14s} {shares}   ΔDoA {group['dDoA'].median():+6.1f}  ΔD50 {group['dD50'].median():+6.1f}")
    under = cycles["heat_up_min_sigma"] < 0
    print("  cycle pairs whose heat-ups undersaturate the crystals vs. those whose heat-ups stay supersaturated:")
    for name in ("cycles: DoA lower", "cycles: D50 larger"):
        a, b = cycles[name][under], cycles[name][~under]
        print(f"    {name:26s} {a.mean():6.1%} of {len(a):3d}   {b.mean():6.1%} of {len(b):3d}")


def print_distributions(batches: pd.DataFrame, seeded: np.ndarray, label: str) -> None:
    """CQA quantiles and the share inside the paper's ranges, overall and split by whether the seeds survive.

    `seeded` marks batches started at or below the saturation temperature; above it the seeds dissolve
    and the batch crystallizes unseeded.
    """
    inside = pd.concat([batches[c].between(lo, hi) for c, (lo, hi) in RANGES.items()], axis=1)
    print(f"== CQAs over {len(batches)} random feasible batches ({label})")
    print("   " + batches[list(RANGES)].describe(percentiles=[0.05, 0.25, 0.5, 0.75, 0.95]).round(1).T.to_string())
    print(f"  {'share inside':22s} {'all':>6s} {'T1 <= Tsat':>11s} {'T1 > Tsat':>10s}")
    columns = {**{f"{c} {lo:g}-{hi:g}": inside[c] for c, (lo, hi) in RANGES.items()}, "all three": inside.all(axis=1)}
    for name, ok in columns.items():
        print(f"  {name:22s} {ok.mean():6.1%} {ok[seeded].mean():11.1%} {ok[~seeded].mean():10.1%}")
    print(f"  ({seeded.sum()} batches start at or below saturation, {(~seeded).sum()} above; target >= 80% all three)")
    print(f"  largest relative mass-balance error: {batches['mass_balance'].max():.1e}")


def starts_seeded(designs: list[Design], params: ModelParameters) -> np.ndarray:
    return np.array([d.profile.temperatures[0] <= params.saturation_temperature(d.c0) for d in designs])


def perturbed(params: ModelParameters, rng: np.random.Generator, spread: float) -> ModelParameters:
    """A copy with every kinetic parameter multiplied by a factor drawn uniformly in [1 - spread, 1 + spread]."""
    names = [f.name for f in fields(params) if f.name not in NOT_PERTURBED]
    return replace(params, **{n: getattr(params, n) * rng.uniform(1 - spread, 1 + spread) for n in names})


def failure_figure(scored: pd.DataFrame, saturation: np.ndarray) -> go.Figure:
    """Pairs in the (c0, start - saturation temperature) plane, one panel per trend; failures in red."""
    names = [n for n in trend_columns(scored) if scored[n].notna().any()]
    cols = 4
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, shared_yaxes=True)
    for k, name in enumerate(names):
        sub = scored[scored[name].notna()]
        ok = sub[name].astype(bool)
        offset = sub["t_start"] - saturation[sub.index]
        for mask, colour, label in ((ok, "#2a9d8f", "follows"), (~ok, "#d62828", "fails")):
            fig.add_trace(
                go.Scatter(
                    x=sub["c0"][mask],
                    y=offset[mask],
                    mode="markers",
                    marker={"color": colour, "size": 6, "opacity": 0.8},
                    name=label,
                    legendgroup=label,
                    showlegend=k == 0,
                    customdata=np.stack([sub["factor"][mask], sub["cool"][mask], sub["seed"][mask]], axis=-1),
                    hovertemplate="c0 %{x:.1f}<br>T1 - Tsat %{y:.1f} °C<br>%{customdata[0]}"
                    "<br>cooling %{customdata[1]:.2f} °C/min<br>seed %{customdata[2]:.3f}<extra></extra>",
                ),
                row=k // cols + 1,
                col=k % cols + 1,
            )
    fig.update_xaxes(title_text="c0 (mg/g solvent)")
    fig.update_yaxes(title_text="T1 − saturation T (°C)", col=1)
    fig.update_layout(height=320 * rows, width=1500, title="Where the virtual lab follows the paper's trends")
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bases", type=int, default=60, help="random bases for the cycle pairs (4 pairs each)")
    parser.add_argument("--pairs", type=int, default=40, help="pairs per other factor (cooling, c0, seed)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the designs")
    parser.add_argument("--n-jobs", type=int, default=2, help="joblib worker processes")
    parser.add_argument("--nice", type=int, default=10, help="niceness increment of this process and its workers")
    parser.add_argument("--robustness", action="store_true", help="repeat with kinetic scatter and ±25 %% params")
    parser.add_argument("--robustness-fraction", type=float, default=0.5, help="share of the pairs repeated")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "bench_trends", help="figure folder")
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)

    params = ModelParameters()
    designs, pairs = build_pairs(args.bases, args.pairs, args.seed)
    print(f"{len(pairs)} pairs, {len(designs)} batches, n_jobs={args.n_jobs}, design seed {args.seed}")
    start = time.perf_counter()
    batches = simulate(designs, [params] * len(designs), [None] * len(designs), args.n_jobs)
    wall = time.perf_counter() - start
    scored = score(pairs, batches)
    print_trends(scored, "default parameters, no noise")
    print_distributions(batches, starts_seeded(designs, params), "default parameters, no noise")
    cpu = batches["cpu_s"]
    print(
        f"== CPU seconds per batch: median {cpu.median():.3f}, 95th percentile {cpu.quantile(0.95):.3f}, "
        f"max {cpu.max():.3f}  (target <= 0.5); wall {wall:.0f} s for {len(batches)} batches"
    )

    saturation = np.array([params.saturation_temperature(c) for c in pairs["c0"]])
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "trend_failures.html"
    failure_figure(scored, saturation).write_html(path, include_plotlyjs="cdn")
    print(f"== figure: {path}")

    if args.robustness:
        robustness(designs, pairs, params, args)
    return 0


def robustness(designs: list[Design], pairs: pd.DataFrame, params: ModelParameters, args: argparse.Namespace) -> None:
    """The same trends under batch-to-batch kinetic scatter and with the kinetics perturbed by ±25 %."""
    rng = np.random.default_rng(args.seed + 1)
    keep = np.sort(rng.choice(len(pairs), int(len(pairs) * args.robustness_fraction), replace=False))
    subset = pairs.iloc[keep].reset_index(drop=True)
    used = np.unique(subset[["low", "high"]].to_numpy())
    index = {old: new for new, old in enumerate(used)}
    subset[["low", "high"]] = subset[["low", "high"]].map(index.get)
    sub_designs = [designs[i] for i in used]
    scatter_seeds = [int(s) for s in rng.integers(0, 2**31, len(sub_designs))]
    batches = simulate(sub_designs, [params] * len(sub_designs), scatter_seeds, args.n_jobs)
    print_trends(score(subset, batches), "kinetic scatter, independent per batch")
    # One perturbed compound per base: every design drawn from a base shares its perturbed parameters.
    compounds = {b: perturbed(params, rng, 0.25) for b in subset["base"].unique()}
    owner = {i: b for col in ("low", "high") for i, b in zip(subset[col], subset["base"], strict=True)}
    batch_params = [compounds[owner[i]] for i in range(len(sub_designs))]
    batches = simulate(sub_designs, batch_params, [None] * len(sub_designs), args.n_jobs)
    scored = score(subset, batches)
    print_trends(scored, "kinetic parameters perturbed by up to ±25 %")
    print_distributions(batches, starts_seeded(sub_designs, params), "kinetic parameters perturbed by up to ±25 %")


if __name__ == "__main__":
    sys.exit(main())
