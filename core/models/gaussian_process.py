"""A Gaussian-process regressor for the model zoo: a linear trend plus a Matérn kernel.

scikit-learn's `GaussianProcessRegressor` with constant x Matérn + constant x
DotProduct (a Bayesian linear trend) + `WhiteKernel` for measurement noise,
targets normalised, and the marginal-likelihood optimiser restarted from seeded
random points. Unlike a tree ensemble, its standard deviation grows away from
the training runs (Rasmussen & Williams, Gaussian Processes for Machine
Learning, 2006, ch. 2 and 4).

Defaults, as measured by `bench/bench_extrapolation.py` on profile types left
sparse in the DoE: one length scale shared by all (standardised) inputs and the
linear term. With ~20 runs and ~20 descriptors, one length scale per input
(ARD, `per_input_scales=True`) over-fits the marginal likelihood and predicts
held-out profile types worse; the linear term carries trends beyond the data,
where a stationary kernel alone reverts to the mean. Length-scale bounds reach
far beyond the data's spread so that a smooth response can be fitted as one.

Row weights (weighted ERM with synthetic rows) enter as per-row noise: the
Gaussian log-likelihood of a row with weight w equals that of a row whose noise
variance is divided by w, so after a first fit learns the noise level, a second
fit with the kernel held keeps that level for a row of average weight and
scales it by mean(w)/w for the others. The first fit sees the rows, not their
weights, so fits that differ only in weights (the α grid of the augmentation
study: the same rows at every 0 < α < 1) reuse it from a small per-process
store instead of learning the same kernel again.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, DotProduct, Matern, WhiteKernel

from core.models.recent import RecentWork, rows_key

NOISE_LEVEL = "k2__noise_level"  # the white-noise term is the kernel's last summand
MATERN_SCALE = "k2__length_scale"
AT_BOUND = 1.01  # a hyper-parameter within 1 % of its lower bound sits on it
LEARNT_KEPT = 4  # first fits kept per process: the study's α grid asks for the same rows many times in a row
learnt_fits: RecentWork[GaussianProcessRegressor] = RecentWork(LEARNT_KEPT)


class GaussianProcessModel(RegressorMixin, BaseEstimator):
    """Matérn (+ linear) + white-noise GP; `predict(X, return_std=True)` gives the predictive std of a new run."""

    def __init__(
        self,
        nu: float = 2.5,
        per_input_scales: bool = False,
        linear: bool = True,
        n_restarts_optimizer: int = 1,
        max_iter: int = 100,
        random_state: int = 0,
    ) -> None:
        self.nu = nu
        self.per_input_scales = per_input_scales
        self.linear = linear
        self.n_restarts_optimizer = n_restarts_optimizer
        self.max_iter = max_iter
        self.random_state = random_state

    def _optimizer(self, objective: Any, x0: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, float]:
        """L-BFGS-B as scikit-learn runs it, with an iteration cap: on ~30 runs the likelihood is flat
        long before the default 15000 iterations, and fits run many times per model search."""
        res = scipy.optimize.minimize(
            objective, x0, method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": self.max_iter}
        )
        return res.x, float(res.fun)

    def _kernel(self, n_features: int) -> Any:
        scales = np.full(n_features, 3.0) if self.per_input_scales else 3.0
        matern = Matern(length_scale=scales, length_scale_bounds=(1e-1, 1e4), nu=self.nu)
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * matern
        if self.linear:
            kernel = kernel + ConstantKernel(0.1, (1e-4, 1e2)) * DotProduct(1.0, (1e-3, 1e3))
        return kernel + WhiteKernel(0.1, (1e-6, 1.0))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GaussianProcessModel:
        X, y = np.asarray(X, float), np.asarray(y, float)
        self.gp_ = self._unweighted_fit(X, y)
        if sample_weight is not None:
            w = np.asarray(sample_weight, float)
            if np.any(w <= 0):
                raise ValueError("row weights must be positive")
            noise = self.gp_.kernel_.k2.noise_level
            alpha = noise * (w.mean() / w - 1.0) + 1e-10
            self.gp_ = GaussianProcessRegressor(
                self.gp_.kernel_, alpha=np.clip(alpha, 1e-10, None), normalize_y=True, optimizer=None
            ).fit(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def _unweighted_fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcessRegressor:
        """The fit with its kernel learnt; the same rows and settings give the same fit, so it is kept a while."""
        return learnt_fits.get(rows_key(X, y, self.get_params()), lambda: self._learnt_fit(X, y))

    def _learnt_fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcessRegressor:
        with warnings.catch_warnings():
            # A length scale at its upper bound is ARD switching an input off, not a failure.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GaussianProcessRegressor(
                self._kernel(X.shape[1]),
                normalize_y=True,
                optimizer=self._optimizer,
                n_restarts_optimizer=self.n_restarts_optimizer,
                random_state=self.random_state,
            ).fit(X, y)

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        return self.gp_.predict(np.asarray(X, float), return_std=return_std)

    def noise_variance(self) -> float:
        """The variance of a run about its mean response, in the units of y (for a row of average weight): the
        white noise, plus the Matérn term where its length scale sits at its lower bound (a process uncorrelated
        between the runs is noise by another name, and the likelihood trades the two at equal value). NaN where the
        white noise sits at its own lower bound: the fit interpolates the rows and does not tell the noise."""
        kernel = self.gp_.kernel_
        params = kernel.get_params()
        floor = next(h.bounds[0, 0] for h in kernel.hyperparameters if h.name == NOISE_LEVEL)
        if params[NOISE_LEVEL] <= AT_BOUND * floor:
            return math.nan
        noise = params[NOISE_LEVEL]
        for h in kernel.hyperparameters:  # the Matérn is the k2 of a constant × Matérn product
            if h.name.endswith(MATERN_SCALE) and np.all(np.atleast_1d(params[h.name]) <= AT_BOUND * h.bounds[:, 0]):
                noise += params[h.name.removesuffix(MATERN_SCALE) + "k1__constant_value"]
        return float(noise * self.gp_._y_train_std**2)

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out mean and std of every training row with the kernel held (closed form, R&W eq. 5.12)."""
        gp = self.gp_
        K_inv = np.linalg.inv(gp.L_ @ gp.L_.T)
        y_n = gp.y_train_  # normalised targets
        diag = np.diag(K_inv)
        mean_n = y_n - (K_inv @ y_n) / diag
        std_n = np.sqrt(1.0 / diag)
        return mean_n * gp._y_train_std + gp._y_train_mean, std_n * gp._y_train_std

    def conditioned_predict(self, X: np.ndarray, y: np.ndarray, X_query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std at `X_query` of the same prior (kernel and target scaling held) conditioned on (X, y)
        instead of the training rows: held-out predictions without refitting hyper-parameters."""
        gp = self.gp_
        mu, sd = gp._y_train_mean, gp._y_train_std
        held = GaussianProcessRegressor(gp.kernel_, normalize_y=False, optimizer=None).fit(X, (y - mu) / sd)
        mean, std = held.predict(X_query, return_std=True)
        return mean * sd + mu, std * sd
