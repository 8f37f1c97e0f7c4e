"""Models: a surrogate with uncertainty for every CQA, how well it does, and a what-if panel."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from core.doe import DoEData, load_doe
from core.export import Recipe
from core.models.features import FEATURE_SETS
from core.models.fitting import FitResult, FitSettings, fit_with_settings
from core.models.inspection import error_by_type_table, partial_dependence_table, permutation_importance_table
from core.models.metrics import holdout_caution
from core.models.search import SEARCH_MODES
from core.models.uncertainty import UQ_METHODS
from core.models.zoo import FAMILIES
from core.plots.doe import profile_figure
from core.plots.models import (
    importance_figure,
    model_comparison_figure,
    parity_figure,
    partial_dependence_figure,
    type_parity_figure,
    uncertainty_figure,
)
from pages import state
from pages.widgets import profile_inputs

FIT_CACHE = "fit_cache"

st.title("Surrogate models")
st.caption(
    "Each CQA is modelled on the runs where it was measured. Hyper-parameters are searched by K-fold CV. "
    "Each family also sees the runs as raw columns, as profile descriptors every type shares, or both; the feature "
    "set and family chosen are those with the lowest selection score, the geometric mean of the K-fold CV MSE "
    "and the MSEs when each profile type is left out of training, except that the committee (forest + ridge + GP) "
    "stays unless a family predicts the left-out types clearly better (sign test). An ensemble (or the Gaussian "
    "process's own σ) gives each prediction its uncertainty."
)


def settings_ui(data: DoEData) -> tuple[FitSettings, list[str], DoEData | None]:
    counts = data.cqa_counts()
    c1, c2, c3, c4 = st.columns(4)
    cqas = c1.multiselect(
        "CQAs", [c for c, n in counts.items() if n], default=[c for c, n in counts.items() if n], key="model_cqas"
    )
    search = c2.selectbox(
        "Search",
        SEARCH_MODES,
        key="model_search",
        help="fast: successive screening of the paper's grids; exhaustive: full GridSearchCV",
    )
    folds = c3.selectbox("CV folds (K)", [3, 5], key="model_folds")
    uq = c4.selectbox(
        "Uncertainty",
        UQ_METHODS,
        key="model_uq",
        help="mccv: Monte Carlo cross-validation; bootstrap; oob: the forest's own trees",
    )
    c5, c8, c6, c7 = st.columns([2, 1, 1, 1])
    families = c5.multiselect(
        "Model families",
        list(FAMILIES),
        default=list(FAMILIES),
        format_func=lambda n: FAMILIES[n].label,
        key="model_families",
    )
    features = c8.selectbox(
        "Model inputs",
        ["auto", *FEATURE_SETS],
        key="model_features",
        help="raw: the sheet's columns; descriptors: batch time, amplitudes, rates, re-dissolution depths shared "
        "by every profile type; both; auto: chosen per family by validation",
    )
    members = c6.number_input("Ensemble members", 2, 100, 25, key="model_members")
    seed = c7.number_input("Seed", 0, 2**31 - 1, 0, key="model_seed")
    holdout_upload = st.file_uploader(
        "Hold-out file (optional; otherwise a stratified 12.5 % split)", type=["csv", "xlsx"], key="holdout_upload"
    )
    holdout = None
    if holdout_upload is not None:
        loaded = load_doe(holdout_upload.getvalue(), filename=holdout_upload.name, schema=data.schema)
        if loaded.data is None:
            st.error("Hold-out file not used: " + "; ".join(p.message for p in loaded.report.errors[:3]))
        else:
            holdout = loaded.data
    settings = FitSettings(
        search=search,
        folds=int(folds),
        uq=uq,
        n_members=int(members),
        random_state=int(seed),
        families=tuple(families or FAMILIES),
        features=features,
        solubility=data.schema.solubility,
    )
    return settings, cqas, holdout


def train(data: DoEData, settings: FitSettings, cqas: list[str], holdout: DoEData | None) -> None:
    """Fit, or reuse this session's fit of the same data and settings (keyed by content)."""
    key = hashlib.sha256(
        data.to_csv_bytes()
        + (holdout.to_csv_bytes() if holdout is not None else b"")
        + json.dumps([settings.to_dict(), cqas], sort_keys=True).encode()
    ).hexdigest()
    cache = st.session_state.setdefault(FIT_CACHE, {})
    if key not in cache:
        bar = st.progress(0.0, text="searching hyper-parameters")
        with st.status("Training", expanded=False) as status:
            result = fit_with_settings(
                data,
                settings,
                cqas,
                holdout=holdout,
                progress=lambda f, m: (bar.progress(min(f, 1.0), text=m), status.write(m)),
            )
            status.update(label=f"Trained {len(result.fits)} CQA models in {result.seconds:.1f} s", state="complete")
        bar.empty()
        cache.clear()  # one fit per session is enough to make revisits instant; keep memory bounded
        cache[key] = result
    st.session_state[state.FIT] = cache[key]


def metrics_section(result: FitResult) -> FitResult:
    for cqa, why in result.skipped.items():
        st.warning(f"{cqa} not modelled: {why}")
    table = result.metrics_table()
    shown = table[
        [
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
    ]
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
        col.metric(
            f"{cqa}: {FAMILIES[m.best_model].label} on {m.features}",
            f"test R² {m.test_r2:.2f}" if m.test_r2 is not None else "no test rows",
            help=f"CV MSE {m.cv_mse:.3g}; ±1σ coverage on hold-out: {m.coverage_1sd}",
        )
        if caution := holdout_caution(m.n_test):
            col.caption(f":warning: {caution}")
        families = list(m.models)
        choice = col.selectbox(
            f"Model for {cqa}",
            families,
            index=families.index(m.best_model),
            format_func=lambda n: FAMILIES[n].label,
            key=f"choice_{cqa}",
        )
        if choice != m.best_model:
            result = result.with_choice(cqa, choice)
            st.session_state[state.FIT] = result
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
                "Partial dependence on one or two inputs", inputs, max_selections=2, key=f"pd_inputs_{cqa}"
            )
            if picked:
                right.plotly_chart(
                    partial_dependence_figure(partial_dependence_table(fit, picked), cqa, unit), key=f"pd_{cqa}"
                )


def what_if_section(result: FitResult) -> None:
    st.subheader("What if?")
    schema = state.schema()
    profile, conc, seed = profile_inputs(schema, "whatif")
    row = Recipe("what-if", profile, conc, seed).feature_row(schema)
    predictor = result.predictor()
    rows = pd.DataFrame([row])
    prediction = predictor.predict_frame(rows)
    score, inside = predictor.domain_scores(rows)
    left, right = st.columns([2, 1])
    left.plotly_chart(profile_figure(profile), key="whatif_profile")
    table = pd.DataFrame(
        [
            {"CQA": c, "predicted": prediction[f"{c}_mean"].iloc[0], "± 1σ": prediction[f"{c}_std"].iloc[0]}
            for c in result.fits
        ]
    )
    right.dataframe(table.round(2), hide_index=True, key="whatif_predictions")
    where = "within" if inside[0] else "outside"
    right.caption(f"{where} the applicability domain (distance-to-data score {score[0]:.2f}; in domain up to 1)")


data = st.session_state.get(state.DOE)
if data is None:
    st.info("Load a DoE first.")
else:
    settings, cqas, holdout = settings_ui(data)
    if st.button("Train models", type="primary", disabled=not cqas, key="train_models"):
        train(data, settings, cqas, holdout)
    result = st.session_state.get(state.FIT)
    if result is not None:
        result = metrics_section(result)
        diagnostics_section(result)
        what_if_section(result)
