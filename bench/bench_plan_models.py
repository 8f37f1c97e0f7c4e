"""Do the planner's GPs know the profile types the DoE has few runs of? Raw columns against descriptors.

For each of several fresh virtual-lab campaigns (31-run DoE with the Table 1
mix, a different seed each; every second one from "another compound", i.e.
perturbed kinetic and solubility parameters) the planning GPs
(`core.plan.gp.PlanningModels`) are fitted once per feature set on the same
rows and scored on fresh noise-free runs of every profile type. Printed per
CQA and type: the median over campaigns of the MSE relative to the raw-column
GP (below 1: the other feature set predicts better), and the ±2σ coverage of the
latent σ pooled over campaigns (it leaves out the measurement noise, so it
reads low where noise dominates).

With `--solubility` each DoE's schema carries its compound's solubility curve
as a user would measure it (`campaigns.with_solubility`: five points, 3 %
error), which adds the supersaturation descriptors (how far the start is
above saturation, time above saturation, how much the heat-ups re-dissolve).

    nice -n 10 python bench/bench_plan_models.py [--campaigns 10] [--per-type 40] [--first 600]
        [--features raw descriptors both] [--solubility]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.campaigns import campaign, compound, test_runs, with_solubility  # noqa: E402
from core.models.datasets import ModelData  # noqa: E402
from core.models.features import FEATURE_SETS  # noqa: E402
from core.plan.gp import PlanningModels  # noqa: E402

CQAS = ("D50", "DoA", "crystallinity")
TYPES = {0: "linear", 1: "1 cycle", 2: "2 cycles", 3: "3 cycles", 4: "4 cycles"}


def _score(campaign_id: int, n_per_type: int, feature_sets: list[str], solubility: bool) -> list[dict]:
    perturbed = campaign_id % 2 == 1
    params = compound(1000 + campaign_id, perturbed)
    doe, _ = campaign(campaign_id, params)
    if solubility:
        doe = with_solubility(doe, params, campaign_id)
    test = test_runs(n_per_type, 5000 + campaign_id, params)
    data = ModelData.from_doe(doe)
    X_test = test[data.input_names]
    predictions = {}
    for features in feature_sets:
        models = PlanningModels(doe.schema, list(CQAS), features).fit(data.inputs, data.cqas, random_state=0)
        predictions[features] = models.predict(X_test)
    rows = []
    for cqa in CQAS:
        truth = test[cqa].to_numpy(float)
        for n_cycles, type_name in TYPES.items():
            k = (test["n_cycles"] == n_cycles).to_numpy() & np.isfinite(truth)
            row = {"campaign": campaign_id, "perturbed": perturbed, "cqa": cqa, "type": type_name, "n": int(k.sum())}
            for features, pred in predictions.items():
                mean, std = pred[cqa]
                err = np.abs(truth[k] - mean[k])
                row[f"{features}_mse"] = float(np.mean(err**2))
                row[f"{features}_in2"] = int(np.sum(err <= 2 * std[k]))
            rows.append(row)
    return rows


def _summary(table: pd.DataFrame, feature_sets: list[str]) -> None:
    others = [f for f in feature_sets if f != "raw"]
    print("\nMSE of each feature set's GP relative to the raw-column GP (median over campaigns; below 1: better)")
    print(
        f"{'CQA':<14} {'type':<9} {'raw MSE':>9}"
        + "".join(f" {f[:11] + ' ratio':>17}" for f in others)
        + "".join(f" {'±2σ ' + f[:11]:>16}" for f in feature_sets)
    )
    for (cqa, type_name), part in table.groupby(["cqa", "type"], sort=False):
        ratios = [np.median(part[f"{f}_mse"] / part["raw_mse"]) for f in others]
        cover = [part[f"{f}_in2"].sum() / part["n"].sum() for f in feature_sets]
        print(
            f"{cqa:<14} {type_name:<9} {np.median(part['raw_mse']):>9.3g}"
            + "".join(f" {r:>17.2f}" for r in ratios)
            + "".join(f" {c:>16.0%}" for c in cover)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10, help="fresh data sets (odd seeds: perturbed)")
    parser.add_argument("--per-type", type=int, default=40, help="noise-free test runs per profile type")
    parser.add_argument("--first", type=int, default=600, help="seed of the first campaign")
    parser.add_argument("--features", nargs="+", choices=FEATURE_SETS, default=["raw", "descriptors"])
    parser.add_argument("--solubility", action="store_true", help="give each schema its compound's solubility curve")
    args = parser.parse_args()
    feature_sets = ["raw", *(f for f in args.features if f != "raw")]  # raw is the reference
    rows = []
    for campaign_id in range(args.first, args.first + args.campaigns):
        t = time.perf_counter()
        rows += _score(campaign_id, args.per_type, feature_sets, args.solubility)
        print(f"campaign {campaign_id}: {time.perf_counter() - t:.0f} s", flush=True)
    _summary(pd.DataFrame(rows), feature_sets)


if __name__ == "__main__":
    main()
