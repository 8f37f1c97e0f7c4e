"""The Models screen's settings: CQAs, search, folds, uncertainty, families, inputs, ensemble size, seed, hold-out."""

from __future__ import annotations

import streamlit as st

from core.doe import DoEData, load_doe
from core.models.features import FEATURE_SETS
from core.models.fitting import FitSettings
from core.models.search import SEARCH_MODES
from core.models.uncertainty import UQ_METHODS
from core.models.zoo import DEFAULT_FAMILIES, FAMILIES, SEARCHED_FAMILIES


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
        list(SEARCHED_FAMILIES),
        default=list(DEFAULT_FAMILIES),
        format_func=lambda n: FAMILIES[n].label,
        key="model_families",
        help="Virtual lab + GP: the virtual lab's prediction (another compound, calibrated on your runs) plus a "
        "Gaussian process on what it gets wrong; chosen only where validation prefers it, and only for the "
        "template's inputs and CQAs. It simulates every row it predicts, so designs on it take longer.",
    )
    features = c8.selectbox(
        "Model inputs",
        ["auto", *FEATURE_SETS],
        key="model_features",
        help="raw: the sheet's columns; descriptors: batch time, amplitudes, rates, re-dissolution depths shared "
        "by every profile type; both; auto: chosen per family by validation",
    )
    members = c6.number_input("Ensemble members", 2, 100, 25, key="model_members")
    random_seed = c7.number_input("Seed", 0, 2**31 - 1, 0, key="model_seed")
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
        random_state=int(random_seed),
        families=tuple(families or DEFAULT_FAMILIES),
        features=features,
        solubility=data.schema.solubility,
    )
    return settings, cqas, holdout
