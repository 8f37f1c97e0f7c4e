"""Synthetic data & α: generators, the weighted-ERM study, inspecting any α and applying the result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pandas as pd
import streamlit as st

from core.augment.generators import GENERATORS
from core.augment.result import AugmentResult, augment_fit, augmented_ensemble, final_synthetic_rows, test_scores
from core.augment.simulated import SimulationCache
from core.augment.sources import SOURCES, VIRTUAL_LAB, source_label
from core.augment.study import DEFAULT_LAB_M, DEFAULT_M, AugmentSettings
from core.models.fitting import FitResult
from core.models.metrics import holdout_caution
from core.plots.augment import loss_curves_figure, marginals_figure, pair_figure, parity_before_after_figure
from core.workspace import fit_key
from pages import state

STUDY_CACHE = "augment_study_cache"  # content key -> AugmentResult
INSPECT_CACHE = "augment_inspect_cache"  # content key -> (synthetic rows, ensemble)
SIMULATION_CACHE = "augment_simulations"
NEURAL = ("ctgan", "tvae")

st.title("Synthetic data & α")
st.caption(
    "Surrogate DoE rows (every row a feasible profile) from an SDV generator or from virtual-lab simulations are "
    "added with weight α (Eq. 1). Source, number of rows m and α are chosen by repeated K-fold CV on real rows only; "
    "each source is fitted inside each training fold. Augmentation is used only when its CV gain over the "
    "real-only model (α = 0) is larger than the fold-to-fold noise."
)


def simulations() -> SimulationCache:
    """Virtual-lab runs simulated so far in this session: a rerun or an inspection reuses them."""
    return st.session_state.setdefault(SIMULATION_CACHE, SimulationCache())


def settings_ui(fit: FitResult) -> tuple[str, AugmentSettings]:
    c1, c2, c3 = st.columns([1, 2, 2])
    cqa = c1.selectbox("CQA", list(fit.fits), key="aug_cqa")
    generators = c2.multiselect(
        "Sources",
        list(SOURCES),
        default=list(SOURCES),
        key="aug_generators",
        format_func=source_label,
    )
    m_values = c3.multiselect("Synthetic rows m", list(DEFAULT_M), default=list(DEFAULT_M), key="aug_m")
    c4, c5, c6, c7, c8 = st.columns(5)
    step = c4.selectbox("α step", [0.05, 0.1, 0.25, 0.5], key="aug_step")
    folds = c5.selectbox("CV folds (K)", [5, 3], key="aug_folds")
    repeats = c6.selectbox("Repeats of the folds", [3, 2, 1], key="aug_repeats")
    tune = c7.checkbox("Tune generators by quality score", value=False, key="aug_tune")
    epochs = c8.number_input("Epochs (CTGAN/TVAE, untuned)", 1, 1000, 25, key="aug_epochs", disabled=tune)
    lab_m = st.multiselect(
        "Simulated runs m (virtual lab)",
        sorted({10, *DEFAULT_LAB_M}),
        default=list(DEFAULT_LAB_M),
        key="aug_lab_m",
        disabled=VIRTUAL_LAB not in generators,
    )
    rules = {
        "one_se": "only a gain larger than its noise (one standard error)",
        "law": "the same, with α from the scaling law",
        "lowest": "lowest CV MSE",
    }
    selection = st.radio(
        "Choose (source, m, α) by",
        list(rules),
        index=list(rules).index(AugmentSettings.selection),
        format_func=rules.get,
        horizontal=True,
        key="aug_selection",
        help="With ~20 rows the CV MSE is noisy and the lowest of hundreds of candidates is biased low. The default "
        "rule keeps the real-only model unless the best gain exceeds its standard error across the repeated folds "
        "(corrected for overlapping training sets), then takes the smallest α within one standard error of the best.",
    )
    n_steps = round(1 / step)
    params = {g: {**GENERATORS[g].defaults, "epochs": int(epochs)} for g in generators if g in NEURAL}
    settings = AugmentSettings(
        generators=tuple(generators) or SOURCES,
        m_values=tuple(m_values) or DEFAULT_M,
        lab_m_values=tuple(lab_m) or DEFAULT_LAB_M,
        alphas=tuple(round(k / n_steps, 4) for k in range(n_steps + 1)),
        folds=folds,
        repeats=repeats,
        tune=tune,
        generator_params=params,
        selection=selection,
        random_state=fit.settings.random_state,
    )
    return cqa, settings


def sources_table(aug) -> pd.DataFrame:
    """One row per source: its quality score, its own choice under the rule and its best CV gain with the noise."""
    rows = []
    for g, s in aug.sources.items():
        best = s.get("best", {})
        rows.append(
            {
                "source": s["label"],
                "quality score": aug.quality_scores.get(g),
                "own choice (m / α)": s.get("skipped") or ("none" if not s["alpha"] else f"{s['m']} / {s['alpha']:g}"),
                "best CV gain": best.get("gain"),
                "± noise (SE)": best.get("gain_se"),
                "α theory": s.get("law", {}).get("alpha_theory"),
                "settings": json.dumps(aug.generator_params.get(g, {})),
            }
        )
    return pd.DataFrame(rows)


def run_study(fit: FitResult, cqa: str, settings: AugmentSettings, key: str) -> AugmentResult:
    cache = st.session_state.setdefault(STUDY_CACHE, {})
    if key not in cache:
        bar = st.progress(0.0, text="fitting generators")
        with st.status("Running the augmentation study", expanded=False) as status:
            result = augment_fit(
                fit,
                [cqa],
                settings,
                n_jobs=-1,
                cache=simulations(),
                progress=lambda f, m: (bar.progress(min(f, 1.0), text=m), status.write(m)),
            )
            status.update(label="Study finished", state="complete")
        bar.empty()
        cache[key] = result
    return cache[key]


def inspect(fit: FitResult, cqa: str, result: AugmentResult, generator: str, m: int, alpha: float, key: str):
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


def show(fit: FitResult, cqa: str, result: AugmentResult, key: str) -> None:
    aug = result.cqas[cqa]
    if aug.augmented:
        st.success(aug.evidence())
    else:
        st.info(aug.evidence())
    theory = "–" if aug.alpha_theory is None else f"{aug.alpha_theory:.2f}"
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Chosen source", source_label(aug.generator) if aug.generator else "none: real-only model kept")
    c2.metric("m / α", f"{aug.m} / {aug.alpha:g}")
    c3.metric("α from the scaling law", theory)
    c4.metric(
        "CV MSE",
        f"{aug.cv_mse_augmented:.4g}",
        delta=f"{aug.cv_mse_augmented - aug.cv_mse_real_only:.3g}",
        delta_color="inverse",
    )
    st.dataframe(sources_table(aug), hide_index=True, key="aug_sources")
    generators = list(aug.curves)
    default = generators.index(aug.generator) if aug.generator in generators else 0
    g1, g2 = st.columns(2)
    generator = g1.selectbox(
        "Generator to inspect",
        generators,
        index=default,
        key="aug_inspect_generator",
        format_func=source_label,
    )
    ms = sorted(aug.curves[generator])
    m = g2.selectbox("m to inspect", ms, index=ms.index(aug.m) if aug.m in ms else len(ms) - 1, key="aug_inspect_m")
    chosen_here = generator == aug.generator
    summary = aug.sources.get(generator, {})
    st.plotly_chart(
        loss_curves_figure(
            aug.curves[generator],
            aug.m if chosen_here else m,
            aug.alpha if chosen_here else None,
            f"{cqa}: validation loss against α ({source_label(generator)})",
            spread=summary.get("spread"),
            law={**summary["law"], "m": m} if "law" in summary else None,
        ),
        key="aug_curves",
    )
    alphas = list(result.settings.alphas)
    start = aug.alpha if chosen_here and aug.alpha in alphas else alphas[0]
    alpha = st.select_slider("α to inspect", alphas, value=start, key="aug_alpha")
    rows, ensemble = inspect(fit, cqa, result, generator, m, alpha, key)
    ds = fit.fits[cqa].dataset
    before, after = test_scores(fit.fits[cqa], fit.fits[cqa].ensemble), test_scores(fit.fits[cqa], ensemble)
    if ds.n_test:
        st.dataframe(
            pd.DataFrame({"before": before, "after": after})
            .T[["mse", "mae", "r2"]]
            .rename(columns={"mse": "hold-out MSE", "mae": "hold-out MAE", "r2": "hold-out R²"})
        )
        if caution := holdout_caution(ds.n_test):
            st.caption(f":warning: {caution}")
        st.plotly_chart(
            parity_before_after_figure(
                ds.y_test,
                fit.fits[cqa].ensemble.predict(ds.X_test.to_numpy(float)),
                ensemble.predict(ds.X_test.to_numpy(float)),
                cqa,
                ds.X_test.index,
            ),
            key="aug_parity",
        )
    real = ds.X_train.assign(**{cqa: ds.y_train.to_numpy(float)})
    columns = list(real.columns)
    p1, p2, p3 = st.columns(3)
    column = p1.selectbox("Distribution of", columns, index=columns.index(cqa), key="aug_marginal")
    x = p2.selectbox("Pair plot x", columns, index=0, key="aug_pair_x")
    y = p3.selectbox("Pair plot y", columns, index=columns.index(cqa), key="aug_pair_y")
    f1, f2 = st.columns(2)
    f1.plotly_chart(marginals_figure(real, rows, column), key="aug_marginal_fig")
    f2.plotly_chart(pair_figure(real, rows, x, y), key="aug_pair_fig")
    if st.button(f"Apply: {source_label(generator)}, m = {m}, α = {alpha:g} for {cqa}", key="aug_apply"):
        entry = replace(
            aug,
            generator=generator if alpha > 0 else None,
            m=m,
            alpha=alpha,
            test_mse_after=after["mse"],
            test_mae_after=after["mae"],
        )
        state.workspace().apply_augmentation(cqa, result, entry, rows, ensemble)
        st.success(
            f"The Design and Validate screens now use the {'augmented' if alpha > 0 else 'real-only'} {cqa} model."
        )


if state.require_models():
    fit = state.workspace().fit
    cqa, settings = settings_ui(fit)
    key = hashlib.sha256(f"{fit_key(fit)}|{cqa}|{json.dumps(settings.to_dict(), sort_keys=True)}".encode()).hexdigest()
    cached = key in st.session_state.get(STUDY_CACHE, {})
    if cached or st.button("Run the study", type="primary", key="aug_run"):
        show(fit, cqa, run_study(fit, cqa, settings, key), key)
    applied = state.workspace().augmentation
    if applied is not None:
        used = {c: a for c, a in applied.cqas.items() if a.augmented}
        if used:
            st.info("Applied: " + "; ".join(f"{c}: {a.generator}, m = {a.m}, α = {a.alpha:g}" for c, a in used.items()))
