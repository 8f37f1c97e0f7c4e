"""Write the shipped sample data: a 31-run DoE and a 4-run hold-out set measured in the virtual lab.

Run from the repository root: `python sample_data/generate.py [OUT_DIR]`.
The design mirrors Table 1 of Barhate et al. (2025) (18 linear cooling, 2 linear
cool + heat, 1 one-cycle, 4 two-cycle, 3 three-cycle and 3 four-cycle runs;
D50 in all 31, DoA in 21, crystallinity in 15) inside the Table 2 bounds.
Every run is simulated with batch-to-batch scatter and measurement noise
from its own seed, and numbers are rounded as a lab records them, so the
script rewrites the same files every time.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Font

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.doe.template import build_template  # noqa: E402
from core.profiles import ThermocycleProfile, cooling_columns, heating_columns, temperature_columns  # noqa: E402
from core.virtual_lab import ModelParameters, simulate_batch  # noqa: E402

SEED = 20250531
OUT_DIR = Path(__file__).resolve().parent
INPUT_HEADERS = ["initial_concentration (mg/g solvent)", "seed_loading (-)"]
T_HEADERS = [f"{c} (°C)" for c in temperature_columns()]
RATE_HEADERS = [f"{c} (°C/min)" for c in cooling_columns() + heating_columns()]
CQA_HEADERS = {"D50": "D50 (µm)", "DoA": "DoA (%)", "crystallinity": "crystallinity (%)"}
COLUMNS = ["run_id", *INPUT_HEADERS, *T_HEADERS, *RATE_HEADERS, *CQA_HEADERS.values(), "notes"]

# Table 1 of Barhate et al. (2025): (number of runs, cycles); -1 marks the linear cool + heat profile.
TABLE1 = [(18, 0), (2, -1), (1, 1), (4, 2), (3, 3), (3, 4)]
# The analyses were set up during the campaign: DoA from run 11 on, crystallinity from run 17 on.
FIRST_RUN_WITH = {"DoA": 11, "crystallinity": 17}
MIN_T = 2.0  # °C; a set point of 0 would read as "unused" (Eq. 4)


@dataclass(frozen=True)
class Run:
    run_id: str
    initial_concentration: float
    seed_loading: float
    profile: ThermocycleProfile
    measured: tuple[str, ...] = ("D50", "DoA", "crystallinity")
    note: str = ""


def half_degree(value: float) -> float:
    return float(np.round(value * 2.0) / 2.0)


def rate(value: float) -> float:
    return float(np.round(value, 2))


def start_temperature(c0: float, rng: np.random.Generator, params: ModelParameters) -> float:
    """Seeding temperature a few degrees below saturation, as a lab would choose it."""
    return min(70.0, half_degree(params.saturation_temperature(c0) - rng.uniform(1.0, 6.0)))


def latin_hypercube(n: int, dims: int, rng: np.random.Generator) -> np.ndarray:
    """n points in [0, 1)^dims with one point in each of n strata per dimension."""
    strata = np.array([rng.permutation(n) for _ in range(dims)]).T
    return (strata + rng.random((n, dims))) / n


def cycling_profile(
    t_start: float,
    t_end: float,
    n_cycles: int,
    cooling: Sequence[float],
    heating: Sequence[float],
    rng: np.random.Generator,
) -> ThermocycleProfile:
    """Cool in n+1 ramps towards t_end, heating part of the way back up after each but the last."""
    temps, top = [t_start], t_start
    for k in range(1, n_cycles + 1):
        low = half_degree(t_start - (t_start - t_end) * k / (n_cycles + 1) * rng.uniform(0.9, 1.05))
        low = max(min(low, temps[-1] - 3.0), t_end + 1.0)
        high = half_degree(low + rng.uniform(0.45, 0.8) * (top - low))
        temps += [low, max(high, low + 2.0)]
        top = temps[-1]
    temps.append(t_end)
    return ThermocycleProfile(tuple(temps), tuple(cooling), tuple(heating))


def design_runs(rng: np.random.Generator, params: ModelParameters) -> list[Run]:
    """The 31 DoE runs in campaign order: linear profiles first, then the thermocycles."""
    profiles: list[tuple[float, float, ThermocycleProfile]] = []
    n_linear = TABLE1[0][0]
    lhs = latin_hypercube(n_linear, 4, rng)
    for c0_u, seed_u, rate_u, end_u in lhs:
        c0 = float(np.round(24.8 + c0_u * (55.2 - 24.8), 1))
        seed = float(np.round((0.05 + seed_u * 0.10) / 0.005) * 0.005)
        t1 = start_temperature(c0, rng, params)
        profile = ThermocycleProfile((t1, half_degree(MIN_T + end_u * 18.0)), (rate(0.05 + rate_u * 0.25),))
        profiles.append((c0, seed, profile))
    for count, n_cycles in TABLE1[1:]:
        for _ in range(count):
            c0 = float(np.round(rng.uniform(30.0, 55.2), 1))
            seed = float(np.round(rng.uniform(0.05, 0.15) / 0.005) * 0.005)
            t1, t_end = start_temperature(c0, rng, params), half_degree(rng.uniform(MIN_T, 15.0))
            if n_cycles < 0:  # linear cooling, then a final heating ramp to dissolve fines
                low = half_degree(rng.uniform(MIN_T, 12.0))
                profile = ThermocycleProfile(
                    (t1, low, half_degree(low + rng.uniform(8.0, 18.0))),
                    (rate(rng.uniform(0.1, 0.3)),),
                    (rate(rng.uniform(0.5, 1.0)),),
                )
            else:
                cooling = [rate(rng.uniform(0.08, 0.3)) for _ in range(n_cycles + 1)]
                heating = [rate(rng.uniform(0.5, 1.0)) for _ in range(n_cycles)]
                profile = cycling_profile(t1, t_end, n_cycles, cooling, heating, rng)
            profiles.append((c0, seed, profile))
    runs = []
    for number, (c0, seed, profile) in enumerate(profiles, start=1):
        measured = ("D50", *(name for name, first in FIRST_RUN_WITH.items() if number >= first))
        missing = [name for name in FIRST_RUN_WITH if name not in measured]
        note = f"{' and '.join(missing)} not measured" if missing else ""
        runs.append(Run(f"R{number:02d}", c0, seed, profile, measured, note))
    return runs


def holdout_runs(rng: np.random.Generator, params: ModelParameters, n_candidates: int = 10) -> list[Run]:
    """Four well-performing multi-cycle runs: the best of a few slow, deep-cycling candidates (large D50, low DoA)."""
    candidates = []
    for _ in range(n_candidates):
        n_cycles = int(rng.integers(3, 5))
        c0 = float(np.round(rng.uniform(35.0, 50.0), 1))
        seed = float(np.round(rng.uniform(0.1, 0.15) / 0.005) * 0.005)
        t1, t_end = start_temperature(c0, rng, params), half_degree(rng.uniform(MIN_T, 10.0))
        cooling = [rate(rng.uniform(0.05, 0.12)) for _ in range(n_cycles + 1)]
        heating = [rate(rng.uniform(0.5, 0.8)) for _ in range(n_cycles)]
        profile = cycling_profile(t1, t_end, n_cycles, cooling, heating, rng)
        cqas = simulate_batch(profile, c0, seed, params=params).cqas()
        candidates.append((cqas["D50"] - 0.5 * cqas["DoA"], c0, seed, profile))
    best = sorted(candidates, key=lambda c: -c[0])[:4]
    note = "hold-out: well-performing thermocycle profile"
    return [Run(f"V{k}", c0, seed, profile, note=note) for k, (_, c0, seed, profile) in enumerate(best, start=1)]


def measure(runs: list[Run], seeds: list[np.random.SeedSequence], params: ModelParameters) -> pd.DataFrame:
    """Simulate each run with noise and lay the results out in the sheet's columns."""
    rows = []
    for run, seed in zip(runs, seeds, strict=True):
        result = simulate_batch(
            run.profile, run.initial_concentration, run.seed_loading, params=params, noise=True, random_state=seed
        )
        features = run.profile.to_features()
        row: dict[str, object] = {
            "run_id": run.run_id,
            INPUT_HEADERS[0]: run.initial_concentration,
            INPUT_HEADERS[1]: run.seed_loading,
        }
        for header in T_HEADERS + RATE_HEADERS:
            value = features[header.split(" ")[0]]
            row[header] = value if value else np.nan
        for name, header in CQA_HEADERS.items():
            row[header] = float(np.round(result.cqas()[name], 1)) if name in run.measured else np.nan
        row["notes"] = run.note
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(frame.columns))
    for record in frame.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) or v == "" else v for v in record])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2"
    wb.save(path)


def write_sample_data(out_dir: Path = OUT_DIR) -> dict[str, pd.DataFrame]:
    """Generate both data sets and write doe.csv/.xlsx, holdout.csv/.xlsx and template.xlsx into `out_dir`."""
    params = ModelParameters()
    design_rng, holdout_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(2))
    runs = design_runs(design_rng, params)
    holdout = holdout_runs(holdout_rng, params)
    noise_seeds = np.random.SeedSequence(SEED + 1).spawn(len(runs) + len(holdout))
    frames = {
        "doe": measure(runs, noise_seeds[: len(runs)], params),
        "holdout": measure(holdout, noise_seeds[len(runs) :], params),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        write_csv(frame, out_dir / f"{name}.csv")
        write_xlsx(frame, out_dir / f"{name}.xlsx", "DoE" if name == "doe" else "Hold-out")
    (out_dir / "template.xlsx").write_bytes(build_template())
    return frames


def main(argv: Sequence[str]) -> int:
    out_dir = Path(argv[0]) if argv else OUT_DIR
    frames = write_sample_data(out_dir)
    for name, frame in frames.items():
        cqas = frame[list(CQA_HEADERS.values())]
        print(f"{name}: {len(frame)} runs written to {out_dir}")
        print(cqas.describe().loc[["count", "min", "max"]].round(1).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
