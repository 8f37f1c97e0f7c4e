"""AppTest of the Synthetic data & α page: a tiny study, inspecting α, applying it to the predictor."""

import numpy as np

from core.augment.study import NO_GAIN
from tests.apptest import app_on
from tests.conftest import tiny_fit


def studied():
    at = app_on("pages/synthetic.py")
    at.multiselect(key="aug_generators").set_value(["gaussian_copula", "tvae"])
    at.multiselect(key="aug_m").set_value([5])
    at.selectbox(key="aug_step").set_value(0.5)
    at.selectbox(key="aug_folds").set_value(3)
    at.selectbox(key="aug_repeats").set_value(1)
    at.checkbox(key="aug_tune").set_value(False)
    at.run()  # the epochs box is enabled once tuning is off
    at.number_input(key="aug_epochs").set_value(2)
    at.button(key="aug_run").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_study_shows_curves_quality_and_inspects_any_alpha():
    at = studied()
    (result,) = at.session_state["augment_study_cache"].values()
    aug = result.cqas["D50"]
    assert set(aug.curves) == {"gaussian_copula", "tvae"}
    assert [p[0] for p in aug.curves["gaussian_copula"][5]] == [0.0, 0.5, 1.0]
    quality = next(d.value for d in at.dataframe if "quality score" in d.value.columns)
    assert len(quality) == 2 and quality["quality score"].between(0, 1).all()
    assert {"best CV gain", "± noise (SE)", "α theory"} <= set(quality.columns)
    # the verdict and its evidence head the screen: kept real-only model or the augmentation, with the noise
    verdict = (at.info if aug.generator is None else at.success)[0].value
    assert verdict == aug.evidence() and "one standard error" in verdict
    assert verdict.startswith(NO_GAIN) == (aug.generator is None)
    chosen = next(m for m in at.metric if m.label == "Chosen source")  # short enough to show whole, in full in help
    assert len(chosen.value) <= 15 and chosen.proto.help.startswith(chosen.value)
    curves = at.get("plotly_chart")[0].proto.spec
    assert "scaling law, Eq. 4" in curves and "one SE of the gain" in curves
    at.select_slider(key="aug_alpha").set_value(0.5)
    at.run()
    assert not at.exception, at.exception
    holdout = next(d.value for d in at.dataframe if "hold-out MSE" in d.value.columns)
    assert list(holdout.index) == ["before", "after"]
    assert holdout.loc["before", "hold-out MSE"] != holdout.loc["after", "hold-out MSE"]
    # revisiting is instant: the study is cached by content and not rerun
    at.run()
    assert len(at.session_state["augment_study_cache"]) == 1


def test_apply_makes_the_design_screens_use_the_augmented_model():
    at = studied()
    at.selectbox(key="aug_inspect_generator").set_value("gaussian_copula")
    at.select_slider(key="aug_alpha").set_value(0.5)
    at.run()
    at.button(key="aug_apply").click()
    at.run()
    assert not at.exception, at.exception
    applied = at.session_state["augment"]
    assert applied.result.cqas["D50"].alpha == 0.5
    fit = tiny_fit()
    X = fit.fits["D50"].dataset.X_train
    augmented = applied.result.predictor(at.session_state["fit"]).predict(X, return_std=False)
    plain = fit.predictor().predict(X, return_std=False)
    d50 = fit.predictor().cqa_names.index("D50")
    assert not np.allclose(augmented[:, d50], plain[:, d50])
    others = [j for j in range(plain.shape[1]) if j != d50]
    np.testing.assert_array_equal(augmented[:, others], plain[:, others])
