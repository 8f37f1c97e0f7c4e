"""ProcessTwin: streamlit entry point. Routes to the screens in pages/ and shows the project state."""

import streamlit as st

st.set_page_config(page_title="ProcessTwin", page_icon="🧪", layout="wide")
# The list of screens goes out before the science stack is imported: a fresh server's first run spends seconds
# on those imports, and until st.navigation runs Streamlit lists every module of pages/ as a screen of its own.
navigation = st.navigation(
    {
        "Crystallization": [
            st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
            st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
            st.Page("pages/synthetic.py", title="Synthetic data & α", icon=":material/auto_awesome:"),
            st.Page("pages/design.py", title="Design (Pareto)", icon=":material/scatter_plot:"),
            st.Page("pages/validate.py", title="Validate", icon=":material/fact_check:"),
            st.Page("pages/next_experiments.py", title="Next experiments", icon=":material/playlist_add:"),
            st.Page("pages/virtual_lab.py", title="Virtual lab", icon=":material/science:"),
        ],
        "Reactor network": [
            st.Page("pages/reactor_network.py", title="Reactor network", icon=":material/device_hub:"),
        ],
    }
)

with st.spinner("Starting ProcessTwin: loading its modelling libraries"):  # shown only if it takes a while
    from pages import state
    from pages.sidebar import render_open, render_save, render_status

state.ensure_sample_loaded()
state.open_wanted_screen()

with st.sidebar:
    st.markdown("**ProcessTwin**: data-driven digital twins for process design")
    project_panel = st.container()
    with st.expander("Open a saved project"):
        render_open()

try:
    navigation.run()
finally:
    # Filled after the page ran (or stopped early with st.stop), so it shows and saves what the page just
    # loaded, trained or chose.
    with project_panel:
        render_status()
        render_save()
