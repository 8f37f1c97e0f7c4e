"""Design: Pareto fronts of thermocycle profiles per number of cycles, pick points, export recipes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.export import recipe_from_point, recipes_to_csv, recipes_to_json, recipes_to_xlsx
from core.optimize.ground_truth import coverage_summary, ground_truth_check
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.run import DesignResult, optimize_profiles
from core.optimize.spec import BATCH_TIME, Constraint, DesignSpec, Objective, data_temperature_ranges
from core.plots.design import crystallinity_front_figure, ground_truth_figure, pareto_figure
from core.plots.doe import profile_figure, profiles_overlay_figure
from core.profiles import profile_type_name
from pages import state

TYPE_CHOICES = {profile_type_name(n): n for n in (2, 3, 4, 6, 8, 10)}

st.title("Design thermocycle profiles")
st.caption(
    "NSGA-II searches each profile type for the best trade-off between the objectives, on the surrogate models. "
    "Eqs. 2–3 hold for every design; unused ramps are left out (Eq. 4)."
)


def objectives_ui(cqas: list[str]) -> tuple[Objective, ...]:
    default = [o for o in ("D50:max", "DoA:min") if o.split(":")[0] in cqas] or [f"{cqas[0]}:max"]
    options = [f"{c}:{s}" for c in cqas for s in ("max", "min")] + [f"{BATCH_TIME}:min"]
    chosen = st.multiselect("Objectives", options, default=default, key="design_objectives")
    return tuple(Objective.parse(o) for o in chosen)


def constraints_ui(cqas: list[str]) -> tuple[Constraint, ...]:
    table = st.data_editor(
        pd.DataFrame({"quantity": pd.Series(dtype=str), "op": pd.Series(dtype=str), "value": pd.Series(dtype=float)}),
        column_config={
            "quantity": st.column_config.SelectboxColumn(options=[*cqas, BATCH_TIME], required=True),
            "op": st.column_config.SelectboxColumn(options=[">=", "<="], required=True),
            "value": st.column_config.NumberColumn(required=True),
        },
        num_rows="dynamic",
        hide_index=True,
        key="design_constraints",
    )
    rows = table.dropna()
    return tuple(Constraint(str(r.quantity), str(r.op), float(r.value)) for r in rows.itertuples())


def bounds_ui() -> tuple[dict[str, tuple[float, float]], tuple[float, float], tuple[float, float]]:
    """Decision-variable bounds (Table 2 by default) and where batches start and end (the data's range)."""
    schema = state.schema()
    bounds = schema.bounds
    start_T, end_T = data_temperature_ranges(state.workspace().data.profiles())
    rows = [(n, *bounds[n]) for n in ("initial_concentration", "seed_loading", "T1", "C1", "H1")]
    rows += [("start temperature", *start_T), ("final temperature", *end_T)]
    table = pd.DataFrame(rows, columns=["variable", "low", "high"]).replace(
        {"variable": {"T1": "T (all set points)", "C1": "C (cooling rates)", "H1": "H (heating rates)"}}
    )
    with st.expander("Bounds: Table 2 for the variables; start and final temperatures span the experiments"):
        edited = st.data_editor(
            table,
            column_config={"variable": st.column_config.TextColumn(disabled=True)},
            hide_index=True,
            key="design_bounds",
        )
    out: dict[str, tuple[float, float]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for r in edited.itertuples():
        if not r.low <= r.high:
            st.error(f"{r.variable}: the low bound must not exceed the high bound; the default is used")
            continue
        if r.variable in ("start temperature", "final temperature"):
            ranges[r.variable] = (float(r.low), float(r.high))
            continue
        kind = r.variable[0] if r.variable[1] == " " else None
        targets = [n for n in schema.profile_names if n[0] == kind] if kind else [r.variable]
        out.update({t: (float(r.low), float(r.high)) for t in targets})
    return out, ranges.get("start temperature", start_T), ranges.get("final temperature", end_T)


def settings_ui(cqas: list[str]) -> DesignSpec | None:
    left, right = st.columns(2)
    with left:
        objectives = objectives_ui(cqas)
        types = st.multiselect(
            "Profile types",
            list(TYPE_CHOICES),
            default=["linear cooling", "1 cycle", "2 cycles", "3 cycles", "4 cycles"],
            key="design_types",
        )
        risk = st.slider(
            "Risk aversion κ (optimise mean − κ·σ for maximised CQAs, mean + κ·σ for minimised ones)",
            0.0,
            3.0,
            0.0,
            0.25,
            key="design_risk",
        )
    with right:
        st.markdown("Constraints (e.g. crystallinity ≥ 80, batch_time_min ≤ 900)")
        constraints = constraints_ui(cqas)
        stay = st.checkbox(
            "Stay within the applicability domain",
            value=True,
            key="design_domain",
            help="Designs must lie as close to the experiments as the experiments lie to each other (in shared "
            "profile descriptors); far from the data a surrogate's optimum is mostly its own error.",
        )
        c1, c2, c3 = st.columns(3)
        pop = c1.number_input("Population", 8, 500, 100, 4, key="design_pop")
        gen = c2.number_input("Generations", 1, 1000, 200, 10, key="design_gen")
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="design_seed")
    bounds, start_T, end_T = bounds_ui()
    if not objectives or not types:
        st.warning("Choose at least one objective and one profile type.")
        return None
    try:
        return DesignSpec(
            objectives=objectives,
            constraints=constraints,
            risk_kappa=float(risk),
            n_temperatures=tuple(TYPE_CHOICES[t] for t in types),
            bounds=bounds,
            start_T=start_T,
            end_T=end_T,
            pop_size=int(pop),
            n_gen=int(gen),
            random_state=int(seed),
            domain="strict" if stay else "off",
        )
    except ValueError as exc:
        st.error(str(exc))
        return None


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
                experiments=ws.data.inputs(),
            )
        except ValueError as exc:
            status.update(label=f"Design failed: {exc}", state="error")
            return
        finally:
            bar.empty()  # the status line below says how it ended
        status.update(label=f"{len(result.points)} Pareto points in {result.seconds:.1f} s", state="complete")
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
        st.dataframe(
            pd.DataFrame([{"CQA": c, "predicted": m, "± 1σ": s} for c, (m, s) in recipe.predictions.items()]).round(2),
            hide_index=True,
            key="selected_predictions",
        )
        st.dataframe(recipe.profile.recipe_table().round(3), hide_index=True, key="selected_recipe")
        if st.button(f"Add {len(ids)} to basket", key="add_to_basket"):
            state.workspace().add_to_basket(chosen)


def ground_truth_panel(points: pd.DataFrame) -> None:
    with st.expander("Check the designs against the virtual lab"):
        st.caption(
            "Meaningful when the data came from the virtual lab (as the sample data did): the simulator "
            "is then the ground truth the models tried to learn."
        )
        n = st.number_input(
            "Designs to simulate (spread along the fronts)", 1, max(len(points), 1), min(30, len(points)), key="truth_n"
        )
        if st.button("Simulate the designs", key="truth_run"):
            step = max(len(points) // int(n), 1)
            with st.spinner(f"Simulating {int(n)} batches"):
                check = ground_truth_check(points.iloc[::step].head(int(n)), state.schema())
                state.workspace().set_ground_truth(check)
        check = state.workspace().ground_truth
        if check is not None:
            if state.workspace().design_is_stale():
                st.caption("Checked designs made with earlier models.")
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
        basket[columns + [c for c in ("in_domain",) if c in basket]],
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


if state.require_models():
    predictor = state.workspace().predictor()
    spec = settings_ui(predictor.cqa_names)
    if st.button("Run design", type="primary", disabled=spec is None, key="run_design") and spec is not None:
        run(spec)
    result = state.workspace().design
    if result is not None and not result.points["feasible"].any():
        st.warning(
            "The design found no feasible points; relax the constraints or bounds, run more generations, "
            "or let designs leave the applicability domain."
        )
    elif result is not None:
        points = result.points[result.points["feasible"]]
        took = f" in {result.seconds:.1f} s" if result.seconds > 0 else ""  # a reopened project did not time it
        st.caption(
            f"{len(points)} feasible Pareto points from {result.generations} generations"
            f"{took}{' — stopped early' if result.cancelled else ''}"
        )
        stale_note(result)
        only_merged = st.toggle("Only points that no other profile type beats", key="merged_only")
        shown = result.merged() if only_merged else points
        x_axis, y_axis = (
            (result.spec.objectives[1].quantity, result.spec.objectives[0].quantity)
            if len(result.spec.objectives) > 1
            else (BATCH_TIME, result.spec.objectives[0].quantity)
        )
        colour = "crystallinity" if "crystallinity" in predictor.cqa_names else None
        # Plotly marks the chosen points itself; redrawing the figure with them ringed made the browser drop
        # the next box selection, so the chart stays the same while the engineer picks.
        event = st.plotly_chart(
            pareto_figure(shown, x=x_axis, y=y_axis, colour=colour),
            on_select="rerun",
            selection_mode=("points", "box", "lasso"),
            key="pareto_chart",
        )
        selection_from_chart(event)
        if colour and "D50" in predictor.cqa_names:
            with st.expander("Predicted crystallinity along the fronts"):
                st.plotly_chart(crystallinity_front_figure(shown), key="crystallinity_front")
        with st.expander("All Pareto points"):
            columns = ["id", "profile_type", *[c for c in shown.columns if c.endswith(("_mean", "_std"))]]
            columns += [c for c in (BATCH_TIME, "domain_score", "in_domain") if c in shown]
            st.dataframe(shown[columns].round(3), hide_index=True, key="pareto_table")
        selected_point_panel(points)
        ground_truth_panel(points)
    basket_panel()
