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

with st.sidebar:
    st.markdown("**ProcessTwin**: data-driven digital twins for process design")
    data = st.session_state.get(state.DOE)
    if data is None:
        st.caption("No data loaded")
    else:
        st.caption(f"Data: {st.session_state[state.DOE_NAME]} ({len(data)} experiments)")

navigation.run()
