"""The Design screen's panels for chosen points: their recipes, the virtual-lab check and the basket export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.export import recipe_from_point, recipes_to_csv, recipes_to_json, recipes_to_xlsx
from core.optimize.ground_truth import coverage_summary, ground_truth_check, spread_sample
from core.optimize.response_range import BEYOND_MEASURED
from core.plots.design import ground_truth_figure
from core.plots.doe import profile_figure, profiles_overlay_figure
from pages import state


def selected_point_panel(points: pd.DataFrame) -> None:
    ids = [i for i in state.workspace().selected_points if i in set(points["id"])]
    if not ids:
        st.info(
            "Click a point on the chart to see its profile and recipe; for several, choose Box Select or "
            "Lasso Select in the chart's toolbar."
        )
        return
    chosen = points.set_index("id").loc[ids].reset_index()
    if len(ids) > 1:
        st.dataframe(chosen, hide_index=True, placeholder="", key="selected_table")
    recipes = {r["id"]: recipe_from_point(r, state.schema()) for r in chosen.to_dict("records")}
    shown = st.selectbox("Recipe of", ids, key="selected_recipe_id") if len(ids) > 1 else ids[0]
    recipe = recipes.get(shown, recipes[ids[0]])
    left, right = st.columns([3, 2])
    if len(ids) > 1:
        figure = profiles_overlay_figure({i: r.profile for i, r in recipes.items()})
    else:
        figure = profile_figure(recipe.profile, title=f"{recipe.id}: {recipe.profile.type_name}")
    left.plotly_chart(figure, key="selected_profile")
    with right:
        st.markdown(
            f"**{recipe.id}** · C0 {recipe.initial_concentration:.1f} mg/g · seed {recipe.seed_loading:.3f} · "
            f"batch {recipe.profile.batch_time_min / 60:.1f} h"
        )
        point = chosen.set_index("id").loc[recipe.id]
        if "in_domain" in point and not point["in_domain"]:
            st.warning(
                f"Outside the applicability domain (score {point['domain_score']:.2f} > 1): the models "
                "extrapolate here; treat the prediction as a guess and test it before relying on it."
            )
        if point.get(BEYOND_MEASURED):
            st.warning(
                f"Predicted beyond anything measured ({point[BEYOND_MEASURED]}): the models carry a trend past "
                "the runs; test this design before relying on it."
            )
        st.dataframe(
            pd.DataFrame([{"CQA": c, "predicted": m, "± 1σ": s} for c, (m, s) in recipe.predictions.items()]).round(2),
            hide_index=True,
            key="selected_predictions",
        )
        st.dataframe(recipe.profile.recipe_table().round(3), hide_index=True, key="selected_recipe")
        if st.button(f"Add {len(ids)} to basket", key="add_to_basket"):
            state.workspace().add_to_basket(chosen)


def ground_truth_panel(points: pd.DataFrame) -> None:
    ws = state.workspace()
    with st.expander("Check the designs against the virtual lab"):
        st.caption(
            "Meaningful when the data came from the virtual lab (as the sample data did): the simulator "
            "is then the ground truth the models tried to learn."
        )
        n = st.number_input(
            "Designs to simulate (spread along the fronts)", 1, max(len(points), 1), min(30, len(points)), key="truth_n"
        )
        if st.button("Simulate the designs", key="truth_run"):
            with st.spinner(f"Simulating {int(n)} batches"):
                ws.set_ground_truth(ground_truth_check(spread_sample(points, int(n)), state.schema()))
        check = ws.ground_truth
        if check is not None:
            if ws.design_is_stale():
                st.caption("These checks are of designs made with earlier models.")
            st.dataframe(coverage_summary(check).round(3), hide_index=True, key="truth_summary")
            cqas = [c for c in ("D50", "DoA", "crystallinity") if f"{c}_simulated" in check]
            for col, cqa in zip(st.columns(len(cqas)), cqas, strict=True):
                col.plotly_chart(ground_truth_figure(check, cqa), key=f"truth_{cqa}")


def basket_panel() -> None:
    basket = state.workspace().basket
    st.subheader("Basket")
    if basket.empty:
        st.caption("Chosen profiles appear here, ready to export.")
        return
    columns = ["id", "profile_type", "initial_concentration", "seed_loading", "batch_time_min"]
    st.dataframe(
        basket[columns + [c for c in ("in_domain", BEYOND_MEASURED) if c in basket]],
        hide_index=True,
        placeholder="",
        key="basket_table",
    )
    recipes = [recipe_from_point(r, state.schema()) for r in basket.to_dict("records")]
    resolution = st.number_input("Setpoint resolution (min)", 0.1, 60.0, 1.0, key="export_resolution")
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Recipes (XLSX)", recipes_to_xlsx(recipes, resolution), "recipes.xlsx", key="export_xlsx")
    c2.download_button("Recipes (CSV)", recipes_to_csv(recipes), "recipes.csv", "text/csv", key="export_csv")
    c3.download_button(
        "Recipes (JSON)", recipes_to_json(recipes, resolution), "recipes.json", "application/json", key="export_json"
    )
    if c4.button("Empty the basket", key="clear_basket"):
        state.workspace().empty_basket()
        st.rerun()
