"""What to make now: the recommended Pareto set of a plan, with the runs already measured among the candidates.

The predicted front is where the GP means are best; far from the data the
mean is a guess and its σ says so. A recommendation is judged by what the
designs give when made, so the candidates are the predicted front of every
profile type together with the measured runs (at what they gave, with the
GPs' σ: near the cliff where the best designs lie the GPs' posterior mean can
fall far below a run's result), and they are ranked greedily by the
hypervolume of a lower confidence bound of every objective: mean − κσ for a
maximised CQA, mean + κσ for a minimised one (constraints on the mean). A
posterior-quantile recommendation is the usual choice for noisy Bayesian
optimisation (Picheny, Wagner & Ginsbourger, Struct. Multidiscip. Optim.
48, 2013); κ = 1 is the one-σ bound, κ = 0 ranks by the mean alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.doe.schema import Schema
from core.optimize.spec import BATCH_TIME
from core.plan.propose import Plan, merged_front, recommended_set
from core.profiles import ThermocycleProfile

DEFAULT_KAPPA = 1.0


def cautious(table: pd.DataFrame, plan: Plan, kappa: float) -> pd.DataFrame:
    """`table` with every objective's mean moved κσ towards its worse side."""
    out = table.copy()
    for o in plan.spec.objectives:
        step = kappa * table[f"{o.quantity}_std"].to_numpy(float)
        out[f"{o.quantity}_mean"] = table[f"{o.quantity}_mean"] - (step if o.sense == "max" else -step)
    return out


def recommend(plan: Plan, size: int, kappa: float = DEFAULT_KAPPA, measured: bool = True) -> pd.DataFrame:
    """Up to `size` designs by cautious hypervolume gain; column `source` says "predicted" or "measured"."""
    if kappa < 0:
        raise ValueError("the caution factor kappa must be zero or positive")
    parts = [plan.front.assign(source="predicted")]
    if measured and len(plan.measured):
        parts.append(plan.measured.assign(source="measured"))
    candidates = pd.concat(parts, ignore_index=True)
    pool = merged_front(cautious(candidates, plan, kappa), plan.spec)
    if pool.empty:
        return pool
    ranked = recommended_set(pool, plan.spec, np.asarray(plan.reference_point), size)
    means = candidates.loc[ranked.index]  # report the means, not the bounds
    means["cautious_hypervolume_rank"] = np.arange(1, len(ranked) + 1)
    return means


def basket_points(recommended: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Recommended designs as the Design screen's basket holds its points: with their batch time, so that they are
    exported as recipes and validated like any design."""
    profiles = [
        ThermocycleProfile.from_features(row, schema.max_cycles)
        for row in recommended[schema.profile_names].to_dict("records")
    ]
    return recommended.assign(**{BATCH_TIME: [p.batch_time_min for p in profiles]}).reset_index(drop=True)
