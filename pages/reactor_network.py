"""Reactor network: simulate operating data, learn the dynamics, and run the network better than PID."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import streamlit as st

from core.reactors.closed_loop import CONTROLLERS, compare_controllers, summary_table
from core.reactors.control import PIConfig
from core.reactors.dataset import label_splits, split_chronological
from core.reactors.dynamics_models import MODEL_KINDS
from core.reactors.learning import OPTIMIZERS, DynamicsLearner
from core.reactors.model_evaluation import model_report
from core.reactors.network import NetworkConfig, series_parallel
from core.reactors.plant import state_columns
from core.reactors.plots import (
    attention_bars,
    closed_loop_trajectories,
    data_explorer,
    network_diagram,
    rollout_comparison,
    training_curves,
)
from core.reactors.scenarios import default_pi, evaluation_scenarios, generate_operating_data

MODEL_LABELS = {"lstm": "LSTM with attention", "lagrangian": "Lagrangian + dissipation", "node": "Neural ODE (MLP)"}

st.title("Reactor network")
st.caption(
    "Ten jacketed CSTRs (exothermic A → B) in two parallel trains that merge. Learn the dynamics from operating "
    "data, then let an optimiser choose temperature setpoints and feeds, and compare it with PI control at "
    "rule-based setpoints and with the same optimiser given the true model."
)


def with_progress(label: str, function, *args):
    """Run a cached computation in a worker thread and mirror its progress callback in a progress bar.

    The worker only writes to a plain dict, so the cached function records no
    page elements and its cached result replays cleanly.
    """
    status = {"fraction": 0.0, "message": label}
    outcome: dict = {}

    def report(fraction: float, message: str) -> None:
        status.update(fraction=min(max(fraction, 0.0), 1.0), message=message)

    def work() -> None:
        try:
            outcome["value"] = function(*args, _progress=report)
        except ValueError as error:  # bad settings or data: shown in plain words
            outcome["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    bar = st.progress(0.0, text=label)
    while worker.is_alive():
        worker.join(0.25)
        bar.progress(status["fraction"], text=status["message"])
    if "error" in outcome:
        st.error(str(outcome["error"]))
        return None
    bar.progress(1.0, text=f"{label}: done")
    return outcome["value"]


@st.cache_data(show_spinner=False, max_entries=4)
def tuned_pi(config_json: str) -> dict:
    return default_pi(NetworkConfig.from_dict(json.loads(config_json))).to_dict()


@st.cache_data(show_spinner=False, max_entries=4)
def operating_data(config_json: str, hours: float, seed: int, _progress=None) -> tuple[pd.DataFrame, dict]:
    config = NetworkConfig.from_dict(json.loads(config_json))
    pi = PIConfig.from_dict(tuned_pi(config_json))
    frame, metadata = generate_operating_data(config, hours, random_state=seed, pi=pi, progress=_progress)
    return label_splits(frame), metadata


@st.cache_resource(show_spinner=False, max_entries=12)
def trained_model(
    config_json: str, hours: float, seed: int, kind: str, steps: int, optimizer: str, rollout: int, _progress=None
) -> DynamicsLearner:
    frame, _ = operating_data(config_json, hours, seed)
    parts = split_chronological(frame)
    learner = DynamicsLearner(
        kind=kind,
        max_steps=steps,
        optimizer=optimizer,
        rollout_steps=rollout,
        eval_every=max(10, steps // 20),
        patience=1000,
        random_state=seed,
    )
    return learner.fit(
        parts["train"], parts["validation"], NetworkConfig.from_dict(json.loads(config_json)), progress=_progress
    )


@st.cache_data(show_spinner=False, max_entries=12)
def accuracy(config_json: str, data_key: tuple, model_key: tuple) -> dict:
    learner = trained_model(config_json, *data_key, *model_key)
    frame, _ = operating_data(config_json, *data_key)
    return model_report(learner, split_chronological(frame)["test"], n_starts=8)


@st.cache_data(show_spinner=False, max_entries=8)
def closed_loop(
    config_json: str, data_key: tuple, model_key: tuple, hours: float, scenario: str, _progress=None
) -> tuple[dict, dict[str, pd.DataFrame], dict]:
    config = NetworkConfig.from_dict(json.loads(config_json))
    learner = trained_model(config_json, *data_key, *model_key)
    schedule = evaluation_scenarios(config, hours)[scenario]
    pi = PIConfig.from_dict(tuned_pi(config_json))
    runs = compare_controllers(config, pi, learner, hours=hours, scenarios={scenario: schedule}, progress=_progress)
    return summary_table(runs), {run.controller: run.record for run in runs}, schedule.to_list()


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
st.plotly_chart(network_diagram(config), key="reactor_diagram")
st.caption(
    f"Textbook reactors (V 100 L, UA 5·10⁴ J/(min K), k0 7.2·10¹⁰ 1/min, E/R 8750 K, ΔH −5·10⁴ J/mol, feed "
    f"350 K, 1 mol/L); merge reactors twice as large. Limit {config.max_temperature_K:.0f} K, coolant "
    f"{config.coolant_bounds_K[0]:.0f}–{config.coolant_bounds_K[1]:.0f} K, feed per train "
    f"{config.feed_bounds_L_min[0]:.0f}–{config.feed_bounds_L_min[1]:.0f} L/min."
)

data_key = (float(hours), seed)
if st.button("Generate operating data", key="reactor_generate", type="primary"):
    with st.status("Tuning the PI loops and simulating the plant", expanded=True) as status:
        if with_progress("simulating", operating_data, config_json, *data_key) is not None:
            status.update(label="Operating data ready", state="complete")
            st.session_state["reactor_data"] = (config_json, data_key)

if st.session_state.get("reactor_data") != (config_json, data_key):
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
    st.plotly_chart(data_explorer(frame, shown), key="reactor_explorer")

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
    st.session_state["reactor_trained"] = [(kind, steps, optimizer, rollout) for kind in kinds]

trained = [key for key in st.session_state.get("reactor_trained", []) if key[0] in MODEL_KINDS]
learners = {key[0]: trained_model(config_json, *data_key, *key) for key in trained}
parts = split_chronological(frame)
if learners:
    st.plotly_chart(
        training_curves({MODEL_LABELS[k]: learner.history_ for k, learner in learners.items()}), key="reactor_curves"
    )
    rows = []
    for key in trained:
        kind, learner = key[0], learners[key[0]]
        report = accuracy(config_json, data_key, key)
        row = {"model": MODEL_LABELS[kind], "one-step T error (K)": report["model"]["one_step"]["temperature_K"]}
        for label, key in (("1 h", "rollout_1h"), ("10 h", "rollout_10h")):
            if key in report["model"]:
                row[f"{label} T error (K)"] = report["model"][key]["temperature_K"]
                row[f"{label} persistence (K)"] = report["persistence"][key]["temperature_K"]
        row["training time (s)"] = learner.train_time_s_
        rows.append(row)
    st.dataframe(pd.DataFrame(rows).round(3), hide_index=True, key="reactor_model_table")
    if "lstm" in learners:
        variables, _ = learners["lstm"].attention(parts["test"])
        st.plotly_chart(attention_bars(variables), key="reactor_attention")

    first = trained[0]
    if st.button(f"Compare the three optimisers on the {MODEL_LABELS[first[0]]}", key="reactor_compare_optimizers"):
        with st.status("Training with each optimiser", expanded=True) as status:
            for name in OPTIMIZERS:
                with_progress(name, trained_model, config_json, *data_key, first[0], first[1], name, first[3])
            status.update(label="Optimisers compared", state="complete")
        st.session_state["reactor_optimizers"] = first
    if st.session_state.get("reactor_optimizers") == first:
        runs = {name: trained_model(config_json, *data_key, first[0], first[1], name, first[3]) for name in OPTIMIZERS}
        st.plotly_chart(training_curves({name: r.history_ for name, r in runs.items()}), key="reactor_optimizer_curves")
        target = max(r.best_val_loss_ for r in runs.values())
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "optimiser": name,
                        "best validation loss": r.best_val_loss_,
                        "seconds to reach the common target": next(
                            p.time_s for p in r.history_ if p.val_loss <= target
                        ),
                        "final learning rate": r.history_[-1].lr,
                        "final momentum": r.history_[-1].momentum,
                    }
                    for name, r in runs.items()
                ]
            ).round(4),
            hide_index=True,
            key="reactor_optimizer_table",
        )

    # -------------------------------------------------------------- rollouts
    st.subheader("Rollout comparison")
    test = parts["test"]
    c1, c2, c3 = st.columns(3)
    names = state_columns(config)
    variable = c1.selectbox("Variable", names, index=names.index("T_1"), key="reactor_rollout_variable")
    window = max(learner.window_ for learner in learners.values())
    longest = len(test) - window - 1
    if longest < 2:
        st.info("The test split is too short for a rollout; generate more hours.")
    else:
        horizon = int(c2.number_input("Horizon (min)", 1, max(1, longest), min(60, longest), key="reactor_horizon"))
        start = int(
            c3.slider(
                "Start (min into the test split)",
                window - 1,
                max(window - 1, len(test) - horizon - 1),
                window - 1,
                key="reactor_rollout_start",
            )
        )
        states = test[names].to_numpy()
        inputs = test[learners[next(iter(learners))].input_names_].to_numpy()
        column = names.index(variable)
        predictions = {}
        for kind, learner in learners.items():
            w = learner.window_
            history = states[start - w + 1 : start + 1][None]
            applied = inputs[start - w + 1 : start + horizon][None]
            predictions[MODEL_LABELS[kind]] = learner.rollout(history, applied, horizon)[0, :, column]
        hours_axis = test["time_min"].to_numpy()[start + 1 : start + horizon + 1] / 60.0
        st.plotly_chart(
            rollout_comparison(hours_axis, states[start + 1 : start + horizon + 1, column], predictions, variable),
            key="reactor_rollout_plot",
        )

# ------------------------------------------------------------------ closed loop
st.subheader("Closed loop: PID vs learned-model optimiser vs true-model optimiser")
if not learners:
    st.info("Train at least one model to run the optimiser on it.")
    st.stop()
c1, c2, c3 = st.columns(3)
model_kind = c1.selectbox("Learned model", list(learners), format_func=MODEL_LABELS.get, key="reactor_cl_model")
scenario = c2.selectbox("Disturbance scenario", list(evaluation_scenarios(config)), key="reactor_cl_scenario")
cl_hours = float(c3.number_input("Hours", 0.5, 24.0, 4.0, 0.5, key="reactor_cl_hours"))
model_key = next(key for key in trained if key[0] == model_kind)
if st.button("Run closed loop", key="reactor_run", type="primary"):
    with st.status("Running the three supervisors on the true plant", expanded=True) as status:
        if with_progress("closed loop", closed_loop, config_json, data_key, model_key, cl_hours, scenario) is not None:
            status.update(label="Closed-loop runs finished", state="complete")
            st.session_state["reactor_cl"] = (model_key, cl_hours, scenario)

if st.session_state.get("reactor_cl") == (model_key, cl_hours, scenario):
    table, records, events = closed_loop(config_json, data_key, model_key, cl_hours, scenario)
    rows = [
        {
            "supervisor": name,
            "throughput (kg/h)": table[name]["throughput_kg_h"],
            "utilisation (%)": table[name]["utilization_pct"],
            "capacity (%)": table[name]["capacity_pct"],
            "stability sd (K)": table[name]["stability_sd"],
            "violations (reactor-min)": table[name]["violations"],
            "max T (K)": table[name]["max_temperature_K"],
            "time per decision (ms)": table[name]["decision_time_ms"],
            "steady-state optimum (kg/h)": table[name]["optimum_kg_h"],
            "share of optimum (%)": 100 * table[name]["share_of_optimum"],
        }
        for name in CONTROLLERS
        if name in table
    ]
    st.dataframe(pd.DataFrame(rows).round(2), hide_index=True, key="reactor_cl_table")
    reactor = int(
        st.selectbox(
            "Reactor", range(config.n_reactors), format_func=lambda i: config.reactor_names[i], key="reactor_cl_reactor"
        )
    )
    st.plotly_chart(closed_loop_trajectories(records, config, reactor), key="reactor_cl_plot")
    with st.expander("Disturbances in this scenario"):
        st.dataframe(
            pd.DataFrame(events).assign(
                start_h=lambda d: np.round(d["start_min"] / 60, 2), end_h=lambda d: np.round(d["end_min"] / 60, 2)
            )[["kind", "target", "magnitude", "start_h", "end_h"]],
            hide_index=True,
            key="reactor_cl_events",
        )
