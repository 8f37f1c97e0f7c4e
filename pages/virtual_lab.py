"""Virtual lab: run the mechanistic population-balance simulator for any profile."""

from __future__ import annotations

import streamlit as st

from core.plots.doe import profile_figure
from core.plots.virtual_lab import size_distribution_figure, trajectory_figure
from core.profiles import ThermocycleProfile
from core.virtual_lab.simulator import BatchResult, check_batch_inputs, simulate_batch
from pages import state
from pages.components.widgets import profile_inputs

state.route_through_app(__file__)

st.title("Virtual lab")
st.caption(
    "A population-balance model of seeded cooling crystallization with growth, dissolution, nucleation, "
    "agglomeration and an amorphous phase. It stands in for the laboratory: it made the sample data and can "
    "check any design against a ground truth."
)


@st.cache_data(show_spinner=False, max_entries=64)
def run_batch(
    values: tuple[float, ...], n_temps: int, conc: float, seed_loading: float, noise: bool, random_seed: int
) -> BatchResult:
    """One batch, cached by its inputs, so revisiting the page is instant."""
    profile = ThermocycleProfile.from_values(values, n_temps)
    return simulate_batch(profile, conc, seed_loading, noise=noise, random_state=random_seed)


profile, conc, seed_loading = profile_inputs(state.schema(), "lab")
c1, c2 = st.columns(2)
noise = c1.toggle("Batch-to-batch scatter and measurement noise", key="lab_noise")
random_seed = c2.number_input("Random seed", 0, 2**31 - 1, 0, key="lab_random_seed", disabled=not noise)
problems = check_batch_inputs(profile, conc, seed_loading)
if problems:
    for p in problems:
        st.error(p)
else:
    with st.spinner("Simulating the batch"):
        result = run_batch(
            profile.values(),
            len(profile.temperatures),
            conc,
            seed_loading,
            noise,
            int(random_seed),
        )
    cols = st.columns(4)
    cols[0].metric("D50", f"{result.D50:.1f} µm")
    cols[1].metric("DoA", f"{result.DoA:.1f} %")
    cols[2].metric("crystallinity", f"{result.crystallinity:.1f} %")
    cols[3].metric("batch time", f"{profile.batch_time_min / 60:.1f} h")
    left, right = st.columns(2)
    left.plotly_chart(profile_figure(profile), key="lab_profile")
    right.plotly_chart(size_distribution_figure(result), key="lab_distribution")
    st.plotly_chart(trajectory_figure(result), key="lab_trajectory")
    summary = result.summary()
    st.caption(
        f"Yield {summary['yield_percent']:.1f} %, solute mass balance closes within "
        f"{100 * summary['mass_balance_error']:.3f} %, {summary['n_steps']} time steps."
    )
