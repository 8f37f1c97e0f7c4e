"""AppTest of the sidebar's project panel: a saved project opens with its models re-fitted; a bad file changes
nothing. (AppTest drops sidebar elements on reruns of a multipage app, so the panel runs on its own here.)"""

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.project import Project, save_project
from tests.apptest import small_data, tiny_fit


def panel() -> None:
    from pages.sidebar import render_open, render_save, render_status

    render_open()
    render_status()
    render_save()


def start(with_models: bool = True) -> AppTest:
    at = AppTest.from_function(panel, default_timeout=120)
    at.session_state["doe"] = small_data()
    at.session_state["doe_name"] = "small.csv"
    if with_models:
        at.session_state["fit"] = tiny_fit()
    at.run()
    assert not at.exception, at.exception
    return at


def saved_project() -> bytes:
    fit = tiny_fit()
    basket = pd.DataFrame({"id": ["L-abc"], "profile_type": ["linear cooling"]})
    return save_project(
        Project(
            small_data(),
            "trial.csv",
            settings={"models": {"settings": fit.settings.to_dict(), "cqas": list(fit.fits)}},
            tables={"basket": basket},
        )
    )


def test_opening_a_project_refits_the_same_models():
    at = start(with_models=False)
    at.file_uploader(key="project_upload").set_value(("p.zip", saved_project(), "application/zip"))
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["doe_name"] == "trial.csv"
    X = small_data().inputs()
    original_mean, original_std = tiny_fit().predictor().predict(X)
    mean, std = at.session_state["fit"].predictor().predict(X)
    assert (mean == original_mean).all() and (std == original_std).all()
    assert at.session_state["basket"]["id"].tolist() == ["L-abc"]
    assert any("models: D50 rf" in m.value for m in at.markdown)


def test_a_bad_project_file_keeps_the_current_project():
    at = start()
    at.file_uploader(key="project_upload").set_value(("p.zip", b"PK\x03\x04 not really", "application/zip"))
    at.run()
    assert any("Not opened" in e.value for e in at.error)
    assert at.session_state["doe_name"] == "small.csv" and at.session_state["fit"] is not None


def test_status_lists_what_the_project_holds():
    at = start()
    status = " ".join(m.value for m in at.markdown)
    assert "data: small.csv (24 runs)" in status and "design: not run" in status
    assert at.get("download_button")[0].label == "Save project (.zip)"
