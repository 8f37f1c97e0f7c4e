"""Design: Pareto fronts of thermocycle profiles per number of cycles, pick points, export recipes."""

from __future__ import annotations

import streamlit as st

from core.optimize import response_range
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.run import DesignResult, optimize_profiles
from core.optimize.spec import DesignSpec
from core.plots.design import crystallinity_front_figure, pareto_figure
from pages import state
from pages.components.design_points import basket_panel, ground_truth_panel, selected_point_panel
from pages.components.design_settings import settings_ui

state.route_through_app(__file__)

st.title("Design thermocycle profiles")
st.caption(
    "NSGA-II searches each profile type for the best trade-off between the objectives, on the surrogate models. "
    "Eqs. 2–3 hold for every design; unused ramps are left out (Eq. 4)."
)


def run(spec: DesignSpec) -> None:
    ws = state.workspace()
    predict = predict_fn(ws.predictor(), cqa_limits(state.schema()))
    bar = st.progress(0.0, text="starting")
    with st.status("Optimising profiles", expanded=False) as status:
        try:
            result = optimize_profiles(
                predict,
                state.schema(),
                spec,
                progress=lambda f, m: bar.progress(f, text=m),
                experiments=ws.data.inputs,
                measured=ws.data.cqas,
            )
        except ValueError as exc:
            status.update(label=f"Design failed: {exc}", state="error")
            return
        finally:
            bar.empty()  # the status line below says how it ended
        status.update(label=f"Optimised in {result.seconds:.1f} s", state="complete")  # counts: the caption below
    ws.set_design(result)


def stale_note(result: DesignResult) -> None:
    """Designs made with earlier models are marked, with the same design one click away."""
    if not state.workspace().design_is_stale():
        return
    st.warning("These designs were made with earlier models: the data or the models have changed since.")
    if st.button("Re-run this design with the current models", key="rerun_design"):
        run(result.spec)
        st.rerun()


def selection_from_chart(event: object) -> None:
    points = getattr(getattr(event, "selection", None), "points", None) or []
    ids = [p["customdata"] for p in points if isinstance(p, dict) and p.get("customdata")]
    if ids and ids != state.workspace().selected_points:
        state.workspace().select_points(ids)


def fronts(result: DesignResult, cqas: list[str]) -> None:
    points = result.points[result.points["feasible"]]
    took = f" in {result.seconds:.1f} s" if result.seconds > 0 else ""  # a reopened project did not time it
    outside = int((~points["in_domain"]).sum()) if "in_domain" in points else 0
    beyond = f"; {outside} of them beyond the applicability domain, drawn hollow" if outside else ""
    st.caption(
        f"{len(points)} feasible Pareto points from {result.generations} generations"
        f"{took}{' — stopped early' if result.cancelled else ''}{beyond}"
    )
    stale_note(result)
    note = response_range.summary(points, response_range.measured_ranges(state.workspace().data.cqas))
    if note:
        st.warning(note)
    only_merged = st.toggle("Only points that no other profile type beats", key="merged_only")
    shown = result.merged() if only_merged else points
    x_axis, y_axis = result.chart_axes()
    colour = "crystallinity" if "crystallinity" in cqas else None
    # Plotly marks the chosen points itself; redrawing the figure with them ringed made the browser drop
    # the next box selection, so the chart stays the same while the engineer picks.
    event = st.plotly_chart(
        pareto_figure(shown, x=x_axis, y=y_axis, colour=colour),
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
        key="pareto_chart",
    )
    selection_from_chart(event)
    if colour and "D50" in cqas:
        with st.expander("Predicted crystallinity along the fronts"):
            st.plotly_chart(crystallinity_front_figure(shown), key="crystallinity_front")
    with st.expander("All Pareto points"):
        st.dataframe(shown[result.table_columns(shown)].round(3), hide_index=True, key="pareto_table")
    selected_point_panel(points)
    ground_truth_panel(points)


if state.require_models():
    cqas = state.workspace().predictor().cqa_names
    spec = settings_ui(cqas)
    for caution in state.workspace().fit.mean_cautions(sorted(spec.quantities) if spec else []):
        st.warning(caution)
    if st.button("Run design", type="primary", disabled=spec is None, key="run_design") and spec is not None:
        run(spec)
    result = state.workspace().design
    if result is not None and not result.points["feasible"].any():
        st.warning(
            "The design found no feasible points; relax the constraints or bounds, run more generations, "
            "or let designs leave the applicability domain or seed freely."
        )
    elif result is not None:
        fronts(result, cqas)
    basket_panel()
