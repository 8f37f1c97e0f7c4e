"""The sidebar: project state at a glance, and saving or opening a whole project."""

from __future__ import annotations

import streamlit as st

from core.project import Project, ProjectError, open_project, save_project
from pages import state

DONE, TODO = ":material/check_circle:", ":material/radio_button_unchecked:"
OPENED = "opened_project"  # file id of the project last opened, so a rerun does not open it again


def project_from_session() -> Project:
    """The session's workspace as a project (models are re-fitted on open)."""
    return state.workspace().to_project()


def restore(project: Project) -> None:
    """Put an opened project in the session, re-fitting its models with the saved settings and seeds."""
    with st.status("Opening the project", expanded=False) as status:
        warnings = state.workspace().open_project(project, note=status.write)
        status.update(label=f"Opened {project.name}", state="complete")
    for warning in warnings:
        st.warning(warning)


def render_status() -> None:
    ws = state.workspace()
    data, fit, design, basket, augmentation = ws.data, ws.fit, ws.design, ws.basket, ws.augmentation
    augmented = (
        [f"{c} ({a.generator}, m = {a.m}, α = {a.alpha:g})" for c, a in augmentation.cqas.items() if a.augmented]
        if augmentation is not None
        else []
    )
    lines = [
        f"{DONE if data is not None else TODO} data: "
        + (f"{ws.data_name} ({len(data)} runs)" if data is not None else "none"),
        f"{DONE if fit is not None else TODO} models: "
        + (", ".join(f"{c} {f.chosen}" for c, f in fit.fits.items()) if fit is not None else "not trained"),
        f"{DONE if augmented else TODO} synthetic data: " + (", ".join(augmented) if augmented else "not applied"),
        f"{DONE if design is not None else TODO} design: "
        + (f"{int(design.points['feasible'].sum())} Pareto points" if design is not None else "not run"),
        f"{DONE if not basket.empty else TODO} basket: " + (f"{len(basket)} profiles" if not basket.empty else "empty"),
    ]
    st.markdown("  \n".join(lines))


def render_save() -> None:
    if state.workspace().data is not None:
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
    upload = st.file_uploader("Open a project (.zip)", type=["zip"], key="project_upload")
    if upload is None or st.session_state.get(OPENED) == upload.file_id:
        return
    try:
        project = open_project(upload.getvalue())
    except ProjectError as exc:
        st.error(f"Not opened: {exc}. Your current project is unchanged.")
        return
    restore(project)
    st.session_state[OPENED] = upload.file_id
    st.success(f"Opened {project.name}")
