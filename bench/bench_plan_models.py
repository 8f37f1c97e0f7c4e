"""Do the planner's GPs know the profile types the DoE has few runs of? Raw columns against descriptors.

For each of several fresh virtual-lab campaigns (31-run DoE with the Table 1
mix, a different seed each; every second one from "another compound", i.e.
perturbed kinetic and solubility parameters) the planning GPs
(`core.plan.gp.PlanningModels`) are fitted once per feature set on the same
rows and scored on fresh noise-free runs of every profile type. Printed per
CQA and type: the median over campaigns of the MSE relative to the raw-column
GP (below 1: the descriptors predict better), and the ±2σ coverage of the
latent σ pooled over campaigns (it leaves out the measurement noise, so it
reads low where noise dominates).

    nice -n 10 python bench/bench_plan_models.py [--campaigns 10] [--per-type 40] [--first 600]
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

from bench.campaigns import campaign, compound, test_runs  # noqa: E402
from core.models.datasets import ModelData  # noqa: E402
from core.plan.gp import PlanningModels  # noqa: E402

CQAS = ("D50", "DoA", "crystallinity")
TYPES = {0: "linear", 1: "1 cycle", 2: "2 cycles", 3: "3 cycles", 4: "4 cycles"}
FEATURES = ("raw", "descriptors")


def _score(campaign_id: int, n_per_type: int) -> list[dict]:
    perturbed = campaign_id % 2 == 1
    params = compound(1000 + campaign_id, perturbed)
    doe, _ = campaign(campaign_id, params)
    test = test_runs(n_per_type, 5000 + campaign_id, params)
    data = ModelData.from_doe(doe)
    X_test = test[data.input_names]
    predictions = {}
    for features in FEATURES:
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


def _summary(table: pd.DataFrame) -> None:
    print("\nMSE of the descriptor GP relative to the raw-column GP (median over campaigns; below 1: better)")
    print(f"{'CQA':<14} {'type':<9} {'ratio':>6} {'raw MSE':>9} {'±2σ raw':>8} {'±2σ desc':>9}")
    for (cqa, type_name), part in table.groupby(["cqa", "type"], sort=False):
        ratio = np.median(part["descriptors_mse"] / part["raw_mse"])
        n = part["n"].sum()
        cover = [part[f"{f}_in2"].sum() / n for f in FEATURES]
        print(
            f"{cqa:<14} {type_name:<9} {ratio:>6.2f} {np.median(part['raw_mse']):>9.3g} "
            f"{cover[0]:>8.0%} {cover[1]:>9.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10, help="fresh data sets (odd seeds: perturbed)")
    parser.add_argument("--per-type", type=int, default=40, help="noise-free test runs per profile type")
    parser.add_argument("--first", type=int, default=600, help="seed of the first campaign")
    args = parser.parse_args()
    rows = []
    for campaign_id in range(args.first, args.first + args.campaigns):
        t = time.perf_counter()
        rows += _score(campaign_id, args.per_type)
        print(f"campaign {campaign_id}: {time.perf_counter() - t:.0f} s", flush=True)
    _summary(pd.DataFrame(rows))


if __name__ == "__main__":
    main()
