"""AppTest of the sidebar's project panel: a saved project opens with its models re-fitted; a bad file changes
nothing. (AppTest drops sidebar elements on reruns of a multipage app, so the panel runs on its own here.)"""

import json
from functools import cache

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.augment import AugmentResult, AugmentSettings, CQAAugment
from core.augment.result import augmented_ensemble, final_synthetic_rows
from core.models import fitting
from core.project import Project, model_files, open_project, save_project
from core.workspace import AppliedAugmentation
from tests.conftest import small_data, tiny_fit

GC = {"gaussian_copula": {"default_distribution": "norm"}}


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


def saved_project(with_configuration: bool = True) -> bytes:
    fit = tiny_fit()
    basket = pd.DataFrame({"id": ["L-abc"], "profile_type": ["linear cooling"]})
    return save_project(
        Project(
            small_data(),
            "trial.csv",
            settings={"models": {"settings": fit.settings.to_dict(), "cqas": list(fit.fits)}},
            tables={"basket": basket},
            files=model_files(fit) if with_configuration else {},
        )
    )


def test_the_saved_project_holds_each_cqas_chosen_configuration():
    saver = AppTest.from_function(save_session, default_timeout=120)
    saver.session_state["doe"] = small_data()
    saver.session_state["fit"] = tiny_fit()
    saver.run()
    assert not saver.exception, saver.exception
    settings = json.loads(open_project(saver.session_state["saved"]).files["models_settings.json"])
    for cqa, fit in tiny_fit().fits.items():
        assert settings["cqas"][cqa]["family"] == fit.chosen
        assert settings["cqas"][cqa]["params"] == fit.metrics.models[fit.chosen].params
    assert settings["settings"]["random_state"] == tiny_fit().settings.random_state


def test_opening_a_project_refits_the_same_models_without_a_search(monkeypatch):
    monkeypatch.setattr(fitting, "search_family", lambda *a, **k: pytest.fail("the hyper-parameters were searched"))
    at = start(with_models=False)
    at.file_uploader(key="project_upload").set_value(("p.zip", saved_project(), "application/zip"))
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["doe_name"] == "trial.csv"
    X = small_data().inputs
    original_mean, original_std = tiny_fit().predictor().predict(X, return_std=True)
    mean, std = at.session_state["fit"].predictor().predict(X, return_std=True)
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


@cache
def applied_augmentation() -> AugmentResult:
    """D50 augmented with 5 Gaussian-copula rows at α = 0.5, as the Synthetic screen's Apply leaves it."""
    fit = tiny_fit()
    rows = final_synthetic_rows(fit.fits["D50"], "gaussian_copula", GC["gaussian_copula"], 5, 0)
    entry = CQAAugment(
        "gaussian_copula", 5, 0.5, None, 2.0, 1.8, None, None, None, None, {"gaussian_copula": 0.8}, GC, {}, {}, {}
    )
    ensemble = augmented_ensemble(fit.fits["D50"], rows, 0.5, fit.settings.to_dict())
    settings = AugmentSettings(generators=("gaussian_copula",), tune=False, generator_params=GC)
    return AugmentResult(settings, {"D50": entry}, {"D50": rows}, {"D50": ensemble})


def save_session() -> None:
    import streamlit as st

    from core.project import save_project
    from pages.sidebar import project_from_session

    st.session_state["saved"] = save_project(project_from_session())


def test_an_applied_augmentation_is_saved_and_restored_with_the_project():
    saver = AppTest.from_function(save_session, default_timeout=120)
    saver.session_state["doe"] = small_data()
    saver.session_state["doe_name"] = "small.csv"
    saver.session_state["fit"] = tiny_fit()
    saver.session_state["augment"] = AppliedAugmentation(tiny_fit(), applied_augmentation())
    saver.run()
    assert not saver.exception, saver.exception
    content = saver.session_state["saved"]
    files = set(open_project(content).files)
    assert files - {f"models_{n}" for n in ("settings.json", "metrics.json", "data.csv")} == {
        "augment.json",
        "augment_settings.json",
        "synthetic_D50.csv",
    }

    at = start(with_models=False)
    at.file_uploader(key="project_upload").set_value(("p.zip", content, "application/zip"))
    at.run()
    assert not at.exception, at.exception
    restored = at.session_state["augment"]
    assert restored.fit is at.session_state["fit"]
    pd.testing.assert_frame_equal(restored.result.synthetic["D50"], applied_augmentation().synthetic["D50"])
    X = small_data().inputs
    mean, std = restored.result.predictor(restored.fit).predict(X, return_std=True)
    expected_mean, expected_std = applied_augmentation().predictor(tiny_fit()).predict(X, return_std=True)
    assert (mean == expected_mean).all() and (std == expected_std).all()
    assert (mean != tiny_fit().predictor().predict(X)).any()  # the augmented model, not the real-only one
    assert any("synthetic data: D50 (gaussian_copula, m = 5, α = 0.5)" in m.value for m in at.markdown)


def test_a_damaged_augmentation_leaves_the_models_and_warns():
    project = open_project(saved_project())
    project.files = {"augment.json": "{}", "augment_settings.json": '{"format": "other"}'}
    at = start(with_models=False)
    at.file_uploader(key="project_upload").set_value(("p.zip", save_project(project), "application/zip"))
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["fit"] is not None and "augment" not in at.session_state
    assert any("augmentation was not restored" in w.value for w in at.warning)
