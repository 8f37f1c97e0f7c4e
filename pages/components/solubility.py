"""The Data screen's solubility curve: a few measured (T, c*) points that give the models supersaturation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.doe import DoEData
from core.profiles import CONCENTRATION_COLUMN
from pages import state

COLUMNS = ("temperature (°C)", "solubility")


def solubility_section(data: DoEData) -> None:
    curve = data.schema.solubility
    known = CONCENTRATION_COLUMN in data.schema.input_names
    unit = data.schema.variable(CONCENTRATION_COLUMN).unit if known else "the data's concentration unit"
    with st.expander("Solubility curve (optional)", expanded=bool(curve)):
        st.caption(
            f"A few measured points, solubility in the initial concentration's unit ({unit}). "
            "With them the models can also use how far each batch starts above saturation, how long it stays "
            "there and how much its heat-ups re-dissolve; they choose these inputs only where validation favours "
            "them. Changing the curve clears the models and designs made with the old one."
        )
        edited = st.data_editor(
            pd.DataFrame(list(curve or []), columns=list(COLUMNS)),
            num_rows="dynamic",
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(c) for c in COLUMNS},
            key="solubility_points",
        )
        if st.button("Use this curve", key="solubility_use"):
            points = edited.dropna(how="all").to_numpy(float).tolist()
            try:
                cleared = state.workspace().set_solubility(points)
            except ValueError as exc:
                st.error(f"Curve not used: {exc}")
                return
            note = f"; the {', '.join(cleared)} were cleared" if cleared else ""
            st.toast(f"Solubility curve {'set' if points else 'removed'}{note}")
            st.rerun()
