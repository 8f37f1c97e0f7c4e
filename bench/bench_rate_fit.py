"""How much does the rate fit's budget buy? The planner's budget against a larger one, side by side.

The planner fits the virtual lab's rate constants to the data on every call
(`core.virtual_lab.rate_fit`), and on a loop's later calls the fit is the
call's largest stage: the planned runs lie near the cliff and are slow to
simulate. The fit is deterministic and stops at a budget of factor sets, so a
larger budget only continues the same least squares. Each data set is fitted
with the product's budget and with `--against` evaluations, on the planner's
size grid and processes; printed per data set: the misfit of the default
constants and of each fit, the product's excess over the larger budget's (%),
the largest difference of the log-factors, simulations and seconds of each,
and the ratio of the seconds; then the medians and the worst.

    nice -n 10 python bench/bench_rate_fit.py [--campaigns 11 13 ...] [--data CSV ... --runs N] [--against 60]

Data sets: the shipped sample, fresh 31-run campaigns (`bench/campaigns.py`;
odd ids are other compounds) and, with `--data`, the first `--runs` rows of
a loop's saved data (`bench_loop.py --save DIR`), where the planned runs are.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_loop import saved_loop  # noqa: E402
from bench.campaigns import campaign, compound  # noqa: E402
from core.doe import load_doe  # noqa: E402
from core.models.datasets import ModelData  # noqa: E402
from core.plan.lab_prior import PRIOR_NUMERICS  # noqa: E402
from core.virtual_lab.rate_fit import MAX_EVALUATIONS, SCREEN, RateFit, fit_rate_constants  # noqa: E402

SAMPLE = ROOT / "sample_data" / "doe.csv"
CAMPAIGNS = (11, 13, 15, 17, 19, 21, 27, 29, 31, 33)  # the loop's other compounds (bench_loop.py)
Runs = tuple[pd.DataFrame, pd.DataFrame]  # raw DoE inputs, measured CQAs


def data_sets(campaigns: list[int], files: list[str], runs: int | None) -> Iterator[tuple[str, Runs]]:
    sample = ModelData.from_doe(load_doe(SAMPLE).data)
    yield "sample", (sample.inputs, sample.cqas)
    for i in campaigns:
        data = ModelData.from_doe(campaign(i, compound(1000 + i, i % 2 == 1))[0])
        yield f"campaign {i}", (data.inputs, data.cqas)
    for path in files:
        inputs, cqas = saved_loop(path, sample.input_names, runs)
        yield f"{Path(path).stem} ({len(inputs)} runs)", (inputs, cqas)


def timed_fit(runs: Runs, budget: int, jobs: int) -> tuple[RateFit, float]:
    t = time.perf_counter()
    fit = fit_rate_constants(*runs, None, jobs, PRIOR_NUMERICS, budget)
    return fit, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, nargs="*", default=list(CAMPAIGNS))
    parser.add_argument("--data", nargs="*", default=[], help="loops' saved data (CSV, bench_loop.py --save)")
    parser.add_argument("--runs", type=int, help="the first RUNS rows of each --data file")
    parser.add_argument("--against", type=int, default=60, help="the larger budget (factor sets evaluated)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    budgets = (MAX_EVALUATIONS, args.against)
    print(f"budgets: {budgets[0]} (the planner's) against {budgets[1]} factor sets; misfit incl. the prior")
    columns = ("default", 8), ("misfit", 15), ("excess", 7), ("max dlog", 8), ("sims", 7), ("seconds", 11)
    print(f"{'data':34s} " + " ".join(f"{c:>{w}s}" for c, w in columns) + "  ratio")
    excess, ratios = [], []
    sets = list(data_sets(args.campaigns, args.data, args.runs))
    timed_fit(sets[0][1], SCREEN + 1, args.jobs)  # the screen alone, untimed: starts the processes
    for name, runs in sets:
        (small, t_small), (large, t_large) = (timed_fit(runs, b, args.jobs) for b in budgets)
        excess.append(100 * (small.misfit / large.misfit - 1))
        ratios.append(t_small / t_large)
        dlog = max(abs(small.log_factors[k] - large.log_factors[k]) for k in small.log_factors)
        print(
            f"{name:34s} {large.misfit_default:8.2f} {small.misfit:7.2f} {large.misfit:7.2f} {excess[-1]:6.2f}%"
            f" {dlog:8.2f} {small.simulations:3d} {large.simulations:3d} {t_small:5.1f} {t_large:5.1f}"
            f"  {ratios[-1]:.2f}",
            flush=True,
        )
    print(
        f"excess of the planner's budget: median {statistics.median(excess):.2f} %, worst {max(excess):.2f} %; "
        f"seconds, planner's / larger budget: median {statistics.median(ratios):.2f}"
        f" ({min(ratios):.2f}–{max(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
