"""The product's recommendation on the data a loop ended with, without running the loop again.

`bench_loop.py --save DIR` writes each loop's data at its end. This replays the
planning call behind the loop's last column (strategy `exploit`, seed × 100 +
rounds, the product's prior) on each file and prints the true hypervolume of
the product's recommendation (`core.plan.recommend`) and of the runs made, as
shares of the true front (`bench/loop_true_fronts.json`), with their medians
per strategy. The recommendation does not steer the loop, so a change to it
alone is measured here in a few minutes where the loop takes hours. Give it the
flags the loop ran with (constraints, structure spread, rounds).

    python bench/bench_recommend.py DIR [--rounds 4] [--recommend 8] [--constraint crystallinity>=80]
        [--structure-spread 0.1] [--jobs 2] [--cache bench/loop_true_fronts.json]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_loop import ROOT, Start, saved_loop, starts, true_hv, true_outcomes
from core.optimize.spec import Constraint
from core.plan.propose import PlanSpec, plan_experiments
from core.plan.recommend import recommend

SAVED = re.compile(r"(?P<strategy>[a-z]+)_(?P<start>sample|campaign_(?P<id>\d+))_seed(?P<seed>\d+)\.csv")


def replayed(path: Path, start: Start, seed: int, args: argparse.Namespace) -> tuple[float, float]:
    """Shares of the true front held by the product's recommendation and by the runs made."""
    schema = start.data.schema
    inputs, cqas = saved_loop(path, schema.input_names)
    spec = replace(start.spec, strategy="exploit", prior="virtual_lab", random_state=seed * 100 + args.rounds)
    plan = plan_experiments(inputs, cqas, schema, spec)

    def share(rows: pd.DataFrame) -> float:
        truth = true_outcomes(rows[schema.input_names], args.jobs, start.params)
        return true_hv(truth, spec.constraints) / start.hv_true

    return share(recommend(plan, args.recommend)), share(inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a folder of `bench_loop.py --save`")
    parser.add_argument("--rounds", type=int, default=4, help="the loop's rounds (its last call's seed)")
    parser.add_argument("--recommend", type=int, default=8)
    parser.add_argument("--constraint", action="append", default=[])
    parser.add_argument("--structure-spread", type=float, default=0.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--true-pop", type=int, default=24)
    parser.add_argument("--true-gen", type=int, default=12)
    parser.add_argument("--cache", default=str(ROOT / "bench" / "loop_true_fronts.json"))
    args = parser.parse_args()
    files = [(m, p) for p in sorted(Path(args.data).glob("*.csv")) if (m := SAVED.fullmatch(p.name))]
    if not files:
        raise SystemExit(f"no saved loops in {args.data}")
    ids = sorted({int(m["id"]) for m, _ in files if m["id"]})
    args.solubility = False
    spec = PlanSpec(constraints=tuple(Constraint.parse(c) for c in args.constraint), n_jobs=args.jobs)
    begins: dict[str, Start] = {}
    sample = any(m["start"] == "sample" for m, _ in files)
    for campaigns in ([ids] if ids else []) + ([[]] if sample else []):  # `starts` gives the sample without ids
        args.campaigns = campaigns
        begins.update({s.name.replace(" ", "_"): s for s in starts(args, spec)})
    shares: dict[str, list[tuple[float, float]]] = {}
    for m, path in files:
        product, made = replayed(path, begins[m["start"]], int(m["seed"]), args)
        shares.setdefault(m["strategy"], []).append((product, made))
        print(f"{m['strategy']} {m['start']} seed {m['seed']}: product {product:.2f}, runs made {made:.2f}", flush=True)
    for strategy, values in shares.items():
        product, made = np.median(values, axis=0)
        print(f"{strategy}: median over {len(values)} loops, product {product:.2f}, runs made {made:.2f}")


if __name__ == "__main__":
    main()
