"""AppTest of the Reactor network page: generate data, train, roll out and run the closed loop, tiny settings."""

from __future__ import annotations

from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/reactor_network.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_waits_for_data_and_shows_the_network():
    at = page()
    assert at.title[0].value == "Reactor network"
    assert any("Generate operating data" in info.value for info in at.info)
    assert len(at.get("plotly_chart")) == 1  # the network diagram
    assert at.button(key="reactor_generate")


def test_full_workflow_with_tiny_settings():
    at = page()
    at.number_input(key="reactor_hours").set_value(4.0)
    at.button(key="reactor_generate").click().run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2  # network and data explorer
    assert any("240 one-minute samples" in caption.value for caption in at.caption)

    at.multiselect(key="reactor_models").set_value(["node", "lstm"])
    at.number_input(key="reactor_steps").set_value(20)
    at.number_input(key="reactor_rollout").set_value(2)
    at.button(key="reactor_train").click().run()
    assert not at.exception, at.exception
    models = at.dataframe[0].value
    assert list(models["model"]) == ["Neural ODE (MLP)", "LSTM with attention"]

    at.number_input(key="reactor_horizon").set_value(5)
    at.run()
    assert not at.exception, at.exception

    at.button(key="reactor_compare_optimizers").click().run()
    assert not at.exception, at.exception
    optimizers = at.dataframe[1].value
    assert list(optimizers["optimiser"]) == ["adam", "hypergradient", "policy-gradient"]

    at.selectbox(key="reactor_cl_model").set_value("node")
    at.number_input(key="reactor_cl_hours").set_value(0.5)
    at.button(key="reactor_run").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[2].value
    assert list(table["supervisor"]) == ["pid", "learned", "oracle"]
    assert (table["throughput (kg/h)"] > 0).all()
    assert (table["throughput (kg/h)"] <= table["steady-state optimum (kg/h)"]).all()
    assert ((table["share of optimum (%)"] > 0) & (table["share of optimum (%)"] <= 100)).all()

    at.selectbox(key="reactor_cl_reactor").set_value(4)
    at.run()
    assert not at.exception, at.exception


def test_infeasible_network_settings_are_refused_in_plain_words():
    at = page()
    at.slider(key="reactor_split").set_value(0.8)
    at.number_input(key="reactor_feed").set_value(380.0)
    at.run()
    assert not at.exception, at.exception
    assert "outside 50-200 L/min" in at.error[0].value
