"""Models: a surrogate with uncertainty for every CQA, how well it does, and a what-if panel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.doe import DoEData
from core.models.fitting import FitResult, FitSettings, fit_with_settings
from core.plots.doe import profile_figure
from core.workspace import training_key
from pages import state
from pages.components.model_panels import diagnostics_section, metrics_section
from pages.components.model_settings import settings_ui
from pages.components.progress import progress_status
from pages.components.widgets import profile_inputs

state.route_through_app(__file__)

FIT_CACHE = "fit_cache"

st.title("Surrogate models")
st.caption(
    "Each CQA is modelled on the runs where it was measured. Hyper-parameters are searched by K-fold CV. "
    "Each family also sees the runs as raw columns, as profile descriptors every type shares, or both; each "
    "family's feature set is the one with the lowest selection score, the geometric mean of the K-fold CV MSE "
    "and the MSEs when each profile type is left out of training. The average of the best-scoring families "
    "competes by that score like any family. The committee (forest + ridge + GP) is fitted only when chosen and "
    "then stays unless a family predicts the left-out types clearly better (sign test); its linear members "
    "extrapolate, so check its designs in the virtual lab or the lab. An ensemble (or the Gaussian process's own "
    "σ) gives each prediction its uncertainty."
)


def train(data: DoEData, settings: FitSettings, cqas: list[str], holdout: DoEData | None) -> None:
    """Fit, or reuse this session's fit of the same data and settings (keyed by content)."""
    key = training_key(data, settings, cqas, holdout)
    cache = st.session_state.setdefault(FIT_CACHE, {})
    if key not in cache:
        with progress_status("Training", "searching hyper-parameters") as (status, progress):
            result = fit_with_settings(data, settings, cqas, holdout=holdout, progress=progress)
            status.update(label=f"Trained {len(result.fits)} CQA models in {result.seconds:.1f} s", state="complete")
        cache.clear()  # one fit per session is enough to make revisits instant; keep memory bounded
        cache[key] = result
    state.workspace().set_fit(cache[key])


def what_if_section(result: FitResult) -> None:
    st.subheader("What if?")
    schema = state.schema()
    profile, conc, seed_loading = profile_inputs(schema, "whatif")
    row = schema.feature_row(profile, {"initial_concentration": conc, "seed_loading": seed_loading})
    predictor = result.predictor()
    rows = pd.DataFrame([row])
    first = predictor.predict_frame(rows, split=True).iloc[0]
    score, inside = predictor.domain_scores(rows)
    left, right = st.columns([2, 1])
    left.plotly_chart(profile_figure(profile), key="whatif_profile")
    table = pd.DataFrame(
        [
            {
                "CQA": c,
                "predicted": first[f"{c}_mean"],
                "± 1σ": first[f"{c}_std"],
                "± 1σ of the mean": first[f"{c}_std_of_mean"],
                "run scatter ± 1σ": first[f"{c}_noise_std"],
            }
            for c in result.fits
        ]
    )
    right.dataframe(table.round(2), hide_index=True, key="whatif_predictions")
    right.caption(
        "± 1σ: a new run of this profile. Of the mean: what the model does not know about the response the profile "
        "gives on average; run scatter: a run's own spread about it, where a Gaussian-process or grey-box model "
        "estimates it (otherwise empty, and the σ of the mean is the whole σ)."
    )
    where = "within" if inside[0] else "outside"
    right.caption(f"{where} the applicability domain (distance-to-data score {score[0]:.2f}; in domain up to 1)")


data = state.workspace().data
if data is None:
    st.info("Load a DoE first.")
else:
    settings, cqas, holdout = settings_ui(data)
    if st.button("Train models", type="primary", disabled=not cqas, key="train_models"):
        train(data, settings, cqas, holdout)
    result = state.workspace().fit
    if result is not None:
        result = metrics_section(result)
        diagnostics_section(result)
        what_if_section(result)
