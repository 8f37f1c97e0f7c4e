"""Synthetic-data augmentation benchmark: where the study's time goes, and whether its choice helps.

Prints, from one run on this machine:
1. timing: the full default study for D50 on the shipped sample data (every
   source × its 5 m values × 21 α on the first repeat of 5 × 3 repeated K-fold and
   the left-out types, the choice decided on all of them) with its time split
   into generator tuning (none at the defaults), SDV generator fits per fold
   with their quality scores, virtual-lab simulations and weighted model fits
   (target: ≤ 60 s on 2 cores), wall and CPU seconds; the first study in a
   session also pays for the workers importing torch and SDV (and loky
   restarting a worker whose memory grew by as much); `--warm` times the
   study after a small one, as a second study in the same session;
   with `--epochs`, SDV's quality score of CTGAN/TVAE samples by epoch count
   (why 25 epochs are enough);
2. evaluation: the study on fresh virtual-lab campaigns of "other compounds"
   (perturbed kinetics and solubility; the virtual-lab source keeps the
   default parameters, so it never is the truth it is judged on): a 31-run DoE
   with the Table 1 mix, tested on its 4 multi-cycle hold-out runs plus fresh
   noise-free runs of every profile type. Per choice (the study's own under
   its rule; the `law` rule; the one-SE rule on the same study's K-fold
   evidence alone, without the left-out profile types and unconfirmed by the
   full model; each source under the study's rule; each source at its lowest
   CV MSE and at its lowest CV MSE among the candidates that beat α = 0 on
   the K-fold and that the left-out types allow; the scaling law's α at the
   best candidate's source and m), the median / worst / best relative change
   of test MSE against the real-only model (same family and parameters,
   fitted on the real rows), on all test runs and on the cycled ones, how
   often augmentation was used, and how far the scaling law's α lies from
   the α the CV picked. The timing
   part runs on the shipped sample, which the virtual lab made with its
   default parameters: there the virtual-lab source is the truth, so its
   choice on the sample is no evidence (the evaluation is).

Run from the repository root:
`python bench/bench_augment.py [--campaigns 20] [--first-seed 2000] [--test-per-type 20] [--families rf gbt svr xgb gp]
[--generators ...] [--m 5 10 15 20 25] [--lab-m 25 50 100 150 200] [--alpha-step 0.05] [--folds 5] [--repeats 3]
[--screen-repeats 1] [--stand-in 20] [--kfold-only] [--n-jobs 2] [--skip-timing] [--epochs] [--warm]`.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from joblib.externals.loky import get_reusable_executor

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.campaigns import campaign, compound, test_runs  # noqa: E402
from core.augment.generators import SyntheticGenerator  # noqa: E402
from core.augment.quality import quality_score  # noqa: E402
from core.augment.result import final_synthetic_rows  # noqa: E402
from core.augment.sources import SOURCES  # noqa: E402
from core.augment.stand_in import STAND_IN_ESTIMATORS  # noqa: E402
from core.augment.study import (  # noqa: E402
    DEFAULT_LAB_M,
    DEFAULT_M,
    AugmentSettings,
    TypeEvidence,
    run_study,
    select_configuration,
)
from core.augment.weights import fit_weighted  # noqa: E402
from core.doe import load_doe  # noqa: E402
from core.models import fit_cqa_models  # noqa: E402
from core.models.zoo import DEFAULT_FAMILIES  # noqa: E402
from core.virtual_lab.transfer import SimulationCache  # noqa: E402

CQA = "D50"
PHASES = {0.1: "tuning", 0.4: "generators", 0.5: "simulations", 0.9: "models", 1.0: "full model"}  # progress marks


def cpu_seconds() -> dict[int, float]:
    """CPU seconds used so far by this process and each live child (joblib's workers), by process id.

    On a shared machine wall time says more about the neighbours than about the study; the CPU
    seconds over 2 cores give the wall time an idle 2-core machine would need."""
    out = {}
    for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
    return out


def reaped_seconds() -> float:
    """CPU seconds of children that have ended (joblib retires idle workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def cpu_since(before: dict[int, float], reaped: float) -> float:
    live = sum(t - before.get(pid, 0.0) for pid, t in cpu_seconds().items())
    return live + reaped_seconds() - reaped


def settings_from(args: argparse.Namespace, seed: int) -> AugmentSettings:
    n = round(1 / args.alpha_step)
    return AugmentSettings(
        generators=tuple(args.generators),
        m_values=tuple(args.m),
        lab_m_values=tuple(args.lab_m),
        alphas=tuple(round(k / n, 4) for k in range(n + 1)),
        folds=args.folds,
        repeats=args.repeats,
        screen_repeats=args.screen_repeats,
        tune=args.tune,
        random_state=seed,
        stand_in_estimators=None if args.stand_in == 0 else args.stand_in,
        types=not args.kfold_only,
    )


def timing(args: argparse.Namespace) -> None:
    cqa = args.timing_cqa
    data, holdout = (load_doe(ROOT / "sample_data" / f"{n}.csv").data for n in ("doe", "holdout"))
    fit = fit_cqa_models(data, [cqa], holdout=holdout, families=args.families, random_state=0, n_jobs=args.n_jobs)
    f = fit.fits[cqa]
    settings = settings_from(args, 0)
    # The study runs on a pool of its own (torch_workers); the fit's workers end when it starts. They end
    # here instead, so that their CPU seconds are not counted as the study's.
    get_reusable_executor().shutdown(wait=True)
    if args.warm:  # a second study in the same session: the workers have imported the generators already
        warm_up = AugmentSettings(m_values=(5,), lab_m_values=(5,), alphas=(0.0, 1.0), repeats=1, random_state=1)
        run_study(f.dataset.X_train, f.dataset.y_train, "svr", {}, warm_up, n_jobs=args.n_jobs)
    start, cpu, reaped = time.perf_counter(), cpu_seconds(), reaped_seconds()
    marks: dict[str, float] = {}

    def mark(fraction: float, message: str) -> None:  # the CPU seconds at the end of each phase of the study
        if round(fraction, 6) in PHASES:
            marks[PHASES[round(fraction, 6)]] = cpu_since(cpu, reaped)

    study = run_study(
        f.dataset.X_train,
        f.dataset.y_train,
        f.chosen,
        f.metrics.models[f.chosen].params,
        settings,
        n_jobs=args.n_jobs,
        progress=mark,
        features=f.ensemble.feature_map_,
    )
    wall = time.perf_counter() - start
    n_fits = sum(len(settings.m_for(g)) for g in study.curves) * (len(settings.alphas) - 1)
    type_fits = sum(np.isfinite(f[1:]).sum() for by_m in study.type_curves.values() for f in by_m.values())
    print(
        f"1. sample data, {cqa} ({len(f.dataset.y_train)} training rows), family {f.chosen}: study over "
        f"{', '.join(study.curves)}; {len(settings.alphas)} α; K = {settings.folds} × {settings.repeats} repeats, "
        f"the grid on {settings.screened_folds // settings.folds} of them; {len(study.type_folds)} left-out profile "
        f"types; {n_fits * settings.screened_folds} weighted fits in the K-fold grid, {type_fits} (of "
        f"{n_fits * len(study.type_folds)}) on the left-out types (the candidates that beat α = 0 on the K-fold)"
    )
    print(
        f"   wall {wall:.1f} s; CPU {cpu_since(cpu, reaped):.1f} s here and in the workers (n_jobs {args.n_jobs}): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in study.seconds.items())
    )
    ends = list(marks.values())
    print(
        "   CPU by phase: "
        + ", ".join(f"{k} {e - b:.1f} s" for k, b, e in zip(marks, [0.0, *ends], ends, strict=False))
        + f"; an idle machine with {args.n_jobs} cores would need about {cpu_since(cpu, reaped) / args.n_jobs:.0f} s"
    )
    print("   quality scores: " + ", ".join(f"{g} {q:.3f}" for g, q in study.quality_scores.items()))
    if "stand_in" in study.rule:
        print(
            f"   grid scored by the stand-in {study.rule['stand_in']}; full model {f.metrics.models[f.chosen].params}"
        )
    print(
        f"   {study.rule['verdict']}; best CV gain noise ±{study.gain_se:.3g}; "
        f"α chosen {study.alpha:g}, α from the scaling law "
        + ("n/a" if study.alpha_theory is None else f"{study.alpha_theory:.2f}")
    )
    if args.epochs:
        X, y = f.dataset.X_train, f.dataset.y_train
        real = X.assign(**{cqa: y.to_numpy(float)})
        for kind in ("ctgan", "tvae"):
            scores = []
            for epochs in (10, 25, 50, 100, 200):
                gen = SyntheticGenerator(kind, {"epochs": epochs}, 0).fit(X, y)
                scores.append(f"{epochs}: {quality_score(real, gen.sample(200)):.3f}")
            print(f"   {kind} quality score by epochs: " + ", ".join(scores))


def test_set(seed: int, params, holdout, n_per_type: int, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """(inputs + D50, cycled?) of the campaign's hold-out runs and fresh noise-free runs of every type."""
    fresh = test_runs(n_per_type, seed + 7919, params)
    frame = holdout.frame.dropna(subset=[CQA])
    held = frame[columns].fillna(0.0).assign(**{CQA: frame[CQA].to_numpy(float)})
    cycled_held = (frame["T3"].fillna(0) > 0).to_numpy()
    rows = pd.concat([held, fresh[[*columns, CQA]]], ignore_index=True)
    return rows, np.concatenate([cycled_held, fresh["n_cycles"].to_numpy() > 0])


def campaign_row(seed: int, args: argparse.Namespace, lab: SimulationCache) -> tuple[dict, str, float]:
    """One campaign: the study, then the test-MSE change of each choice against the real-only model."""
    params = compound(seed, perturbed=True)
    data, holdout = campaign(seed, params)
    fit = fit_cqa_models(data, [CQA], families=args.families, random_state=seed, n_jobs=args.n_jobs)
    f = fit.fits[CQA]
    family, fparams = f.chosen, f.metrics.models[f.chosen].params
    X, y = f.dataset.X_train, f.dataset.y_train
    test, cycled = test_set(seed, params, holdout, args.test_per_type, list(X.columns))
    features = f.ensemble.feature_map_
    study = run_study(
        X, y, family, fparams, settings_from(args, seed), n_jobs=args.n_jobs, cache=lab, features=features
    )
    choices = {"study choice": (study.generator, study.m, study.alpha)}
    law = next((s["law"] for s in study.sources.values() if "law" in s), None)
    types = None
    if study.type_folds:
        types = TypeEvidence(study.type_curves, study.type_mse_real_only)
    if law is not None and study.rule["name"] != "law":
        g, m, alpha, _ = select_configuration(
            study.curves,
            study.cv_mse_real_only,
            "law",
            study.fold_curves,
            study.fold_mse_real_only,
            args.folds,
            (law["floor"], law["exponent"]),
            types,
        )
        choices["law rule"] = (g, m, alpha)
    if types is not None and study.rule["name"] == "one_se":  # the same study's K-fold evidence alone, unconfirmed
        g, m, alpha, _ = select_configuration(
            study.curves, study.cv_mse_real_only, "one_se", study.fold_curves, study.fold_mse_real_only, args.folds
        )
        choices["K-fold-only rule"] = (g, m, alpha)
    for g, s in study.sources.items():
        if "skipped" not in s:
            choices[f"{g} (rule)"] = (g if s["alpha"] > 0 else None, s["m"], s["alpha"])
            choices[f"{g} (lowest CV)"] = (g, s["best"]["m"], s["best"]["alpha"])
            if s.get("allowed"):
                choices[f"{g} (best allowed)"] = (g, s["allowed"]["m"], s["allowed"]["alpha"])
    bests = [(g, s["best"]) for g, s in study.sources.items() if s.get("best", {}).get("alpha")]
    gap = None
    if bests and study.alpha_theory is not None:  # the law's α at the study's best (source, m)
        g, best = min(bests, key=lambda p: p[1]["cv_mse"])
        choices["scaling-law α"] = (g, best["m"], study.alpha_theory)
        gap = abs(study.alpha_theory - (study.alpha if study.generator else best["alpha"]))
    Xt, yt = features.transform(test[list(X.columns)].to_numpy(float)), test[CQA].to_numpy(float)
    Xr = features.transform(X.to_numpy(float))

    def squared_errors(g: str | None, m: int, alpha: float) -> np.ndarray:
        Xs, ys = np.empty((0, Xr.shape[1])), np.empty(0)
        if g is not None:
            syn = final_synthetic_rows(f, g, study.generator_params[g], m, seed, cache=lab)
            Xs, ys = features.transform(syn[list(X.columns)].to_numpy(float)), syn[CQA].to_numpy(float)
        model = fit_weighted(family, fparams, Xr, y, Xs, ys, alpha if g is not None else 0.0, seed)
        return (model.predict(Xt) - yt) ** 2

    base = squared_errors(None, 0, 0.0)
    confirmation = study.rule.get("confirmation")
    row = {
        "seed": seed,
        "family": family,
        "alpha gap": gap,
        "stand-in": study.rule.get("stand_in", fparams) != fparams,
        "proposed": confirmation is not None,
        "confirmed": bool(confirmation and confirmation["holds"]),
    }
    for name, (g, m, alpha) in choices.items():
        sq = base if g is None else squared_errors(g, m, alpha)
        row[name] = sq.mean() / base.mean() - 1
        row[f"{name} cycled"] = sq[cycled].mean() / base[cycled].mean() - 1
        row[f"{name} config"] = "none" if g is None else f"m={m} α={alpha:g}"
    return row, study.rule["verdict"], float(base.mean())


def evaluation(args: argparse.Namespace) -> None:
    print(
        f"2. {args.campaigns} campaigns of other compounds (31-run DoE; test: 4 hold-out runs + "
        f"{5 * args.test_per_type} fresh runs, {args.test_per_type} per profile type), {CQA}, "
        f"families {','.join(args.families)}, "
        f"sources {', '.join(args.generators)}, m {args.m}, lab m {args.lab_m}, α step {args.alpha_step}, "
        f"K = {args.folds} × {args.repeats} (the grid on {args.screen_repeats})"
        f"{'' if args.kfold_only else ' + left-out profile types'}, "
        f"generators {'tuned' if args.tune else 'at defaults'}",
        flush=True,
    )
    lab = SimulationCache()
    rows = []
    for k in range(args.campaigns):
        start = time.perf_counter()
        row, verdict, base = campaign_row(args.first_seed + k, args, lab)
        rows.append(row)
        names = [c.removesuffix(" config") for c in row if c.endswith(" config")]
        print(
            f"   seed {row['seed']}: {row['family']}, test MSE {base:.4g} ({verdict}); "
            + "; ".join(f"{n} {row[n]:+.1%}/{row[f'{n} cycled']:+.1%} ({row[f'{n} config']})" for n in names)
            + f"  [{time.perf_counter() - start:.0f} s]",
            flush=True,
        )
    table = pd.DataFrame(rows)
    print("   relative test MSE change against the real-only model (negative = better); all runs | cycled runs:")
    proposed, confirmed = int(table["proposed"].sum()), int(table["confirmed"].sum())
    print(
        f"   a stand-in scored the grid in {int(table['stand-in'].sum())}/{len(table)} campaigns; it proposed "
        f"augmentation in {proposed}, the full model confirmed {confirmed}"
    )
    gaps = table["alpha gap"].dropna()
    if len(gaps):
        print(f"   |α_theory − CV α| (chosen, else best candidate): median {gaps.median():.2f}, max {gaps.max():.2f}")
    names = [c for c in table.columns if c.endswith(" config")]
    for name in (c.removesuffix(" config") for c in names):
        a, c, configs = table[name], table[f"{name} cycled"], table[f"{name} config"].dropna()  # NaN: no candidate
        print(
            f"   {name:<28} median {a.median():+6.1%} worst {a.max():+6.1%} best {a.min():+6.1%} | "
            f"median {c.median():+6.1%} worst {c.max():+6.1%} best {c.min():+6.1%} | "
            f"augmented in {int((configs != 'none').sum())}/{len(configs)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=2000, help="campaign seeds are first-seed, first-seed + 1, …")
    parser.add_argument("--test-per-type", type=int, default=20, help="fresh test runs per profile type")
    parser.add_argument(
        "--families", nargs="+", default=list(DEFAULT_FAMILIES), help="families the fit chooses among (the product's)"
    )
    parser.add_argument("--generators", nargs="+", choices=list(SOURCES), default=list(SOURCES))
    parser.add_argument("--m", nargs="+", type=int, default=list(DEFAULT_M))
    parser.add_argument("--lab-m", nargs="+", type=int, default=list(DEFAULT_LAB_M))
    parser.add_argument("--alpha-step", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--screen-repeats", type=int, default=1, help="repeats the grid is scored on")
    parser.add_argument("--tune", action="store_true", help="tune the SDV generators by quality score")
    parser.add_argument(
        "--stand-in", type=int, default=STAND_IN_ESTIMATORS, help="ensemble size of the grid's stand-in; 0: full model"
    )
    parser.add_argument(
        "--kfold-only", action="store_true", help="score on repeated K-fold alone (no left-out profile types)"
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-cqa", default=CQA, help="the CQA whose study on the sample is timed")
    parser.add_argument("--epochs", action="store_true", help="print CTGAN/TVAE quality by epoch count")
    parser.add_argument(
        "--warm", action="store_true", help="time the study after a small one (workers already started and warmed)"
    )
    args = parser.parse_args()
    if not args.skip_timing:
        timing(args)
    if args.campaigns:
        evaluation(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
