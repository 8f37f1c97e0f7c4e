"""The Design screen's settings: objectives, constraints, profile types, bounds and the optimiser's budget."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.optimize.bounds_table import bounds_table, read_bounds_table
from core.optimize.spec import (
    BATCH_TIME,
    DEFAULT_DOMAIN_LIMIT,
    Constraint,
    DesignSpec,
    Objective,
    cycles_within_data,
    data_temperature_ranges,
    default_budget,
    n_temperatures_for_cycles,
    named_quantities,
)
from core.profiles import profile_type_name
from core.seeding import band_for_models, seeding_band
from pages import state

TYPE_CHOICES = {profile_type_name(n): n for n in (2, 3, 4, 6, 8, 10)}
CYCLE_TYPES = [t for t, n in TYPE_CHOICES.items() if n % 2 == 0]  # linear cooling and whole cycles


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
    data = state.workspace().data
    schema = state.schema().covering(data.inputs)
    start_T, end_T = data_temperature_ranges(data.profiles())
    with st.expander(
        "Bounds: Table 2 for the variables, widened to the experiments; start and final temperatures span them"
    ):
        edited = st.data_editor(
            bounds_table(schema, start_T, end_T),
            column_config={"variable": st.column_config.TextColumn(disabled=True)},
            hide_index=True,
            key="design_bounds",
        )
    bounds, start_T, end_T, problems = read_bounds_table(edited, schema, start_T, end_T)
    for problem in problems:
        st.error(problem)
    return bounds, start_T, end_T


def types_ui() -> list[str]:
    """The profile types to design; by default linear cooling and the cycle counts the experiments reach."""
    within = {
        profile_type_name(n_temperatures_for_cycles(c)) for c in cycles_within_data(state.workspace().data.profiles())
    }
    beyond = [t for t in CYCLE_TYPES if t not in within]
    types = st.multiselect(
        "Profile types", list(TYPE_CHOICES), default=[t for t in CYCLE_TYPES if t in within], key="design_types"
    )
    if beyond:
        st.caption(
            f"Not selected by default: {', '.join(beyond)}. No experiment heats up that often, so their designs "
            "would lie beyond the data; the Next experiments screen plans runs to get there."
        )
    return types


def settings_ui(cqas: list[str]) -> DesignSpec | None:
    left, right = st.columns(2)
    with left:
        objectives = objectives_ui(cqas)
        types = types_ui()
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
            help="Designs may lie no farther from the experiments than the limit below (in shared profile "
            "descriptors, and in how far the hottest set point lies above the experiments' seeding line): far "
            "enough from the data a surrogate's optimum is mostly its own error.",
        )
        limit = st.number_input(
            "Farthest a design may lie (domain score)",
            1.0,
            20.0,
            DEFAULT_DOMAIN_LIMIT,
            0.5,
            key="design_domain_limit",
            disabled=not stay,
            help="1 is the domain's edge: as far from the experiments as the loneliest of them lie from their "
            "neighbours; past 1 designs are drawn hollow and flagged. The default let designs reach as far as they "
            "had to on fresh virtual-lab campaigns, where the models' designs beyond the edge held up in the "
            "simulator (README, Benchmarks); a plant is less smooth than a simulator, so make such a design "
            "before trusting it (Next experiments, Validate).",
        )
        seed_as_data = st.checkbox(
            "Seed as the experiments do",
            value=True,
            key="design_seeding",
            help="The start temperature stays as close to the line through the experiments' (initial "
            "concentration, start temperature) pairs as they do, and no heat-up rises further above that line "
            "than theirs: seeds added to, or re-heated in, a solution hotter than its saturation temperature "
            "dissolve, a run the models have never seen. When every model the design uses is the grey box, which "
            "simulates that re-dissolution, the heat-ups are left free.",
        )
        predictor = state.workspace().predictor()
        simulated = predictor.simulates_all(named_quantities(objectives, constraints))
        band = band_for_models(seeding_band(state.workspace().data.inputs), simulated)
        if seed_as_data:
            st.caption(f"Seeding as the experiments: {band}" if band else "The experiments give no seeding band.")
            if band is not None and simulated:
                st.caption("Heat-ups are free: every model this design uses simulates the batch, re-dissolution too.")
        c1, c2, c3 = st.columns(3)
        simulates = predictor.simulates
        pop_default, gen_default = default_budget(simulates)
        suffix = "_simulating" if simulates else ""  # its own widgets: a budget kept from other models is no default
        pop = c1.number_input("Population", 8, 500, pop_default, 4, key=f"design_pop{suffix}")
        gen = c2.number_input("Generations", 1, 1000, gen_default, 5, key=f"design_gen{suffix}")
        if simulates:
            st.caption(
                "A model simulates every design it predicts (virtual lab + GP), so the search is smaller by default."
            )
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
            domain_limit=float(limit),
            seeding=band if seed_as_data else None,
        )
    except ValueError as exc:
        st.error(str(exc))
        return None
