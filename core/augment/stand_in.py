"""A cheaper model of the chosen family that scores the study's grid of (source, m, α) candidates.

The study fits one weighted model per source × m × α × fold (up to 3600 fits
for the default grid on the sample). With a 200-tree boosted ensemble that
alone costs ten minutes. So the grid is scored with a stand-in of the same
family and configuration with a smaller budget, and only the few candidates
the stand-in proposes are scored again with the full model on the same folds
(`study`): the stand-in ranks, the full model decides.

The stand-in keeps every parameter but the budget:

* ensembles (`n_estimators`) keep their first `estimators` members: a forest
  of fewer trees has the same expected prediction and more variance, a boosted
  ensemble is the same run stopped early. Keeping the total shrinkage instead
  (fewer stages with a larger learning rate, Friedman, Ann. Stat. 2001) made a
  different model: on the sample's D50 a 10-stage boosted stand-in at learning
  rate 1 had twice the full model's CV MSE and preferred other α;
* models that restart an optimiser (`n_restarts_optimizer`, the Gaussian
  process and the grey box's GP on its residuals) start it once and stop it
  after ten iterations (`max_iter`): the
  kernel's hyper-parameters are re-learnt for every set of rows (fold, source
  and m; the α values share them, `core.models.gaussian_process`), and with the
  virtual lab's 200 rows a fit took about 1 s at its own 100 iterations and
  0.15 s at ten, while the MSE on fresh runs moved by less than 2 % (D50 of a
  fresh campaign; at 20 iterations 0.3–0.4 s and under 1 %);
* the SVR stops its solver at ten times its tolerance (`tol`), the same
  solution less polished: with the virtual lab's 200 rows and large α a
  linear-kernel fit took up to 0.27 s at the default 1e-3, and at 1e-2 half
  the time while the validation MSE moved by less than 1 % (sample's D50);
* an average of families (`average`) averages the stand-ins of its members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.models.zoo import build_pipeline

STAND_IN_ESTIMATORS = 20
STAND_IN_TOLERANCE = 10.0  # × the SVR's own solver tolerance
STAND_IN_ITERATIONS = 10  # of the Gaussian process's hyper-parameter optimiser


def stand_in_params(name: str, params: Mapping[str, Any], estimators: int | None) -> dict[str, Any]:
    """`params` with the budget cut as in the module notes; unchanged when `estimators` is None or not smaller."""
    params = dict(params)
    if estimators is None:
        return params
    if estimators < 1:
        raise ValueError("a stand-in needs at least one estimator")
    if "members" in params:
        params["members"] = [[f, stand_in_params(f, p, estimators), c] for f, p, c in params["members"]]
        return params
    defaults = build_pipeline(name, params).named_steps["model"].get_params()
    n = defaults.get("n_estimators", 0)
    if n is None or (isinstance(n, int) and not isinstance(n, bool) and n > estimators):  # None: XGBoost's 100
        params["n_estimators"] = estimators
    if "n_restarts_optimizer" in defaults:
        params["n_restarts_optimizer"] = 0
        params["max_iter"] = min(defaults["max_iter"], STAND_IN_ITERATIONS)
    if name == "svr":
        params["tol"] = defaults["tol"] * STAND_IN_TOLERANCE
    return params
