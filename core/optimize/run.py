"""NSGA-II on every profile type at once: one prediction call per generation for all populations."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from core.doe.schema import Schema
from core.optimize.nsga2 import ArrayNSGA2
from core.optimize.problem import DOMAIN, PredictFn, ProfileProblem
from core.optimize.response_range import BEYOND_MEASURED, beyond_measured, measured_ranges
from core.optimize.spec import BATCH_TIME, DesignSpec
from core.profiles import ThermocycleProfile, profile_type_name
from core.progress import Progress


@dataclass
class DesignResult:
    """Pareto points of every profile type, one row each (see `point_columns`)."""

    points: pd.DataFrame
    spec: DesignSpec
    generations: int
    cancelled: bool
    seconds: float

    def front(self, n_temperatures: int) -> pd.DataFrame:
        return self.points[self.points["n_temperatures"] == n_temperatures]

    def merged(self) -> pd.DataFrame:
        """The points that no point of any profile type dominates."""
        return non_dominated(self.points, self.spec)

    def chart_axes(self) -> tuple[str, str]:
        """(x, y) of the Pareto chart: the second objective against the first, or batch time against the only one."""
        objectives = self.spec.objectives
        return (objectives[1].quantity if len(objectives) > 1 else BATCH_TIME), objectives[0].quantity

    @staticmethod
    def table_columns(points: pd.DataFrame) -> list[str]:
        """The columns worth listing of Pareto points: id, type, predictions, batch time and the domain check."""
        predictions = [c for c in points.columns if c.endswith(("_mean", "_std"))]
        return [
            "id",
            "profile_type",
            *predictions,
            *[c for c in (BATCH_TIME, "domain_score", "in_domain", BEYOND_MEASURED) if c in points],
        ]


def type_code(n_temperatures: int) -> str:
    if n_temperatures == 2:
        return "L"
    if n_temperatures == 3:
        return "LH"
    n_cycles = ThermocycleProfile.cycles_of(n_temperatures)
    return f"{n_cycles}C" + ("H" if n_temperatures % 2 else "")


def point_id(n_temperatures: int, x: np.ndarray) -> str:
    """Stable id: the profile type and a digest of the rounded decision vector."""
    digest = hashlib.sha1(np.round(np.asarray(x, float), 6).tobytes()).hexdigest()[:6]
    return f"{type_code(n_temperatures)}-{digest}"


def objective_values(points: pd.DataFrame, spec: DesignSpec) -> np.ndarray:
    """Minimisation form of the objectives, with the run's risk setting, from a table of points."""
    columns = []
    for o in spec.objectives:
        if o.quantity == BATCH_TIME:
            value = points[BATCH_TIME].to_numpy()
        else:
            mean, std = points[f"{o.quantity}_mean"].to_numpy(), points[f"{o.quantity}_std"].to_numpy()
            value = mean - spec.risk_kappa * std if o.sense == "max" else mean + spec.risk_kappa * std
        columns.append(-value if o.sense == "max" else value)
    return np.column_stack(columns)


def non_dominated(points: pd.DataFrame, spec: DesignSpec) -> pd.DataFrame:
    feasible = points[points["feasible"]]
    if feasible.empty:
        return feasible
    front = NonDominatedSorting().do(objective_values(feasible, spec), only_non_dominated_front=True)
    return feasible.iloc[np.sort(front)]


def optimize_profiles(
    predict: PredictFn,
    schema: Schema,
    spec: DesignSpec,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    experiments: pd.DataFrame | None = None,
    measured: pd.DataFrame | None = None,
) -> DesignResult:
    """Run NSGA-II per profile type in lockstep; stops early (keeping what it found) when `should_stop()`.

    experiments: input rows of the DoE; those of each profile type seed its first population, and the design
    bounds take them in (`Schema.covering`).
    measured: the DoE's CQAs; the points then say which CQAs they are predicted beyond the measured range of
    (`core.optimize.response_range`).
    """
    start = time.perf_counter()
    if experiments is not None:
        schema = schema.covering(experiments)
    problems = [ProfileProblem(schema, spec, k, predict, experiments) for k in spec.n_temperatures]
    algorithms = [
        ArrayNSGA2(p.xl, p.xu, spec.pop_size, p.sample, p.repair, seed=spec.random_state + i)
        for i, p in enumerate(problems)
    ]
    generations, cancelled = 0, False
    for gen in range(spec.n_gen):
        if should_stop is not None and should_stop():
            cancelled = True
            break
        features = [p.decode(a.ask()) for p, a in zip(problems, algorithms, strict=True)]
        predictions = predict(pd.concat(features, ignore_index=True))
        offset = 0
        for problem, algorithm, feats in zip(problems, algorithms, features, strict=True):
            part = slice(offset, offset + len(feats))
            offset += len(feats)
            algorithm.tell(
                *problem.objectives_and_constraints(feats, {k: (m[part], s[part]) for k, (m, s) in predictions.items()})
            )
        generations = gen + 1
        if progress is not None:
            progress(generations / spec.n_gen, f"generation {generations} of {spec.n_gen}")
    points = _pareto_points(problems, algorithms, predict, schema) if generations else _empty(schema)
    if measured is not None:
        points[BEYOND_MEASURED] = beyond_measured(points, measured_ranges(measured))
    return DesignResult(points, spec, generations, cancelled, time.perf_counter() - start)


def _pareto_points(
    problems: list[ProfileProblem], algorithms: list[ArrayNSGA2], predict: PredictFn, schema: Schema
) -> pd.DataFrame:
    tables = []
    for problem, algorithm in zip(problems, algorithms, strict=True):
        best = algorithm.optimum
        X, cv = algorithm.X[best], algorithm.CV[best]
        features = problem.decode(X)
        features.insert(0, "feasible", cv <= 0)
        features.insert(0, "n_cycles", problem.n_temperatures // 2 - 1)
        features.insert(0, "n_temperatures", problem.n_temperatures)
        features.insert(0, "profile_type", profile_type_name(problem.n_temperatures))
        features.insert(0, "id", [point_id(problem.n_temperatures, x) for x in X])
        features[BATCH_TIME] = problem.batch_time(features)
        tables.append(features)
    points = pd.concat(tables, ignore_index=True).drop_duplicates("id")
    predictions = predict(points[schema.input_names])
    for cqa, (mean, std) in predictions.items():
        if cqa == DOMAIN:
            points[DOMAIN], points["in_domain"] = mean, std <= 0
        else:
            points[f"{cqa}_mean"], points[f"{cqa}_std"] = mean, std
    bounds = schema.profile_bounds
    profiles_ok = [
        ThermocycleProfile.from_features(r, schema.max_cycles).is_feasible(bounds)
        for r in points[schema.profile_names].to_dict("records")
    ]
    points["feasible"] = points["feasible"] & np.array(profiles_ok)
    return points.reset_index(drop=True)


def _empty(schema: Schema) -> pd.DataFrame:
    columns = ["id", "profile_type", "n_temperatures", "n_cycles", "feasible", *schema.input_names, BATCH_TIME]
    return pd.DataFrame(columns=columns)
