"""Input widgets shared by several screens."""

from __future__ import annotations

import streamlit as st

from core.doe.schema import Schema
from core.profiles import ThermocycleProfile, profile_type_name

PROFILE_TYPES = [2, 3, 4, 6, 8, 10]


def profile_inputs(schema: Schema, prefix: str, default_type: int = 8) -> tuple[ThermocycleProfile, float, float]:
    """Sliders for a thermocycle profile and the start conditions; each set point is bounded by the last,
    so every profile entered obeys Eqs. 2-3."""
    b = schema.bounds
    c1, c2, c3 = st.columns(3)
    n_temps = c1.selectbox(
        "Profile type",
        PROFILE_TYPES,
        index=PROFILE_TYPES.index(default_type),
        format_func=profile_type_name,
        key=f"{prefix}_type",
    )
    conc = c2.slider(
        "Initial concentration (mg/g solvent)", *b["initial_concentration"], 40.0, 0.1, key=f"{prefix}_conc"
    )
    seed_loading = c3.slider("Seed loading (mass fraction)", *b["seed_loading"], 0.1, 0.005, key=f"{prefix}_seed")
    temps: list[float] = []
    cool: list[float] = []
    heat: list[float] = []
    t_lo, t_hi = max(b["T1"][0], 0.5), b["T1"][1]
    cols = st.columns(5)
    for i in range(n_temps):
        lo, hi = (t_lo, t_hi) if i == 0 else ((t_lo, temps[-1]) if i % 2 == 1 else (temps[-1], t_hi))
        default = min(60.0, hi) if i == 0 else (lo + 0.4 * (hi - lo) if i % 2 == 1 else lo + 0.6 * (hi - lo))
        value = cols[i % 5].slider(
            f"T{i + 1} (°C)", float(lo), float(hi), float(default), 0.5, key=f"{prefix}_T{i + 1}"
        )
        temps.append(min(max(value, lo), hi))
    cols = st.columns(5)
    for s in range(n_temps - 1):
        kind, rates, (lo, hi) = ("C", cool, b["C1"]) if s % 2 == 0 else ("H", heat, b["H1"])
        rates.append(
            cols[s % 5].slider(
                f"{kind}{len(rates) + 1} (°C/min)",
                lo,
                hi,
                round((lo + hi) / 2, 2),
                0.01,
                key=f"{prefix}_{kind}{len(rates) + 1}",
            )
        )
    return ThermocycleProfile(tuple(temps), tuple(cool), tuple(heat)), conc, seed_loading
