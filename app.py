"""ProcessTwin: streamlit entry point. Routes to the screens in pages/ and shows the project state."""

import streamlit as st

from pages import state

st.set_page_config(page_title="ProcessTwin", page_icon="🧪", layout="wide")
state.ensure_sample_loaded()

navigation = st.navigation(
    {
        "Crystallization": [
            st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
        ],
    }
)

st.sidebar.markdown("**ProcessTwin**: data-driven digital twins for process design")
project_status = st.sidebar.empty()
navigation.run()

# Filled after the page ran, so it reflects what the page just loaded or trained.
data = st.session_state.get(state.DOE)
project_status.caption(
    "No data loaded" if data is None else f"Data: {st.session_state[state.DOE_NAME]} ({len(data)} experiments)"
)
