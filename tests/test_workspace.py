"""The workspace's transitions and what they do to the results that depend on them (no Streamlit)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.augment import AugmentSettings, CQAAugment
from core.augment.result import AugmentResult
from core.doe import append_rows, load_doe
from core.optimize.run import DesignResult
from core.optimize.spec import DesignSpec
from core.plan.loop import run_in_virtual_lab
from core.plan.propose import PlanSpec
from core.project import open_project, save_project
from core.workspace import AppendError, Workspace, fit_key, training_key
from tests.conftest import doe_frame, small_data, tiny_fit, to_csv_bytes


def design() -> DesignResult:
    points = pd.DataFrame({"id": ["L-a", "L-b"], "feasible": [True, True], "n_temperatures": [2, 2]})
    return DesignResult(points, DesignSpec(), 3, False, 1.0)


def entry(alpha: float) -> CQAAugment:
    return CQAAugment("gaussian_copula", 5, alpha, None, 2.0, 1.8, None, None, None, None, {}, {}, {}, {}, {})


def augmentation(ws: Workspace, cqa: str, alpha: float) -> AugmentResult:
    rows = pd.DataFrame({"x": [1.0]})
    ensemble = ws.fit.fits[cqa].ensemble
    return ws.apply_augmentation(cqa, AugmentResult(AugmentSettings(), {}), entry(alpha), rows, ensemble)


def full_workspace() -> Workspace:
    ws = Workspace()
    ws.load_data(small_data(), "small.csv")
    ws.set_fit(tiny_fit())
    ws.set_design(design())
    ws.add_to_basket(design().points.head(1))
    ws.set_ground_truth(pd.DataFrame({"D50_simulated": [1.0]}))
    return ws


def test_loading_new_data_clears_every_result_made_from_the_old():
    ws = full_workspace()
    augmentation(ws, "D50", 0.5)
    cleared = ws.load_data(load_doe(to_csv_bytes(doe_frame(2)), filename="other.csv").data, "other.csv")
    assert cleared == ["models", "design", "basket"]
    assert ws.data_name == "other.csv" and len(ws.data) == 12
    assert ws.fit is None and ws.augmentation is None and ws.design is None and ws.ground_truth is None
    assert ws.basket.empty and ws.selected_points == [] and ws.plan is None and ws.plan_history == []


def test_a_solubility_curve_reaches_the_schema_and_clears_what_the_old_one_made():
    ws = full_workspace()
    source = ws.data_source
    cleared = ws.set_solubility([[40.0, 30.0], [0.0, 10.0]])
    assert cleared == ["models", "design", "basket"]
    assert ws.data.schema.solubility == ((0.0, 10.0), (40.0, 30.0))  # sorted by temperature
    assert ws.data_name == "small.csv" and ws.data_source == source and len(ws.data) == len(small_data())
    ws.set_fit(tiny_fit())
    assert ws.set_solubility([[0.0, 10.0], [40.0, 30.0]]) == [] and ws.fit is not None  # the same curve again
    opened = Workspace()
    opened.open_project(open_project(save_project(ws.to_project())))
    assert opened.data.schema.solubility == ws.data.schema.solubility
    ws.set_solubility(None)
    assert ws.data.schema.solubility is None


@pytest.mark.parametrize(
    "points, message",
    [([[0.0, 10.0]], "at least two"), ([[0.0, 10.0], [40.0, float("nan")]], "temperature and a solubility")],
)
def test_a_curve_that_cannot_be_used_changes_nothing(points, message):
    ws = full_workspace()
    fit = ws.fit
    with pytest.raises(ValueError, match=message):
        ws.set_solubility(points)
    assert ws.fit is fit and ws.data.schema.solubility is None


def test_refitting_keeps_the_design_and_its_check_visible_but_stale():
    ws = full_workspace()
    assert not ws.design_is_stale()
    first = ws.design
    ws.set_fit(replace(tiny_fit()))
    assert ws.design is first and ws.ground_truth is not None and len(ws.basket) == 1
    assert ws.design_is_stale()


def test_an_augmentation_applies_only_to_the_models_it_was_made_for():
    ws = full_workspace()
    applied = augmentation(ws, "D50", 0.5)
    assert ws.augmentation is applied and ws.design_is_stale()
    ws.set_fit(replace(tiny_fit()))
    assert ws.augmentation is None
    assert ws.predictor().predict(small_data().inputs, return_std=False).shape == (len(small_data()), 3)


def test_applying_keeps_other_cqas_and_alpha_zero_returns_to_the_real_only_model():
    ws = full_workspace()
    augmentation(ws, "D50", 0.5)
    both = augmentation(ws, "DoA", 0.25)
    assert set(both.cqas) == {"D50", "DoA"} and set(both.ensembles) == {"D50", "DoA"}
    back = augmentation(ws, "D50", 0.0)
    assert set(back.ensembles) == {"DoA"} and set(back.synthetic) == {"DoA"} and back.cqas["D50"].alpha == 0.0


def test_a_new_design_clears_the_selection_and_the_ground_truth_check():
    ws = full_workspace()
    ws.select_points(["L-a"])
    ws.set_design(design())
    assert ws.selected_points == [] and ws.ground_truth is None and not ws.design_is_stale()


def test_the_basket_keeps_each_point_once_and_empties():
    ws = full_workspace()
    ws.add_to_basket(design().points)
    assert ws.basket["id"].tolist() == ["L-a", "L-b"]
    ws.empty_basket()
    assert ws.basket.empty


def replicate_of_first_run() -> pd.DataFrame:
    """The first run of `small_data` made again: same inputs, another measured D50."""
    row = load_doe(to_csv_bytes(doe_frame(1).head(1)), filename="row.csv").data.frame
    return row.assign(D50=row["D50"] + 1.5, run_id="replicate")


def test_appending_runs_refits_the_models_and_marks_the_design_stale():
    ws = full_workspace()
    ws.append_runs(append_rows(ws.data, replicate_of_first_run()), "validation")
    assert len(ws.data) == len(small_data()) + 1 and ws.data_name == "small.csv + validation"
    assert ws.fit is not tiny_fit() and ws.fit.settings == tiny_fit().settings and not ws.models_are_stale()
    assert ws.design is not None and ws.design_is_stale()


def test_rows_that_cannot_be_appended_change_nothing():
    ws = full_workspace()
    bad = append_rows(ws.data, pd.DataFrame({"initial_concentration": ["not a number"]}))
    with pytest.raises(AppendError):
        ws.append_runs(bad, "validation")
    assert ws.data is small_data() and ws.fit is tiny_fit()


def test_a_run_already_in_the_data_is_not_appended_again():
    ws = full_workspace()
    ws.append_runs(append_rows(ws.data, replicate_of_first_run()), "validation")
    data, fit = ws.data, ws.fit
    again = append_rows(ws.data, replicate_of_first_run())
    with pytest.raises(AppendError, match="appended before"):
        ws.append_runs(again, "validation")
    assert ws.data is data and ws.fit is fit and len(data) == len(small_data()) + 1


def test_rows_that_repeat_runs_are_left_out_and_named():
    data = small_data()
    first = data.frame.head(1)
    result = append_rows(data, pd.concat([first, replicate_of_first_run(), first.drop(columns="run_id")]))
    assert len(result.data) == len(data) + 1 and not result.report.errors
    assert result.repeated == (first["run_id"].iloc[0], "new row 3")
    assert result.data.frame["run_id"].iloc[-1] == "replicate"


def test_models_of_other_rows_are_stale():
    ws = full_workspace()
    assert not ws.models_are_stale()
    ws.store["doe"] = load_doe(to_csv_bytes(doe_frame(2)), filename="other.csv").data
    assert ws.models_are_stale()


def test_a_saved_workspace_opens_with_its_models_design_and_basket():
    ws = full_workspace()
    content = save_project(ws.to_project())
    opened = Workspace()
    notes: list[str] = []
    warnings = opened.open_project(open_project(content), note=notes.append)
    assert warnings == [] and notes
    X = small_data().inputs
    np.testing.assert_array_equal(opened.predictor().predict(X), ws.predictor().predict(X))
    assert opened.basket["id"].tolist() == ["L-a"]
    assert opened.design.points["id"].tolist() == ["L-a", "L-b"] and not opened.design_is_stale()


def test_the_content_key_of_models_includes_their_hold_out():
    fit = tiny_fit()
    with_holdout = replace(fit, holdout=fit.data)
    assert fit_key(fit) == fit_key(replace(fit)) and fit_key(with_holdout) != fit_key(fit)


def test_a_round_is_proposed_then_accepted_with_the_models_refitted_and_recorded():
    ws = Workspace()
    ws.load_data(small_data(), "small.csv")
    ws.set_fit(tiny_fit())
    ws.set_design(design())
    spec = PlanSpec(batch_size=2, strategy="random", n_temperatures=(2, 6), random_state=2, front_pop=12, front_gen=4)
    plan = ws.propose_plan(spec)
    assert ws.plan is plan and len(plan.runs) == 2 and len(ws.plan_history) == 1
    reference = ws.store["plan_reference"].copy()
    ws.accept_round(run_in_virtual_lab(ws.data, plan.runs, 0), "virtual-lab round", spec)
    assert len(ws.data) == len(small_data()) + 2 and ws.plan is None
    assert [r.round for r in ws.plan_history] == [0, 1]
    np.testing.assert_array_equal(ws.store["plan_reference"], reference)  # every round measured against one point
    assert ws.fit is not tiny_fit() and not ws.models_are_stale() and ws.design_is_stale()


def test_the_training_key_changes_with_data_hold_out_settings_and_cqas():
    settings = tiny_fit().settings
    key = training_key(small_data(), settings, ["D50"])
    assert key == training_key(small_data(), settings, ["D50"])
    other_data = load_doe(to_csv_bytes(doe_frame(2)), filename="other.csv").data
    others = [
        training_key(other_data, settings, ["D50"]),
        training_key(small_data(), settings, ["D50"], holdout=other_data),
        training_key(small_data(), replace(settings, n_members=4), ["D50"]),
        training_key(small_data(), settings, ["D50", "DoA"]),
    ]
    assert key not in others and len(set(others)) == 4
