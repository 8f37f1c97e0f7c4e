"""`python -m core augment RUN_DIR --cqa D50`: synthetic-data augmentation of a fitted run."""

from __future__ import annotations

import argparse
import sys

from core.augment.persistence import load_augment, save_augment
from core.augment.result import AugmentResult, augment_fit
from core.augment.sources import SOURCES
from core.augment.study import DEFAULT_ALPHAS, DEFAULT_LAB_M, DEFAULT_M, SELECTION_RULES, AugmentSettings
from core.exit_codes import EXIT_FAILED, EXIT_OK
from core.models.persistence import RunFormatError, load_run


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("augment", help="choose generator, m and α for synthetic-data augmentation of a run")
    p.add_argument("run", help="run directory written by `fit` (augment.json and synthetic rows are added)")
    p.add_argument("--cqa", nargs="+", help="CQAs to augment (default: every fitted CQA)")
    p.add_argument("--generators", nargs="+", choices=list(SOURCES), default=list(SOURCES), help="surrogate sources")
    p.add_argument("--m", nargs="+", type=int, default=list(DEFAULT_M), help="synthetic row counts to try")
    p.add_argument(
        "--lab-m", nargs="+", type=int, default=list(DEFAULT_LAB_M), help="simulated run counts for the virtual lab"
    )
    p.add_argument("--alphas", nargs="+", type=float, default=list(DEFAULT_ALPHAS), help="α values to try (0 is added)")
    p.add_argument("--folds", type=int, default=5, help="K of the repeated K-fold cross-validation (default: 5)")
    p.add_argument("--repeats", type=int, default=3, help="repeats of the K-fold split (default: 3)")
    p.add_argument(
        "--screen-repeats",
        type=int,
        default=1,
        help="repeats the grid of candidates is scored on; the choice is decided on all of them (default: 1)",
    )
    p.add_argument(
        "--tune",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="search each SDV generator's settings by quality score (default: off; the defaults already hold the "
        "epoch counts beyond which the quality score stops improving)",
    )
    p.add_argument(
        "--selection",
        choices=SELECTION_RULES,
        default=AugmentSettings.selection,
        help="one_se: augment only when the best CV gain over the real-only model exceeds its fold-to-fold "
        "standard error, then the smallest α within one standard error of the best; law: the same decision, "
        "α from the scaling law (Eq. 4); lowest: the lowest CV MSE "
        f"(default: {AugmentSettings.selection})",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--n-jobs", type=int, default=None, help="parallel model fits (default: 1)")
    p.set_defaults(func=run_augment)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def run_augment(args: argparse.Namespace) -> int:
    try:
        settings = AugmentSettings(
            generators=tuple(args.generators),
            m_values=tuple(args.m),
            lab_m_values=tuple(args.lab_m),
            alphas=tuple(args.alphas),
            folds=args.folds,
            repeats=args.repeats,
            screen_repeats=args.screen_repeats,
            tune=args.tune,
            selection=args.selection,
            random_state=args.seed,
        )
        fit = load_run(args.run)
        previous = load_augment(args.run, fit)
        result = augment_fit(fit, args.cqa, settings, n_jobs=args.n_jobs, progress=lambda f, m: _err(f"[{f:4.0%}] {m}"))
    except (ValueError, RunFormatError) as exc:
        _err(f"cannot augment: {exc}")
        return EXIT_FAILED
    if previous is not None:  # keep CQAs augmented earlier that were not redone now
        kept = [c for c in previous.cqas if c not in result.cqas]
        result = AugmentResult(
            result.settings,
            {**{c: previous.cqas[c] for c in kept}, **result.cqas},
            {**{c: previous.synthetic[c] for c in kept if c in previous.synthetic}, **result.synthetic},
            {**{c: previous.ensembles[c] for c in kept if c in previous.ensembles}, **result.ensembles},
        )
    save_augment(result, args.run)
    print(
        f"{'CQA':<14} {'generator':<16} {'m':>3} {'α':>5} {'α theory':>8} {'CV MSE real':>12} {'CV MSE aug':>12} "
        f"{'test MSE':>18} {'test MAE':>18}"
    )
    for cqa, a in result.cqas.items():
        theory = "-" if a.alpha_theory is None else f"{a.alpha_theory:.2f}"
        mse = "-" if a.test_mse_before is None else f"{a.test_mse_before:.4g}→{a.test_mse_after:.4g}"
        mae = "-" if a.test_mae_before is None else f"{a.test_mae_before:.4g}→{a.test_mae_after:.4g}"
        print(
            f"{cqa:<14} {a.generator or 'none':<16} {a.m:>3} {a.alpha:>5.2f} {theory:>8} "
            f"{a.cv_mse_real_only:>12.4g} {a.cv_mse_augmented:>12.4g} {mse:>18} {mae:>18}"
        )
    for cqa, a in result.cqas.items():
        noise = "" if a.gain_se is None else f" (noise of the best CV gain: ±{a.gain_se:.3g})"
        print(f"{cqa}: {a.rule.get('verdict', '')}{noise}")
    print(f"augmentation written to {args.run}")
    return EXIT_OK
