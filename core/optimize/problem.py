"""A vectorised pymoo problem per profile type.

Decision variables are the inputs the profile type uses: initial
concentration, seed loading, extra schema inputs, T1..Tk and the rates of its
ramps; every other profile entry is fixed at 0 ("unused", Eq. 4 by
construction). Eqs. 2-3 are inequality constraints, as in the method paper;
with `DesignSpec.domain == "strict"` so is staying within `domain_limit` in
the models' applicability-domain score (`core.models.domain`), because a
surrogate's optimum far enough from every experiment is usually the
surrogate's error, not the process's;
with `DesignSpec.seeding` so is seeding as the experiments do
(`core.seeding`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling

from core.doe.schema import Schema
from core.optimize.spec import BATCH_TIME, DesignSpec, check_profile_type
from core.profiles import ThermocycleProfile
from core.seeding import CONCENTRATION, START, peak_names

# mean and std of every CQA for each row of a feature table; under DOMAIN (when the models have an
# applicability domain) the distance-to-data score and its excess over the in-domain threshold
Predictions = dict[str, tuple[np.ndarray, np.ndarray]]
DOMAIN = "domain_score"
PredictFn = Callable[[pd.DataFrame], Predictions]

# 0 means "unused" in the DoE encoding, so a used set point must stay clear of it.
MIN_USED_T = 0.5
BAD = 1e12  # objective and constraint value of a design the model cannot score


def decision_names(schema: Schema, n_temperatures: int) -> list[str]:
    return schema.scalar_inputs + ThermocycleProfile.variable_names(n_temperatures)


class ProfileProblem(Problem):
    """Objectives and constraints of one profile type, for a whole population at once."""

    def __init__(
        self,
        schema: Schema,
        spec: DesignSpec,
        n_temperatures: int,
        predict: PredictFn,
        experiments: pd.DataFrame | None = None,
    ) -> None:
        check_profile_type(n_temperatures, schema.max_cycles)
        self.schema, self.spec, self.n_temperatures, self.predict = schema, spec, n_temperatures, predict
        self.names = decision_names(schema, n_temperatures)
        self.seeded = spec.seeding is not None and CONCENTRATION in self.names
        lower, upper = zip(*(self._bounds(n) for n in self.names), strict=True)
        super().__init__(
            n_var=len(self.names),
            n_obj=len(spec.objectives),
            n_ieq_constr=(n_temperatures - 1) + len(spec.constraints) + (spec.domain == "strict") + self.seeded,
            xl=np.array(lower),
            xu=np.array(upper),
        )
        self.starts = self._starts(experiments)

    def _starts(self, experiments: pd.DataFrame | None) -> np.ndarray:
        """Decision vectors of the experiments of this profile type, clipped onto the bounds."""
        if experiments is None or experiments.empty:
            return np.empty((0, self.n_var))
        temps = experiments[[c for c in self.schema.profile_names if c[:1] == "T"]].fillna(0.0).to_numpy(float)
        n_used = np.cumprod(temps != 0, axis=1).sum(axis=1)
        rows = experiments.loc[n_used == self.n_temperatures, self.names].to_numpy(float)
        return np.clip(rows, self.xl, self.xu)

    def _bounds(self, name: str) -> tuple[float, float]:
        if name == "T1" and self.spec.start_T is not None:
            return max(self.spec.start_T[0], MIN_USED_T), self.spec.start_T[1]
        if name == f"T{self.n_temperatures}" and self.spec.end_T is not None:
            return max(self.spec.end_T[0], MIN_USED_T), self.spec.end_T[1]
        if name in self.spec.bounds:
            lo, hi = self.spec.bounds[name]
        else:
            key = name if name in self.schema.bounds else f"{name[0]}1"
            if key not in self.schema.bounds:
                raise ValueError(f"{name} has no bounds; give them in the schema or the design settings")
            lo, hi = self.schema.bounds[key]
        if name.startswith("T") and name[1:].isdigit():
            lo = max(lo, MIN_USED_T)
        return lo, hi

    @property
    def temperature_index(self) -> list[int]:
        return [self.names.index(f"T{i}") for i in range(1, self.n_temperatures + 1)]

    def decode(self, X: np.ndarray) -> pd.DataFrame:
        """Feature rows in the model's column order; entries the profile does not use are 0."""
        features = pd.DataFrame(0.0, index=range(len(X)), columns=self.schema.input_names)
        features[self.names] = X
        return features

    def batch_time(self, features: pd.DataFrame) -> np.ndarray:
        k = self.n_temperatures
        temps = features[[f"T{i}" for i in range(1, k + 1)]].to_numpy()
        rates = np.column_stack(
            [features[f"C{s // 2 + 1}" if s % 2 == 0 else f"H{s // 2 + 1}"].to_numpy() for s in range(k - 1)]
        )
        return (np.abs(np.diff(temps, axis=1)) / rates).sum(axis=1)

    def quantity(self, name: str, features: pd.DataFrame, predictions: Predictions, sense: str) -> np.ndarray:
        """A quantity to optimise or constrain, shifted by kappa*std towards the pessimistic side."""
        if name == BATCH_TIME:
            return self.batch_time(features)
        if name not in predictions:
            raise ValueError(f"{name} is not a modelled CQA; choose from {', '.join(predictions)}")
        mean, std = predictions[name]
        kappa = self.spec.risk_kappa
        if kappa == 0:
            return mean
        return mean - kappa * std if sense in ("max", ">=") else mean + kappa * std

    def objectives_and_constraints(
        self, features: pd.DataFrame, predictions: Predictions
    ) -> tuple[np.ndarray, np.ndarray]:
        """F (pymoo minimises, so maximised objectives are negated) and G (feasible when <= 0)."""
        F = np.column_stack(
            [
                (-1 if o.sense == "max" else 1) * self.quantity(o.quantity, features, predictions, o.sense)
                for o in self.spec.objectives
            ]
        )
        temps = features[[f"T{i}" for i in range(1, self.n_temperatures + 1)]].to_numpy()
        step = np.diff(temps, axis=1)
        order = np.where(np.arange(step.shape[1]) % 2 == 0, step, -step)  # cooling: T(k+1)-T(k) <= 0
        user = [
            (c.value - q) if c.op == ">=" else (q - c.value)
            for c in self.spec.constraints
            for q in [self.quantity(c.quantity, features, predictions, c.op)]
        ]
        if self.spec.domain == "strict":
            if DOMAIN not in predictions:
                raise ValueError("the models have no applicability domain; design with the domain constraint off")
            user.append(predictions[DOMAIN][0] - self.spec.domain_limit)
        if self.seeded:
            c0 = features[CONCENTRATION].to_numpy()
            peaks = features[peak_names(self.n_temperatures)].to_numpy()
            band = self.spec.seeding
            user.append(np.maximum(band.violation(c0, features[START].to_numpy()), band.peak_violation(c0, peaks)))
        G = np.column_stack([order, *user]) if user else order
        # A model can return NaN or inf (e.g. an uncalibrated spread); rank such designs last, never crash.
        return np.nan_to_num(F, nan=BAD, posinf=BAD, neginf=-BAD), np.nan_to_num(G, nan=BAD, posinf=BAD, neginf=-BAD)

    def _evaluate(self, X: np.ndarray, out: dict, *args: object, **kwargs: object) -> None:
        features = self.decode(X)
        out["F"], out["G"] = self.objectives_and_constraints(features, self.predict(features))

    def sample(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Initial profiles that already obey Eqs. 2-3: each set point is drawn on the allowed side of the last.

        Uniform sampling almost never orders ten temperatures correctly, so the
        search would otherwise spend its first generations finding feasibility.
        The experiments of this type, when given, take up to half of the
        samples: they lie in the applicability domain by construction, so a
        search kept there starts from feasible points.
        """
        X = self.xl + (self.xu - self.xl) * rng.random((n_samples, self.n_var))
        ceiling = self._seeded(X)
        idx = self.temperature_index
        for s in range(1, len(idx)):
            prev, j = X[:, idx[s - 1]], idx[s]
            u = rng.random(n_samples)
            cap = ceiling if s < len(idx) - 1 else np.inf  # troughs and peaks between start and end
            lo, hi = self.xl[j], np.minimum(self.xu[j], cap)
            X[:, j] = lo + u * (np.minimum(prev, cap) - lo) if s % 2 == 1 else prev + u * (hi - prev)
        n_start = min(len(self.starts), n_samples // 2)
        if n_start:
            X[:n_start] = self.starts[rng.choice(len(self.starts), n_start, replace=False)]
        return np.clip(X, self.xl, self.xu)

    def repair(self, X: np.ndarray) -> np.ndarray:
        """Clip designs back onto Eqs. 2-3 (a ramp that went the wrong way becomes a zero-length ramp) and the
        seeding band, then onto the bounds; where all cannot hold, the constraints report the design as
        infeasible."""
        X = X.copy()
        ceiling = self._seeded(X)
        idx = self.temperature_index
        for s in range(1, len(idx)):
            prev, j = X[:, idx[s - 1]], idx[s]
            X[:, j] = np.minimum(X[:, j], prev) if s % 2 == 1 else np.maximum(X[:, j], prev)
            if s < len(idx) - 1:  # the troughs and peaks between start and end
                X[:, j] = np.minimum(X[:, j], ceiling)
        return np.clip(X, self.xl, self.xu)

    def _seeded(self, X: np.ndarray) -> np.ndarray:
        """Moves T1 onto the seeding band at each design's concentration, then onto T1's bounds (in place), and
        returns how high each design may heat between start and end (inf when unbounded)."""
        if not self.seeded:
            return np.full(len(X), np.inf)
        band, c0, t = self.spec.seeding, X[:, self.names.index(CONCENTRATION)], self.names.index(START)
        X[:, t] = np.clip(band.clip(c0, X[:, t]), self.xl[t], self.xu[t])
        return band.ceiling(c0)


class ProfileSampling(Sampling):
    """`ProfileProblem.sample` for pymoo's own algorithms."""

    def _do(
        self,
        problem: ProfileProblem,
        n_samples: int,
        *args: object,
        random_state: np.random.Generator,
        **kwargs: object,
    ) -> np.ndarray:
        return problem.sample(n_samples, random_state)


class ProfileRepair(Repair):
    """`ProfileProblem.repair` for pymoo's own algorithms."""

    def _do(self, problem: ProfileProblem, X: np.ndarray, **kwargs: object) -> np.ndarray:
        return problem.repair(X)
