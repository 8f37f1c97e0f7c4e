"""The Synthetic screen's study settings: sources, sizes m, the α grid, the folds and the selection rule."""

from __future__ import annotations

import streamlit as st

from core.augment.generators import GENERATORS
from core.augment.sources import SOURCES, VIRTUAL_LAB, source_label
from core.augment.study import DEFAULT_LAB_M, DEFAULT_M, AugmentSettings, alpha_grid
from core.models.fitting import FitResult

NEURAL = ("ctgan", "tvae")
RULES = {
    "one_se": "only a gain larger than its noise (one standard error)",
    "law": "the same, with α from the scaling law",
    "lowest": "lowest CV MSE",
}


def settings_ui(fit: FitResult) -> tuple[str, AugmentSettings]:
    c1, c2, c3 = st.columns([1, 2, 2])
    cqa = c1.selectbox("CQA", list(fit.fits), key="aug_cqa")
    generators = c2.multiselect(
        "Sources", list(SOURCES), default=list(SOURCES), key="aug_generators", format_func=source_label
    )
    m_values = c3.multiselect("Synthetic rows m", list(DEFAULT_M), default=list(DEFAULT_M), key="aug_m")
    c4, c5, c6, c7, c8 = st.columns(5)
    step = c4.selectbox("α step", [0.05, 0.1, 0.25, 0.5], key="aug_step")
    folds = c5.selectbox("CV folds (K)", [5, 3], key="aug_folds")
    repeats = c6.selectbox(
        "Repeats of the folds",
        [3, 2, 1],
        key="aug_repeats",
        help="The grid is scored on the first repeat; the chosen candidate is decided on all of them.",
    )
    tune = c7.checkbox("Tune generators by quality score", value=False, key="aug_tune")
    epochs = c8.number_input("Epochs (CTGAN/TVAE, untuned)", 1, 1000, 25, key="aug_epochs", disabled=tune)
    lab_m = st.multiselect(
        "Simulated runs m (virtual lab)",
        sorted({10, *DEFAULT_LAB_M}),
        default=list(DEFAULT_LAB_M),
        key="aug_lab_m",
        disabled=VIRTUAL_LAB not in generators,
    )
    selection = st.radio(
        "Choose (source, m, α) by",
        list(RULES),
        index=list(RULES).index(AugmentSettings.selection),
        format_func=RULES.get,
        horizontal=True,
        key="aug_selection",
        help="With ~20 rows the CV MSE is noisy and the lowest of hundreds of candidates is biased low. The default "
        "rule leaves out candidates that make the left-out profile types worse, keeps the real-only model unless the "
        "best gain on the repeated folds exceeds its standard error (corrected for overlapping training sets), then "
        "takes the smallest α within one standard error of the best.",
    )
    params = {g: {**GENERATORS[g].defaults, "epochs": int(epochs)} for g in generators if g in NEURAL}
    settings = AugmentSettings(
        generators=tuple(generators) or SOURCES,
        m_values=tuple(m_values) or DEFAULT_M,
        lab_m_values=tuple(lab_m) or DEFAULT_LAB_M,
        alphas=alpha_grid(step),
        folds=folds,
        repeats=repeats,
        tune=tune,
        generator_params=params,
        selection=selection,
        random_state=fit.settings.random_state,
    )
    return cqa, settings
