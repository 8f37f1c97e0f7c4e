"""Synthetic data & α: generators, the weighted-ERM study, inspecting any α and applying the result."""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from core.augment.result import AugmentResult, augment_fit
from core.augment.sources import source_label
from core.augment.study import AugmentSettings
from core.models.fitting import FitResult
from core.plots.augment import loss_curves_figure
from core.workspace import fit_key
from pages import state
from pages.components.augment_inspect import distributions_panel, holdout_panel, inspect, simulations
from pages.components.augment_settings import settings_ui
from pages.components.progress import progress_status

state.route_through_app(__file__)

STUDY_CACHE = "augment_study_cache"  # content key -> AugmentResult

st.title("Synthetic data & α")
st.caption(
    "Surrogate DoE rows (every row a feasible profile) from an SDV generator or from virtual-lab simulations are "
    "added with weight α (Eq. 1). Source, number of rows m and α are chosen on real rows only, by repeated K-fold CV "
    "and by leaving out one profile type at a time (how well the rows carry knowledge to thinly covered types); "
    "each source is fitted inside each training fold. Augmentation is used only when its gain over the real-only "
    "model (α = 0) on the repeated folds is larger than the fold-to-fold noise and the left-out types do not get "
    "worse. "
    "The grid is scored on the first repeat of the folds and the left-out types, a large ensemble by its first 20 "
    "members (a stand-in); the full model then scores the choice again on every repeat and must confirm the gain."
)


def run_study(fit: FitResult, cqa: str, settings: AugmentSettings, key: str) -> AugmentResult:
    cache = st.session_state.setdefault(STUDY_CACHE, {})
    if key not in cache:
        with progress_status("Running the augmentation study", "fitting generators") as (status, progress):
            result = augment_fit(fit, [cqa], settings, n_jobs=-1, cache=simulations(), progress=progress)
            status.update(label="Study finished", state="complete")
        cache[key] = result
    return cache[key]


def summary(aug) -> None:
    (st.success if aug.augmented else st.info)(aug.evidence())
    theory = "–" if aug.alpha_theory is None else f"{aug.alpha_theory:.2f}"
    c1, c2, c3, c4 = st.columns(4)
    label = source_label(aug.generator) if aug.generator else "real-only (no source: the real-only model is kept)"
    c1.metric("Chosen source", label.split(" (")[0], help=label)  # a metric cuts long values short
    c2.metric("m / α", f"{aug.m} / {aug.alpha:g}")
    c3.metric("α from the scaling law", theory)
    delta = f"{aug.cv_mse_augmented - aug.cv_mse_real_only:.3g}"
    c4.metric("CV MSE", f"{aug.cv_mse_augmented:.4g}", delta=delta, delta_color="inverse")
    st.dataframe(aug.sources_table(), hide_index=True, key="aug_sources")


def show(fit: FitResult, cqa: str, result: AugmentResult, key: str) -> None:
    aug = result.cqas[cqa]
    summary(aug)
    generators = list(aug.curves)
    default = generators.index(aug.generator) if aug.generator in generators else 0
    g1, g2 = st.columns(2)
    generator = g1.selectbox(
        "Generator to inspect", generators, index=default, key="aug_inspect_generator", format_func=source_label
    )
    ms = sorted(aug.curves[generator])
    m = g2.selectbox("m to inspect", ms, index=ms.index(aug.m) if aug.m in ms else len(ms) - 1, key="aug_inspect_m")
    chosen_here = generator == aug.generator
    law = aug.sources.get(generator, {}).get("law")
    st.plotly_chart(
        loss_curves_figure(
            aug.curves[generator],
            aug.m if chosen_here else m,
            aug.alpha if chosen_here else None,
            f"{cqa}: validation loss against α ({source_label(generator)})",
            spread=aug.sources.get(generator, {}).get("spread"),
            law={**law, "m": m} if law else None,
        ),
        key="aug_curves",
    )
    alphas = list(result.settings.alphas)
    start = aug.alpha if chosen_here and aug.alpha in alphas else alphas[0]
    alpha = st.select_slider("α to inspect", alphas, value=start, key="aug_alpha")
    rows, ensemble = inspect(fit, cqa, result, generator, m, alpha, key)
    after = holdout_panel(fit, cqa, ensemble)
    distributions_panel(fit, cqa, rows)
    if st.button(f"Apply: {source_label(generator)}, m = {m}, α = {alpha:g} for {cqa}", key="aug_apply"):
        entry = aug.chosen_instead(generator, m, alpha, after)
        state.workspace().apply_augmentation(cqa, result, entry, rows, ensemble)
        kind = "augmented" if alpha > 0 else "real-only"
        st.success(f"The Design and Validate screens now use the {kind} {cqa} model.")


if state.require_models():
    fit = state.workspace().fit
    cqa, settings = settings_ui(fit)
    key = hashlib.sha256(f"{fit_key(fit)}|{cqa}|{json.dumps(settings.to_dict(), sort_keys=True)}".encode()).hexdigest()
    cached = key in st.session_state.get(STUDY_CACHE, {})
    if cached or st.button("Run the study", type="primary", key="aug_run"):
        show(fit, cqa, run_study(fit, cqa, settings, key), key)
    applied = state.workspace().augmentation
    used = {c: a for c, a in applied.cqas.items() if a.augmented} if applied is not None else {}
    if used:
        st.info("Applied: " + "; ".join(f"{c}: {a.generator}, m = {a.m}, α = {a.alpha:g}" for c, a in used.items()))
