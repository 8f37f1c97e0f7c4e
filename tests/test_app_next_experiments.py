"""AppTest of the Next experiments screen: propose, download, run in the virtual lab, the history grows."""

import io

import openpyxl

from core.doe import Schema
from core.export import recipe_from_point
from core.plan.workbook import plan_workbook
from tests.apptest import app_on


def test_propose_download_run_in_virtual_lab_and_history_grows():
    at = app_on("pages/next_experiments.py")
    n_before = len(at.session_state["doe"])
    at.number_input(key="plan_k").set_value(3)
    at.selectbox(key="plan_strategy").set_value("random")
    at.multiselect(key="plan_cycles").set_value([0, 2])
    at.toggle(key="plan_prior").set_value(False)  # the data alone: the prior has a test of its own
    at.button(key="plan_propose").click()
    at.run()
    assert not at.exception, at.exception
    plan = at.session_state["plan"]
    assert len(plan.runs) == 3 and set(plan.runs["profile_type"]) <= {"linear cooling", "2 cycles"}
    table = next(d.value for d in at.dataframe if "domain score" in d.value.columns)
    assert list(table["id"]) == list(plan.runs["id"])
    best = next(d.value for d in at.dataframe if "source" in d.value.columns)
    assert 1 <= len(best) <= 3 and set(best["source"]) <= {"predicted", "measured"}
    assert len(at.session_state["plan_history"]) == 1
    download = at.get("download_button")[0]
    assert download.proto.label.startswith("Download the workbook")
    wb = openpyxl.load_workbook(io.BytesIO(plan_workbook(plan.runs, Schema.default())))
    assert wb["DoE"].max_row == 1 + 3  # what the button serves: the header and the three runs

    at.button(key="plan_run_lab").click()
    at.run()
    assert not at.exception, at.exception
    assert len(at.session_state["doe"]) == n_before + 3
    assert at.session_state["doe"].frame["D50"].iloc[-3:].notna().all()
    history = at.session_state["plan_history"]
    assert [h.round for h in history] == [0, 1] and history[1].n_runs == n_before + 3
    assert at.session_state["plan"] is None
    fit = at.session_state["fit"].fits["D50"].dataset
    assert fit.n_train + fit.n_test == n_before + 3  # the surrogate models were retrained on the grown data


def test_an_unparseable_constraint_is_a_message():
    at = app_on("pages/next_experiments.py", with_models=False)
    at.text_input(key="plan_constraint").set_value("crystallinity > lots")
    at.run()
    assert not at.exception
    assert any("must look like" in e.value for e in at.error)


def test_the_best_designs_join_the_basket_as_recipes():
    at = app_on("pages/next_experiments.py")
    at.number_input(key="plan_k").set_value(2)
    at.selectbox(key="plan_strategy").set_value("random")
    at.toggle(key="plan_prior").set_value(False)
    at.button(key="plan_propose").click()
    at.run()
    best = next(d.value for d in at.dataframe if "source" in d.value.columns)
    measured = best.loc[best["source"] == "measured", "id"]
    assert measured.str.fullmatch(r"row \d+").all()  # a run already made is named by its row in the sheet
    at.button(key="plan_to_basket").click()
    at.run()
    assert not at.exception, at.exception
    basket = at.session_state["basket"]
    assert basket["id"].tolist() == best["id"].tolist()
    recipes = [recipe_from_point(r, Schema.default()) for r in basket.to_dict("records")]
    assert [r.profile.batch_time_min for r in recipes] == basket["batch_time_min"].tolist()
    assert all(t > 0 for t in basket["batch_time_min"])
    design = app_on("pages/design.py")  # where the basket is exported
    design.session_state["basket"] = basket
    design.run()
    assert not design.exception, design.exception
    assert [b.proto.label for b in design.get("download_button")][:1] == ["Recipes (XLSX)"]


def test_the_virtual_lab_as_the_planners_prior_is_a_switch_on_by_default_that_says_what_it_did(cheap_lab_prior):
    at = app_on("pages/next_experiments.py", with_models=False)
    at.number_input(key="plan_k").set_value(2)
    at.selectbox(key="plan_strategy").set_value("random")
    at.multiselect(key="plan_cycles").set_value([0, 2])
    assert at.toggle(key="plan_prior").value  # the sample's inputs and CQAs are the simulator's
    at.button(key="plan_propose").click()
    at.run()
    assert not at.exception, at.exception
    plan = at.session_state["plan"]
    assert plan.spec.prior == "virtual_lab" and len(plan.runs) == 2
    assert any("simulated runs as a second task" in c.value for c in at.caption)
