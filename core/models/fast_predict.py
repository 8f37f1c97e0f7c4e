"""Predictions of many fitted scaler + model pipelines at once, without sklearn's per-call checks.

An uncertainty ensemble asks ~26 small pipelines for a prediction on the same
rows every optimiser generation. Each `Pipeline.predict` spends 0.5-0.8 ms
validating its input, which for an SVR is nearly all of its time; here the
rows are checked once and each family's arithmetic runs directly:

* the scaler is `(X - mean_) / scale_` in numpy, as `StandardScaler` computes it;
* linear SVRs fold scaler and `coef_` into one affine map per member and all
  members share one matrix product; rbf/poly/sigmoid SVRs evaluate their
  kernels for all members in one batched product;
* gradient boosting adds its trees with sklearn's own `predict_stages` on the
  float32 rows its `predict` would make; forests average their trees' leaf
  values in the order the forest sums them; XGBoost calls the booster's
  `inplace_predict` with the iteration range `XGBRegressor.predict` uses;
* an average of families (`core.models.blend`) scales its rows once and sends each member
  down its own path above.

Trees see exactly the float32 rows sklearn gives them, so their predictions
are identical; SVRs agree with libsvm to rounding (~1e-16 of the summed
terms). Walking the trees themselves stays the cost of the tree families, so
their rows are visited in a branch-friendly order. A pipeline of any
other shape, or rows that are not a finite 2-D float64 matrix of the right
width, go through `pipeline.predict`, so sklearn's results and error messages
stay the reference.

The private pieces used (`SVR._gamma`, `predict_stages`, `_init_raw_predictions`,
`XGBRegressor._get_iteration_range`) belong to the versions pinned in
requirements.txt; tests/test_models_fast_predict.py compares every family and
kernel against `pipeline.predict`, so an upgrade that changes them fails there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.ensemble._gb import _init_raw_predictions
from sklearn.ensemble._gradient_boosting import predict_stages
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from xgboost import XGBRegressor

from core.models.blend import FamilyAverage

# Largest (members x rows x support vectors) kernel block: small enough to stay in cache, since large
# temporaries cost more in page faults than in arithmetic.
KERNEL_BLOCK_ELEMENTS = 2**15
# Trees whose root split picks the feature that orders the rows (see `_branch_friendly_order`).
ROOTS_SAMPLED = 64


def predict_pipelines(pipelines: Sequence[Pipeline], X: np.ndarray) -> np.ndarray:
    """(pipelines, rows) predictions, equal to `np.array([p.predict(X) for p in pipelines])`."""
    if not _fast_rows(X):
        return np.array([p.predict(X) for p in pipelines])
    groups: dict[str | None, list[int]] = {}
    for i, pipeline in enumerate(pipelines):
        groups.setdefault(_kind(pipeline, X.shape[1]), []).append(i)
    rows: list[Any] = [None] * len(pipelines)
    for kind, indices in groups.items():
        members = [pipelines[i] for i in indices]
        block = [p.predict(X) for p in members] if kind is None else _BATCHED[kind](members, X)
        for i, prediction in zip(indices, block, strict=True):
            rows[i] = prediction
    return np.array(rows)


def forest_tree_predictions(pipeline: Pipeline, X: np.ndarray) -> np.ndarray:
    """(trees, rows) predictions of each tree of a scaler + random forest pipeline."""
    trees = pipeline[-1].estimators_
    if not (_fast_rows(X) and _kind(pipeline, X.shape[1]) == "rf"):
        X32 = np.ascontiguousarray(pipeline[:-1].transform(X), dtype=np.float32)  # what forest.predict hands its trees
        return np.array([tree.predict(X32, check_input=False) for tree in trees])
    order, member = _tree_rows([pipeline], X)
    _, X32 = next(member)
    per_tree = np.empty((len(trees), len(X)))
    for t, tree in enumerate(trees):
        per_tree[t, order] = _leaf_values(tree, X32)
    return per_tree


def _fast_rows(X: Any) -> bool:
    """A finite, non-empty 2-D float64 matrix; anything else (NaN, other dtypes, no rows) is left
    to sklearn, which gives its own results and messages."""
    return (
        isinstance(X, np.ndarray)
        and X.dtype == np.float64
        and X.ndim == 2
        and X.shape[0] > 0
        and bool(np.isfinite(X).all())
    )


def _kind(pipeline: Any, n_features: int) -> str | None:
    """Which batched computation reproduces this pipeline on rows of `n_features`, or None for plain `predict`."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return None
    scaler, model = pipeline.steps[0][1], pipeline.steps[1][1]
    if type(scaler) is not StandardScaler or getattr(scaler, "n_features_in_", None) != n_features:
        return None
    if hasattr(scaler, "feature_names_in_") or not hasattr(model, "n_features_in_"):
        return None  # fitted on a DataFrame (sklearn warns on plain rows) or not fitted (sklearn raises)
    if type(model) is SVR and not model._sparse and model.kernel in ("linear", "rbf", "poly", "sigmoid"):
        return f"svr-{model.kernel}"
    if type(model) is GradientBoostingRegressor and (model.init_ == "zero" or type(model.init_) is DummyRegressor):
        return "gbt"
    if type(model) is RandomForestRegressor and model.n_outputs_ == 1:
        return "rf"
    if type(model) is XGBRegressor and model.booster != "gblinear":
        return "xgb"
    if type(model) is FamilyAverage and hasattr(model, "fitted_"):
        return "average"
    return None


def _scaler_arrays(pipelines: Sequence[Pipeline]) -> tuple[np.ndarray, np.ndarray]:
    """(members, features) centres and scales; 0 and 1 where a scaler skips that step, which
    leaves the numbers exactly as they are."""
    scalers = [p[0] for p in pipelines]
    means = np.array([s.mean_ if s.with_mean else np.zeros(s.n_features_in_) for s in scalers])
    scales = np.array([s.scale_ if s.with_std else np.ones(s.n_features_in_) for s in scalers])
    return means, scales


def _standardised(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(X - mean) / scale by the two element-wise steps `StandardScaler.transform` takes, so the
    same numbers; dividing in place spares a second large temporary, whose page faults would
    cost more than the arithmetic."""
    out = X - mean
    out /= scale
    return out


def _linear_svr(pipelines: Sequence[Pipeline], X: np.ndarray) -> np.ndarray:
    """prediction = ((X - mean) / scale) @ coef + b = X @ (coef / scale) + (b - mean @ (coef / scale))."""
    means, scales = _scaler_arrays(pipelines)
    weights = np.array([p[-1].coef_[0] for p in pipelines]) / scales
    offsets = np.array([p[-1].intercept_[0] for p in pipelines]) - np.einsum("kd,kd->k", means, weights)
    return weights @ X.T + offsets[:, None]


def _kernel_svr(pipelines: Sequence[Pipeline], X: np.ndarray) -> np.ndarray:
    """Σ dual_coef · K(scaled row, support vector) + intercept for every member at once.

    Members have different numbers of support vectors; they are padded with
    zero vectors whose dual coefficient is 0, so padding adds nothing.
    """
    svrs = [p[-1] for p in pipelines]
    kernel = svrs[0].kernel  # one group holds one kernel
    k, d = len(pipelines), X.shape[1]
    width = max(1, max(m.support_vectors_.shape[0] for m in svrs))
    vectors, dual = np.zeros((k, width, d)), np.zeros((k, width))
    for i, m in enumerate(svrs):
        s = m.support_vectors_.shape[0]
        vectors[i, :s], dual[i, :s] = m.support_vectors_, m.dual_coef_[0]
    gamma = np.array([m._gamma for m in svrs])[:, None, None]
    coef0 = np.array([m.coef0 for m in svrs], float)[:, None, None]
    degree = np.array([m.degree for m in svrs], float)[:, None, None]
    intercept = np.array([m.intercept_[0] for m in svrs])[:, None]
    vector_norms = np.einsum("ksd,ksd->ks", vectors, vectors)[:, None, :]
    means, scales = _scaler_arrays(pipelines)
    out = np.empty((k, len(X)))
    step = max(1, KERNEL_BLOCK_ELEMENTS // (k * width))
    for start in range(0, len(X), step):
        scaled = _standardised(X[None, start : start + step], means[:, None, :], scales[:, None, :])
        gram = scaled @ vectors.transpose(0, 2, 1)  # (members, rows, support vectors) dot products, then kernel
        if kernel == "rbf":  # squared distance = |x|² + |v|² - 2 x·v
            gram *= -2.0
            gram += np.einsum("knd,knd->kn", scaled, scaled)[:, :, None]
            gram += vector_norms
            np.maximum(gram, 0.0, out=gram)
            gram *= -gamma
            np.exp(gram, out=gram)
        else:
            gram *= gamma
            gram += coef0
            if kernel == "poly":
                np.power(gram, degree, out=gram)
            else:
                np.tanh(gram, out=gram)
        out[:, start : start + step] = (gram @ dual[:, :, None])[:, :, 0] + intercept
    return out


def _branch_friendly_order(model: Any, X: np.ndarray) -> np.ndarray:
    """Rows sorted by the feature the model's trees split on most often at their roots.

    Tree traversal on random rows is bound by mispredicted branches; with the
    rows in this order, consecutive rows mostly take the same branch at those
    splits (about 20-30 % faster on the sample models). Each row's prediction
    does not depend on the order, so results are unchanged.
    """
    roots = [tree.tree_.feature[0] for tree in np.ravel(model.estimators_)[:ROOTS_SAMPLED]]
    roots = [f for f in roots if f >= 0]  # a tree that is a single leaf has no split
    if not roots:
        return np.arange(len(X))
    return np.argsort(X[:, np.bincount(roots).argmax()], kind="stable")


def _tree_rows(
    pipelines: Sequence[Pipeline], X: np.ndarray
) -> tuple[np.ndarray, Iterator[tuple[Pipeline, np.ndarray]]]:
    """The branch-friendly row order, and each pipeline with its scaled rows in that order, in
    float32 as sklearn's trees receive them (row j is row order[j] of X); one member at a time
    keeps the temporaries small."""
    order = _branch_friendly_order(pipelines[0][-1], X)
    ordered = X[order]
    means, scales = _scaler_arrays(pipelines)
    members = zip(pipelines, means, scales, strict=True)
    return order, ((p, _standardised(ordered, mean, scale).astype(np.float32)) for p, mean, scale in members)


def _boosting(pipelines: Sequence[Pipeline], X: np.ndarray) -> np.ndarray:
    """The init estimator's constant plus every stage, as `GradientBoostingRegressor.predict` adds them."""
    order, members = _tree_rows(pipelines, X)
    out = np.empty((len(pipelines), len(X)))
    for i, (pipeline, rows) in enumerate(members):
        model = pipeline[-1]
        if model.init_ == "zero":
            raw = np.zeros((len(rows), 1))
        else:
            raw = _init_raw_predictions(rows, model.init_, model._loss, False)
        predict_stages(model.estimators_, rows, model.learning_rate, raw)
        out[i, order] = raw[:, 0]
    return out


def _leaf_values(tree: Any, X32: np.ndarray) -> np.ndarray:
    """`tree.predict(X32)` for a single-output regression tree: the value of the leaf each row lands in."""
    return tree.tree_.value[tree.tree_.apply(X32), 0, 0]


def _forest(pipelines: Sequence[Pipeline], X: np.ndarray) -> np.ndarray:
    """The trees' mean, summed one tree after another and then divided, as the forest accumulates it."""
    order, members = _tree_rows(pipelines, X)
    out = np.empty((len(pipelines), len(X)))
    for i, (pipeline, rows) in enumerate(members):
        trees = pipeline[-1].estimators_
        total = np.zeros(len(rows))
        for tree in trees:
            total += _leaf_values(tree, rows)
        total /= len(trees)
        out[i, order] = total
    return out


def _xgboost(pipelines: Sequence[Pipeline], X: np.ndarray) -> list[np.ndarray]:
    """The booster's own prediction (float32, as `XGBRegressor.predict` returns it)."""
    out = []
    for pipeline, mean, scale in zip(pipelines, *_scaler_arrays(pipelines), strict=True):
        model = pipeline[-1]
        out.append(
            model.get_booster().inplace_predict(
                _standardised(X, mean, scale),
                iteration_range=model._get_iteration_range(None),  # the best iteration when early stopping set one
                predict_type="value",
                missing=model.missing,
                validate_features=False,
            )
        )
    return out


def _family_averages(pipelines: Sequence[Pipeline], X: np.ndarray) -> list[np.ndarray]:
    """Each average of families on its scaled rows, every member pipeline by its own batched path."""
    out = []
    for pipeline, mean, scale in zip(pipelines, *_scaler_arrays(pipelines), strict=True):
        members = pipeline[-1].member_predictions(
            _standardised(X, mean, scale), predict=lambda member, rows: predict_pipelines([member], rows)[0]
        )
        out.append(members.mean(axis=0))
    return out


_BATCHED: dict[str, Callable[[Sequence[Pipeline], np.ndarray], Any]] = {
    "svr-linear": _linear_svr,
    "svr-rbf": _kernel_svr,
    "svr-poly": _kernel_svr,
    "svr-sigmoid": _kernel_svr,
    "gbt": _boosting,
    "rf": _forest,
    "xgb": _xgboost,
    "average": _family_averages,
}
