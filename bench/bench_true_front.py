"""Where is the virtual lab's true Pareto front, and how far is it from the DoE?

NSGA-II runs on the simulator itself (as in `bench_loop.py` and
`bench_ground_truth.py`) for one profile type, over the same decision space
(start and final temperatures within the experiments' ranges). For every
design of its front it prints the initial concentration, the seeding
temperature T1, the highest heat-up temperature, the saturation temperature of
the initial concentration (the lab's solubility), the lowest crystalline mass
after the first heat-up against the highest before it, and the true D50 and
DoA; then the same for the sample DoE's runs of that type. `--peaks-below-start`
repeats the search with every heat-up kept at or below T1 (designs breaking it
count as unscorable), to see whether that alone brings the front near the data.
`--campaign ID` takes a fresh campaign's DoE and lab instead (odd ids: other
compounds, `bench/campaigns.py`). `--cliff` moves every heat-up peak of the
front's largest-D50 design by -4 ... +4 K and prints its true CQAs: how close
the best designs lie to the temperatures where the seeds dissolve.

    nice -n 10 python bench/bench_true_front.py [--cycles 4] [--pop 16] [--gen 8] [--peaks-below-start]
        [--campaign 11] [--constraint crystallinity>=80] [--cliff]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.campaigns import campaign, compound
from core.doe import load_doe
from core.optimize.run import optimize_profiles
from core.optimize.spec import Constraint, DesignSpec, data_temperature_ranges, n_temperatures_for_cycles
from core.virtual_lab import ModelParameters
from core.virtual_lab.simulator import CQA_NAMES, row_to_batch, simulate_batch, simulate_rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.csv"
HEAT_UP_PEAKS = ["T3", "T5", "T7", "T9"]


def simulator(jobs: int, peaks_below_start: bool, params: ModelParameters):
    def predict(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        sim = simulate_rows(features, params=params, n_jobs=jobs, bounds=None)
        broken = features[HEAT_UP_PEAKS].max(axis=1).to_numpy() > features["T1"].to_numpy() + 1e-9
        out = {}
        for c in CQA_NAMES:
            values = sim[c].to_numpy(float)
            out[c] = (np.where(broken & peaks_below_start, np.nan, values), np.zeros(len(features)))
        return out

    return predict


def describe(rows: pd.DataFrame, params: ModelParameters) -> pd.DataFrame:
    """Per run: c0, T1, highest heat-up, saturation temperature of c0, solid left by the heat-ups, true CQAs."""
    table = []
    for row in rows.to_dict("records"):
        profile, c0, seed = row_to_batch(row, bounds=None)
        result = simulate_batch(profile, c0, seed, params=params)
        traj = result.trajectory
        first_heat_end = profile.segments()[0].duration_min
        before = traj.loc[traj["time_min"] <= first_heat_end, "crystalline_mass"].max()
        after = traj.loc[traj["time_min"] > first_heat_end, "crystalline_mass"].min()
        table.append(
            {
                "c0": c0,
                "T1": profile.temperatures[0],
                "highest heat-up": max(profile.temperatures[2::2], default=np.nan),
                "T_sat(c0)": params.saturation_temperature(c0),
                "solid before (mg/g)": before,
                "lowest after": after,
                "D50": result.D50,
                "DoA": result.DoA,
            }
        )
    return pd.DataFrame(table)


def cliff(front: pd.DataFrame, names: list[str], params: ModelParameters) -> pd.DataFrame:
    """The front's largest-D50 design with every heat-up peak moved by -4 ... +4 K, and its true CQAs."""
    best = front.loc[[front["D50_mean"].idxmax()], names].reset_index(drop=True)
    peaks = [c for c in HEAT_UP_PEAKS if best[c].iloc[0] > 0]
    shifts = np.array([-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0])
    rows = pd.concat([best.assign(**{c: best[c] + dT for c in peaks}) for dT in shifts], ignore_index=True)
    sim = simulate_rows(rows, params=params, bounds=None)
    return pd.DataFrame({"peaks moved (K)": shifts, **{c: sim[c] for c in CQA_NAMES}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--pop", type=int, default=16)
    parser.add_argument("--gen", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--peaks-below-start", action="store_true", help="keep every heat-up at or below T1")
    parser.add_argument("--campaign", type=int, help="a fresh campaign's DoE and lab instead of the sample's")
    parser.add_argument("--constraint", action="append", default=[], help='e.g. "crystallinity>=80"')
    parser.add_argument("--cliff", action="store_true", help="move the best design's heat-up peaks by -4 ... +4 K")
    args = parser.parse_args()
    data, params = load_doe(SAMPLE).data, ModelParameters()
    if args.campaign is not None:
        params = compound(1000 + args.campaign, args.campaign % 2 == 1)
        data = campaign(args.campaign, params)[0]
    start_T, end_T = data_temperature_ranges(data.profiles())
    n_temps = n_temperatures_for_cycles(args.cycles)
    constraints = tuple(Constraint.parse(c) for c in args.constraint)
    spec = DesignSpec(
        n_temperatures=(n_temps,),
        start_T=start_T,
        end_T=end_T,
        pop_size=args.pop,
        n_gen=args.gen,
        constraints=constraints,
    )
    front = optimize_profiles(simulator(args.jobs, args.peaks_below_start, params), data.schema, spec).points
    front = front[front["feasible"] & np.isfinite(front["D50_mean"]) & (front["D50_mean"] < 1e6)]
    pd.set_option("display.width", 160)
    heading = "heat-ups at or below T1" if args.peaks_below_start else "Table 2 box"
    print(f"true front, {args.cycles} cycles, NSGA-II {args.pop}x{args.gen} on the simulator ({heading}):")
    print(describe(front[data.schema.input_names], params).round(2).to_string(index=False))
    if args.cliff:
        print("\nthe largest-D50 design with its heat-up peaks moved:")
        print(cliff(front, data.schema.input_names, params).round(1).to_string(index=False))
    types = [len(p.temperatures) for p in data.profiles()]
    same_type = data.inputs[[t == n_temps for t in types]]
    print(f"\nthe DoE's {len(same_type)} runs of this type:")
    print(describe(same_type[data.schema.input_names], params).round(2).to_string(index=False))
    d50 = data.cqa("D50")
    print(f"\nD50 of all {len(data.inputs)} DoE runs: {d50.min():.1f}-{d50.max():.1f} µm")


if __name__ == "__main__":
    main()
