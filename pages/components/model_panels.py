"""The Models screen's result panels: the metrics of every family, the choice per CQA and the diagnostics."""

from __future__ import annotations

import streamlit as st

from core.models.fitting import FitResult
from core.models.inspection import error_by_type_table, partial_dependence_table, permutation_importance_table
from core.models.metrics import holdout_caution
from core.models.zoo import FAMILIES
from core.plots.models import (
    importance_figure,
    model_comparison_figure,
    parity_figure,
    partial_dependence_figure,
    type_parity_figure,
    uncertainty_figure,
)
from pages import state

METRIC_COLUMNS = [
    "cqa",
    "family",
    "features",
    "cv_mse",
    "cv_mse_sd",
    "selection_score",
    "train_r2",
    "test_r2",
    "test_mse",
    "test_mae",
    "fit_time_s",
    "chosen",
]


def metrics_section(result: FitResult) -> FitResult:
    for cqa, why in result.skipped.items():
        st.warning(f"{cqa} not modelled: {why}")
    table = result.metrics_table()
    shown = table[METRIC_COLUMNS]
    st.dataframe(
        shown.style.format(precision=3).apply(
            lambda r: ["font-weight: bold; background-color: #e3f1e3" if r["chosen"] else "" for _ in r], axis=1
        ),
        hide_index=True,
        placeholder="",
        key="metrics_table",
    )
    cols = st.columns(len(result.fits) or 1)
    for col, (cqa, fit) in zip(cols, result.fits.items(), strict=False):
        m = fit.metrics
        gain = m.test_gain_over_mean
        col.metric(
            f"{cqa}: {FAMILIES[m.best_model].label} on {m.features}",
            f"test MSE {m.test_mse:.3g}" if m.test_mse is not None else "no test rows",
            delta=None if gain is None else f"{gain:+.0%} against the training mean",
            delta_color="inverse",
            help=f"CV MSE {m.cv_mse:.3g}; test R² {'-' if m.test_r2 is None else f'{m.test_r2:.2f}'} (against the "
            "hold-out's own mean: a few similar runs make it negative even for good predictions); "
            f"±1σ coverage on hold-out: {m.coverage_1sd}",
        )
        if caution := holdout_caution(m.n_test):
            col.caption(f":warning: {caution}")
        if caution := m.mean_caution(cqa, result.settings.folds):
            col.warning(caution)
        families = list(m.models)
        choice = col.selectbox(
            f"Model for {cqa}",
            families,
            index=families.index(m.best_model),
            format_func=lambda n: FAMILIES[n].label,
            key=f"choice_{cqa}",
        )
        if choice != m.best_model:
            result = state.workspace().choose_model(cqa, choice)
    st.plotly_chart(model_comparison_figure(result.metrics_table()), key="model_comparison")
    return result


def diagnostics_section(result: FitResult) -> None:
    tabs = st.tabs(list(result.fits))
    for tab, (cqa, fit) in zip(tabs, result.fits.items(), strict=True):
        unit = state.schema().variable(cqa).unit
        table = fit.prediction_table()
        with tab:
            left, right = st.columns(2)
            left.plotly_chart(parity_figure(table, cqa, unit), key=f"parity_{cqa}")
            right.plotly_chart(uncertainty_figure(table, cqa, unit), key=f"uncertainty_{cqa}")
            left, right = st.columns(2)
            left.plotly_chart(type_parity_figure(table, cqa, unit), key=f"type_parity_{cqa}")
            right.markdown("**Errors per profile type**")
            right.dataframe(error_by_type_table(fit).round(3), hide_index=True, key=f"type_errors_{cqa}")
            m = fit.metrics
            if m.coverage_1sd is not None:
                st.caption(
                    f"Hold-out coverage: {m.coverage_1sd:.0%} inside ±1σ (nominal 68 %), "
                    f"{m.coverage_2sd:.0%} inside ±2σ (nominal 95 %); {m.calibration} calibration."
                )
            left, right = st.columns(2)
            if left.toggle("Permutation importance", key=f"importance_on_{cqa}"):
                left.plotly_chart(
                    importance_figure(permutation_importance_table(fit, n_repeats=5), cqa), key=f"importance_{cqa}"
                )
            inputs = [c for c in fit.dataset.X_train.columns if fit.dataset.X_train[c].nunique() > 1]
            picked = right.multiselect(
                "Partial dependence on one or two inputs",
                inputs,
                max_selections=2,
                key=f"pd_inputs_{cqa}",
                help="The grey box (virtual lab + GP) simulates every training run at every grid value (20 for "
                "one input, 400 for two), so it takes longer than the other families.",
            )
            if picked:
                right.plotly_chart(
                    partial_dependence_figure(partial_dependence_table(fit, picked), cqa, unit), key=f"pd_{cqa}"
                )
