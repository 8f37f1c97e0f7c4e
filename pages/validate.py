"""Validate: compare a chosen profile's measured outcome with the prediction, then feed it back."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.doe import append_rows
from core.export import Recipe, recipe_from_point
from core.plan.verdict import fit_for_purpose, parse_replicates, prediction_vs_measured, within_two_sigma
from core.plots.design import predicted_vs_measured_figure
from core.plots.doe import profile_figure
from core.virtual_lab.simulator import simulate_batch
from core.workspace import AppendError
from pages import state
from pages.components.widgets import profile_inputs

state.route_through_app(__file__)

CUSTOM = "a profile I enter here"

st.title("Validate a design")
st.caption(
    "Run the chosen profile in the lab (or the virtual lab), enter what you measured and compare it with "
    "the prediction. Appending the run to the data and retraining closes the loop."
)


def chosen_recipe() -> Recipe:
    basket = state.workspace().basket
    options = ([*basket["id"]] if not basket.empty else []) + [CUSTOM]
    choice = st.selectbox("Profile to validate", options, key="validate_choice")
    if choice != CUSTOM:
        return recipe_from_point(basket[basket["id"] == choice].iloc[0], state.schema())
    profile, conc, seed_loading = profile_inputs(state.schema(), "validate")
    return Recipe("custom", profile, conc, seed_loading)


def features(recipe: Recipe) -> pd.DataFrame:
    return pd.DataFrame([recipe.feature_row(state.schema())])


def measured_inputs(cqas: list[str], recipe: Recipe) -> dict[str, float]:
    # The lab controls get a row of their own: squeezed beside the inputs, the button label was cut off.
    lab, lab_seed = st.columns([3, 2], vertical_alignment="bottom")
    random_seed = lab_seed.number_input("Lab seed", 0, 2**31 - 1, 0, key="validate_lab_seed")
    if lab.button("Run the virtual lab", key="validate_run_lab", help="simulate this batch with measurement noise"):
        result = simulate_batch(
            recipe.profile,
            recipe.initial_concentration,
            recipe.seed_loading,
            noise=True,
            random_state=int(random_seed),
        )
        for k, v in result.cqas().items():
            if k in cqas:
                st.session_state[f"measured_{k}"] = round(v, 2)  # fills the inputs below
    values = {}
    for col, cqa in zip(st.columns(len(cqas)), cqas, strict=True):
        value = col.number_input(
            f"measured {cqa} ({state.schema().variable(cqa).unit})",
            value=None,
            key=f"measured_{cqa}",
            placeholder="not measured",
        )
        if value is not None:
            values[cqa] = float(value)
    return values


def append_and_retrain(recipe: Recipe, measured: dict[str, float]) -> None:
    ws = state.workspace()
    row = features(recipe).assign(**measured)
    if "run_id" in ws.data.frame:
        row["run_id"] = f"validation {recipe.id}"
    try:
        with st.spinner("Retraining with the new experiment"):
            ws.append_runs(append_rows(ws.data, row), "validation")  # refused if this very run is in the data
    except AppendError as exc:
        st.error(f"The run was not appended: {exc}")
        return
    st.success(f"Appended; the data now has {len(ws.data)} experiments and the models were retrained.")


def replicate_check(prediction: pd.DataFrame, cqas: list[str]) -> None:
    """Table 3 / Step 8: replicate measurements against prediction ± σ, and whether to plan more experiments."""
    st.subheader("Fit for purpose?")
    st.caption("Enter the replicate measurements of this run (mean ± sd is taken from them).")
    replicates, cols = {}, st.columns(len(cqas))
    for col, cqa in zip(cols, cqas, strict=True):
        text = col.text_input(f"{cqa} replicates", key=f"replicates_{cqa}", placeholder="e.g. 41.2, 39.8, 40.5")
        try:
            replicates[cqa] = parse_replicates(text)
        except ValueError as exc:
            col.error(str(exc))
    first = prediction.iloc[0]
    predictions = {c: (float(first[f"{c}_mean"]), float(first[f"{c}_std"])) for c in cqas}
    verdict = fit_for_purpose(predictions, replicates, std_of_mean={c: float(first[f"{c}_std_of_mean"]) for c in cqas})
    st.dataframe(verdict.table.round(3), hide_index=True, key="validate_verdict_table")
    (st.success if verdict.fit_for_purpose else st.warning)(verdict.message)
    if not verdict.fit_for_purpose:
        st.page_link("pages/next_experiments.py", label="Plan the next experiments", icon=":material/playlist_add:")


if state.require_models():
    predictor = state.workspace().predictor()
    recipe = chosen_recipe()
    prediction = predictor.predict_frame(features(recipe), split=True)
    left, right = st.columns([3, 2])
    left.plotly_chart(
        profile_figure(recipe.profile, title=f"{recipe.id}: {recipe.profile.type_name}"), key="validate_profile"
    )
    with right:
        measured = measured_inputs(predictor.cqa_names, recipe)
        table = prediction_vs_measured(prediction, measured, predictor.cqa_names)
        shown = table.assign(
            **{
                "predicted ± 1σ": [
                    f"{m:.2f} ± {s:.2f}" for m, s in zip(table["predicted_mean"], table["predicted_std"], strict=True)
                ]
            }
        )
        st.dataframe(shown[["cqa", "predicted ± 1σ", "measured"]], hide_index=True, key="validate_table")
        inside, n_measured = within_two_sigma(table)
        if n_measured:
            st.caption(f"{inside} of {n_measured} measured CQAs fall within ±2σ of the prediction.")
    st.plotly_chart(predicted_vs_measured_figure(table), key="validate_figure")
    if st.button("Append this run to the data and retrain", disabled=not measured, key="validate_append"):
        append_and_retrain(recipe, measured)
    replicate_check(prediction, predictor.cqa_names)
