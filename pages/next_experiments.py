"""Next experiments: propose a batch, take it to the lab (or the virtual lab), append the results, repeat."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from core.doe import DoEData, LoadResult
from core.optimize.spec import Constraint, data_temperature_ranges, n_temperatures_for_cycles
from core.plan.loop import append_filled_workbook, history_frame, run_in_virtual_lab
from core.plan.propose import STRATEGIES, Plan, PlanSpec, predictions_table
from core.plan.recommend import basket_points, recommend
from core.plan.workbook import plan_workbook
from core.plots.plan import history_figure, plan_figure
from core.workspace import AppendError
from pages import state
from pages.components.progress import progress_status

state.route_through_app(__file__)

STRATEGY_HELP = {
    "ehvi": "expected hypervolume improvement of the batch (qLogNEHVI): the default",
    "explore": "largest predictive σ among predicted Pareto-optimal profiles",
    "random": "feasible space-filling profiles",
    "exploit": "the predicted-best Pareto profiles",
}

st.title("Next experiments")
st.caption(
    "When the models are not yet good enough where it matters, plan the next batch: the planner proposes k "
    "feasible profiles that are expected to improve the Pareto front the most, taking the models' uncertainty "
    "into account. Run them in the lab and upload the filled workbook (or run them in the virtual lab); the data "
    "grow, the models are retrained and the history shows how the front converges."
)


def spec_from_widgets(data: DoEData) -> PlanSpec | None:
    c1, c2, c3, c4 = st.columns(4)
    k = c1.number_input("Runs in the batch (k)", 1, 12, 4, key="plan_k")
    strategy = c2.selectbox(
        "Strategy", STRATEGIES, key="plan_strategy", format_func=lambda s: s, help="; ".join(STRATEGY_HELP.values())
    )
    cycles = c3.multiselect("Cycles (0 = linear)", [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], key="plan_cycles")
    seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="plan_seed")
    text = st.text_input("Constraint (optional)", "", key="plan_constraint", placeholder="crystallinity>=80")
    try:
        start_T, end_T = data_temperature_ranges(data.profiles())
        spec = PlanSpec(
            batch_size=int(k),
            strategy=strategy,
            constraints=(Constraint.parse(text),) if text.strip() else (),
            n_temperatures=tuple(n_temperatures_for_cycles(c) for c in cycles),
            start_T=start_T,
            end_T=end_T,
            random_state=int(seed),
            n_jobs=-1,
        )
    except ValueError as exc:
        st.error(str(exc))
        return None
    default, reason = state.workspace().plan_prior(spec)
    physics = st.toggle(
        "Learn from the virtual lab too",
        value=default == "virtual_lab",
        disabled=reason is not None,
        key="plan_prior",
        help="The planner's GPs also learn from simulated runs: the data's own runs and a design over the planning "
        "space (a short search included), calibrated on the data. Where no run went they follow the simulator's "
        "trends as far as the data say it agrees with them. On by default when the data allow it; the first plan "
        "of a session simulates a few hundred runs.",
    )
    if reason:
        st.caption(f"Planning from the data alone: {reason}.")
    return replace(spec, prior="virtual_lab" if physics and not reason else "none")


def accept(result: LoadResult, label: str, spec: PlanSpec) -> None:
    """Append, retrain the project's models, and record the round; on a problem keep everything as it was."""
    try:
        with st.spinner("Retraining the surrogate models and the planner's models"):
            state.workspace().accept_round(result, label, spec)
    except AppendError as exc:
        st.error(f"Nothing was appended: {exc}")
        return
    st.success(f"Appended; the data now have {len(state.workspace().data)} experiments.")
    if result.repeated:
        st.warning(f"Not appended again, already in the data: {', '.join(result.repeated)}.")


def show_plan(plan: Plan, data: DoEData) -> None:
    st.plotly_chart(plan_figure(plan.front, plan.runs, plan.spec.objectives), key="plan_figure")
    table = plan.runs_table(data.schema.cqa_names)
    st.dataframe(table, hide_index=True, key="plan_table")
    band = plan.seeding
    seeding = (
        f"T1 above the seeding line: how far a run starts above the experiments' line of start temperature "
        f"against initial concentration (they started {band.low:+.1f} to {band.high:+.1f} K from it); far above "
        "it the seeds dissolve. "
        if band is not None
        else ""
    )
    st.caption(
        "Domain score above 1: the run lies farther from the data than a typical run from its neighbours. "
        f"{seeding}Planner models: {'; '.join(plan.notes)}; planned in {plan.seconds:.0f} s."
    )
    st.download_button(
        "Download the workbook (DoE sheet with blank CQAs + recipes)",
        plan_workbook(plan.runs, data.schema),
        file_name="next_experiments.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="plan_download",
    )
    st.subheader("Best designs to make now")
    best = recommend(plan, size=plan.spec.batch_size)
    if best.empty:
        st.info("No design meets the constraints in the planner's models yet.")
    else:
        st.dataframe(
            predictions_table(best, ["id", "profile_type", "source"], data.schema.cqa_names),
            hide_index=True,
            key="plan_recommended",
        )
        if st.button("Add them to the basket", key="plan_to_basket"):
            state.workspace().add_to_basket(basket_points(best, data.schema))
            st.success("Added: export their recipes on the Design screen, or check one on the Validate screen.")
    st.caption(
        "If the campaign stopped today: the predicted front and the runs already made (at what they gave), ranked "
        "at one σ on the cautious side, so that a well-measured run is preferred to a guess far from the data."
    )


data = state.workspace().data
if data is None:
    st.info("Load a DoE first.")
    st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
else:
    spec = spec_from_widgets(data)
    if spec is not None and st.button("Propose the next batch", type="primary", key="plan_propose"):
        with progress_status(f"Planning {spec.batch_size} runs ({spec.strategy})", "starting") as (status, progress):
            try:
                plan = state.workspace().propose_plan(spec, progress)
                status.update(label=f"Planned {len(plan.runs)} runs in {plan.seconds:.1f} s", state="complete")
            except ValueError as exc:
                status.update(label=f"Cannot plan: {exc}", state="error")
    plan = state.workspace().plan
    if plan is not None:
        show_plan(plan, data)
        c1, c2 = st.columns(2)
        lab_seed = c2.number_input("Virtual-lab seed", 0, 2**31 - 1, 0, key="plan_lab_seed")
        if c1.button("Run in the virtual lab", key="plan_run_lab", help="simulate the batch with measurement noise"):
            try:
                accept(run_in_virtual_lab(data, plan.runs, int(lab_seed)), "virtual-lab round", plan.spec)
            except ValueError as exc:
                st.error(str(exc))
        upload = st.file_uploader("Upload the filled workbook", type=["xlsx", "csv"], key="plan_upload")
        if upload is not None and st.button("Append the uploaded results", key="plan_append_upload"):
            try:
                accept(append_filled_workbook(data, upload.getvalue(), upload.name), "lab round", plan.spec)
            except ValueError as exc:
                st.error(str(exc))
    history = state.workspace().plan_history
    if history:
        st.subheader("Round by round")
        frame: pd.DataFrame = history_frame(history)
        st.plotly_chart(history_figure(frame), key="plan_history_figure")
        st.dataframe(frame, hide_index=True, key="plan_history_table")
