"""Reactor network: simulate operating data, learn the dynamics, and run the network better than PI control."""

from __future__ import annotations

import json

import streamlit as st

from core.reactors import analysis, plots
from core.reactors.analysis import MODEL_LABELS
from core.reactors.dataset import split_chronological
from core.reactors.dynamics_models import MODEL_KINDS
from core.reactors.learning import OPTIMIZERS
from core.reactors.model_evaluation import model_caveats
from core.reactors.network import series_parallel
from core.reactors.plant import state_columns
from core.reactors.scenarios import evaluation_scenarios
from pages import state
from pages.components.progress import with_progress
from pages.components.reactor_runs import accuracy, closed_loop, operating_data, trained_model

state.route_through_app(__file__)

st.title("Reactor network")
st.caption(
    "Ten jacketed CSTRs (exothermic A → B) in two parallel trains that merge. Learn the dynamics from operating "
    "data, then let an optimiser choose the feeds (the PI loops hold the temperatures), and compare it with PI "
    "control at rule-based setpoints and with an oracle: the best of several true-model supervisors, chosen "
    "knowing the whole scenario in advance."
)


# ------------------------------------------------------------------ settings
with st.expander("Network and scenario", expanded=True):
    c1, c2, c3, c4 = st.columns(4)
    split = c1.slider("Share of feed to train 1", 0.2, 0.8, 0.5, 0.05, key="reactor_split")
    total_feed = c2.number_input("Nominal total feed (L/min)", 100.0, 380.0, 200.0, 10.0, key="reactor_feed")
    hours = c3.number_input("Operating data (h)", 2.0, 1000.0, 48.0, 2.0, key="reactor_hours")
    seed = int(c4.number_input("Random seed", 0, 10_000, 0, key="reactor_seed"))
try:
    config = series_parallel(feed_split=(split, 1.0 - split), nominal_total_feed_L_min=total_feed)
except ValueError as error:
    st.error(str(error))
    st.stop()
config_json = json.dumps(config.to_dict())
st.plotly_chart(plots.network_diagram(config), key="reactor_diagram")
st.caption(analysis.network_summary(config))

data_key = (float(hours), seed)
if st.button("Generate operating data", key="reactor_generate", type="primary"):
    with st.status("Tuning the PI loops and simulating the plant", expanded=True) as status:
        if with_progress("simulating", operating_data, config_json, *data_key) is not None:
            status.update(label="Operating data ready", state="complete")
            st.session_state[state.REACTOR_DATA] = (config_json, data_key)
if st.session_state.get(state.REACTOR_DATA) != (config_json, data_key):
    st.info("Generate operating data to continue (a few seconds per 10 h of plant time).")
    st.stop()
frame, metadata = operating_data(config_json, *data_key)

# ------------------------------------------------------------------ data
st.subheader("Operating data")
st.caption(
    f"{len(frame)} one-minute samples with {len(metadata['disturbances'])} disturbance events; first 80 % for "
    "training, then 10 % validation (orange) and 10 % test (green)."
)
explorable = [c for c in frame.columns if c not in ("time_min", "split")]
shown = st.multiselect("Variables", explorable, default=["T_1", "Tsp_1", "T_5", "Tc_1"], key="reactor_explore")
if shown:
    st.plotly_chart(plots.data_explorer(frame, shown), key="reactor_explorer")

# ------------------------------------------------------------------ training
st.subheader("Dynamics models")
c1, c2, c3, c4 = st.columns(4)
kinds = c1.multiselect("Models", MODEL_KINDS, default=["node"], format_func=MODEL_LABELS.get, key="reactor_models")
steps = int(c2.number_input("Training steps", 20, 5000, 600, 20, key="reactor_steps"))
optimizer = c3.selectbox("Optimiser", OPTIMIZERS, key="reactor_optimizer")
rollout = int(c4.number_input("Free-running steps in the loss", 1, 16, 8, key="reactor_rollout"))
if st.button("Train models", key="reactor_train", disabled=not kinds):
    with st.status("Training", expanded=True) as status:
        for kind in kinds:
            with_progress(MODEL_LABELS[kind], trained_model, config_json, *data_key, kind, steps, optimizer, rollout)
        status.update(label="Models trained", state="complete")
    st.session_state[state.REACTOR_TRAINED] = [(kind, steps, optimizer, rollout) for kind in kinds]

trained = {key[0]: key for key in st.session_state.get(state.REACTOR_TRAINED, []) if key[0] in MODEL_KINDS}
learners = {kind: trained_model(config_json, *data_key, *key) for kind, key in trained.items()}
test = split_chronological(frame)["test"]
if learners:
    curves = {MODEL_LABELS[kind]: learner.history_ for kind, learner in learners.items()}
    st.plotly_chart(plots.training_curves(curves), key="reactor_curves")
    reports = {kind: (learners[kind], accuracy(config_json, data_key, key)) for kind, key in trained.items()}
    st.dataframe(analysis.accuracy_table(reports).round(3), hide_index=True, key="reactor_model_table")
    for _, report in reports.values():
        for caveat in model_caveats(report):
            st.warning(caveat)
    if "lstm" in learners:
        st.plotly_chart(plots.attention_bars(learners["lstm"].attention(test)[0]), key="reactor_attention")

    kind, first_steps, _, first_rollout = first = next(iter(trained.values()))
    if st.button(f"Compare the three optimisers on the {MODEL_LABELS[kind]}", key="reactor_compare_optimizers"):
        with st.status("Training with each optimiser", expanded=True) as status:
            for name in OPTIMIZERS:
                with_progress(name, trained_model, config_json, *data_key, kind, first_steps, name, first_rollout)
            status.update(label="Optimisers compared", state="complete")
        st.session_state[state.REACTOR_OPTIMIZERS] = first
    if st.session_state.get(state.REACTOR_OPTIMIZERS) == first:
        runs = {n: trained_model(config_json, *data_key, kind, first_steps, n, first_rollout) for n in OPTIMIZERS}
        st.plotly_chart(plots.training_curves({n: r.history_ for n, r in runs.items()}), key="reactor_optimizer_curves")
        st.dataframe(analysis.optimizer_table(runs).round(4), hide_index=True, key="reactor_optimizer_table")

    # -------------------------------------------------------------- rollouts
    st.subheader("Rollout comparison")
    c1, c2, c3 = st.columns(3)
    names = state_columns(config)
    variable = c1.selectbox("Variable", names, index=names.index("T_1"), key="reactor_rollout_variable")
    span = analysis.rollout_range(len(test), learners)
    if span.longest < 2:
        st.info("The test split is too short for a rollout; generate more hours.")
    else:
        horizon = int(c2.number_input("Horizon (min)", 1, span.longest, min(60, span.longest), key="reactor_horizon"))
        low, high = span.first_start, span.last_start(horizon)
        start = int(c3.slider("Start (min into the test split)", low, high, low, key="reactor_rollout_start"))
        axis, measured, predicted = analysis.rollouts(test, learners, variable, start, horizon)
        st.plotly_chart(plots.rollout_comparison(axis, measured, predicted, variable), key="reactor_rollout_plot")

# ------------------------------------------------------------------ closed loop
st.subheader("Closed loop: PI vs learned-model optimiser vs true-model oracle")
if not learners:
    st.info("Train at least one model to run the optimiser on it.")
    st.stop()
c1, c2, c3 = st.columns(3)
model_kind = c1.selectbox("Learned model", list(learners), format_func=MODEL_LABELS.get, key="reactor_cl_model")
scenario = c2.selectbox("Disturbance scenario", list(evaluation_scenarios(config)), key="reactor_cl_scenario")
cl_hours = float(c3.number_input("Hours", 0.5, 24.0, 4.0, 0.5, key="reactor_cl_hours"))
model_key = trained[model_kind]
if st.button("Run closed loop", key="reactor_run", type="primary"):
    with st.status("Running the three supervisors on the true plant", expanded=True) as status:
        if with_progress("closed loop", closed_loop, config_json, data_key, model_key, cl_hours, scenario) is not None:
            status.update(label="Closed-loop runs finished", state="complete")
            st.session_state[state.REACTOR_CLOSED_LOOP] = (model_key, cl_hours, scenario)

if st.session_state.get(state.REACTOR_CLOSED_LOOP) == (model_key, cl_hours, scenario):
    table, records, events = closed_loop(config_json, data_key, model_key, cl_hours, scenario)
    st.dataframe(analysis.closed_loop_table(table).round(2), hide_index=True, key="reactor_cl_table")
    if note := analysis.held_back_note(table):
        st.caption(note)
    reactor_names = dict(enumerate(config.reactor_names))
    reactor = int(st.selectbox("Reactor", list(reactor_names), format_func=reactor_names.get, key="reactor_cl_reactor"))
    st.plotly_chart(plots.closed_loop_trajectories(records, config, reactor), key="reactor_cl_plot")
    with st.expander("Disturbances in this scenario"):
        st.dataframe(analysis.disturbance_table(events), hide_index=True, key="reactor_cl_events")
