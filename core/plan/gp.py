"""Gaussian-process models of the CQAs for planning: one exact GP per CQA on the rows that measured it.

Each CQA is measured in a different subset of runs (D50 in all, DoA and
crystallinity in fewer), so the models are independent `SingleTaskGP`s in a
`ModelListGP`, each fitted on its own rows with inferred noise. Outputs are
standardised.

Inputs are one of the models' feature sets (`core.models.features`): the raw
DoE columns (the default), the profile descriptors shared by every profile
type, or both. On fresh virtual-lab campaigns the descriptor GPs predicted
neither better nor worse than the raw ones overall (`bench/bench_plan_models.py`),
so the default stays with the raw columns. Raw rows are scaled to the unit box
by the schema's bounds (profile columns from 0, the "unused" value), feature
rows by the data's range. The descriptors are computed in numpy, so the
acquisition is optimised without gradients (`core.plan.propose`).

With the virtual lab as prior (`core.plan.lab_prior`), each CQA's GP is a
two-task GP instead: the data and the simulated runs, correlated by a fitted
task covariance, predicting the data's task.

A CQA with a floor and no ceiling in the schema (D50) is modelled on the log
scale, log(y − floor), as the surrogate models may be (`core.models.target`):
planned runs that find a regime several times the DoE's size otherwise
dominate a standardised stationary GP, whose front elsewhere then falls
apart. The acquisition and the reports see it as measured (`measured`,
`predict_tensor`: the log-normal mean and std). On six other compounds it
raised the recommendation after 16 runs on five (README, Next experiments).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import torch
from botorch.exceptions.errors import ModelFittingError
from botorch.exceptions.warnings import InputDataWarning, OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import ModelListGP, MultiTaskGP, SingleTaskGP
from botorch.models.transforms import Normalize, Standardize
from gpytorch.mlls import ExactMarginalLogLikelihood
from joblib import Parallel, delayed

from core.doe.schema import Schema
from core.models.features import FeatureMap
from core.models.target import TARGET_PARAM, LogScale, scale_limits, split_target
from core.optimize.spec import BATCH_TIME
from core.plan.lab_prior import PriorRows
from core.profiles import SolubilityCurve
from core.torch_threads import one_torch_thread

# L-BFGS iterations of the marginal-likelihood fit: a bounded cost per planning call on a shared machine.
FIT_MAXITER = 150
# Fits started again from the hyper-parameter priors when one breaks down numerically (a covariance that is not
# positive definite); an unconverged fit is kept as it is.
FIT_ATTEMPTS = 3
GP = SingleTaskGP | MultiTaskGP  # a CQA's planning GP: on the data alone, or with the simulated runs
# Exponents of log-scale outcomes are capped so that a wild sample overflows to a large number, not to inf.
MAX_LOG = 50.0


def input_bounds(schema: Schema) -> torch.Tensor:
    """(2, n_inputs) scaling bounds; profile columns start at 0, the 'unused' value."""
    lower, upper = [], []
    for name in schema.input_names:
        lo, hi = schema.bounds.get(name, (0.0, 1.0))
        lower.append(min(lo, 0.0) if name in schema.profile_names else lo)
        upper.append(hi if hi > lower[-1] else lower[-1] + 1.0)
    return torch.tensor([lower, upper], dtype=torch.double)


class PlanningModels:
    """GPs of the CQAs with a frame-in, mean/std-out view for reports."""

    def __init__(self, schema: Schema, outcomes: Sequence[str], features: str = "raw") -> None:
        self.schema, self.outcomes, self.features = schema, list(outcomes), features
        self.log_scales = [_log_scale(schema, name) for name in self.outcomes]
        self.logged = torch.tensor([s is not None for s in self.log_scales])  # outcomes modelled as log(y - floor)
        self.floors = torch.tensor([s.lo if s else 0.0 for s in self.log_scales], dtype=torch.double)
        curve = SolubilityCurve(schema.solubility) if schema.solubility and features != "raw" else None
        self.feature_map = FeatureMap(schema.input_names, features, curve)

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """Raw DoE rows (..., n_inputs) -> the GP's input columns (no gradient through the descriptors)."""
        if self.features == "raw":
            return X
        flat = X.detach().reshape(-1, X.shape[-1]).numpy()
        out = torch.as_tensor(self.feature_map.transform(flat), dtype=torch.double)
        return out.reshape(*X.shape[:-1], out.shape[-1])

    def _bounds(self, X: torch.Tensor) -> torch.Tensor:
        if self.features == "raw":
            return input_bounds(self.schema)
        lo, hi = X.min(dim=0).values, X.max(dim=0).values
        return torch.stack([lo, torch.where(hi > lo, hi, lo + 1.0)])

    def _rows(self, frame: pd.DataFrame) -> torch.Tensor:
        return self.transform(torch.tensor(frame[self.schema.input_names].to_numpy(float), dtype=torch.double))

    def fit(
        self,
        inputs: pd.DataFrame,
        cqas: pd.DataFrame,
        random_state: int = 0,
        prior: PriorRows | None = None,
        n_jobs: int = 1,
    ) -> PlanningModels:
        """One GP per outcome on the runs that measured it; with `prior`, a multi-task GP whose second task
        is the simulated runs (`core.plan.lab_prior`), predicting the first. With `n_jobs` > 1 a worker process
        fits the last GP while this one fits the others."""
        X_all = self._rows(inputs)
        if not torch.isfinite(X_all).all():
            raise ValueError("some runs are not complete profiles; check the data on the Data screen")
        simulated = None if prior is None else (self._rows(prior.inputs), prior.values)
        bounds = self._bounds(X_all if simulated is None else torch.cat([X_all, simulated[0]]))
        gps, counts = [], {}
        with torch.random.fork_rng():
            torch.manual_seed(random_state)  # the GPs are built in order: their initial task covariances are drawn
            for name in self.outcomes:
                if name == BATCH_TIME:
                    raise ValueError("the planner works on measured CQAs; the batch time cannot be planned for")
                if name not in cqas:
                    raise ValueError(f"{name} is not a CQA of the data; choose from {', '.join(cqas.columns)}")
                rows = torch.as_tensor(cqas[name].notna().to_numpy())
                counts[name] = int(rows.sum())
                if counts[name] < 3:
                    raise ValueError(f"{name} is measured in {counts[name]} runs; planning needs at least 3")
                X = X_all[rows]
                Y = self._modelled(name, cqas[name].to_numpy(float))[rows].unsqueeze(-1)
                if simulated is None:
                    gp = SingleTaskGP(
                        X, Y, input_transform=Normalize(X.shape[-1], bounds=bounds), outcome_transform=Standardize(1)
                    )
                else:
                    y_sim = self._modelled(name, simulated[1][name])
                    gp = _two_task_gp(X, Y, simulated[0], y_sim, bounds)
                gps.append((gp, name, random_state + len(gps)))
        self.counts_ = counts
        self.model_ = ModelListGP(*_fitted_all(gps, n_jobs))
        self.X_baseline_ = X_all
        return self

    def _modelled(self, name: str, y: np.ndarray) -> torch.Tensor:
        """Values of outcome `name` on its modelling scale (`core.models.target`)."""
        scale = self.log_scales[self.outcomes.index(name)]
        return torch.as_tensor(scale.forward(y) if scale else np.asarray(y, float), dtype=torch.double)

    def measured(self, Z: torch.Tensor) -> torch.Tensor:
        """Posterior samples (..., n_outcomes) on the modelling scale as measured."""
        return torch.where(self.logged, self.floors + Z.clamp_max(MAX_LOG).exp(), Z)

    def predict_tensor(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and std (..., n, n_outcomes) at raw DoE rows, of the latent function (noise left out),
        as measured: on the log scale the log-normal's."""
        with torch.no_grad(), one_torch_thread():
            posterior = self.model_.posterior(self.transform(X))
            mu, var = posterior.mean, posterior.variance.clamp_min(0.0)
            mean = torch.where(self.logged, self.floors + (mu + var / 2).clamp_max(MAX_LOG).exp(), mu)
            log_var = var.clamp_max(MAX_LOG).expm1() * (2 * mu + var).clamp_max(MAX_LOG).exp()
            return mean, torch.where(self.logged, log_var, var).sqrt()

    def predict(self, features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per outcome (mean, std); means clipped to what the CQA can physically be (e.g. 0-100 %)."""
        X = torch.tensor(features[self.schema.input_names].to_numpy(float), dtype=torch.double)
        mean, std = self.predict_tensor(X)
        out = {}
        for j, name in enumerate(self.outcomes):
            lo, hi = self.schema.variable(name).limits
            out[name] = (np.clip(mean[:, j].numpy(), lo, hi), std[:, j].numpy())
        return out

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for name, (mean, std) in self.predict(features).items():
            out[f"{name}_mean"], out[f"{name}_std"] = mean, std
        return pd.DataFrame(out, index=features.index)


def _log_scale(schema: Schema, name: str) -> LogScale | None:
    """The log scale of a CQA with a floor and no ceiling, as the surrogate models would take it; else None."""
    if name not in schema.cqa_names:
        return None  # the fit reports an outcome the data lack
    _, scale = split_target({TARGET_PARAM: scale_limits(schema.variable(name).limits)})
    return scale if isinstance(scale, LogScale) else None


def _fitted_all(gps: list[tuple[GP, str, int]], n_jobs: int) -> list[GP]:
    """Every (GP, name, seed) fitted. Torch runs on one thread here, so with `n_jobs` > 1 a worker process of
    the simulations' pool (the same `n_jobs`, so it is not resized) fits the last GP meanwhile; the fits are the
    same wherever they run."""
    if n_jobs == 1 or len(gps) < 2:
        return [_fitted(*job) for job in gps]
    with ThreadPoolExecutor(1) as waiting:
        remote = waiting.submit(lambda: Parallel(n_jobs=n_jobs)([delayed(_fitted)(*gps[-1])])[0])
        return [_fitted(*job) for job in gps[:-1]] + [remote.result()]


def _fitted(gp: GP, name: str, seed: int) -> GP:
    """The GP with its hyper-parameters fitted by marginal likelihood on one torch thread, in evaluation mode; a
    fit started again from the priors draws from `seed`."""
    with warnings.catch_warnings(), one_torch_thread(), torch.random.fork_rng():
        warnings.simplefilter("ignore", (InputDataWarning, OptimizationWarning))
        warnings.filterwarnings("ignore", "Sparse invariant checks")  # torch's notice, once per process
        torch.manual_seed(seed)
        try:
            fit_gpytorch_mll(
                ExactMarginalLogLikelihood(gp.likelihood, gp),
                optimizer_kwargs={"options": {"maxiter": FIT_MAXITER}},
                warning_handler=lambda w: True,  # an unconverged fit is kept, not re-drawn from the priors
                max_attempts=FIT_ATTEMPTS,
            )
        except ModelFittingError as exc:
            raise ValueError(f"the planner's GP of {name} could not be fitted ({exc}); try another seed") from exc
    return gp.eval()


def _two_task_gp(
    X: torch.Tensor, Y: torch.Tensor, X_sim: torch.Tensor, y_sim: torch.Tensor, bounds: torch.Tensor
) -> MultiTaskGP:
    """Task 0 the data, task 1 the simulated runs; predicts task 0. The outputs are standardised together (not
    per task): the simulated values are already calibrated onto the data's scale, and a per-task scale would
    undo that."""
    ok = torch.isfinite(y_sim)
    X_sim, y_sim = X_sim[ok], y_sim[ok].unsqueeze(-1).double()
    task = torch.cat([torch.zeros(len(X), 1), torch.ones(len(X_sim), 1)]).double()
    d = X.shape[-1]
    return MultiTaskGP(
        torch.cat([torch.cat([X, X_sim]), task], dim=-1),
        torch.cat([Y, y_sim]),
        task_feature=d,
        output_tasks=[0],
        rank=1,
        input_transform=Normalize(d + 1, bounds=torch.cat([bounds, torch.tensor([[0.0], [1.0]])], dim=-1)),
        outcome_transform=Standardize(1),
    )
