"""AppTest of the Models page: train with small settings, override a choice, what-if predictions."""

import numpy as np

from tests.apptest import app_on
from tests.conftest import noisy_crystallinity_project


def trained():
    at = app_on("pages/models.py", with_models=False)
    at.multiselect(key="model_families").set_value(["rf", "svr"])
    at.number_input(key="model_members").set_value(3)
    at.button(key="train_models").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_training_fills_the_metrics_table_and_marks_the_choice():
    at = trained()
    result = at.session_state["fit"]
    assert set(result.fits) == {"D50", "DoA", "crystallinity"}
    table = result.metrics_table()
    assert set(table["family"]) == {"rf", "svr", "average"}
    for _, part in table.groupby("cqa"):
        assert part.loc[part["chosen"], "selection_score"].item() == part["selection_score"].min()
    assert at.session_state["fit"].settings.n_members == 3
    # each CQA's headline: hold-out MSE and its change against predicting the training mean
    metrics = [f.metrics for f in result.fits.values()]
    assert any(m.test_mse is not None for m in metrics)
    for metric, m in zip(at.metric, metrics, strict=True):
        if m.test_mse is None:
            assert metric.value == "no test rows" and not metric.proto.delta
        else:
            assert metric.value == f"test MSE {m.test_mse:.3g}"
            assert metric.proto.delta == f"{m.test_gain_over_mean:+.0%} against the training mean"


def test_override_uses_the_other_family():
    at = trained()
    result = at.session_state["fit"]
    other = next(f for f in ("rf", "svr") if f != result.fits["D50"].chosen)
    at.selectbox(key="choice_D50").set_value(other)
    at.run()
    assert not at.exception
    assert at.session_state["fit"].fits["D50"].chosen == other
    assert at.session_state["fit"].fits["D50"].metrics.selected_by == "user"


def test_what_if_panel_predicts_every_cqa():
    at = app_on("pages/models.py")
    at.selectbox(key="whatif_type").set_value(2)
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "predicted" in d.value.columns)
    assert list(table["CQA"]) == ["D50", "DoA", "crystallinity"]
    assert (table["± 1σ"] >= 0).all()
    # the σ of the mean never exceeds a new run's; where the model separates the run's scatter, the two make σ
    assert (table["± 1σ of the mean"] <= table["± 1σ"] + 0.01).all()
    split = table["run scatter ± 1σ"].notna()
    parts = np.hypot(table["± 1σ of the mean"][split], table["run scatter ± 1σ"][split])
    np.testing.assert_allclose(parts, table["± 1σ"][split], atol=0.02)


def test_partial_dependence_and_importance_render():
    at = app_on("pages/models.py")
    at.toggle(key="importance_on_D50").set_value(True)
    at.multiselect(key="pd_inputs_D50").set_value(["initial_concentration"])
    at.run()
    assert not at.exception
    assert any(c.key == "pd_D50" for c in at.get("plotly_chart"))


def test_per_type_parity_and_error_table_show_every_profile_type():
    at = app_on("pages/models.py")
    fit = at.session_state["fit"].fits["D50"]
    table = next(d.value for d in at.dataframe if "left-out MSE" in d.value.columns)
    assert set(table["profile_type"]) == set(fit.dataset.types_train) | set(fit.dataset.types_test)
    assert table["training runs"].sum() == fit.dataset.n_train
    assert any(c.key == "type_parity_D50" for c in at.get("plotly_chart"))
    assert any("applicability domain" in c.value for c in at.caption)


def test_feature_set_setting_reaches_the_fit():
    at = app_on("pages/models.py", with_models=False)
    at.multiselect(key="model_families").set_value(["svr"])
    at.selectbox(key="model_features").set_value("descriptors")
    at.number_input(key="model_members").set_value(3)
    at.button(key="train_models").click()
    at.run()
    assert not at.exception, at.exception
    result = at.session_state["fit"]
    assert result.settings.features == "descriptors"
    assert {f.metrics.features for f in result.fits.values()} == {"descriptors"}


def test_a_cqa_no_model_predicts_better_than_its_mean_is_flagged():
    data, fit = noisy_crystallinity_project()
    at = app_on("pages/models.py", project=(data, fit))
    warnings = [w.value for w in at.warning]
    assert fit.metrics["crystallinity"].mean_caution("crystallinity", 3) in warnings
    assert not any(w.startswith(("D50:", "DoA:")) for w in warnings)
