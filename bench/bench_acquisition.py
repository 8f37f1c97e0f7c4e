"""How long does the planner's acquisition take per call, with the shared-rows posterior and without it?

The planner (`core.plan.propose`) scores candidates with qLogNEHVI, each
jointly with the baseline runs and the runs already in the batch. Its
posterior is computed once over the distinct rows (`core.plan.shared_rows`);
BoTorch's own path computes it candidate by candidate. Both acquisitions are
built on the same GPs (virtual lab as prior, as the product plans) and timed
side by side on the two call sizes the batch search makes: the screen (every
profile type's Sobol points) and a round of the local search, with no
pending run and with three. Printed: seconds per call (median of the
repeats), the ratio, and the largest difference of the log-acquisition.

    nice -n 10 python bench/bench_acquisition.py [--campaign ID] [--data CSV --runs N] [--repeats 5] [--jobs 2]

`--data` takes a loop's saved data (`bench_loop.py --save DIR`) in place of
the start DoE, its first `--runs` rows: the calls late in a loop, with more
runs in the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_loop import saved_loop  # noqa: E402
from bench.campaigns import campaign, compound  # noqa: E402
from core.doe import load_doe  # noqa: E402
from core.models.datasets import ModelData  # noqa: E402
from core.optimize.spec import Constraint, data_temperature_ranges  # noqa: E402
from core.plan.gp import PlanningModels  # noqa: E402
from core.plan.lab_prior import prior_rows  # noqa: E402
from core.plan.propose import PlanSpec, acquisition_values, build_acquisition, reference_point  # noqa: E402
from core.plan.space import ProfileSpace, spaces_for  # noqa: E402
from core.torch_threads import one_torch_thread  # noqa: E402

SAMPLE = ROOT / "sample_data" / "doe.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaign", type=int, help="a fresh campaign (bench/campaigns.py) instead of the sample")
    parser.add_argument("--data", help="a loop's saved runs (CSV) in place of the start DoE")
    parser.add_argument("--runs", type=int, help="the first RUNS rows of --data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    data = load_doe(SAMPLE).data
    if args.campaign is not None:
        data = campaign(args.campaign, compound(1000 + args.campaign, args.campaign % 2 == 1))[0]
    md = ModelData.from_doe(data)
    inputs, cqas = md.inputs.reset_index(drop=True), md.cqas.reset_index(drop=True)
    if args.data:
        inputs, cqas = saved_loop(args.data, inputs.columns, args.runs)
    start_T, end_T = data_temperature_ranges(data.profiles())
    spec = PlanSpec(constraints=(Constraint("crystallinity", ">=", 80.0),), start_T=start_T, end_T=end_T)
    schema = data.schema.covering(inputs)
    spaces = spaces_for(schema, spec.n_temperatures, start_T, end_T)
    outcomes = list(cqas.columns)
    t = time.perf_counter()
    prior = prior_rows(
        inputs[schema.input_names], cqas, outcomes, spaces, spec.objectives, spec.constraints, n_jobs=args.jobs
    )
    models = PlanningModels(schema, outcomes).fit(inputs, cqas, 0, prior, args.jobs)
    print(f"{len(inputs)} runs, {len(prior.inputs)} simulated; prior and GPs in {time.perf_counter() - t:.1f} s")
    with one_torch_thread():
        compare(models, spaces, spec, reference_point(cqas, spec.objectives), args.repeats)


def compare(
    models: PlanningModels, spaces: list[ProfileSpace], spec: PlanSpec, reference: np.ndarray, repeats: int
) -> None:
    """Seconds per call and the largest difference, both acquisitions on the same candidates."""
    acquisitions = []
    for _ in range(2):
        torch.manual_seed(0)  # the baseline's pruning draws from torch's generator: the same pruned baseline
        acquisitions.append(build_acquisition(models, spec, reference, 0))
    shared, plain = acquisitions
    plain.model = models.model_  # BoTorch's own posterior, batch by batch
    g = torch.Generator().manual_seed(0)
    screen = torch.cat([s.decode_tensor(torch.rand(spec.raw_samples, s.dim, generator=g).double()) for s in spaces])
    batch = torch.cat([s.decode_tensor(torch.rand(1, s.dim, generator=g).double()) for s in spaces[:3]])
    sizes = {"screen": len(screen), "local-search round": spec.num_restarts * 16}
    header = ("call", "rows", "pending", "BoTorch (s)", "shared (s)", "ratio", "max |diff|")
    print(f"{header[0]:<20} " + " ".join(f"{h:>{w}}" for h, w in zip(header[1:], (5, 8, 12, 11, 6, 11), strict=True)))
    for pending in (0, 3):
        for acq in (shared, plain):
            acq.set_X_pending(models.transform(batch[:pending]) if pending else None)
        for name, rows in sizes.items():
            X = screen[:rows]
            seconds, values = {}, {}
            for label, acq in (("plain", plain), ("shared", shared)):
                times = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    values[label] = acquisition_values(acq, models, X)
                    times.append(time.perf_counter() - t)
                seconds[label] = statistics.median(times)
            diff = abs(values["plain"] - values["shared"]).max()
            ratio = seconds["plain"] / seconds["shared"]
            print(
                f"{name:<20} {rows:>5} {pending:>8} {seconds['plain']:>12.3f} {seconds['shared']:>11.3f} "
                f"{ratio:>6.1f} {diff:>11.1e}"
            )


if __name__ == "__main__":
    main()
