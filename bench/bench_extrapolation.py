"""Do the surrogates hold on profile types the DoE has few runs of? Old behaviour beside new.

For each of several fresh virtual-lab campaigns (31-run DoE with the Table 1
mix, a different seed each; every second one from "another compound", i.e.
perturbed kinetic and solubility parameters) the CQA models are fitted twice
on the same rows:

* old: raw columns, the four paper families, selection and calibration by K-fold CV only, every CQA
  modelled as measured;
* new: feature set chosen by validation, the Gaussian process and the committee
  added, the average of the best families among the candidates, selection by
  the K-fold + leave-one-profile-type-out score with the committee kept unless
  a family beats it on the left-out types (sign test), grouped conformal
  calibration, percentages (DoA, crystallinity) modelled as measured or on the
  logit scale and D50 as measured or on the log scale, whichever validation
  prefers per family (`--new-families rf gbt svr xgb gp` scores the default
  families, without the opt-in committee; `--target-scale identity|limits`
  forces a scale);

and a default `RandomForestRegressor(300)` on the raw columns is the yardstick.
All are scored on fresh noise-free runs of every profile type (linear, 1-4
cycles). Printed: per CQA and type, the median over campaigns of the MSE
relative to the default forest (targets for the cycled types: D50 and DoA
<= 0.8), and per type the ±1σ/±2σ coverage pooled over campaigns (target
±2σ: 90-98 %), of the noise-free truth and of one new measurement of each
test run (the batch's kinetic scatter and the analyses' noise, as the DoE was
measured): the intervals are calibrated to hold a new measurement
(`core.models.uncertainty`), so where the model's own error is far below the
noise they hold the noise-free truth more often than their level says, and
of the noise-free truth by the σ of the mean response (`std_of_mean`: the
GP's and the grey box's σ less their noise; an ensemble's whole); then
the applicability-domain flag per type, and the coverage inside and outside
the domain.

    python bench/bench_extrapolation.py [--campaigns 10] [--per-type 100] [--n-jobs 2] [--solubility]

`--solubility` gives each DoE's schema its compound's solubility curve as a
user would measure it (`campaigns.with_solubility`); both arms then see it, and
the new arm's descriptors include the supersaturation ones.

A quick look: `--campaigns 4 --per-type 20`. Campaigns can run in pieces
(`--first 4 --campaigns 6 --csv b.csv`) and be summarised together
(`--summarize a.csv b.csv`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.campaigns import campaign, compound, test_runs, with_solubility  # noqa: E402
from core.models import compute_backend, fit_cqa_models  # noqa: E402
from core.models.datasets import ModelData  # noqa: E402
from core.models.fitting import CQAFit  # noqa: E402
from core.models.target import TARGET_SCALES  # noqa: E402
from core.models.zoo import SEARCHED_FAMILIES  # noqa: E402
from core.virtual_lab import simulate_rows  # noqa: E402

CQAS = ("D50", "DoA", "crystallinity")
TYPES = {0: "linear", 1: "1 cycle", 2: "2 cycles", 3: "3 cycles", 4: "4 cycles"}
OLD = {"features": "raw", "families": ("rf", "gbt", "svr", "xgb"), "validation": "kfold", "target_scale": "identity"}


def _score(
    campaign_id: int,
    perturbed: bool,
    n_per_type: int,
    n_jobs: int,
    families: tuple[str, ...],
    target_scale: str,
    solubility: bool,
) -> list[dict]:
    params = compound(1000 + campaign_id, perturbed)
    doe, holdout = campaign(campaign_id, params)
    if solubility:
        doe = with_solubility(doe, params, campaign_id)
    test = test_runs(n_per_type, 5000 + campaign_id, params, n_jobs=n_jobs)
    data = ModelData.from_doe(doe)
    inputs = data.input_names
    X_test = test[inputs]
    # what the intervals claim to hold: one new measurement of each test run (batch scatter and analysis noise)
    replicate = simulate_rows(X_test, params=params, noise=True, random_state=campaign_id, n_jobs=n_jobs, bounds=None)
    rows = []
    fits = {}
    for name, kw in (("old", OLD), ("new", {"families": families, "target_scale": target_scale})):
        with compute_backend(None, n_jobs=n_jobs):
            fits[name] = fit_cqa_models(doe, holdout=holdout, random_state=0, n_jobs=n_jobs, **kw)
    score, in_domain = fits["new"].predictor().domain_scores(X_test)
    for cqa in CQAS:
        measured = data.cqas[cqa].notna()
        forest = RandomForestRegressor(300, random_state=0, n_jobs=n_jobs)
        forest.fit(data.inputs[measured].to_numpy(float), data.cqas.loc[measured, cqa].to_numpy(float))
        truth = test[cqa].to_numpy(float)
        measurement = replicate[cqa].to_numpy(float)
        base = forest.predict(X_test.to_numpy(float))
        preds = {}
        for name, fit in fits.items():
            if cqa in fit.fits:
                preds[name] = (*fit.fits[cqa].predict(X_test, return_std=True), fit.fits[cqa].std_of_mean(X_test))
        for n_cycles, type_name in TYPES.items():
            k = (test["n_cycles"] == n_cycles).to_numpy() & np.isfinite(truth)
            if not k.any():
                continue
            row = {
                "campaign": campaign_id,
                "perturbed": perturbed,
                "cqa": cqa,
                "type": type_name,
                "n": int(k.sum()),
                "rf_mse": float(np.mean((truth[k] - base[k]) ** 2)),
                "in_domain": float(np.mean(in_domain[k])),
                "n_inside": int(np.sum(in_domain[k])),
                "domain_score": float(np.median(score[k])),
            }
            for name, (mean, std, std_of_mean) in preds.items():
                err = np.abs(truth[k] - mean[k])
                row[f"{name}_mse"] = float(np.mean(err**2))
                for j in (1, 2):
                    held = err <= j * std[k]
                    row[f"{name}_in{j}"] = int(np.sum(held))
                    row[f"{name}_in{j}_inside"] = int(np.sum(held & in_domain[k]))
                    row[f"{name}_in{j}_measured"] = int(np.sum(np.abs(measurement[k] - mean[k]) <= j * std[k]))
                    row[f"{name}_in{j}_of_mean"] = int(np.sum(err <= j * std_of_mean[k]))
                row[f"{name}_model"] = _label(fits[name].fits[cqa])
            rows.append(row)
    print(
        f"campaign {campaign_id} ({'perturbed' if perturbed else 'default'} lab): fit old {fits['old'].seconds:.0f} s, "
        f"new {fits['new'].seconds:.0f} s; new models "
        + ", ".join(f"{c} {_label(f)}" for c, f in fits["new"].fits.items()),
        flush=True,
    )
    return rows


def _label(fit: CQAFit) -> str:
    """family/feature set/target scale of a CQA's model in use."""
    return f"{fit.chosen}/{fit.metrics.features}/{fit.metrics.target_scale}"


def _shares(counts: list[int], n: int) -> str:
    return " / ".join(f"{c / n:.1%}" for c in counts) if n else "no runs"


def _summary(table: pd.DataFrame) -> None:
    _ratios(table, "")
    _coverage(table, "")
    others = table[table["perturbed"]]
    if 0 < others["campaign"].nunique() < table["campaign"].nunique():
        # the grey-box family simulates the default compound: on its own campaigns the simulator is the truth
        _ratios(others, "; other compounds only")
        _coverage(others, "; other compounds only")
    print("\nCoverage of ±1σ / ±2σ inside and outside the applicability domain (pooled over campaigns, CQAs, types)")
    n_in = table["n_inside"].sum()
    n_out = table["n"].sum() - n_in
    for m in ("old", "new"):
        inside = [table[f"{m}_in{k}_inside"].sum() for k in (1, 2)]
        outside = [table[f"{m}_in{k}"].sum() - table[f"{m}_in{k}_inside"].sum() for k in (1, 2)]
        print(f"{m}: inside ({n_in} runs) {_shares(inside, n_in)}, outside ({n_out} runs) {_shares(outside, n_out)}")
    for suffix, what in (("", "σ of a new run"), ("_of_mean", "σ of the mean response")):
        if f"new_in2{suffix}" not in table:
            continue
        print(f"\nCoverage of the noise-free truth by ±2σ per CQA and type (new, {what})")
        for cqa, part in table.groupby("cqa", sort=False):
            cells = {t: p[f"new_in2{suffix}"].sum() / p["n"].sum() for t, p in part.groupby("type", sort=False)}
            print(f"{cqa:<14} " + " ".join(f"{t} {c:.0%}" for t, c in cells.items()))
    print("\nModels chosen (new): " + ", ".join(f"{k} ×{v}" for k, v in table["new_model"].value_counts().items()))


def _ratios(table: pd.DataFrame, which: str) -> None:
    print(f"\nMSE relative to a default RandomForestRegressor(300) on raw columns (median over campaigns{which})")
    print(f"{'CQA':<14} {'type':<9} {'old':>6} {'new':>6} {'RF MSE':>9}")
    for (cqa, type_name), part in table.groupby(["cqa", "type"], sort=False):
        old = np.median(part["old_mse"] / part["rf_mse"])
        new = np.median(part["new_mse"] / part["rf_mse"])
        print(f"{cqa:<14} {type_name:<9} {old:>6.2f} {new:>6.2f} {np.median(part['rf_mse']):>9.3g}")


def _coverage(table: pd.DataFrame, which: str) -> None:
    for suffix, what in (
        ("", "the noise-free truth"),
        ("_measured", "a new measurement of each test run"),
        ("_of_mean", "the noise-free truth by the σ of the mean response"),
    ):
        if f"new_in1{suffix}" not in table:  # tables written before the replicate measurements
            continue
        print(
            f"\nCoverage of ±1σ / ±2σ intervals per type, of {what} (pooled over campaigns and CQAs{which}); "
            "in-domain share (new)"
        )
        print(f"{'type':<9} {'old ±1σ':>8} {'old ±2σ':>8} {'new ±1σ':>8} {'new ±2σ':>8} {'in domain':>9}")
        for type_name, part in table.groupby("type", sort=False):
            n = part["n"].sum()
            cells = [part[f"{m}_in{k}{suffix}"].sum() / n for m in ("old", "new") for k in (1, 2)]
            share = np.average(part["in_domain"], weights=part["n"])
            print(f"{type_name:<9} " + " ".join(f"{c:>8.1%}" for c in cells) + f" {share:>9.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10, help="fresh data sets (default: 10; half perturbed)")
    parser.add_argument("--per-type", type=int, default=100, help="noise-free test runs per profile type")
    parser.add_argument("--n-jobs", type=int, default=2, help="local worker processes (default: 2)")
    parser.add_argument("--first", type=int, default=0, help="seed of the first campaign (odd seeds: perturbed)")
    parser.add_argument("--csv", help="also write the per-campaign table here")
    parser.add_argument(
        "--new-families",
        nargs="+",
        choices=list(SEARCHED_FAMILIES),
        default=list(SEARCHED_FAMILIES),
        help="families of the new arm (default: every family, the opt-in committee included)",
    )
    parser.add_argument(
        "--target-scale",
        choices=TARGET_SCALES,
        default="auto",
        help="target scale of the new arm (default: auto, chosen by validation)",
    )
    parser.add_argument("--summarize", nargs="+", metavar="CSV", help="only summarise tables written by --csv")
    parser.add_argument("--solubility", action="store_true", help="give each schema its compound's solubility curve")
    args = parser.parse_args()
    if args.summarize:
        _summary(pd.concat([pd.read_csv(f) for f in args.summarize], ignore_index=True))
        return
    rows = []
    for i in range(args.first, args.first + args.campaigns):
        families = tuple(args.new_families)
        rows += _score(i, i % 2 == 1, args.per_type, args.n_jobs, families, args.target_scale, args.solubility)
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    _summary(table)


if __name__ == "__main__":
    main()
