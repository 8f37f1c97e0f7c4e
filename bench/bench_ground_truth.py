"""How good are the data-driven designs in truth? Hypervolume against NSGA-II run on the simulator itself.

For each profile type: the surrogate's Pareto designs (models fitted on the
sample DoE; NSGA-II with 100 × 100 generations, or the product's 32 × 25 when a
model simulates every design it predicts) are simulated by the virtual lab, and the hypervolume of their
true (D50, DoA) values is divided by the hypervolume of a front found by
running NSGA-II directly on the simulator (expensive; kept small). Both use
the same decision space, including the start/final temperature ranges of the
experiments. Reference point: D50 = 0 µm, DoA = 100 %. With several `--risk`
values the surrogate designs are found once per κ (mean ∓ κσ), to see whether
keeping away from what the models do not know pays off in truth; `--domain`
keeps the designs within the models' applicability domain or not (`--domain-limit`:
the largest domain score a design may have, the product's default unless given; several
limits, `off` among them, give a column each, found with the same models, and each
column's share is then over the best front any column or the simulator found), `--seeding`
ties their start temperature to their initial concentration as the
experiments do, and their heat-ups to no higher above that line than theirs
unless D50's and DoA's models simulate the batch (`data`, the product's rule),
always (`band`), only the start (`start`), or neither (`off`; several modes give a
column each; `core/seeding.py`; the simulator's front is
never tied, unless `--reference data` puts it under the designs' own domain
and seeding constraints: the best the region the data cover offers, so that
the share measures the models there apart from what lies beyond the
experiments; `--reference union` merges the free front with that of a
free search started from the DoE's runs, since a search this small finds a
different front from each start), `--old` fits the models as before (raw columns, K-fold selection only), and
`--families` chooses the families the fit chooses among.

One sample says little about a user's own crystallizer: `--campaigns N`
repeats the measure on N fresh 31-run campaigns made like the sample
(`bench/campaigns.py`; odd seeds from other compounds, perturbed kinetics and
solubility), each judged by its own lab, and prints the share per campaign
and the median and range per profile type.

    python bench/bench_ground_truth.py [--pop 24] [--gen 12] [--jobs 2] [--risk 0 1] [--domain strict|off] [--old]
                                       [--domain-limit 1 2 4 off] [--seeding data band start off]
                                       [--reference free|data|union] [--campaigns N] [--first SEED]
                                       [--families rf gbt svr xgb gp lab]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymoo.indicators.hv import HV

from bench.campaigns import campaign, compound
from core.doe import DoEData, load_doe
from core.models.domain import ApplicabilityDomain
from core.models.fitting import fit_cqa_models
from core.models.zoo import SEARCHED_FAMILIES
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.problem import DOMAIN, PredictFn
from core.optimize.run import optimize_profiles
from core.optimize.spec import DEFAULT_DOMAIN_LIMIT, SIMULATING_BUDGET, DesignSpec, data_temperature_ranges
from core.profiles import profile_type_name
from core.seeding import SeedingBand, band_for_models, seeding_band
from core.virtual_lab import ModelParameters
from core.virtual_lab.simulator import simulate_rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.csv"
N_TEMPERATURES = (2, 4, 6, 8, 10)  # linear, 1-4 cycles
REFERENCE = np.array([0.0, 100.0])  # in (-D50, DoA) minimisation form: D50 = 0 µm, DoA = 100 %


def hypervolume(d50: np.ndarray, doa: np.ndarray) -> float:
    points = np.column_stack([-d50, doa])
    points = points[np.isfinite(points).all(axis=1) & (points < REFERENCE).all(axis=1)]
    return float(HV(ref_point=REFERENCE)(points)) if len(points) else 0.0


def simulator_predict(
    jobs: int, params: ModelParameters | None = None, domain: ApplicabilityDomain | None = None
) -> PredictFn:
    """The simulator as a noise-free predictor; with `domain` (the models'), also its distance-to-data score."""

    def predict(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        sim = simulate_rows(features, params=params, n_jobs=jobs, bounds=None)
        zeros = np.zeros(len(features))
        out = {c: (sim[c].to_numpy(float), zeros) for c in ("D50", "DoA", "crystallinity")}
        if domain is not None:
            score = domain.score(features)
            out[DOMAIN] = (score, score - domain.threshold)
        return out

    return predict


def limit_value(text: str) -> float:
    """A `--domain-limit` value: a positive domain score, or `off` (no limit)."""
    value = np.inf if text == "off" else float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("a domain limit is a positive score or off")
    return value


def settings(args: argparse.Namespace) -> list[tuple[float, float, str]]:
    """(κ, domain limit, seeding) of each column of designs; an infinite limit is the domain constraint off."""
    limits = [np.inf] if args.domain == "off" else args.domain_limit
    return [(kappa, limit, seeding) for kappa in args.risk for limit in limits for seeding in args.seeding]


def seeding_bands(data: DoEData, simulated: bool) -> dict[str, SeedingBand | None]:
    """The designs' seeding constraint per `--seeding` mode; `simulated`: D50's and DoA's models simulate."""
    band = seeding_band(data.inputs)
    return {"data": band_for_models(band, simulated), "band": band, "start": band_for_models(band, True), "off": None}


def domain_setting(limit: float) -> dict[str, object]:
    """The DesignSpec fields of a limit: an infinite one turns the constraint off."""
    return {"domain": "off", "domain_limit": 1.0} if limit == np.inf else {"domain": "strict", "domain_limit": limit}


def setting_label(kappa: float, limit: float, seeding: str) -> str:
    return f"κ={kappa:g} " + ("off" if limit == np.inf else f"L={limit:g}") + f" {seeding}"


def design_hypervolumes(
    data: DoEData, params: ModelParameters | None, args: argparse.Namespace
) -> tuple[str, dict[int, list[float]], dict[int, float]]:
    """(models line, per profile type: the true HV of the designs of each setting and of the simulator's front)."""
    old = {"features": "raw", "families": ("rf", "gbt", "svr", "xgb"), "validation": "kfold"} if args.old else {}
    fit = fit_cqa_models(data, search="fast", random_state=0, **{"families": args.families, **old})
    start_T, end_T = data_temperature_ranges(data.profiles())
    models = (
        f"models: {', '.join(f'{c} {f.chosen}/{f.metrics.features}' for c, f in fit.fits.items())}; "
        f"domain {args.domain}; "
        f"start T {start_T[0]:g}-{start_T[1]:g} °C, final T {end_T[0]:g}-{end_T[1]:g} °C"
    )
    predictor = fit.predictor()
    surrogate = predict_fn(predictor, cqa_limits(data.schema))
    bands = seeding_bands(data, predictor.simulates_all(DesignSpec().quantities))  # the designs' objectives
    within = args.reference == "data"  # the simulator's front under the designs' own domain and seeding constraints
    columns = settings(args)
    only = domain_setting(columns[0][1])  # with --reference data there is one column (main checks)
    truth = simulator_predict(args.jobs, params, predictor.domain if within and only["domain"] == "strict" else None)
    by_design: dict[int, list[float]] = {}
    by_simulator: dict[int, float] = {}
    # a model that simulates every design searches with the product's smaller budget (`default_budget`)
    pop, gen = SIMULATING_BUDGET if predictor.simulates else (100, 100)
    for n_temps in N_TEMPERATURES:
        by_design[n_temps] = []
        for kappa, limit, seeding in columns:
            spec = DesignSpec(
                n_temperatures=(n_temps,),
                start_T=start_T,
                end_T=end_T,
                pop_size=pop,
                n_gen=gen,
                risk_kappa=kappa,
                seeding=bands[seeding],
                **domain_setting(limit),
            )
            designs = optimize_profiles(surrogate, data.schema, spec, experiments=data.inputs).points
            designs = designs[designs["feasible"]]
            true = simulate_rows(designs[data.schema.input_names], params=params, n_jobs=args.jobs, bounds=None)
            by_design[n_temps].append(hypervolume(true["D50"].to_numpy(float), true["DoA"].to_numpy(float)))
        small = DesignSpec(n_temperatures=(n_temps,), start_T=start_T, end_T=end_T, pop_size=args.pop, n_gen=args.gen)
        if within:
            small = replace(small, seeding=bands[columns[0][2]], **only)
        starts = {"free": [None], "data": [data.inputs], "union": [None, data.inputs]}[args.reference]
        front = pd.concat([optimize_profiles(truth, data.schema, small, experiments=e).points for e in starts])
        front = front[front["feasible"]]
        by_simulator[n_temps] = hypervolume(front["D50_mean"].to_numpy(float), front["DoA_mean"].to_numpy(float))
    return models, by_design, by_simulator


def ratios(by_design: dict[int, list[float]], by_simulator: dict[int, float]) -> dict[int, list[float]]:
    """Each design HV over the best HV found for its type: a small simulator run can lose to the surrogate."""
    out = {}
    for n_temps, hvs in by_design.items():
        best = max(by_simulator[n_temps], *hvs)
        out[n_temps] = [hv / best if best else float("nan") for hv in hvs]
    return out


def sample_table(args: argparse.Namespace) -> None:
    t = time.perf_counter()
    models, by_design, by_simulator = design_hypervolumes(load_doe(SAMPLE).data, None, args)
    print(models)
    data_columns = "".join(f" {'HV ' + setting_label(*s):>14} {'ratio':>6}" for s in settings(args))
    print(f"{'profile type':<16} {'HV simulator':>13}{data_columns}")
    for n_temps, shares in ratios(by_design, by_simulator).items():
        cells = "".join(f" {hv:>14.1f} {r:>6.2f}" for hv, r in zip(by_design[n_temps], shares, strict=True))
        print(f"{profile_type_name(n_temps):<16} {by_simulator[n_temps]:>13.1f}{cells}")
    print(f"[{time.perf_counter() - t:.0f} s]")


def campaign_table(args: argparse.Namespace) -> None:
    """The same measure on fresh campaigns of the default lab (even seeds) and of other compounds (odd seeds)."""
    shares: dict[int, list[list[float]]] = {n: [] for n in N_TEMPERATURES}
    columns = settings(args)
    header = "".join(f"{profile_type_name(n).replace(' cooling', ''):>{9 * len(columns)}}" for n in N_TEMPERATURES)
    print(f"share of the simulator front's HV per type ({', '.join(setting_label(*c) for c in columns)})")
    print(f"{'campaign':<22}{header}")
    for campaign_id in range(args.first, args.first + args.campaigns):
        t = time.perf_counter()
        perturbed = campaign_id % 2 == 1
        params = compound(1000 + campaign_id, perturbed)
        doe, _ = campaign(campaign_id, params)
        models, by_design, by_simulator = design_hypervolumes(doe, params, args)
        row = ratios(by_design, by_simulator)
        for n, r in row.items():
            shares[n].append(r)
        cells = "".join(f"{x:>9.2f}" for n in N_TEMPERATURES for x in row[n])
        lab = "other compound" if perturbed else "default lab"
        print(f"{campaign_id:<5} {lab:<16}{cells}  [{time.perf_counter() - t:.0f} s; {models}]", flush=True)
    summary = []
    for n in N_TEMPERATURES:
        per_setting = np.array(shares[n]).T
        summary.append(" / ".join(f"{np.median(x):.2f} [{x.min():.2f}-{x.max():.2f}]" for x in per_setting))
    print(
        "median [range] per type: "
        + "; ".join(f"{profile_type_name(n)} {s}" for n, s in zip(N_TEMPERATURES, summary, strict=True))
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pop", type=int, default=24)
    parser.add_argument("--gen", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--risk", type=float, nargs="+", default=[0.0], help="risk settings κ of the surrogate designs")
    parser.add_argument(
        "--domain",
        choices=("strict", "off"),
        default="strict",
        help="keep surrogate designs within the models' applicability domain (default) or not",
    )
    parser.add_argument(
        "--domain-limit",
        type=limit_value,
        nargs="+",
        default=[DEFAULT_DOMAIN_LIMIT],
        help=f"with --domain strict, the largest domain score of a design (default {DEFAULT_DOMAIN_LIMIT:g}, the "
        "product's; 1 is the domain's edge); "
        "several values, off among them, give a column each",
    )
    parser.add_argument(
        "--seeding",
        choices=("data", "band", "start", "off"),
        nargs="+",
        default=["data"],
        help="seed the surrogate designs as the product does (default: as the experiments, heat-ups capped unless "
        "D50's and DoA's models simulate the batch), as the experiments with the heat-up cap always (band), "
        "started so but with the heat-ups free (start), or freely; several give a column each",
    )
    parser.add_argument(
        "--reference",
        choices=("free", "data", "union"),
        default="free",
        help="the simulator's front free (default), under the designs' own domain and seeding constraints, or the "
        "free one merged with a free search started from the DoE's runs",
    )
    parser.add_argument("--old", action="store_true", help="models as before: raw columns, K-fold selection only")
    parser.add_argument(
        "--families", nargs="+", choices=SEARCHED_FAMILIES, help="the fit's families (default: the product's)"
    )
    parser.add_argument(
        "--campaigns", type=int, default=0, help="fresh campaigns instead of the sample (odd seeds: other compounds)"
    )
    parser.add_argument("--first", type=int, default=0, help="seed of the first campaign")
    args = parser.parse_args()
    if args.reference == "data" and len(settings(args)) > 1:
        parser.error(
            "--reference data puts the simulator under one setting's constraints: give one κ, limit and seeding"
        )
    if args.campaigns:
        campaign_table(args)
    else:
        sample_table(args)


if __name__ == "__main__":
    main()
