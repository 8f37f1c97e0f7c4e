"""How faithful is the virtual lab to another compound? Its calibrated CQAs on fresh runs, states exchanged or not.

The `virtual_lab` augmentation source simulates the default compound, never
the user's. For each of several fresh campaigns of other compounds (31-run
DoE, perturbed kinetics and solubility; `bench.campaigns`) the source's
calibration y_real ≈ a + b·y_sim is fitted on the DoE's runs, and the
calibrated simulator then predicts fresh noise-free runs of every profile
type, seeded below the compound's own saturation as its lab would. Side by
side: the runs exchanged as they are (the same concentration in the
simulator) and in corresponding states (`core.virtual_lab.transfer`: the
concentration that lies as far from the simulator's saturation as the
experiments' seeding line puts the run from its own). Printed per campaign and CQA: R² of the calibrated
simulator on the fresh runs (all types; cycled types), and the median shift
of the concentrations; then the medians over campaigns. A source whose rows
predict fresh runs badly can only hurt the model it augments.

    nice -n 10 python bench/bench_lab_transfer.py [--campaigns 10] [--first 9700] [--per-type 10] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.campaigns import campaign, compound, test_runs  # noqa: E402
from core.models.datasets import ModelData  # noqa: E402
from core.virtual_lab import CQA_NAMES  # noqa: E402
from core.virtual_lab.transfer import (  # noqa: E402
    CorrespondingStates,
    SimulationCache,
    calibration_fit,
    corresponding_states,
)

ARMS = ("as they are", "corresponding states")


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    """NaN where the truth hardly varies (sd under 0.1 in its unit, say crystallinity 100 % on every cycled run)."""
    ok = np.isfinite(truth) & np.isfinite(predicted)
    spread = np.var(truth[ok])
    return float(1.0 - np.mean((truth[ok] - predicted[ok]) ** 2) / spread) if spread > 0.01 else np.nan


def _score(campaign_id: int, per_type: int, cache: SimulationCache, n_jobs: int) -> list[dict]:
    params = compound(campaign_id, perturbed=True)
    doe, _ = campaign(campaign_id, params)
    data = ModelData.from_doe(doe)
    X = data.inputs.fillna(0.0)
    test = test_runs(per_type, 5000 + campaign_id, params, n_jobs=n_jobs)
    cycled = (test["n_cycles"] > 0).to_numpy()
    states = {ARMS[0]: CorrespondingStates(None), ARMS[1]: corresponding_states(X)}
    c0 = X["initial_concentration"].to_numpy(float)
    shift = float(np.median(states[ARMS[1]].to_simulated(c0) - c0))
    rows = []
    for arm, exchange in states.items():
        at_doe = cache.simulate(exchange.simulated_inputs(X), n_jobs)
        at_test = cache.simulate(exchange.simulated_inputs(test[X.columns]), n_jobs)
        for cqa in CQA_NAMES:
            measured = data.cqas[cqa].to_numpy(float)
            a, b = calibration_fit(measured, at_doe[cqa].to_numpy(float), "affine")
            predicted, truth = a + b * at_test[cqa].to_numpy(float), test[cqa].to_numpy(float)
            rows.append(
                {
                    "campaign": campaign_id,
                    "arm": arm,
                    "cqa": cqa,
                    "shift": shift,
                    "r2": _r2(truth, predicted),
                    "r2_cycled": _r2(truth[cycled], predicted[cycled]),
                }
            )
    return rows


def _print_campaign(part: pd.DataFrame) -> None:
    cells = [f"campaign {part['campaign'].iloc[0]} (concentration shift {part['shift'].iloc[0]:+.1f} mg/g)"]
    for cqa, by_cqa in part.groupby("cqa", sort=False):
        r2 = by_cqa.set_index("arm")
        cells.append(f"{cqa} R² {r2.loc[ARMS[0], 'r2']:+.2f} → {r2.loc[ARMS[1], 'r2']:+.2f}")
    print(" | ".join(cells), flush=True)


def _summary(table: pd.DataFrame) -> None:
    print(f"\nR² of the calibrated virtual lab on fresh runs, median [min–max] over campaigns: {' → '.join(ARMS)}")
    for cqa, part in table.groupby("cqa", sort=False):
        cells = []
        for column, label in (("r2", "all types"), ("r2_cycled", "cycled types")):
            values = {arm: part.loc[part["arm"] == arm, column] for arm in ARMS}
            better = int(np.sum(values[ARMS[1]].to_numpy() > values[ARMS[0]].to_numpy()))
            cells.append(
                f"{label} "
                + " → ".join(f"{v.median():+.2f} [{v.min():+.2f}–{v.max():+.2f}]" for v in values.values())
                + f" (higher on {better}/{len(values[ARMS[0]])})"
            )
        print(f"{cqa:<14} " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10, help="fresh campaigns of other compounds")
    parser.add_argument("--first", type=int, default=9700, help="seed of the first campaign")
    parser.add_argument("--per-type", type=int, default=10, help="noise-free test runs per profile type")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    cache = SimulationCache()
    rows = []
    for campaign_id in range(args.first, args.first + args.campaigns):
        scored = _score(campaign_id, args.per_type, cache, args.n_jobs)
        _print_campaign(pd.DataFrame(scored))
        rows += scored
    _summary(pd.DataFrame(rows))


if __name__ == "__main__":
    main()
