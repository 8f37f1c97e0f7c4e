"""The Synthetic screen's inspection of any (source, m, α): its rows and refitted model, cached in the session."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.augment.result import AugmentResult, augmented_ensemble, final_synthetic_rows, test_scores
from core.models.fitting import FitResult
from core.models.metrics import holdout_caution
from core.models.uncertainty import EnsembleRegressor
from core.plots.augment import marginals_figure, pair_figure, parity_before_after_figure
from core.virtual_lab.transfer import SimulationCache

INSPECT_CACHE = "augment_inspect_cache"  # content key -> synthetic rows or ensemble
SIMULATION_CACHE = "augment_simulations"


def simulations() -> SimulationCache:
    """Virtual-lab runs simulated so far in this session: a rerun or an inspection reuses them."""
    return st.session_state.setdefault(SIMULATION_CACHE, SimulationCache())


def inspect(
    fit: FitResult, cqa: str, result: AugmentResult, generator: str, m: int, alpha: float, key: str
) -> tuple[pd.DataFrame, EnsembleRegressor]:
    """Synthetic rows and the weighted-ERM ensemble at any (generator, m, α), cached by content."""
    cache = st.session_state.setdefault(INSPECT_CACHE, {})
    rows_key = f"{key}|{generator}|{m}"
    if rows_key not in cache:
        params = result.cqas[cqa].generator_params[generator]
        cache[rows_key] = final_synthetic_rows(
            fit.fits[cqa], generator, params, m, result.settings.random_state, cache=simulations()
        )
    model_key = f"{rows_key}|{alpha}"
    if model_key not in cache:
        cache[model_key] = augmented_ensemble(fit.fits[cqa], cache[rows_key], alpha, fit.settings.to_dict())
    return cache[rows_key], cache[model_key]


def holdout_panel(fit: FitResult, cqa: str, ensemble: EnsembleRegressor) -> dict[str, float | None]:
    """Hold-out scores before and after, and their parity plot; returns the scores after."""
    ds, real_only = fit.fits[cqa].dataset, fit.fits[cqa].ensemble
    before, after = test_scores(fit.fits[cqa], real_only), test_scores(fit.fits[cqa], ensemble)
    if ds.n_test:
        st.dataframe(
            pd.DataFrame({"before": before, "after": after})
            .T[["mse", "mae", "r2"]]
            .rename(columns={"mse": "hold-out MSE", "mae": "hold-out MAE", "r2": "hold-out R²"})
        )
        if caution := holdout_caution(ds.n_test):
            st.caption(f":warning: {caution}")
        X_test = ds.X_test.to_numpy(float)
        figure = parity_before_after_figure(
            ds.y_test, real_only.predict(X_test), ensemble.predict(X_test), cqa, ds.X_test.index
        )
        st.plotly_chart(figure, key="aug_parity")
    return after


def distributions_panel(fit: FitResult, cqa: str, rows: pd.DataFrame) -> None:
    """Marginal and pair plots of the real training rows against the synthetic ones."""
    ds = fit.fits[cqa].dataset
    real = ds.X_train.assign(**{cqa: ds.y_train.to_numpy(float)})
    columns = list(real.columns)
    p1, p2, p3 = st.columns(3)
    column = p1.selectbox("Distribution of", columns, index=columns.index(cqa), key="aug_marginal")
    x = p2.selectbox("Pair plot x", columns, index=0, key="aug_pair_x")
    y = p3.selectbox("Pair plot y", columns, index=columns.index(cqa), key="aug_pair_y")
    f1, f2 = st.columns(2)
    f1.plotly_chart(marginals_figure(real, rows, column), key="aug_marginal_fig")
    f2.plotly_chart(pair_figure(real, rows, x, y), key="aug_pair_fig")
