"""The sidebar: project state at a glance, and saving or opening a whole project."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.augment.persistence import augment_files, augment_from_files
from core.models.fitting import FitResult, FitSettings, fit_with_settings
from core.models.persistence import RunFormatError
from core.optimize.run import DesignResult
from core.optimize.spec import DesignSpec
from core.project import MODEL_PREFIX, Project, ProjectError, model_files, open_project, save_project, saved_models
from pages import state

DONE, TODO = ":material/check_circle:", ":material/radio_button_unchecked:"


def project_from_session() -> Project:
    """Everything worth keeping, as data, settings, results and tables (models are re-fitted on open)."""
    ss = st.session_state
    settings: dict = {}
    results: dict = {}
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    fit = ss.get(state.FIT)
    if fit is not None:
        settings["models"] = {"settings": fit.settings.to_dict(), "cqas": list(fit.fits)}
        results["metrics"] = fit.metrics_dict()
        if fit.holdout is not None:
            tables["holdout"] = fit.holdout.to_frame()
        applied = ss.get(state.AUGMENT)
        files = model_files(fit)
        if applied is not None and applied["fit"] is fit:
            files |= augment_files(applied["result"])
    design = ss.get(state.DESIGN)
    if design is not None:
        settings["design"] = {"spec": design.spec.to_dict(), "generations": design.generations}
        tables["design_points"] = design.points
    basket = ss.get(state.BASKET)
    if basket is not None and not basket.empty:
        tables["basket"] = basket
    return Project(ss[state.DOE], ss.get(state.DOE_NAME, "project"), settings, results, tables, files)


def restore(project: Project) -> None:
    """Put an opened project in the session, re-fitting its models with the saved settings and seeds."""
    ss = st.session_state
    for key in (state.FIT, state.DESIGN, state.DESIGN_MODELS, state.BASKET, state.SELECTED_POINTS, state.AUGMENT):
        ss.pop(key, None)
    state.set_doe(project.data, project.name, None, source=f"project:{project.name}")
    models = project.settings.get("models")
    if models:
        ss[state.FIT] = refit_models(project, models)
        if any(not name.startswith(MODEL_PREFIX) for name in project.files):
            try:
                with st.spinner("Re-fitting the applied synthetic-data augmentation"):
                    augment = augment_from_files(project.files, ss[state.FIT])
                ss[state.AUGMENT] = {"fit": ss[state.FIT], "result": augment}
            except RunFormatError as exc:
                st.warning(f"The project's synthetic-data augmentation was not restored: {exc}")
    design = project.settings.get("design")
    if design and "design_points" in project.tables:
        points = project.tables["design_points"]
        ss[state.DESIGN] = DesignResult(points, DesignSpec.from_dict(design["spec"]), design["generations"], False, 0.0)
        ss[state.DESIGN_MODELS] = state.models_in_use()  # saved with the models it was made with
    if "basket" in project.tables:
        ss[state.BASKET] = project.tables["basket"]


def refit_models(project: Project, models: dict) -> FitResult:
    """The saved configuration re-fitted (no search); a project saved without it repeats the search."""
    try:
        with st.spinner("Re-fitting the saved models (their saved configuration, no search)"):
            fit = saved_models(project)
        if fit is not None:
            return fit
    except RunFormatError as exc:
        st.warning(f"The saved model configuration could not be used ({exc}); the models are searched again.")
    with st.spinner("Re-fitting the saved models (searching hyper-parameters again)"):
        return fit_with_settings(
            project.data,
            FitSettings.from_dict(models["settings"]),
            models["cqas"],
            holdout=project.tables.get("holdout"),
        )


def render_status() -> None:
    ss = st.session_state
    data = ss.get(state.DOE)
    fit, design, basket = ss.get(state.FIT), ss.get(state.DESIGN), ss.get(state.BASKET)
    applied = ss.get(state.AUGMENT)
    augmented = (
        [f"{c} ({a.generator}, m = {a.m}, α = {a.alpha:g})" for c, a in applied["result"].cqas.items() if a.augmented]
        if fit is not None and applied is not None and applied["fit"] is fit
        else []
    )
    lines = [
        f"{DONE if data is not None else TODO} data: "
        + (f"{ss[state.DOE_NAME]} ({len(data)} runs)" if data is not None else "none"),
        f"{DONE if fit is not None else TODO} models: "
        + (", ".join(f"{c} {f.chosen}" for c, f in fit.fits.items()) if fit is not None else "not trained"),
        f"{DONE if augmented else TODO} synthetic data: " + (", ".join(augmented) if augmented else "not applied"),
        f"{DONE if design is not None else TODO} design: "
        + (f"{int(design.points['feasible'].sum())} Pareto points" if design is not None else "not run"),
        f"{DONE if basket is not None and not basket.empty else TODO} basket: "
        + (f"{len(basket)} profiles" if basket is not None and not basket.empty else "empty"),
    ]
    st.markdown("  \n".join(lines))


def render_save() -> None:
    if st.session_state.get(state.DOE) is not None:
        st.download_button(
            "Save project (.zip)",
            save_project(project_from_session()),
            "processtwin_project.zip",
            "application/zip",
            key="save_project",
            help="Data, settings, seeds, designs, basket and applied synthetic rows as CSV/JSON; models re-fit on open",
        )


def render_open() -> None:
    """Open a saved project; a bad file leaves the current project as it is."""
    ss = st.session_state
    upload = st.file_uploader("Open a project (.zip)", type=["zip"], key="project_upload")
    if upload is None or ss.get("opened_project") == upload.file_id:
        return
    try:
        project = open_project(upload.getvalue())
    except ProjectError as exc:
        st.error(f"Not opened: {exc}. Your current project is unchanged.")
        return
    restore(project)
    ss["opened_project"] = upload.file_id
    st.success(f"Opened {project.name}")
