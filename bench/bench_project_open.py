"""Opening a saved project: re-fitting the saved configuration against repeating the whole fit.

Fits the shipped sample data as the Models screen does (fast search, MCCV ensembles, seed 0), saves a project
with the chosen configuration of every CQA, then times, interleaved so both see the same machine load:

* open: `open_project` + `saved_models` (each CQA's chosen family and hyper-parameters re-fitted, no search);
* full fit: `fit_with_settings` with the saved settings (what opening a project did before).

Prints the median seconds of each, their ratio, and the largest prediction difference between the reopened
models and the ones that were saved (0 expected).

Run from the repository root: `python bench/bench_project_open.py [--repeats 3] [--members 25]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.doe import load_doe  # noqa: E402
from core.models.fitting import fit_cqa_models, fit_with_settings  # noqa: E402
from core.project import Project, model_files, open_project, save_project, saved_models  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, default=25, help="ensemble members per CQA")
    args = parser.parse_args()
    data = load_doe(ROOT / "sample_data" / "doe.xlsx").data
    fit = fit_cqa_models(data, n_members=args.members, random_state=0)
    content = save_project(Project(data, "bench", files=model_files(fit)))
    print(f"sample data: {len(data)} runs; chosen: " + ", ".join(f"{c} {f.chosen}" for c, f in fit.fits.items()))
    opened_times, full_times = [], []
    reopened = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        reopened = saved_models(open_project(content))
        opened_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        fit_with_settings(data, fit.settings, list(fit.fits))
        full_times.append(time.perf_counter() - start)
    X = data.inputs
    before, after = fit.predictor().predict(X, return_std=True), reopened.predictor().predict(X, return_std=True)
    diff = max(float(np.max(np.abs(before[0] - after[0]))), float(np.max(np.abs(before[1] - after[1]))))
    opened, full = statistics.median(opened_times), statistics.median(full_times)
    print(f"{'':24}{'median s':>10}")
    print(f"{'open (saved config)':24}{opened:10.2f}")
    print(f"{'full fit (search)':24}{full:10.2f}")
    print(
        f"ratio full / open: {full / opened:.1f}x over {args.repeats} repeats; largest prediction difference {diff:g}"
    )


if __name__ == "__main__":
    main()
